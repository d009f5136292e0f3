"""Writes to the asset library: uploading, tagging, and making renditions."""
from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from datetime import timedelta
from pathlib import PurePosixPath

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from .images import FORMAT_MIME_TYPES, DecodeCache, InvalidImage, image_inspect, thumbnail_render
from .models import Asset, AssetTag, DeliveredRendition, Rendition, Tag, validate_public_id
from .queueing import broker_pause_reset, task_enqueue
from .renditions import delivered_renditions_purge, original_spooled
from .selectors import asset_can_edit, assets_visible_to

logger = logging.getLogger(__name__)

# The renditions the worker makes for every asset: name -> longest side in pixels.
RENDITION_SPECS = {"thumb": 400, "preview": 1600}
TAG_MAX_LENGTH = 100


class UploadError(ValidationError):
    """An upload was refused; the message is meant for the person who sent the file."""


class DuplicateUpload(UploadError):
    """The file (same SHA-256) is already in the library the uploader sees; `asset` is that image."""

    def __init__(self, message: str, *, asset: Asset):
        super().__init__(message, code="duplicate")
        self.asset = asset


def size_format(size: int) -> str:
    """A size in bytes as people read it, the same on every page and in every message: "50 MB", "1.5 kB", "12 bytes"
    (decimal units, at most one decimal, none when it is whole)."""
    if size < 1000:
        return f"{size} byte{'s' if size != 1 else ''}"
    value, unit = float(size), "bytes"
    for unit in ("kB", "MB", "GB", "TB"):
        value /= 1000
        if round(value, 1) < 1000 or unit == "TB":
            break
    text = f"{value:.1f}".removesuffix(".0")
    return f"{text} {unit}"


def duplicate_find(*, sha256: str, user, exclude: Asset | None = None) -> Asset | None:
    """The oldest image with this SHA-256 that `user` may see (MEDIALIB_VISIBILITY), other than `exclude`:
    someone else's private photo is never found, so its existence is not told."""
    if user is None:
        return None
    found = assets_visible_to(user).filter(sha256=sha256)
    if exclude is not None:
        found = found.exclude(pk=exclude.pk)
    return found.order_by("id").first()


def _duplicate_refuse(*, sha256: str, user, label: str) -> None:
    found = duplicate_find(sha256=sha256, user=user)
    if found is not None:
        raise DuplicateUpload(f"{label} is already in your library.", asset=found)


def _public_id_generate() -> str:
    # 20 lower-case letters and digits, like Cloudinary's generated ids.
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(20))


def _storage_name(fmt: str) -> str:
    # Storage keys never derive from user input: a public_id cannot steer where bytes are written.
    key = secrets.token_hex(16)
    return f"originals/{key[:2]}/{key}.{fmt}"


def tag_names_clean(names: Iterable[str]) -> list[str]:
    """Strip, drop empties and duplicates (case-insensitively), and refuse over-long names."""
    cleaned: dict[str, str] = {}
    for name in names:
        name = " ".join(str(name).split())
        if not name:
            continue
        if "\x00" in name:  # PostgreSQL cannot store it
            raise ValidationError(f"Tag {name.replace(chr(0), '')[:30]!r} contains a NUL character (\\x00); remove it.")
        if len(name) > TAG_MAX_LENGTH:
            raise ValidationError(f"Tag {name[:30]!r}… is longer than {TAG_MAX_LENGTH} characters.")
        cleaned.setdefault(name.lower(), name)
    return list(cleaned.values())


