"""Writes of the analysis pipeline: asking for add-ons, running them, storing results and auto tags."""
from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from PIL import Image, ImageOps
from medialib.models import Tag

from medialib.images import OPEN_FORMATS
from medialib.models import Asset, AssetTag
from medialib.services import tag_get_or_create

from . import contract, recognition, rules
from .addons import ADDONS
from .backends import backend_alias_for, backend_for
from .backends.base import AnalysisImage, DetectorError, TransientDetectorError
from .models import AnalysisResult, TagDecision

logger = logging.getLogger(__name__)


def analysis_request(*, asset: Asset, addons: list[str], auto_tagging: float | None = None) -> list[AnalysisResult]:
    """Create or reset the pending results of these add-ons, and queue the analysis when the transaction commits.

    Runs in the caller's transaction: an upload that rolls back leaves no result and queues nothing.
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
                },
            )
            results.append(result)
        asset_id = asset.pk
        transaction.on_commit(lambda: analysis_enqueue(asset_id=asset_id))
    return results


def analysis_enqueue(*, asset_id: int) -> bool:
    """Queue the analysis task; if the broker is down, the sweep queues it later (nothing is lost)."""
    from .tasks import analyze_asset

    try:
        analyze_asset.delay(asset_id)
    except Exception:
        logger.exception("Could not queue analysis of asset %s; the sweep will retry", asset_id)
        return False
    return True


def _decode(asset: Asset, max_pixels: int | None) -> Image.Image:
    """Decode the original once, EXIF orientation applied; JPEGs straight to about the size the detectors need."""
    with default_storage.open(asset.file.name, "rb") as handle:
        image = Image.open(handle, formats=OPEN_FORMATS)
        if max_pixels and image.format in ("JPEG", "MPO") and image.width * image.height > max_pixels:
            scale = (max_pixels / (image.width * image.height)) ** 0.5
            image.draft("RGB", (max(1, int(image.width * scale)), max(1, int(image.height * scale))))
        image.load()
    image = ImageOps.exif_transpose(image)
    if image.mode != "RGB":
        from medialib.images import _to_rgb

        image = _to_rgb(image)
    return image


def _run_addon(addon: str, image: AnalysisImage):
    backend = backend_for(addon)
    if addon == "aws_rek_tagging":
        return contract.labels_data(backend.labels(image))
    if addon == "aws_rek_face":
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
        decoded = _decode(asset, max_pixels)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        # Uploads are validated, so this is a file damaged in storage: no retry will mend it.
        return {r.addon: _result_fail(r, f"The image could not be read for analysis: {exc}") for r in pending}

    image = AnalysisImage(
        decoded,
        open_original=lambda: default_storage.open(asset.file.name, "rb"),
        format=asset.format,
        storage_name=asset.file.name,
        width=asset.width,
        height=asset.height,
    )
    written: dict[str, str] = {}
    transient: TransientDetectorError | None = None
    for result in pending:
        try:
            data = _run_addon(result.addon, image)
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
    updated = AnalysisResult.objects.filter(
        pk=result.pk, request_id=result.request_id, status=AnalysisResult.PENDING
    ).update(status=AnalysisResult.FAILED, error=message[:2000], completed_at=timezone.now())
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
        if current.addon == recognition.ADDON:
            recognition.faces_store(asset=current.asset, found=data, backend=backend)
            data = recognition.faces_data(current.asset)
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
    return AnalysisResult.COMPLETE


def analysis_fail_pending(*, asset_id: int, message: str) -> int:
    """Mark what is still pending as failed (the task gave up); returns how many."""
    return AnalysisResult.objects.filter(asset_id=asset_id, status=AnalysisResult.PENDING).update(
        status=AnalysisResult.FAILED, error=message[:2000], completed_at=timezone.now()
    )


def auto_tags_apply(*, asset: Asset, addon: str, candidates: list[tuple[str, float]]) -> list[str]:
    """Replace this add-on's auto tags on the asset with the candidates.

    Manual tags and other add-ons' tags are never touched (a name the asset already has keeps its source), and a
    tag rejected for this asset never comes back. Returns the names tagged.
    """
    with transaction.atomic():
        AssetTag.objects.filter(content_object=asset, source=addon).delete()
        rejected = {
            name.lower()
            for name in TagDecision.objects.filter(asset=asset, decision=TagDecision.REJECTED).values_list(
                "tag__name", flat=True
            )
        }
        existing = {
            name.lower() for name in AssetTag.objects.filter(content_object=asset).values_list("tag__name", flat=True)
        }
        added = []
        for name, confidence in candidates:
            if name.lower() in rejected or name.lower() in existing:
                continue
            tag = tag_get_or_create(name)
            AssetTag.objects.create(content_object=asset, tag=tag, source=addon, confidence=confidence)
            existing.add(name.lower())
            added.append(tag.name)
    return added


def tag_reject(*, asset: Asset, tag: Tag, user=None) -> TagDecision:
    """Remove a tag from an asset and remember that it is wrong there, so analysis never adds it again."""
    with transaction.atomic():
        AssetTag.objects.filter(content_object=asset, tag=tag).delete()
        decision, _ = TagDecision.objects.update_or_create(
            asset=asset, tag=tag, defaults={"decision": TagDecision.REJECTED, "decided_by": user}
        )
    return decision


def analysis_sweep(*, older_than: timedelta | None = None) -> list[int]:
    """Queue again every asset whose result has waited too long (a lost message, a dead worker).

    A result being worked on right now (started within the task time limit) is left alone; one that has been
    tried TAGGING_MAX_ATTEMPTS times is marked failed instead of being queued for ever.
    """
    if older_than is None:
        older_than = timedelta(seconds=settings.TAGGING_SWEEP_AFTER_SECONDS)
    now = timezone.now()
    stale = AnalysisResult.objects.filter(status=AnalysisResult.PENDING, queued_at__lte=now - older_than).exclude(
        started_at__gt=now - timedelta(seconds=settings.TAGGING_TIME_LIMIT_SECONDS)
    )
    stale.filter(attempts__gte=settings.TAGGING_MAX_ATTEMPTS).update(
        status=AnalysisResult.FAILED,
        error=f"Gave up after {settings.TAGGING_MAX_ATTEMPTS} attempts: the worker stopped while analysing it each time.",
        completed_at=now,
    )
    asset_ids = list(stale.values_list("asset_id", flat=True).distinct().order_by("asset_id"))
    queued = [asset_id for asset_id in asset_ids if analysis_enqueue(asset_id=asset_id)]
    # Counted from now again, so the next sweep does not queue it a second time while it waits in the queue.
    AnalysisResult.objects.filter(pk__in=stale.filter(asset_id__in=queued).values("pk")).update(queued_at=now)
    return queued


def analysis_rerun(*, asset: Asset, addons: list[str], auto_tagging: float | None, user) -> list[AnalysisResult]:
    """Run add-ons again on an asset because a person asked on its page; only its owner or staff may."""
    # Imported here so that the functions above stay as they are; these are only needed by a person's requests.
    from django.core.exceptions import PermissionDenied, ValidationError

    from medialib.selectors import asset_can_edit

    from .addons import AddonError, auto_tagging_parse

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
    return analysis_request(asset=asset, addons=list(addons), auto_tagging=auto_tagging)


def tag_remove_or_reject(*, asset: Asset, name: str, user) -> str | None:
    """Take a tag off an asset for a person; only its owner or staff may.

    An add-on's tag is rejected (tag_reject), so that analysis never puts it back; a manual tag is just removed.
    Returns "rejected", "removed", or None when the asset has no tag of that name.
    """
    from django.core.exceptions import PermissionDenied

    from medialib.selectors import asset_can_edit

    if not asset_can_edit(user=user, asset=asset):
        raise PermissionDenied("Only the person who uploaded this image, or staff, can change its tags.")
    item = AssetTag.objects.filter(content_object=asset, tag__name__iexact=name).select_related("tag").first()
    if item is None:
        return None
    if item.source == AssetTag.SOURCE_MANUAL:
        item.delete()
        return "removed"
    tag_reject(asset=asset, tag=item.tag, user=user)
    return "rejected"
