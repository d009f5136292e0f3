"""Kept delivery renditions: a delivery URL's rendition is made once per asset, version, canonical transformation
and format, stored through the storage backend (local files or S3) and served from there afterwards.

Concurrent requests for the same new rendition compute it once, on one machine or many: the first inserts a
DeliveredRendition row without a file (a claim; the unique key makes it one per rendition across processes and
machines, through the database), renders, stores the file and fills the row in; the others wait for the file
with a short backoff. A claim older than MEDIALIB_DELIVERY_CLAIM_STALE_SECONDS (its process died) is taken over.

A rendition belongs to a version: a new version makes the old ones unreachable (lookups are by the asset's
current version) and `delivered_renditions_purge` removes them; deleting the asset removes them with it.
"""
from __future__ import annotations

import hashlib
import logging
import tempfile
import time
from collections.abc import Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from .images import DecodeCache, Rendered, transformation_render
from .models import Asset, DeliveredRendition

logger = logging.getLogger(__name__)

Box = tuple[int, int, int, int]
# The formats a delivery URL or an eager transformation may ask for.
SERVABLE_FORMATS = frozenset({"jpg", "png", "webp", "avif", "gif"})
# At most this many eager transformations in one upload or explicit call.
MAX_EAGER = 20


def face_boxes_known(asset: Asset) -> list[Box] | None:
    """The faces a face gravity crops to, from the function MEDIALIB_DELIVERY_FACE_BOXES names (the analysis app's;
    named in settings so that this core module does not import the app above it). None: not known yet."""
    return import_string(settings.MEDIALIB_DELIVERY_FACE_BOXES)(asset)


def rendition_key(*, transformation, fmt: str, faces: Sequence[Box] | None = None) -> str:
    """The key of a rendition of one version: the canonical transformation and format and, for a face gravity,
    the faces it was cropped to (so a crop made before the faces were known is not served once they are)."""
    text = f"{transformation}|{fmt}"
    if transformation.uses_faces():
        text += "|faces:" + ";".join(",".join(str(int(value)) for value in box) for box in (faces or ()))
    return hashlib.sha256(text.encode()).hexdigest()


@contextmanager
def original_spooled(asset: Asset):
    """The asset's original, copied once from the storage (never .path: it may be on S3) into a spooled file."""
    with tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024) as original:
        with default_storage.open(asset.file.name, "rb") as source:
            for chunk in iter(lambda: source.read(1024 * 1024), b""):
                original.write(chunk)
        original.seek(0)
        yield original


def rendition_render(asset: Asset, transformation, *, fmt: str, faces: Sequence[Box] | None = None,
                     original=None, cache: DecodeCache | None = None) -> Rendered:
    """Render a transformation of an asset's original (`original`, when the caller has read it already; `cache`,
    that original's decodes shared by the renditions the caller makes of it). Raises TransformationError for what
    cannot be done."""
    if original is None:
        with original_spooled(asset) as original:
            return rendition_render(asset, transformation, fmt=fmt, faces=faces, original=original)
    return transformation_render(original, transformation, fmt=fmt, faces=lambda: list(faces or ()),
                                 max_output_pixels=settings.MEDIALIB_MAX_OUTPUT_PIXELS, cache=cache)


def _kept(asset: Asset, key: str) -> DeliveredRendition | None:
    return DeliveredRendition.objects.filter(asset_id=asset.pk, version=asset.version, key=key).exclude(file="").first()