def asset_upload(
    *,
    file,
    uploaded_by=None,
    public_id: str | None = None,
    tags: Iterable[str] = (),
    original_filename: str | None = None,
    on_create: Callable[[Asset], object] | None = None,
    overwrite: bool = False,
    context: dict[str, str] | None = None,
    asset_folder: str | None = None,
    allowed_formats: Iterable[str] | None = None,
    refuse_duplicate: bool = False,
) -> Asset:
    """Validate an uploaded file by decoding it, store it unchanged, and create its Asset.

    A `public_id` that is taken is refused (UploadError "exists") unless `overwrite`: then, for its owner or staff,
    the asset gets the new file as a new version (asset_id, pk and kept history of who owns it stay; the old
    original, its thumbnails and kept delivery renditions go; `tags` and `context`, when given, replace the manual
    tags and the context). `on_create` runs for a replaced asset too. Someone else's image is PermissionDenied if
    they may see it, else "exists", as if it belonged to nobody they know. `allowed_formats` refuses a file of
    another format (UploadError "format_not_allowed"), before anything is stored. `refuse_duplicate` refuses a file
    whose SHA-256 is already in an image `uploaded_by` may see (DuplicateUpload, with that image); two such uploads
    racing are serialised by a write to the uploader's user row, so one of them is stored, never both.

    `on_create(asset)` runs inside the upload's transaction, for what an app above this one adds to a new asset
    (tagging's analysis requests: tagging.services.analysis.analysis_on_upload). Either everything is written
    (file, row, tags, what on_create wrote) and the thumbnail (and what on_create queued) is queued (or marked
    for the sweep when the broker is down), or nothing is. The stored file is deleted again only when the row
    cannot have been committed: an exception inside the transaction, not one from the commit or after it
    (a SystemExit from an on-commit enqueue leaves file and row both in place).
    """
    name = original_filename if original_filename is not None else getattr(file, "name", "") or ""
    # A file's name is only shown: a NUL in it (which PostgreSQL cannot store) is dropped rather than refused.
    name = PurePosixPath(name.replace("\\", "/").replace("\x00", "")).name[:255]
    label = name or "The file"

    size = getattr(file, "size", None)
    if size is None:
        file.seek(0, 2)
        size = file.tell()
    if size == 0:
        raise UploadError(f"{label} is empty (0 bytes).", code="empty")
    if size > settings.MEDIALIB_MAX_UPLOAD_BYTES:
        raise UploadError(
            f"{label} is {size_format(size)}, more than the limit of {size_format(settings.MEDIALIB_MAX_UPLOAD_BYTES)}.",
            code="too_large",
        )
    try:
        info = image_inspect(file, max_pixels=settings.MEDIALIB_MAX_PIXELS)
    except InvalidImage as exc:
        raise UploadError(f"{label} {exc}.", code="invalid_image") from None
    if allowed_formats is not None and info.format not in set(allowed_formats):
        raise UploadError(f"{label} is a {info.format} image; allowed_formats accepts only "
                          f"{', '.join(allowed_formats) or 'nothing'}.", code="format_not_allowed")

    replaced = None
    if public_id:
        try:
            validate_public_id(public_id)
        except ValidationError as exc:
            raise UploadError(f"public_id {public_id!r} is not valid: {exc.messages[0]}", code="invalid_public_id")
        replaced = Asset.objects.filter(public_id=public_id).first()
        if replaced is not None:
            _replace_check(replaced, overwrite=overwrite, user=uploaded_by)
    else:
        public_id = _public_id_generate()
    tag_names = tag_names_clean(tags)
    if context is not None:
        context_clean(context)

    file.seek(0)
    digest = hashlib.sha256()
    for chunk in iter(lambda: file.read(1024 * 1024), b""):
        digest.update(chunk)
    file.seek(0)
    check_duplicate = refuse_duplicate and uploaded_by is not None and replaced is None
    if check_duplicate:  # before storing anything; checked again under the lock below
        _duplicate_refuse(sha256=digest.hexdigest(), user=uploaded_by, label=label)

    stored_name = default_storage.save(_storage_name(info.format), File(file, name=name or "upload"))
    # What the except clause needs to know whether the row may be committed: an exception can arrive at any
    # point, a SystemExit from gunicorn's timeout or a KeyboardInterrupt included, also after the commit.
    progress = {"body_done": False, "committed": False}
    fields = {"file": stored_name, "original_filename": name, "format": info.format, "width": info.width,
              "height": info.height, "frames": info.frames, "bytes": size, "sha256": digest.hexdigest(),
              "version": int(time.time()), "renditions_missing": True, "renditions_queued_at": timezone.now()}
    try:
        with transaction.atomic():
            current = None
            if replaced is not None:
                # Locked as asset_delete and renditions_generate lock it: a thumbnail of the old version being
                # recorded meanwhile is in the list of files to delete, or never committed.
                current = Asset.objects.select_for_update().filter(pk=replaced.pk).first()
            if check_duplicate:
                # A write to the uploader's row: a row lock on PostgreSQL, the database's write lock on SQLite.
                # A second upload of the same file waits here until the first commits, then sees it.
                user_model = get_user_model()
                pk_name = user_model._meta.pk.attname
                user_model.objects.filter(pk=uploaded_by.pk).update(**{pk_name: F(pk_name)})
                _duplicate_refuse(sha256=fields["sha256"], user=uploaded_by, label=label)
            if current is not None:
                asset = _asset_replace(current, fields=fields, tag_names=tag_names if tags else None,
                                       context=context, asset_folder=asset_folder)
            else:
                asset = Asset.objects.create(public_id=public_id, uploaded_by=uploaded_by, context=context or {},
                                             asset_folder=asset_folder or "", **fields)
                _tags_attach(asset=asset, names=tag_names, source=AssetTag.SOURCE_MANUAL)

            def committed():
                # The first callback to run on commit (on_create's come after): whatever raises from here on,
                # the row is committed.
                progress["committed"] = True
                _renditions_enqueue(asset.pk)

            transaction.on_commit(committed)
            if on_create is not None:
                on_create(asset)
            progress["body_done"] = True
    except BaseException as exc:
        if not _row_may_be_committed(
            raised_inside=not progress["body_done"],
            committed=progress["committed"],
            row_exists=lambda: Asset.objects.filter(public_id=public_id, file=stored_name).exists(),
        ):
            default_storage.delete(stored_name)
        # Two uploads raced for the same public_id; anything else is a real error.
        if isinstance(exc, IntegrityError) and Asset.objects.filter(public_id=public_id).exists():
            raise UploadError(f"public_id {public_id!r} is already taken.", code="exists") from None
        raise
    return asset


