"""The analysis add-ons: detectors run by the worker, and the tags their findings become."""
