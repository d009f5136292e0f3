"""Analysis tasks, on the `analysis` queue: thin wrappers that call services with ids."""
import logging

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError

from medialib.queueing import DB_MAX_RETRIES, TRANSIENT_DB_ERRORS, db_retry_countdown

from .backends.base import TransientDetectorError
from .services import analysis, face_groups, gravity, people

logger = logging.getLogger(__name__)


# The tasks that run a detector: retried with backoff on a detector's or the storage's passing failure, redelivered
# when a worker dies mid-task, and stopped when they run too long.
DETECTOR_TASK_OPTIONS = dict(
    bind=True,
    acks_late=True,  # a worker that dies mid-task leaves the message to be delivered again
    reject_on_worker_lost=True,
    autoretry_for=(TransientDetectorError, OSError),
    retry_backoff=2,
    retry_backoff_max=settings.TASK_RETRY_MAX_SECONDS,
    retry_jitter=True,
    max_retries=settings.TAGGING_MAX_ATTEMPTS - 1,
    soft_time_limit=settings.TAGGING_TIME_LIMIT_SECONDS,
    time_limit=settings.TAGGING_TIME_LIMIT_SECONDS + 30,
)


class AnalysisTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """Out of retries, or a crash outside the add-ons: say so on the results instead of leaving them pending.

        Not for a database outage: the results stay pending and the sweep queues them again once it is over
        (writing "failed" would need the database anyway, and would turn an outage into permanent failures).
        """
        asset_id = args[0] if args else kwargs.get("asset_id")
        if isinstance(exc, TRANSIENT_DB_ERRORS):
            logger.warning("Analysis of asset %s left pending after a database outage; the sweep will retry it", asset_id)
            return
        if isinstance(exc, SoftTimeLimitExceeded):
            message = f"Analysis took longer than {settings.TAGGING_TIME_LIMIT_SECONDS} s and was stopped."
        else:
            message = f"Analysis failed after {self.request.retries + 1} attempt(s): {exc}"
        try:
            analysis.analysis_fail_pending(asset_id=asset_id, message=message)
        except TRANSIENT_DB_ERRORS:
            logger.warning("Could not mark the analysis of asset %s failed (database down); the sweep has it", asset_id,
                           exc_info=True)


@shared_task(base=AnalysisTask, **DETECTOR_TASK_OPTIONS)
def analyze_asset(self, asset_id: int) -> dict:
    try:
        return analysis.analysis_run(asset_id=asset_id)
    except TRANSIENT_DB_ERRORS as exc:
        # A database outage: retried over minutes (medialib.queueing), apart from the detectors' own budget.
        raise self.retry(exc=exc, countdown=db_retry_countdown(self.request.retries), max_retries=DB_MAX_RETRIES)


@shared_task
def analysis_sweep() -> int:
    return len(analysis.analysis_sweep())


@shared_task(acks_late=True, autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, max_retries=5)
def faces_recheck(person_id: int) -> int:
    """After someone names a person: recognise them in the library's older photos too."""
    return len(people.faces_recheck(person_id=person_id))


@shared_task(acks_late=True, autoretry_for=TRANSIENT_DB_ERRORS, retry_backoff=True, max_retries=5)
def face_groups_refresh(owner_key: int) -> bool:
    """After an owner's faces changed: group their unnamed faces again for the people page."""
    return face_groups.face_groups_refresh(owner_key=owner_key)


@shared_task
def face_groups_sweep() -> int:
    """Every TAGGING_FACE_GROUPS_SECONDS: regroup the owners left behind, a bounded number a run."""
    return len(face_groups.face_groups_sweep())


class GravityFacesTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """Out of retries, too slow, or a crash: answer the waiting requests with no faces and the reason, so they
        stop waiting (a database outage leaves the row pending: the next request queues it again later)."""
        asset_id, version = (list(args) + [kwargs.get("asset_id"), kwargs.get("version")])[:2]
        if isinstance(exc, TRANSIENT_DB_ERRORS):
            return
        if isinstance(exc, SoftTimeLimitExceeded):
            message = f"Face detection took longer than {settings.TAGGING_TIME_LIMIT_SECONDS} s and was stopped."
        else:
            message = f"Face detection failed after {self.request.retries + 1} attempt(s): {exc}"
        try:
            gravity.gravity_faces_fail(asset_id=asset_id, version=version, message=message)
        except TRANSIENT_DB_ERRORS:
            logger.warning("Could not mark the gravity faces of asset %s failed (database down)", asset_id, exc_info=True)


@shared_task(base=GravityFacesTask, **DETECTOR_TASK_OPTIONS)
def gravity_faces_detect(self, asset_id: int, version: int) -> str:
    """Faces for delivery's face gravity in an image nobody analysed (tagging.services.gravity)."""
    try:
        return gravity.gravity_faces_run(asset_id=asset_id, version=version)
    except TRANSIENT_DB_ERRORS as exc:
        raise self.retry(exc=exc, countdown=db_retry_countdown(self.request.retries), max_retries=DB_MAX_RETRIES)