def _replace_check(asset: Asset, *, overwrite: bool, user) -> None:
    if not overwrite:
        raise UploadError(f"public_id {asset.public_id!r} is already taken.", code="exists")
    if not asset_can_edit(user=user, asset=asset):
        if user is not None and assets_visible_to(user).filter(pk=asset.pk).exists():
            raise PermissionDenied("Only the person who uploaded this image, or staff, can overwrite it.")
        raise UploadError(f"public_id {asset.public_id!r} is already taken.", code="exists")


def _asset_replace(current: Asset, *, fields: dict, tag_names: list[str] | None, context: dict | None,
                   asset_folder: str | None) -> Asset:
    """Give a locked asset a new original as a new version; the old files go when the transaction commits."""
    old_files = [current.file.name, *Rendition.objects.filter(asset=current).values_list("file", flat=True)]
    Rendition.objects.filter(asset=current).delete()
    # Versions are seconds, as Cloudinary's; two uploads within one second still make two versions.
    fields = {**fields, "version": max(fields["version"], current.version + 1)}
    for name, value in fields.items():
        setattr(current, name, value)
    if context is not None:
        current.context = context
    if asset_folder is not None:
        current.asset_folder = asset_folder
    current.save()
    if tag_names is not None:
        manual_tags_replace(asset=current, names=tag_names)
    delivered_renditions_purge(current)
    for name in old_files:
        transaction.on_commit(lambda name=name: default_storage.delete(name))
    return current


def manual_tags_add(*, asset: Asset, names: list[str]) -> list[str]:
    """Attach manual tags the asset does not have yet (names cleaned by tag_names_clean; no permission check)."""
    return _tags_attach(asset=asset, names=names, source=AssetTag.SOURCE_MANUAL)


def manual_tags_replace(*, asset: Asset, names: list[str]) -> None:
    """The manual tags become `names`; add-on tags stay (analysis owns them, and re-analysis replaces them)."""
    wanted = {name.lower() for name in names}
    AssetTag.objects.filter(content_object=asset, source=AssetTag.SOURCE_MANUAL).exclude(
        tag__name__in=[t for t in asset.tags.names() if t.lower() in wanted]).delete()
    _tags_attach(asset=asset, names=names, source=AssetTag.SOURCE_MANUAL)


