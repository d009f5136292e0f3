"""Reads from the asset library: the gallery's pages, one asset, and who may see and change what.

Apps above this one show more of an asset (tagging: its analyses) by passing their own `prefetch` in.
Who may see which assets is decided here only (assets_visible_to, visible_q): every page's read passes the user
in; `user=None` is the library itself (commands, the worker), which sees everything.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet

from .models import Asset, AssetTag, DeliveredRendition, NamedTransformation, Tag
from .transformations import Transformation, TransformationError


def asset_can_edit(*, user, asset: Asset) -> bool:
    if not user or not user.is_authenticated or not user.is_active:
        return False
    return user.is_staff or asset.uploaded_by_id == user.pk


def visible_uploader_ids(user) -> tuple[int, ...] | None:
    """Whose assets this user may see: None for everyone's, else the uploaders' ids (none at all: nothing).

    MEDIALIB_VISIBILITY=shared: every signed-in user sees every asset. private: users see their own, staff all.
    `user=None` is the library itself (commands, the worker).
    """
    if user is None:
        return None
    if not user.is_authenticated:
        return ()
    if settings.MEDIALIB_VISIBILITY == "shared" or user.is_active and user.is_staff:
        return None
    return (user.pk,)


def visible_q(user, *, through: str = "") -> Q:
    """The condition on assets (or, `through="asset__"`, on rows of an asset) that this user may see them."""
    uploaders = visible_uploader_ids(user)
    return Q() if uploaders is None else Q(**{f"{through}uploaded_by__in": uploaders})


def assets_visible_to(user) -> QuerySet[Asset]:
    """The assets this user may see (visible_q)."""
    return Asset.objects.filter(visible_q(user))


def _with_display_data(queryset: QuerySet[Asset], prefetch: Sequence = ()) -> QuerySet[Asset]:
    return queryset.select_related("uploaded_by").prefetch_related(
        Prefetch("tagged_items", queryset=AssetTag.objects.select_related("tag").order_by("tag__name").only(
            "source", "confidence", "content_object_id", "tag__name", "tag__slug")),
        *prefetch,
    )


def _with_tile_data(queryset: QuerySet[Asset], prefetch: Sequence = ()) -> QuerySet[Asset]:
    """What a gallery tile shows besides its tags (those come from tiles_prepare) and its picture (a delivery URL,
    medialib.page_images: no query): the callers' `prefetch`, best into plain lists (to_attr), since filling each
    asset's related managers clones a queryset per asset and relation, 3 ms a page of 48."""
    return queryset.prefetch_related(*prefetch)


@dataclass(frozen=True, slots=True)
class TileTag:
    name: str
    source: str
    confidence: float | None


def tiles_prepare(assets: list[Asset]) -> list[Asset]:
    """Give each asset `tile_tags`, its tags by name, in one query of plain rows: a page of ~50 tiles has ~500
    tags, and building an AssetTag and a Tag model for each cost more than the rest of the page's queries."""
    rows = list(AssetTag.objects.filter(content_object_id__in=[asset.pk for asset in assets])
                .values_list("content_object_id", "tag_id", "source", "confidence"))
    # The names by a second query: joined, PostgreSQL hashes the whole tag table (5 ms at 20,000 tags).
    names = dict(Tag.objects.filter(pk__in={row[1] for row in rows}).values_list("pk", "name"))
    by_asset: dict[int, list[TileTag]] = defaultdict(list)
    for asset_id, tag_id, source, confidence in rows:
        by_asset[asset_id].append(TileTag(names[tag_id], source, confidence))
    for tags in by_asset.values():
        tags.sort(key=lambda tag: tag.name)
    for asset in assets:
        asset.tile_tags = by_asset.get(asset.pk, [])
    return assets


def tiles_by_ids(*, ids: list[int], prefetch: Sequence = (), user=None) -> list[Asset]:
    """Those assets that exist (and the user may see), ready for gallery tiles, newest first."""
    return tiles_prepare(list(_with_tile_data(assets_visible_to(user).filter(pk__in=ids), prefetch).order_by("-pk")))


@dataclass
class GalleryPage:
    assets: list[Asset]
    next_before: int | None  # cursor for older assets
    prev_after: int | None  # cursor for newer assets


def gallery_page(*, before: int | None = None, after: int | None = None, limit: int = 48,
                 prefetch: Sequence = (), user=None) -> GalleryPage:
    """A page of the assets the user may see, newest first, by keyset on the primary key (no OFFSET scans).

    `before=<id>` gives the next (older) page, `after=<id>` the previous (newer) one.
    """
    visible = assets_visible_to(user)
    queryset = _with_tile_data(visible, prefetch)
    if after is not None:
        rows = list(queryset.filter(pk__gt=after).order_by("pk")[: limit + 1])
        has_newer = len(rows) > limit
        assets = list(reversed(rows[:limit]))
        has_older = visible.filter(pk__lt=assets[-1].pk).exists() if assets else False
    else:
        if before is not None:
            queryset = queryset.filter(pk__lt=before)
        rows = list(queryset.order_by("-pk")[: limit + 1])
        has_older = len(rows) > limit
        assets = rows[:limit]
        has_newer = before is not None and bool(assets) and visible.filter(pk__gt=assets[0].pk).exists()
    return GalleryPage(
        assets=tiles_prepare(assets),
        next_before=assets[-1].pk if assets and has_older else None,
        prev_after=assets[0].pk if assets and has_newer else None,
    )


