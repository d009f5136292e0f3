"""Writes of the analysis pipeline: asking for add-ons, running them, storing their results, sweeping up lost work."""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from PIL import Image

from medialib.models import Asset
from medialib.notifications import (asset_notice, notification_request_key, notifications_queue,
                                    notifications_wanted)
from medialib.queueing import broker_pause_reset, task_enqueue
from medialib.selectors import asset_can_edit
from medialib.wakeups import wakeup_send, wakeup_wait

from .. import contract, rules
from ..addons import ADDONS, FACES_ADDON, LABELS_ADDON, AddonError, auto_tagging_parse
from ..backends import backend_alias_for, backend_for
from ..backends.base import DetectorError, TransientDetectorError
from ..images import analysis_image
from ..models import AnalysisResult, Face
from ..selectors import asset_faces_data
from .people import faces_store
from .tags import auto_tags_apply

logger = logging.getLogger(__name__)


def analysis_request(*, asset: Asset, addons: list[str], auto_tagging: float | None = None,
                     notification: dict | None = None) -> list[AnalysisResult]:
    """Create or reset the pending results of these add-ons, and queue the analysis when the transaction commits.

    Runs in the caller's transaction: an upload that rolls back leaves no result and queues nothing.
    `notification`: who to tell when each is done (medialib.notifications.notification_request), besides the
    library-wide notification URL.
    """
    unknown = [name for name in addons if name not in ADDONS]
    if unknown:
        raise ValueError(f"Unknown add-on(s): {', '.join(unknown)}")
    if not addons:
        return []
    now = timezone.now()
    results = []
    with transaction.atomic():
        for addon in addons:
            result, _ = AnalysisResult.objects.update_or_create(
                asset=asset,
                addon=addon,
                defaults={
                    "status": AnalysisResult.PENDING, "data": None, "error": "", "backend": "",
                    "attempts": 0, "auto_tagging": auto_tagging, "request_id": uuid.uuid4(),
                    "requested_at": now, "queued_at": now, "started_at": None, "completed_at": None,
                    "notification": notification,
                },
            )
            results.append(result)
        asset_id = asset.pk
        transaction.on_commit(lambda: analysis_enqueue(asset_id=asset_id))
    return results


def analysis_enqueue(*, asset_id: int) -> bool:
    """Queue the analysis task in one short attempt; if the broker is down, its pending results are marked as
    not queued and the next sweep queues them (nothing is lost, and the upload does not wait)."""
    from ..tasks import analyze_asset

    if task_enqueue(analyze_asset, asset_id):
        return True
    try:
        AnalysisResult.objects.filter(asset_id=asset_id, status=AnalysisResult.PENDING).update(queued_at=None)
    except Exception:  # the database is down too: the sweep still finds them, by their age
        logger.exception("Could not mark the analysis of asset %s as not queued", asset_id)
    return False


def _addon_run(addon: str, image):
    backend = backend_for(addon)
    if addon == LABELS_ADDON:
        return contract.labels_data(backend.labels(image))
    if addon == FACES_ADDON:
        return backend.faces(image)  # stored as Face rows, recognised, then turned into data
    raise DetectorError(f"No detector answers {addon}.")


def analysis_run(*, asset_id: int) -> dict[str, str]:
    """Run every pending add-on of the asset; the body of the analyze_asset task.

    Idempotent: only pending results are run, and a result is written only if it is still the request that was
    read (a newer request, or another worker that finished first, wins). Raises TransientDetectorError for the
    task to retry; records any other failure on the result. Returns {addon: status} of what it wrote.
    """
    asset = Asset.objects.filter(pk=asset_id).first()
    if asset is None:
        return {}
    pending = list(AnalysisResult.objects.filter(asset=asset, status=AnalysisResult.PENDING))
    if not pending:
        return {}
    AnalysisResult.objects.filter(pk__in=[r.pk for r in pending]).update(
        attempts=F("attempts") + 1, started_at=timezone.now()
    )
    addons = [r.addon for r in pending]
    try:
        sizes = [backend_for(a).decode_size(addons) for a in addons]
        max_pixels = None if any(s is None for s in sizes) else max(sizes)
        image = analysis_image(asset, max_pixels=max_pixels)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        # Uploads are validated, so this is a file damaged in storage: no retry will mend it.
        return {r.addon: _result_fail(r, f"The image could not be read for analysis: {exc}") for r in pending}

    written: dict[str, str] = {}
    transient: TransientDetectorError | None = None
    for result in pending:
        try:
            data = _addon_run(result.addon, image)
        except TransientDetectorError as exc:
            transient = exc  # the others still run; this one stays pending for the retry
            continue
        except DetectorError as exc:
            written[result.addon] = _result_fail(result, str(exc))
            continue
        except SoftTimeLimitExceeded:
            raise  # the task's on_failure says it took too long
        except Exception as exc:  # a bug or a broken model: say so on the result, keep the trace in the log
            logger.exception("Add-on %s failed on asset %s", result.addon, asset_id)
            written[result.addon] = _result_fail(result, f"The {result.addon} detector failed: {exc}")
            continue
        written[result.addon] = _result_complete(result, data, backend_alias_for(result.addon))
    if transient is not None:
        raise transient
    return written


