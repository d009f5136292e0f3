"""Writes of the tagging app, one module per sub-domain: analysis (the pipeline), tags (auto tags and their
moderation), people (faces, naming, recognition re-checks), face_groups (look-alike unnamed faces, grouped in the
worker for the people page) and gravity (faces found on demand for delivery's face gravity, kept apart from
analyses). They depend in that order: analysis -> people -> tags, people -> face_groups; gravity on none of them."""