def delivered_rendition(*, asset: Asset, transformation, fmt: str, faces: Sequence[Box] | None = None,
                        wait_seconds: float | None = None, original=None,
                        cache: DecodeCache | None = None) -> DeliveredRendition | Rendered:
    """The kept rendition of `transformation` (expanded) as `fmt` for the asset's current version, made now if
    it does not exist yet. Returns the DeliveredRendition (its file is in storage), or the Rendered bytes when
    the rendition is not kept: the asset already has MEDIALIB_DELIVERY_MAX_KEPT_PER_ASSET renditions of this
    version, another process took longer than `wait_seconds` to make it, or the asset went away meanwhile.
    Raises TransformationError for what cannot be done (nothing is kept then)."""
    key = rendition_key(transformation=transformation, fmt=fmt, faces=faces)
    row = _kept(asset, key)
    if row is not None:
        return row
    if wait_seconds is None:
        wait_seconds = settings.MEDIALIB_DELIVERY_WAIT_SECONDS
    if DeliveredRendition.objects.filter(asset_id=asset.pk, version=asset.version).count() \
            >= settings.MEDIALIB_DELIVERY_MAX_KEPT_PER_ASSET:
        # A cap on what one image can fill the storage with (in public mode anyone may ask for new sizes).
        return rendition_render(asset, transformation, fmt=fmt, faces=faces, original=original, cache=cache)

    deadline = time.monotonic() + wait_seconds
    delay = 0.02
    while True:
        claim = _claim(asset, key=key, transformation=transformation, fmt=fmt)
        if claim is not None:
            return _make(asset, claim, transformation=transformation, fmt=fmt, faces=faces, original=original,
                         cache=cache)
        row = _kept(asset, key)
        if row is not None:
            return row
        if not Asset.objects.filter(pk=asset.pk, version=asset.version).exists() or time.monotonic() >= deadline:
            return rendition_render(asset, transformation, fmt=fmt, faces=faces, original=original, cache=cache)
        time.sleep(delay)
        delay = min(delay * 2, 0.25)


def _claim(asset: Asset, *, key: str, transformation, fmt: str) -> DeliveredRendition | None:
    """Claim the making of a rendition: the new claim row, or a stale claim taken over; None if another process
    holds a live claim or has made it."""
    try:
        with transaction.atomic():
            return DeliveredRendition.objects.create(asset_id=asset.pk, version=asset.version, key=key,
                                                     transformation=str(transformation), format=fmt, file="")
    except IntegrityError:
        pass  # the key exists (made, or being made), or the asset is gone (its foreign key)
    stale_before = timezone.now() - timedelta(seconds=settings.MEDIALIB_DELIVERY_CLAIM_STALE_SECONDS)
    row = DeliveredRendition.objects.filter(asset_id=asset.pk, version=asset.version, key=key, file="",
                                            created_at__lt=stale_before).first()
    if row is None:
        return None
    # Take over a claim whose process died; of several processes trying, one changes the row.
    taken = DeliveredRendition.objects.filter(pk=row.pk, file="", created_at=row.created_at).update(
        created_at=timezone.now())
    if not taken:
        return None
    row.refresh_from_db()
    return row


def _make(asset: Asset, claim: DeliveredRendition, *, transformation, fmt: str, faces,
          original=None, cache: DecodeCache | None = None) -> DeliveredRendition | Rendered:
    try:
        rendered = rendition_render(asset, transformation, fmt=fmt, faces=faces, original=original, cache=cache)
    except BaseException:
        DeliveredRendition.objects.filter(pk=claim.pk, file="").delete()  # let the next request try again
        raise
    name = f"delivered/{PurePosixPath(asset.file.name).stem}/v{asset.version}/{claim.key[:40]}.{fmt}"
    stored = None
    try:
        stored = default_storage.save(name, ContentFile(rendered.data))
        with transaction.atomic():
            # Locked as asset_delete locks it: a file recorded here is either in the delete's list or never
            # recorded, so no rendition file outlives its asset.
            current = Asset.objects.select_for_update().filter(pk=asset.pk, version=asset.version).first()
            recorded = current is not None and DeliveredRendition.objects.filter(pk=claim.pk, file="").update(
                file=stored, width=rendered.width, height=rendered.height, bytes=len(rendered.data))
    except BaseException:
        if stored is not None and not DeliveredRendition.objects.filter(pk=claim.pk, file=stored).exists():
            default_storage.delete(stored)
        DeliveredRendition.objects.filter(pk=claim.pk, file="").delete()
        raise
    if not recorded:
        # The asset (at this version) is gone, or a process that took over our claim recorded its own file.
        default_storage.delete(stored)
        DeliveredRendition.objects.filter(pk=claim.pk, file="").delete()
        row = _kept(asset, claim.key)
        return row if row is not None else rendered
    claim.file.name, claim.width, claim.height, claim.bytes = stored, rendered.width, rendered.height, len(rendered.data)
    return claim