def asset_get(*, public_id: str, prefetch: Sequence = (), user=None) -> Asset | None:
    if "\x00" in public_id:  # none holds NUL, and PostgreSQL refuses to compare text holding one
        return None
    return _with_display_data(assets_visible_to(user).filter(public_id=public_id), prefetch).first()


def assets_by_ids(*, ids: list[int], prefetch: Sequence = (), user=None) -> list[Asset]:
    """Those assets that exist (and the user may see), with what the pages show of them, newest first."""
    return list(_with_display_data(assets_visible_to(user).filter(pk__in=ids), prefetch).order_by("-pk"))


def asset_by_pk(*, pk: int, prefetch: Sequence = (), user=None) -> Asset | None:
    return _with_display_data(assets_visible_to(user).filter(pk=pk), prefetch).first()


def named_transformation(name: str) -> Transformation | None:
    """The definition of t_<name>, parsed; None for an unknown name (Transformation.expand's lookup). One query."""
    definition = NamedTransformation.objects.filter(name=name).values_list("transformation", flat=True).first()
    return None if definition is None else Transformation.from_string(definition)


def named_transformation_errors(*, name: str, definition: Transformation, old_name: str | None = None) -> list[str]:
    """What saving t_<name> as `definition` (renamed from `old_name`) would leave unusable, readable; [] if nothing.

    Every named transformation is expanded with the change applied, so an unknown name in the definition, a cycle
    through this one, and another transformation that used the old name or now nests too deep are all caught."""
    stored = dict(NamedTransformation.objects.values_list("name", "transformation"))
    changed = {other: text for other, text in stored.items() if other != old_name}
    changed[name] = str(definition)

    def expansion_error(other: str, definitions: dict[str, str]) -> str | None:
        def lookup(wanted: str) -> Transformation | None:
            return Transformation.from_string(definitions[wanted]) if wanted in definitions else None

        try:
            Transformation.from_string(f"t_{other}").expand(lookup)
        except TransformationError as exc:
            return exc.message
        return None

    errors = []
    own = expansion_error(name, changed)
    if own:
        errors.append(own)
    for other in sorted(changed.keys() - {name}):
        # Only what this change breaks: one already broken (stored before validation) must not block every save.
        error = expansion_error(other, changed)
        if error and not expansion_error(other, stored):
            errors.append(f"t_{other} would no longer work: {error}")
    return errors


def named_transformations_using(name: str) -> list[str]:
    """The names of the other named transformations whose definitions use t_<name> directly."""
    users = []
    for other, text in NamedTransformation.objects.exclude(name=name).values_list("name", "transformation"):
        try:
            if name in Transformation.from_string(text).named():
                users.append(other)
        except TransformationError:  # stored before validation existed; it cannot be using anything that works
            continue
    return users


def transformation_allowed_unsigned(*, asset: Asset, transformation: Transformation,
                                    expanded: Transformation, fmt: str) -> bool:
    """Whether strict transformations (MEDIALIB_DELIVERY_STRICT_TRANSFORMATIONS) let an unsigned, anonymous URL ask
    for `transformation` (as written in the URL; `expanded` with its named transformations replaced) of `asset`.

    As Cloudinary's strict mode: the original; a named transformation marked allowed_unsigned (alone, or with f_);
    one listed in MEDIALIB_DELIVERY_ALLOWED_TRANSFORMATIONS; or one already made and kept for this version in the
    output format `fmt` (as on Cloudinary, the extension must match too)."""
    if not transformation:
        return True  # the original, in any of the few formats (a bounded amount of work per image)
    if len(transformation.components) == 1:
        keys = {key for key, _ in transformation.components[0].params}
        if "t" in keys and keys <= {"t", "f"} and NamedTransformation.objects.filter(
                name=transformation.components[0].get("t"), allowed_unsigned=True).exists():
            return True
    canonical = str(transformation)
    for allowed in settings.MEDIALIB_DELIVERY_ALLOWED_TRANSFORMATIONS:
        try:
            if str(Transformation.from_string(allowed)) == canonical:
                return True
        except TransformationError:  # medialib.E014 reports it at start
            continue
    return DeliveredRendition.objects.filter(
        asset=asset, version=asset.version, format=fmt, transformation__in={canonical, str(expanded)},
    ).exclude(file="").exists()
