"""Faces for delivery's face gravity: the ones the library knows, else found on demand by the worker and kept.

A delivery request may come from anyone the URL reaches (anonymous in public mode, another user's signed key), so
what it finds is kept as a cache of the crop (GravityFaces, per version of the image), never as the owner's
aws_rek_face analysis: no Face rows, people, recognitions or tags are made or changed, and no embeddings are kept.
Detectors run in the worker only; the request queues the detection and waits a bounded time for its row.
"""
from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from PIL import Image

from medialib.models import Asset
from medialib.queueing import task_enqueue

from ..addons import FACES_ADDON
from ..backends import backend_alias_for, backend_for
from ..backends.base import DetectorError, FacesResult, TransientDetectorError
from ..images import analysis_image
from ..models import AnalysisResult, GravityFaces
from ..selectors import face_boxes

logger = logging.getLogger(__name__)

Box = tuple[int, int, int, int]  # (left, top, width, height) in pixels of the image as displayed
# The wait for the worker's row: 50 ms doubling to 500 ms, so a quick detection is seen quickly and a slow one
# costs a query every half second, not a tight loop.
POLL_FIRST_SECONDS = 0.05
POLL_MAX_SECONDS = 0.5


def gravity_face_boxes(asset: Asset, *, wait_seconds: float) -> list[Box] | None:
    """The faces to crop `asset` to, largest first: the aws_rek_face analysis' Face rows when there are any or the
    analysis is complete (it may have found none), else those found on demand for its current version. Without either, queues the detection (once,
    however many requests ask at the same time) and waits up to `wait_seconds` for the worker.

    None when the answer is not known yet: the time is up, or the broker is down. The caller then crops without
    faces and must not keep that rendition; a later request gets the faces. A detection that failed for good is
    [] (no faces, final for this version). Call it outside a transaction: the worker must see the pending row,
    and the wait must not hold one open.
    """
    known = face_boxes(asset)  # also while the add-on runs again: its faces stay until the new ones are stored
    if known or AnalysisResult.objects.filter(asset=asset, addon=FACES_ADDON, status=AnalysisResult.COMPLETE).exists():
        return known
    row = GravityFaces.objects.filter(asset=asset, version=asset.version).first()
    if row is not None and row.status != GravityFaces.PENDING:
        return _boxes(row)
    if not _detection_queue(asset, row):
        return None
    deadline = time.monotonic() + wait_seconds
    pause = POLL_FIRST_SECONDS
    while (remaining := deadline - time.monotonic()) > 0:
        time.sleep(min(pause, remaining))
        pause = min(pause * 2, POLL_MAX_SECONDS)
        row = GravityFaces.objects.filter(asset=asset, version=asset.version).exclude(
            status=GravityFaces.PENDING).first()
        if row is not None:
            return _boxes(row)
    return None


def _boxes(row: GravityFaces) -> list[Box]:
    return [tuple(box) for box in row.boxes]


def _detection_queue(asset: Asset, row: GravityFaces | None) -> bool:
    """Make sure a detection of this version is on its way; False if the broker would not take it.

    The pending row is the lock: the request that creates it queues the task, and a later one queues it again only
    when that enqueue failed (queued_at empty) or the message looks lost (queued longer ago than the sweeps wait
    for lost analyses), by a conditional update that one request alone wins. Ten requests at once queue it once.
    """
    now = timezone.now()
    if row is None:
        row, created = GravityFaces.objects.get_or_create(asset=asset, version=asset.version,
                                                          defaults={"queued_at": now})
        if not created:
            return True  # another request made it a moment ago and queued the task
    elif row.queued_at is not None and row.queued_at > now - timedelta(seconds=settings.TAGGING_SWEEP_AFTER_SECONDS):
        return True  # queued, and not long ago: it is coming
    else:
        stale = Q(queued_at__isnull=True) | Q(queued_at__lte=now - timedelta(seconds=settings.TAGGING_SWEEP_AFTER_SECONDS))
        if not GravityFaces.objects.filter(stale, pk=row.pk, status=GravityFaces.PENDING).update(queued_at=now):
            return True  # another request re-queued it, or it is done
    from ..tasks import gravity_faces_detect

    if task_enqueue(gravity_faces_detect, asset.pk, asset.version):
        return True
    GravityFaces.objects.filter(pk=row.pk, status=GravityFaces.PENDING).update(queued_at=None)
    return False


def gravity_faces_run(*, asset_id: int, version: int) -> str:
    """Detect the faces of this version of the asset with the aws_rek_face add-on's backend and keep their boxes;
    the body of the gravity_faces_detect task. Returns what it did: "complete", "failed" or "skipped".

    Idempotent: nothing is done for a deleted asset, a version that is no longer the current one, or a row already
    answered. A permanent detector error (or an unreadable original) is kept as a failed row with no faces and the
    error, so that requests stop waiting and crop without faces; TransientDetectorError and OSError from the
    detector propagate for the task to retry with backoff, the row staying pending meanwhile.
    """
    asset = Asset.objects.filter(pk=asset_id, version=version).first()
    if asset is None:
        return "skipped"
    row, _ = GravityFaces.objects.get_or_create(asset=asset, version=version)
    if row.status != GravityFaces.PENDING:
        return "skipped"
    backend = backend_for(FACES_ADDON)
    try:
        image = analysis_image(asset, max_pixels=backend.decode_size([FACES_ADDON]))
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        return gravity_faces_fail(asset_id=asset_id, version=version,
                                  message=f"The image could not be read for face detection: {exc}")
    try:
        found = backend.faces(image)
    except TransientDetectorError:
        raise
    except DetectorError as exc:
        return gravity_faces_fail(asset_id=asset_id, version=version, message=str(exc))
    boxes = _pixel_boxes(found, asset.width, asset.height)
    updated = GravityFaces.objects.filter(pk=row.pk, status=GravityFaces.PENDING).update(
        status=GravityFaces.COMPLETE, boxes=[list(box) for box in boxes], error="",
        backend=backend_alias_for(FACES_ADDON), detected_at=timezone.now())
    # The rows of earlier versions are never read again.
    GravityFaces.objects.filter(asset=asset).exclude(version=version).delete()
    return GravityFaces.COMPLETE if updated else "skipped"


def gravity_faces_fail(*, asset_id: int, version: int, message: str) -> str:
    """Answer a pending detection with no faces and the reason (the detector failed for good, or the task gave up)."""
    updated = GravityFaces.objects.filter(asset_id=asset_id, version=version, status=GravityFaces.PENDING).update(
        status=GravityFaces.FAILED, boxes=[], error=message[:2000], detected_at=timezone.now())
    if updated:
        logger.warning("Face detection for the gravity of asset %s v%s failed: %s", asset_id, version, message)
    return GravityFaces.FAILED if updated else "skipped"


def _pixel_boxes(found: FacesResult, width: int, height: int) -> list[Box]:
    """The detector's ratio boxes (celebrities' faces too) in pixels, largest first, rounded as face_boxes rounds."""
    detected = [c.face for c in found.celebrities] + list(found.faces)
    detected.sort(key=lambda face: face.bounding_box.width * face.bounding_box.height, reverse=True)
    return [(round(b.left * width), round(b.top * height), max(1, round(b.width * width)), max(1, round(b.height * height)))
            for b in (face.bounding_box for face in detected)]
