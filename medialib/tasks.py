"""Celery tasks of the asset library: thin wrappers that call services with ids."""
from celery import shared_task

from . import services


@shared_task(
    acks_late=True,
    autoretry_for=(OSError,),  # storage hiccups (S3 connection errors are OSErrors too)
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
)
def renditions_generate(asset_id: int) -> int:
    return len(services.renditions_generate(asset_id=asset_id))
