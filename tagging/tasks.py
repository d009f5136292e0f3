"""Analysis tasks, on the `analysis` queue: thin wrappers that call services with ids."""
from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError

from .backends.base import TransientDetectorError
from .services import analysis, people


class AnalysisTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """Out of retries, or a crash outside the add-ons: say so on the results instead of leaving them pending."""
        asset_id = args[0] if args else kwargs.get("asset_id")
        if isinstance(exc, SoftTimeLimitExceeded):
            message = f"Analysis took longer than {settings.TAGGING_TIME_LIMIT_SECONDS} s and was stopped."
        else:
            message = f"Analysis failed after {self.request.retries + 1} attempt(s): {exc}"
        analysis.analysis_fail_pending(asset_id=asset_id, message=message)


@shared_task(
    base=AnalysisTask,
    acks_late=True,  # a worker that dies mid-task leaves the message to be delivered again
    reject_on_worker_lost=True,
    autoretry_for=(TransientDetectorError, OperationalError, InterfaceError, OSError),
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=settings.TAGGING_MAX_ATTEMPTS - 1,
    soft_time_limit=settings.TAGGING_TIME_LIMIT_SECONDS,
    time_limit=settings.TAGGING_TIME_LIMIT_SECONDS + 30,
)
def analyze_asset(asset_id: int) -> dict:
    return analysis.analysis_run(asset_id=asset_id)


@shared_task
def analysis_sweep() -> int:
    return len(analysis.analysis_sweep())


@shared_task(acks_late=True, autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, max_retries=5)
def faces_recheck(person_id: int) -> int:
    """After someone names a person: recognise them in the library's older photos too."""
    return len(people.faces_recheck(person_id=person_id))