CONTEXT_KEY_MAX_LENGTH = 100
CONTEXT_VALUE_MAX_LENGTH = 1000
CONTEXT_MAX_KEYS = 50


def context_clean(context: dict) -> dict[str, str]:
    """Cloudinary's contextual metadata as text keys and values (None is ""); refuses (ValidationError) what this
    library cannot keep: too many, too long, empty keys, or NUL."""
    if not isinstance(context, dict):
        raise ValidationError("context must be key=value pairs.")
    if len(context) > CONTEXT_MAX_KEYS:
        raise ValidationError(f"context holds {len(context)} keys; at most {CONTEXT_MAX_KEYS} are kept.")
    cleaned = {}
    for key, value in context.items():
        key, value = str(key).strip(), "" if value is None else str(value)
        if "\x00" in key or "\x00" in value:  # PostgreSQL cannot store it
            raise ValidationError("context holds a NUL character (\\x00); remove it.")
        if not key or len(key) > CONTEXT_KEY_MAX_LENGTH:
            raise ValidationError(f"context key {key[:30]!r} must be 1 to {CONTEXT_KEY_MAX_LENGTH} characters.")
        if len(value) > CONTEXT_VALUE_MAX_LENGTH:
            raise ValidationError(f"context value of {key[:30]!r} is longer than {CONTEXT_VALUE_MAX_LENGTH} "
                                  "characters.")
        cleaned[key] = value
    return cleaned


def _row_may_be_committed(*, raised_inside: bool, committed: bool, row_exists: Callable[[], bool]) -> bool:
    """After a write's transaction raised: may the row that names a stored file have been committed?

    Only when it cannot have been may the file be deleted: a committed row whose file is gone is data lost, a
    stored file with no row is only space (an orphan). Raised inside the atomic block, the block was rolled back.
    Raised later (by the commit itself, an on-commit callback, a signal that arrived in between) the database
    says; if it cannot say (it is down), or the caller's transaction is still open and decides, keep the file.
    """
    if committed:
        return True
    if raised_inside:
        return False
    if transaction.get_connection().in_atomic_block:
        return True
    try:
        return row_exists()
    except Exception:
        return True


def _renditions_enqueue(asset_id: int) -> bool:
    """Queue the renditions task, in one short attempt (the upload must not wait on a broker that is down);
    what could not be queued is marked so that the next renditions sweep queues it."""
    from .tasks import renditions_generate

    if task_enqueue(renditions_generate, asset_id):
        return True
    try:
        Asset.objects.filter(pk=asset_id, renditions_missing=True).update(renditions_queued_at=None)
    except Exception:  # the database is down too: the sweep still finds it, by its age
        logger.exception("Could not mark the renditions of asset %s as not queued", asset_id)
    return False


def _tags_attach(*, asset: Asset, names: list[str], source: str, confidence: float | None = None) -> list[str]:
    """Attach tags the asset does not have yet; a tag it already has keeps its source."""
    added = []
    existing = {t.lower() for t in asset.tags.names()}
    for name in names:
        if name.lower() in existing:
            continue
        tag = tag_get_or_create(name)
        AssetTag.objects.create(content_object=asset, tag=tag, source=source, confidence=confidence)
        existing.add(name.lower())
        added.append(tag.name)
    return added


def tag_get_or_create(name: str) -> Tag:
    """The tag of that name whatever its case, made if new; safe when two uploads make it at once."""
    tag = Tag.objects.filter(name__iexact=name).first()
    if tag is not None:
        return tag
    try:
        with transaction.atomic():  # a savepoint: losing the race must not spoil the caller's transaction
            return Tag.objects.create(name=name)
    except IntegrityError:
        return Tag.objects.get(name__iexact=name)


def tags_get_or_create(names: Iterable[str]) -> dict[str, Tag]:
    """tag_get_or_create for several names, in one query when they all exist: {lower-cased name: tag}."""
    from django.db.models.functions import Lower

    wanted: dict[str, str] = {}
    for name in names:
        wanted.setdefault(name.lower(), name)  # a new tag is made with the first spelling, as one by one would
    found: dict[str, Tag] = {}
    for tag in Tag.objects.annotate(lower_name=Lower("name")).filter(lower_name__in=list(wanted)).order_by("pk"):
        found.setdefault(tag.lower_name, tag)
    for lower, name in wanted.items():
        if lower not in found:
            found[lower] = tag_get_or_create(name)
    return found


