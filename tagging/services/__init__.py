"""Writes of the tagging app, one module per sub-domain: analysis (the pipeline), tags (auto tags and their
moderation) and people (faces, naming, recognition re-checks). They depend in that order: analysis -> people ->
tags."""
