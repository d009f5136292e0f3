"""Periodic upkeep of search (see CELERY_BEAT_SCHEDULE): thin wrappers around services."""
from celery import shared_task
from django.db import InterfaceError, OperationalError

from medialib import services as medialib_services

from . import services


@shared_task(acks_late=True, autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, max_retries=3)
def tag_usage_refresh() -> int:
    return medialib_services.tag_usage_refresh()


@shared_task(acks_late=True, autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, max_retries=3)
def search_refresh() -> dict:
    return services.search_refresh()