def tag_usage_refresh(tag_ids=None) -> int:
    """Set Tag.usage_count from the tag uses in one statement, for these tags (ids or a queryset) or all.

    Returns how many tags changed. Never called per tag use: concurrent uploads would all update the same
    popular tag rows and queue on their locks; the periodic task and bulk changes call this instead.
    """
    from django.db import connection
    from django.db.models import QuerySet

    if isinstance(tag_ids, QuerySet):
        tag_ids = list(tag_ids.values_list("pk", flat=True))
    elif tag_ids is not None:
        tag_ids = list(tag_ids)
    only, params = "", []
    counted = f"SELECT tag_id, count(*) AS n FROM {AssetTag._meta.db_table}"
    if tag_ids is not None:
        if not tag_ids:
            return 0
        marks = ", ".join(["%s"] * len(tag_ids))
        only = f" AND tg.id IN ({marks})"
        counted += f" WHERE tag_id IN ({marks})"
        params = tag_ids * 2
    counted += " GROUP BY tag_id"
    table = Tag._meta.db_table
    with connection.cursor() as cursor:  # one statement: atomic by itself
        cursor.execute(
            f"UPDATE {table} SET usage_count = c.n FROM ("
            f" SELECT tg.id, COALESCE(u.n, 0) AS n FROM {table} tg LEFT JOIN ({counted}) u ON u.tag_id = tg.id"
            f" WHERE 1 = 1{only}) c WHERE {table}.id = c.id AND {table}.usage_count <> c.n",
            params,
        )
        return cursor.rowcount


def asset_tags_add(*, asset: Asset, names: Iterable[str], user) -> list[str]:
    """Add manual tags; only the asset's owner or staff may."""
    if not asset_can_edit(user=user, asset=asset):
        raise PermissionDenied("Only the person who uploaded this image, or staff, can change its tags.")
    cleaned = tag_names_clean(names)
    if not cleaned:
        raise ValidationError("Type a tag to add.")
    with transaction.atomic():
        return _tags_attach(asset=asset, names=cleaned, source=AssetTag.SOURCE_MANUAL)


def asset_tag_remove(*, asset: Asset, name: str, user) -> bool:
    """Remove one tag, whatever its source; only the asset's owner or staff may."""
    if not asset_can_edit(user=user, asset=asset):
        raise PermissionDenied("Only the person who uploaded this image, or staff, can change its tags.")
    deleted, _ = AssetTag.objects.filter(content_object=asset, tag__name__iexact=name).delete()
    return bool(deleted)


def renditions_generate(*, asset_id: int) -> list[Rendition]:
    """Make the renditions an asset is missing for its current version; safe to run any number of times,
    and at the same time as the asset is deleted (whichever commits first, nothing is left behind)."""
    asset = Asset.objects.filter(pk=asset_id).first()
    if asset is None:
        return []  # deleted since it was queued
    have = set(Rendition.objects.filter(asset=asset, version=asset.version).values_list("spec", flat=True))
    missing = {spec: size for spec, size in RENDITION_SPECS.items() if spec not in have}
    if not missing:
        if page_renditions_make(asset):
            _renditions_done(asset)
        return []

    # Read the original once through the storage (never .path: it may be on S3), for every rendition.
    with ExitStack() as stack:
        try:
            original = stack.enter_context(original_spooled(asset))
        except FileNotFoundError:
            if not Asset.objects.filter(pk=asset_id).exists():
                return []  # deleted while we read it: its files go with it
            raise
        made = []
        cache = DecodeCache()  # each scale of the original decoded once, for the thumbnails and the pages' sizes
        for spec, size in sorted(missing.items(), key=lambda item: item[1]):
            data, width, height = thumbnail_render(original, max_size=size, cache=cache)
            name = f"renditions/{PurePosixPath(asset.file.name).stem}/{spec}-v{asset.version}.jpg"
            stored = default_storage.save(name, ContentFile(data))
            rendition = _rendition_record(asset=asset, spec=spec, stored=stored, width=width, height=height)
            if rendition is None:
                return []  # the asset was deleted meanwhile; its files are being deleted with it
            made.append(rendition)
        if not page_renditions_make(asset, original=original, cache=cache):
            return []  # the asset was deleted meanwhile
    _renditions_done(asset)
    return made