def _result_fail(result: AnalysisResult, message: str) -> str:
    with transaction.atomic():
        updated = AnalysisResult.objects.filter(
            pk=result.pk, request_id=result.request_id, status=AnalysisResult.PENDING
        ).update(status=AnalysisResult.FAILED, error=message[:2000], completed_at=timezone.now())
        if updated:
            analysis_written(result.asset_id)
            analysis_notify(AnalysisResult.objects.select_related("asset").get(pk=result.pk))
    return AnalysisResult.FAILED if updated else "skipped"


def _result_complete(result: AnalysisResult, data, backend: str) -> str:
    with transaction.atomic():
        # Lock the row: two workers finishing the same request at once must not both tag.
        current = (
            AnalysisResult.objects.select_for_update()
            .filter(pk=result.pk, request_id=result.request_id, status=AnalysisResult.PENDING)
            .first()
        )
        if current is None:
            return "skipped"
        # First of what runs at the commit: the waiting answer is woken before the crops and the notifications
        # are queued (each a round trip to the broker).
        analysis_written(current.asset_id)
        if current.addon == FACES_ADDON:
            faces_store(asset=current.asset, found=data, backend=backend)
            data = asset_faces_data(current.asset)
            _face_crops_queue(current.asset)
        current.status = AnalysisResult.COMPLETE
        current.data = data
        current.backend = backend
        current.error = ""
        current.completed_at = timezone.now()
        current.save(update_fields=["status", "data", "backend", "error", "completed_at"])
        if current.auto_tagging is not None:
            auto_tags_apply(
                asset=current.asset,
                addon=current.addon,
                candidates=rules.auto_tag_candidates(current.addon, data, current.auto_tagging),
            )
        analysis_notify(current)
    return AnalysisResult.COMPLETE


def analysis_notify(result: AnalysisResult) -> None:
    """Cloudinary's `info` notification of one add-on's result, to the call's notification_url (if it gave one)
    and the library-wide URL; in the transaction that wrote the result, so it is sent exactly when that commits."""
    notification = result.notification or {}
    if not notifications_wanted(notification.get("url", "")):
        return
    payload = {
        **asset_notice(result.asset, host=notification.get("host", "")),
        "info_kind": result.addon,
        "info_status": result.status,
        "info_data": result.data if result.status == AnalysisResult.COMPLETE else {"error": {"message": result.error}},
        "tags": sorted(result.asset.tags.names(), key=str.lower),
    }
    notifications_queue(notification_type="info", payload=payload, url=notification.get("url", ""),
                        api_key=notification_request_key(notification))


def _face_crops_queue(asset: Asset) -> None:
    """Have the worker make the people page's crops of the faces just found (medialib.page_images), after commit."""
    from medialib.page_images import eager_transformations, page_extension
    from medialib.renditions import eager_renditions_queue

    every_image = set(eager_transformations())
    crops = [text for text in eager_transformations(asset=asset, faces=Face.objects.filter(asset=asset))
             if text not in every_image]
    if crops:
        eager_renditions_queue(asset, [(text, page_extension(asset)) for text in crops])


def analysis_wait(*, asset_id: int, addons: Iterable[str], timeout: float) -> bool:
    """Wait until no result of these add-ons on the asset is pending, at most `timeout` seconds; True if none is.
    For the API's synchronous answers: call it outside any transaction. The worker wakes it when it has written
    (medialib.wakeups: Redis publish/subscribe, one indexed query per wakeup; with no Redis a 25-250 ms backoff)."""
    addons = list(addons)

    def ready() -> bool:
        return not AnalysisResult.objects.filter(asset_id=asset_id, addon__in=addons,
                                                 status=AnalysisResult.PENDING).exists()

    return wakeup_wait(analysis_topic(asset_id), ready, timeout=timeout)


def analysis_topic(asset_id: int) -> str:
    return f"analysis:{asset_id}"


def analysis_written(asset_id: int) -> None:
    """Wake the requests waiting on this asset's analysis, once what was written is committed (each add-on's
    result wakes them: a waiter asks again, one query, and goes back to sleep if another is still pending)."""
    transaction.on_commit(lambda: wakeup_send(analysis_topic(asset_id)))


