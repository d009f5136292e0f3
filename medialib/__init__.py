"""The media library: assets, their files and renditions, and the pages that show them."""
from .celery import app as celery_app

__all__ = ("celery_app",)