def page_renditions_make(asset: Asset, *, original=None, cache=None) -> bool:
    """Make (or find) the kept delivery renditions the pages show for every image (page_images: tile and preview
    at 1x and 2x), so that a page's first view renders nothing; False if the asset went away meanwhile."""
    from .page_images import eager_transformations, page_extension
    from .renditions import delivered_rendition
    from .transformations import Transformation

    for text in eager_transformations():
        try:
            made = delivered_rendition(asset=asset, transformation=Transformation.from_string(text),
                                       fmt=page_extension(asset), original=original, cache=cache)
        except FileNotFoundError:
            if not Asset.objects.filter(pk=asset.pk).exists():
                return False  # deleted while we read its original: its files go with it
            raise
        if not isinstance(made, DeliveredRendition) and not Asset.objects.filter(pk=asset.pk).exists():
            return False
    return True


def _renditions_done(asset: Asset) -> None:
    # Every rendition of this version exists: the sweep stops looking at it (and its index row goes).
    Asset.objects.filter(pk=asset.pk, version=asset.version, renditions_missing=True).update(renditions_missing=False)


def renditions_sweep(*, older_than: timedelta | None = None, limit: int = 1000) -> list[int]:
    """Queue again the renditions of assets still missing some: those whose task could not be queued (at once)
    and those queued longer ago than `older_than` (a message lost with the broker, a worker killed). Returns
    the ids queued; at most `limit` a run, oldest first.

    Reads the partial index asset_renditions_missing, which holds only the assets still waiting, so a sweep
    every minute costs nothing on a library of millions. The default age is the broker's visibility timeout:
    by then Redis has given back what a dead worker held, so what is still waiting was lost; queuing it twice
    is harmless (renditions_generate makes only what is missing).
    """
    from .tasks import renditions_generate

    if older_than is None:
        older_than = timedelta(seconds=settings.MEDIALIB_RENDITIONS_SWEEP_AFTER_SECONDS)
    broker_pause_reset()  # once a minute is not a burst: always try the broker again
    now = timezone.now()
    waiting = Asset.objects.filter(renditions_missing=True).filter(
        Q(renditions_queued_at__isnull=True) | Q(renditions_queued_at__lte=now - older_than)
    )
    oldest_first = waiting.order_by(F("renditions_queued_at").asc(nulls_first=True))
    asset_ids = list(oldest_first.values_list("pk", flat=True)[:limit])
    queued = []
    for asset_id in asset_ids:
        if not task_enqueue(renditions_generate, asset_id):
            break  # the broker is down: the next sweep tries again
        queued.append(asset_id)
    # Counted from now again, so the next sweep does not queue them a second time while they wait in the queue.
    Asset.objects.filter(pk__in=queued, renditions_missing=True).update(renditions_queued_at=now)
    return queued


def _rendition_record(*, asset: Asset, spec: str, stored: str, width: int, height: int) -> Rendition | None:
    """Record a stored rendition file; None if the asset (at this version) is gone. The file is deleted again
    unless the row that names it may be committed."""
    body_done = False
    try:
        with transaction.atomic():
            # Lock the asset: asset_delete locks it too, so a delete and this insert happen one after the other.
            # Without it, a rendition committed for a deleted asset is a foreign-key error (the delete's 500)
            # and its file an orphan. (SQLite's IMMEDIATE transactions serialise them the same way.)
            current = Asset.objects.select_for_update().filter(pk=asset.pk, version=asset.version).first()
            if current is None:
                rendition, created = None, False
            else:
                rendition, created = Rendition.objects.get_or_create(
                    asset=current,
                    spec=spec,
                    version=asset.version,
                    defaults={"file": stored, "width": width, "height": height},
                )
            body_done = True
    except BaseException:
        if not _row_may_be_committed(
            raised_inside=not body_done,
            committed=False,
            row_exists=lambda: Rendition.objects.filter(asset_id=asset.pk, spec=spec, file=stored).exists(),
        ):
            default_storage.delete(stored)
        raise
    if not created:  # another worker got there first (keep theirs), or the asset is gone
        default_storage.delete(stored)
    return rendition