def analysis_fail_pending(*, asset_id: int, message: str) -> int:
    """Mark what is still pending as failed (the task gave up), and notify; returns how many."""
    with transaction.atomic():
        pending = list(AnalysisResult.objects.select_for_update().select_related("asset")
                       .filter(asset_id=asset_id, status=AnalysisResult.PENDING))
        for result in pending:
            result.status, result.error, result.completed_at = AnalysisResult.FAILED, message[:2000], timezone.now()
            result.save(update_fields=["status", "error", "completed_at"])
            analysis_notify(result)
        if pending:
            analysis_written(asset_id)
    return len(pending)


def analysis_sweep(*, older_than: timedelta | None = None) -> list[int]:
    """Queue again every asset whose result has waited too long (a lost message, a dead worker), or whose task
    could not be queued at all (queued_at empty: the broker was down).

    A result being worked on right now (started within the task time limit) is left alone; one that has been
    tried TAGGING_MAX_ATTEMPTS times is marked failed instead of being queued for ever.
    """
    if older_than is None:
        older_than = timedelta(seconds=settings.TAGGING_SWEEP_AFTER_SECONDS)
    broker_pause_reset()  # once a minute is not a burst: always try the broker again
    now = timezone.now()
    stale = (
        AnalysisResult.objects.filter(status=AnalysisResult.PENDING)
        .filter(Q(queued_at__isnull=True) | Q(queued_at__lte=now - older_than))
        .exclude(started_at__gt=now - timedelta(seconds=settings.TAGGING_TIME_LIMIT_SECONDS))
    )
    given_up = list(stale.filter(attempts__gte=settings.TAGGING_MAX_ATTEMPTS).values_list("pk", flat=True))
    with transaction.atomic():
        AnalysisResult.objects.filter(pk__in=given_up, status=AnalysisResult.PENDING).update(
            status=AnalysisResult.FAILED,
            error=f"Gave up after {settings.TAGGING_MAX_ATTEMPTS} attempts: the worker stopped while analysing it "
                  "each time.",
            completed_at=now,
        )
        for result in AnalysisResult.objects.filter(pk__in=given_up, status=AnalysisResult.FAILED,
                                                    completed_at=now).select_related("asset"):
            analysis_notify(result)  # those this sweep gave up (not one a late worker finished meanwhile)
    asset_ids = list(stale.values_list("asset_id", flat=True).distinct().order_by("asset_id"))
    queued = [asset_id for asset_id in asset_ids if analysis_enqueue(asset_id=asset_id)]
    # Counted from now again, so the next sweep does not queue it a second time while it waits in the queue.
    AnalysisResult.objects.filter(pk__in=stale.filter(asset_id__in=queued).values("pk")).update(queued_at=now)
    return queued


def analysis_rerun(*, asset: Asset, addons: list[str], auto_tagging: float | None, user,
                   notification: dict | None = None) -> list[AnalysisResult]:
    """Run add-ons again on an asset because a person asked on its page; only its owner or staff may."""
    if not asset_can_edit(user=user, asset=asset):
        raise PermissionDenied("Only the person who uploaded this image, or staff, can analyse it again.")
    if not addons:
        raise ValidationError("Choose at least one add-on to run.")
    unknown = [name for name in addons if name not in ADDONS]
    if unknown:
        raise ValidationError(f"Unknown add-on(s): {', '.join(unknown)}.")
    try:
        auto_tagging = auto_tagging_parse(auto_tagging)
    except AddonError as exc:
        raise ValidationError(str(exc)) from None
    return analysis_request(asset=asset, addons=list(addons), auto_tagging=auto_tagging, notification=notification)


def analysis_on_upload(*, addons: Iterable[str], auto_tagging: float | None, replacing: bool = False,
                       notification: dict | None = None) -> Callable[[Asset], object] | None:
    """The hook an upload runs inside its transaction (medialib.services.asset_upload's `on_create`) to ask for
    these add-ons; None when none is asked for. `replacing`: the upload may overwrite an image, whose earlier
    analyses describe the old file: the add-ons it had are asked for again too, with their own thresholds."""
    addons = list(addons)
    if not addons and not replacing:
        return None

    def request(asset: Asset) -> None:
        if addons:
            analysis_request(asset=asset, addons=addons, auto_tagging=auto_tagging, notification=notification)
        if replacing:
            earlier = AnalysisResult.objects.filter(asset=asset).exclude(addon__in=addons)
            for addon, threshold in earlier.values_list("addon", "auto_tagging"):
                analysis_request(asset=asset, addons=[addon], auto_tagging=threshold)

    return request
