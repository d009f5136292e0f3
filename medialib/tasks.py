"""Celery tasks of the asset library: thin wrappers that call services with ids."""
from celery import shared_task
from django.conf import settings

from . import notifications, renditions, services
from .queueing import DB_MAX_RETRIES, TRANSIENT_DB_ERRORS, db_retry_countdown


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(OSError,),  # storage hiccups (S3 connection errors are OSErrors too)
    retry_backoff=True,
    retry_backoff_max=settings.TASK_RETRY_MAX_SECONDS,
    max_retries=5,
)
def renditions_generate(self, asset_id: int) -> int:
    try:
        return len(services.renditions_generate(asset_id=asset_id))
    except TRANSIENT_DB_ERRORS as exc:
        # A database outage: wait minutes rather than seconds; past the last retry the renditions sweep has it.
        raise self.retry(exc=exc, countdown=db_retry_countdown(self.request.retries), max_retries=DB_MAX_RETRIES)


@shared_task
def renditions_sweep() -> int:
    return len(services.renditions_sweep())


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_backoff_max=settings.TASK_RETRY_MAX_SECONDS,
    max_retries=5,
)
def eager_renditions(self, asset_id: int, version: int, eager: list[list[str]], notify: dict | None = None) -> int:
    try:
        results: list = []
        count = renditions.eager_renditions_run(asset_id=asset_id, version=version, eager=eager, results=results)
        if notify and results:  # nothing made: the image is gone (or replaced), and its `delete` told of it
            notifications.eager_notify(asset_id=asset_id, results=results, **notify)
        return count
    except TRANSIENT_DB_ERRORS as exc:
        raise self.retry(exc=exc, countdown=db_retry_countdown(self.request.retries), max_retries=DB_MAX_RETRIES)


@shared_task(bind=True, acks_late=True)
def webhook_deliver(self, delivery_id: int) -> str:
    """One attempt of a webhook; its retries are the delivery's own (medialib.notifications), not Celery's."""
    try:
        return notifications.webhook_deliver(delivery_id=delivery_id)
    except TRANSIENT_DB_ERRORS as exc:
        raise self.retry(exc=exc, countdown=db_retry_countdown(self.request.retries), max_retries=DB_MAX_RETRIES)


@shared_task
def webhooks_sweep() -> int:
    return len(notifications.webhooks_sweep())