def asset_delete(*, asset: Asset, user) -> int:
    """Delete an asset with its files; only the owner or staff may. Safe while a worker makes its renditions.
    Returns how many derived files (renditions) went with it."""
    if not asset_can_edit(user=user, asset=asset):
        raise PermissionDenied("Only the person who uploaded this image, or staff, can delete it.")
    with transaction.atomic():
        # Locked as renditions_generate locks it: a rendition it records is either in the list below or never
        # committed, so no rendition file outlives the asset.
        current = Asset.objects.select_for_update().filter(pk=asset.pk).first()
        if current is None:
            return 0  # deleted by someone else meanwhile
        names = [current.file.name, *Rendition.objects.filter(asset=current).values_list("file", flat=True),
                 *DeliveredRendition.objects.filter(asset=current).exclude(file="").values_list("file", flat=True)]
        current.delete()
        for name in names:
            transaction.on_commit(lambda name=name: default_storage.delete(name))
    return len(names) - 1


def asset_details_update(*, asset: Asset, user, tags: Iterable[str] | None = None, context: dict | None = None,
                         asset_folder: str | None = None) -> Asset:
    """Replace the asset's manual tags (add-on tags stay: they are the analysis' to change), its context and its
    folder, each only when given; only the owner or staff may. Returns the asset as stored."""
    if not asset_can_edit(user=user, asset=asset):
        raise PermissionDenied("Only the person who uploaded this image, or staff, can change it.")
    names = tag_names_clean(tags) if tags is not None else None
    context = context_clean(context) if context is not None else None
    if asset_folder:
        asset_folder = asset_folder.strip("/")
        try:
            validate_public_id(asset_folder)
        except ValidationError:
            raise ValidationError(f"asset_folder {asset_folder[:60]!r} is not a valid folder path: folder names hold "
                                  "letters, digits, '_', '-' and '.', separated by '/'.") from None
    with transaction.atomic():
        current = Asset.objects.select_for_update().get(pk=asset.pk)
        if names is not None:
            keep = {name.lower() for name in names}
            manual = AssetTag.objects.filter(content_object=current, source=AssetTag.SOURCE_MANUAL)
            gone = [pk for pk, name in manual.values_list("pk", "tag__name") if name.lower() not in keep]
            AssetTag.objects.filter(pk__in=gone).delete()
            _tags_attach(asset=current, names=names, source=AssetTag.SOURCE_MANUAL)
        fields = []
        if context is not None:
            current.context, fields = context, [*fields, "context"]
        if asset_folder is not None:
            current.asset_folder, fields = asset_folder, [*fields, "asset_folder"]
        if fields:
            current.save(update_fields=[*fields, "updated_at"])
    return current


def assets_delete(*, assets: Iterable[Asset], user) -> dict[str, int]:
    """Delete these assets with their files, all or none: if the user may not delete one of them, nothing is
    deleted (PermissionDenied). Returns {public_id: how many derived files went with it}."""
    assets = list(assets)
    refused = [asset.public_id for asset in assets if not asset_can_edit(user=user, asset=asset)]
    if refused:
        raise PermissionDenied(f"Only the person who uploaded an image, or staff, can delete it; not yours: "
                               f"{', '.join(refused[:10])}{'…' if len(refused) > 10 else ''}. Nothing was deleted.")
    with transaction.atomic():
        return {asset.public_id: asset_delete(asset=asset, user=user) for asset in assets}


__all__ = [
    "FORMAT_MIME_TYPES",
    "RENDITION_SPECS",
    "UploadError",
    "asset_delete",
    "asset_details_update",
    "assets_delete",
    "context_clean",
    "asset_tag_remove",
    "asset_tags_add",
    "asset_upload",
    "context_clean",
    "manual_tags_add",
    "manual_tags_replace",
    "renditions_generate",
    "renditions_sweep",
    "tag_names_clean",
    "tag_usage_refresh",
]
