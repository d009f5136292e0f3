"""Writes to existing assets in bulk or by name, for the Upload API: tag commands, contextual metadata, renaming."""
from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from .models import Asset, AssetTag, validate_public_id
from .selectors import asset_can_edit, assets_visible_to
from .services import (
    UploadError,
    asset_delete,
    context_clean,
    manual_tags_add,
    manual_tags_replace,
    tag_names_clean,
)

TAG_COMMANDS = ("add", "remove", "replace", "remove_all")
CONTEXT_COMMANDS = ("add", "remove_all")
# One call changes at most this many assets (Cloudinary's limit for tags and context is 1000 public_ids).
MAX_PUBLIC_IDS = 1000


def _editable_locked(*, public_ids: Iterable[str], user, action: str) -> list[Asset]:
    """The assets of these public_ids that the user may see, locked for the transaction, in the order given.
    Those they may not see are skipped, as Cloudinary skips public_ids that do not exist; one they see but may not
    change refuses the whole call (PermissionDenied) before anything is written."""
    wanted = list(dict.fromkeys(p for p in public_ids if p and "\x00" not in p))
    if len(wanted) > MAX_PUBLIC_IDS:
        raise ValidationError(f"At most {MAX_PUBLIC_IDS} public_ids per call; {len(wanted)} were given.")
    found = {a.public_id: a for a in assets_visible_to(user).select_for_update().filter(public_id__in=wanted)}
    assets = [found[p] for p in wanted if p in found]
    refused = [a.public_id for a in assets if not asset_can_edit(user=user, asset=a)]
    if refused:
        raise PermissionDenied(f"Only the person who uploaded an image, or staff, can {action}; not yours: "
                               f"{', '.join(refused[:10])}{' …' if len(refused) > 10 else ''}.")
    return assets


def assets_tags_command(*, public_ids: Iterable[str], command: str, tags: Iterable[str] = (), user) -> list[str]:
    """Cloudinary's tags commands over many assets, in one transaction: `add` the tags, `remove` them, `replace`
    the manual tags with them, `remove_all` manual tags. Add-on tags stay (analysis owns them; rejecting one is a
    moderation decision made in the library), except that `remove` takes off a named tag whatever its source,
    as the asset page does. Returns the public_ids changed (those that exist and the user may see)."""
    if command not in TAG_COMMANDS:
        raise ValidationError(f"Unknown tags command {command[:30]!r}; use one of {', '.join(TAG_COMMANDS)}.")
    names = tag_names_clean(tags)
    if command != "remove_all" and not names:
        raise ValidationError("Missing required parameter - tag")
    with transaction.atomic():
        assets = _editable_locked(public_ids=public_ids, user=user, action="change its tags")
        for asset in assets:
            if command == "add":
                manual_tags_add(asset=asset, names=names)
            elif command == "remove":
                lowered = {name.lower() for name in names}
                AssetTag.objects.filter(content_object=asset, tag__name__in=[
                    t for t in asset.tags.names() if t.lower() in lowered]).delete()
            elif command == "replace":
                manual_tags_replace(asset=asset, names=names)
            else:
                AssetTag.objects.filter(content_object=asset, source=AssetTag.SOURCE_MANUAL).delete()
    return [asset.public_id for asset in assets]


def assets_context_command(*, public_ids: Iterable[str], command: str, context: dict[str, str] | None = None,
                           user) -> list[str]:
    """`add`: set these keys (others stay); `remove_all`: clear the context. One transaction, as the tags."""
    if command not in CONTEXT_COMMANDS:
        raise ValidationError(f"Unknown context command {command[:30]!r}; use one of {', '.join(CONTEXT_COMMANDS)}.")
    if command == "add" and not context:
        raise ValidationError("Missing required parameter - context")
    with transaction.atomic():
        assets = _editable_locked(public_ids=public_ids, user=user, action="change its context")
        for asset in assets:
            asset.context = {} if command == "remove_all" else context_clean({**asset.context, **context})
            asset.save(update_fields=["context", "updated_at"])
    return [asset.public_id for asset in assets]


def asset_rename(*, asset: Asset, to_public_id: str, user, overwrite: bool = False) -> Asset:
    """Give the asset another public_id; it keeps its asset_id, files and kept renditions (keyed by the asset, not
    its name), and URLs of the old public_id stop working. A taken target is UploadError "exists" unless
    `overwrite`, which deletes the target with its files, if the user may delete it (else PermissionDenied, or
    "exists" when they may not even see it)."""
    if not asset_can_edit(user=user, asset=asset):
        raise PermissionDenied("Only the person who uploaded this image, or staff, can rename it.")
    try:
        validate_public_id(to_public_id)
    except ValidationError as exc:
        raise UploadError(f"to_public_id {to_public_id!r} is not valid: {exc.messages[0]}",
                          code="invalid_public_id") from None
    if to_public_id == asset.public_id:
        return asset
    with transaction.atomic():
        current = Asset.objects.select_for_update().filter(pk=asset.pk).first()
        if current is None:
            raise Asset.DoesNotExist(f"Resource not found - {asset.public_id}")
        target = Asset.objects.select_for_update().filter(public_id=to_public_id).first()
        if target is not None:
            if not overwrite:
                raise UploadError(f"public_id {to_public_id!r} is already taken.", code="exists")
            if not asset_can_edit(user=user, asset=target):
                if assets_visible_to(user).filter(pk=target.pk).exists():
                    raise PermissionDenied(f"{to_public_id!r} belongs to someone else: it cannot be overwritten.")
                raise UploadError(f"public_id {to_public_id!r} is already taken.", code="exists")
            asset_delete(asset=target, user=user)
        current.public_id = to_public_id
        current.save(update_fields=["public_id", "updated_at"])
    return current


__all__ = ["CONTEXT_COMMANDS", "TAG_COMMANDS", "asset_rename", "assets_context_command", "assets_tags_command"]