def eager_renditions_make(asset: Asset, eager: Sequence[tuple[str, str]], *, original=None,
                          cache: DecodeCache | None = None) -> list[DeliveredRendition | Rendered]:
    """Make (or find) the kept renditions of `eager`, (canonical transformation, format) pairs already checked by
    `eager_parse`, for the asset's current version: the upload API's `eager`. A transformation that cannot be
    rendered raises TransformationError. `original` and `cache`: see rendition_render."""
    from .transformations import Transformation

    made = []
    for text, fmt in eager:
        transformation = Transformation.from_string(text)
        faces = face_boxes_known(asset) if transformation.uses_faces() else None
        if faces is None and transformation.uses_faces():  # faces not known yet: not kept
            made.append(rendition_render(asset, transformation, fmt=fmt, original=original, cache=cache))
        else:
            made.append(delivered_rendition(asset=asset, transformation=transformation, fmt=fmt, faces=faces,
                                            original=original, cache=cache))
    return made


def eager_renditions_queue(asset: Asset, eager: Sequence[tuple[str, str]], *, notify: dict | None = None) -> None:
    """Queue the making of `eager` for the worker once the current transaction commits (the upload API's
    `eager_async`). If the broker does not take it, the renditions are made at their first request instead."""
    from .queueing import task_enqueue
    from .tasks import eager_renditions

    items = [list(item) for item in eager]
    # `notify`: the `eager` notification to send once they are made (medialib.notifications.eager_notify's args).
    arguments = (asset.pk, asset.version, items, notify) if notify else (asset.pk, asset.version, items)
    transaction.on_commit(lambda: task_enqueue(eager_renditions, *arguments))


def eager_renditions_run(*, asset_id: int, version: int, eager: Sequence[tuple[str, str]],
                         results: list | None = None) -> int:
    """The worker's side of eager_renditions_queue: what it made; nothing when the asset or its version is gone.
    A transformation that cannot be rendered is logged and skipped (the others are made). `results`, if given,
    gets each item's rendition (DeliveredRendition or Rendered) or, for one that cannot be made, why."""
    from .transformations import TransformationError

    asset = Asset.objects.filter(pk=asset_id, version=version).first()
    if asset is None:
        return 0
    count = 0
    # The original read once, and each scale of it decoded once, for all of them (a face's three crops, say).
    cache = DecodeCache()
    try:
        with original_spooled(asset) as original:
            for item in eager:
                try:
                    made = eager_renditions_make(asset, [tuple(item)], original=original, cache=cache)
                except TransformationError as exc:
                    logger.warning("Eager transformation %r of asset %s cannot be made: %s", item, asset_id,
                                   exc.message)
                    made = [exc.message]
                else:
                    count += len(made)
                if results is not None:
                    results += made
    except FileNotFoundError:
        if not Asset.objects.filter(pk=asset_id, version=version).exists():
            return count  # deleted (or replaced) while we read it: its renditions go with it
        raise
    return count


def delivered_renditions_purge(asset: Asset) -> int:
    """Remove the kept renditions of the asset's earlier versions (after an overwrite), their files on commit."""
    with transaction.atomic():
        rows = DeliveredRendition.objects.filter(asset_id=asset.pk).exclude(version=asset.version)
        names = [name for name in rows.values_list("file", flat=True) if name]
        count, _ = rows.delete()
        for name in names:
            transaction.on_commit(lambda name=name: default_storage.delete(name))
    return count


__all__ = [
    "MAX_EAGER",
    "SERVABLE_FORMATS",
    "delivered_rendition",
    "delivered_renditions_purge",
    "eager_renditions_make",
    "eager_renditions_queue",
    "eager_renditions_run",
    "face_boxes_known",
    "original_spooled",
    "rendition_key",
    "rendition_render",
]
