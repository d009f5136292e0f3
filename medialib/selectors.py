"""Reads from the asset library: the gallery's pages, one asset, and who may see and change what.

Apps above this one show more of an asset (tagging: its analyses) by passing their own `prefetch` in.
Who may see which assets is decided here only (assets_visible_to, visible_q): every page's read passes the user
in; `user=None` is the library itself (commands, the worker), which sees everything.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import connection
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from .models import Asset, AssetTag, DeliveredRendition, NamedTransformation, Rendition, Tag
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
                 prefetch: Sequence = (), user=None, folder: str | None = None) -> GalleryPage:
    """A page of the assets the user may see, newest first, by keyset on the primary key (no OFFSET scans).

    `before=<id>` gives the next (older) page, `after=<id>` the previous (newer) one; `folder`: only the assets
    in that asset_folder. Assets kept out of the gallery (Asset.in_gallery, enrolment photos) are left out.
    """
    visible = assets_visible_to(user).filter(in_gallery=True)
    if folder:
        visible = visible.filter(asset_folder=folder)
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


@dataclass
class TileDay:
    """One heading of the photo grid: the day and its tiles, newest first."""

    day: date
    assets: list[Asset]

    @property
    def iso(self) -> str:
        return self.day.isoformat()  # the template's date filter costs 50 us a call, 4 calls a day


def tiles_by_day(assets: Sequence[Asset]) -> list[TileDay]:
    """A page of tiles (newest first) grouped by the day they came (`created_at` in the site's time zone: the
    library keeps no taken date), in their order; a run of one day is one group. Pages are cut anywhere, so a day
    may go on in the next page: the grid's script joins a group to the last one when their days are equal."""
    days: list[TileDay] = []
    for asset in assets:
        day = timezone.localdate(asset.created_at)
        if days and days[-1].day == day:
            days[-1].assets.append(asset)
        else:
            days.append(TileDay(day, [asset]))
    return days


def asset_neighbours(*, asset: Asset, user=None) -> tuple[str | None, str | None]:
    """The public_ids of the next newer and the next older asset the user may see, in the gallery's order (by id):
    the viewer's previous and next when the photo it shows is not among the tiles on the page."""
    visible = assets_visible_to(user)
    newer = visible.filter(pk__gt=asset.pk).order_by("pk").values_list("public_id", flat=True).first()
    older = visible.filter(pk__lt=asset.pk).order_by("-pk").values_list("public_id", flat=True).first()
    return newer, older


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


def assets_editable_by(user) -> QuerySet[Asset]:
    """The assets this user may change or delete (asset_can_edit): staff all, others their own, nobody else none."""
    if not user or not user.is_authenticated or not user.is_active:
        return Asset.objects.none()
    return Asset.objects.all() if user.is_staff else Asset.objects.filter(uploaded_by=user)


@dataclass
class AssetsPage:
    assets: list[Asset]
    next_key: tuple | None  # where the next page starts (after this key), None on the last page


def _after(fields: Sequence[str], key: Sequence, descending: bool) -> Q:
    """Rows strictly after `key` in the order of `fields` (a keyset condition, walking the index, no OFFSET)."""
    op = "lt" if descending else "gt"
    condition = Q()
    for i, name in enumerate(fields):
        step = Q(**{f"{name}__{op}": key[i]}, **{fields[j]: key[j] for j in range(i)})
        condition |= step
    return condition


def assets_page(*, user, limit: int, after: tuple | None = None, descending: bool = True, prefix: str | None = None,
                tag: str | None = None, start_at=None) -> AssetsPage:
    """A page of the assets the user may see, by keyset, in Cloudinary's orders: newest first (`descending`) or
    oldest first by creation, or by public_id when a `prefix` is given; `tag` walks the tag's index
    (assettag_tag_newest). Creation order is the primary key's: ids are given in the order rows are created,
    and it is indexed where created_at is not."""
    if tag is not None:
        uses = AssetTag.objects.filter(tag__name=tag).filter(visible_q(user, through="content_object__"))
        if start_at is not None:
            uses = uses.filter(asset_created_at__gte=start_at)
        fields = ("asset_created_at", "content_object_id")
        if after is not None:
            uses = uses.filter(_after(fields, after, descending))
        order = [f"-{f}" if descending else f for f in fields]
        rows = list(uses.order_by(*order).values_list(*fields)[: limit + 1])
        by_pk = Asset.objects.in_bulk([pk for _, pk in rows[:limit]])
        assets = [by_pk[pk] for _, pk in rows[:limit] if pk in by_pk]
        last = rows[limit - 1] if len(rows) > limit else None
        return AssetsPage(assets=assets, next_key=last and (last[0].isoformat(), last[1]))
    queryset = assets_visible_to(user)
    if prefix is not None:
        fields, descending = ("public_id",), False  # as Cloudinary: by public_id, whatever the direction
        queryset = queryset.filter(public_id__startswith=prefix)
    else:
        fields = ("pk",)
    if start_at is not None:
        queryset = queryset.filter(created_at__gte=start_at)
    if after is not None:
        queryset = queryset.filter(_after(fields, after, descending))
    rows = list(queryset.order_by(*[f"-{f}" if descending else f for f in fields])[: limit + 1])
    assets = rows[:limit]
    last = assets[-1] if len(rows) > limit else None
    return AssetsPage(assets=assets, next_key=last and (last.public_id if prefix is not None else last.pk,))


def asset_tag_names(asset_ids: Sequence[int]) -> dict[int, list[str]]:
    """Each asset's tag names, sorted case-insensitively, in one query for a whole page."""
    names: dict[int, list[str]] = defaultdict(list)
    for asset_id, name in AssetTag.objects.filter(content_object_id__in=list(asset_ids)).values_list(
            "content_object_id", "tag__name"):
        names[asset_id].append(name)
    return {asset_id: sorted(names.get(asset_id, []), key=str.lower) for asset_id in asset_ids}


def tag_names_page(*, user, limit: int, prefix: str = "", after: str | None = None) -> tuple[list[str], str | None]:
    """Names of the tags on assets the user may see, by name (keyset), and the last name when there are more."""
    from django.db.models import Exists, OuterRef

    # Walks the tags by name and probes each one's uses by the tag index, stopping at the page's end.
    uses = AssetTag.objects.filter(visible_q(user, through="content_object__"), tag_id=OuterRef("pk"))
    tags = Tag.objects.filter(Exists(uses))
    if prefix:
        tags = tags.filter(name__startswith=prefix)
    if after is not None:
        tags = tags.filter(name__gt=after)
    names = list(tags.order_by("name").values_list("name", flat=True)[: limit + 1])
    return names[:limit], names[limit - 1] if len(names) > limit else None


def library_usage(*, user) -> dict:
    """How many images and renditions the user may see, and their bytes (the whole library for staff, or shared)."""
    from django.db.models import Count, Sum

    visible = assets_visible_to(user)
    assets = visible.aggregate(count=Count("pk"), bytes=Sum("bytes"))
    delivered = DeliveredRendition.objects.filter(visible_q(user, through="asset__")).exclude(file="").aggregate(
        count=Count("pk"), bytes=Sum("bytes"))
    renditions = Rendition.objects.filter(visible_q(user, through="asset__")).count()
    return {"resources": assets["count"], "bytes": assets["bytes"] or 0,
            "derived_resources": delivered["count"] + renditions, "derived_bytes": delivered["bytes"] or 0}


def asset_colors(asset: Asset) -> list[tuple[str, float]]:
    """The asset's dominant colours, from its preview rendition when the worker has made it (smaller to decode)."""
    from django.core.files.storage import default_storage

    from .images import dominant_colors

    rendition = Rendition.objects.filter(asset=asset, version=asset.version, spec="preview").first()
    with default_storage.open(rendition.file.name if rendition else asset.file.name, "rb") as file:
        return dominant_colors(file)


def asset_image_metadata(asset: Asset) -> dict[str, str]:
    """The EXIF tags of the asset's original, as text (the original keeps them; renditions do not)."""
    from django.core.files.storage import default_storage

    from .images import exif_metadata

    with default_storage.open(asset.file.name, "rb") as file:
        return exif_metadata(file)


def asset_folders(*, user, limit: int = 500) -> list[str]:
    """The asset_folders of the assets the user may see, by name (for the gallery's folder filter).

    Who sees everything gets them by a loose index scan (one index probe per folder, a recursive CTE): a DISTINCT
    reads the whole index, 250-490 ms at a million photos on every gallery page."""
    if visible_uploader_ids(user) is None:
        table = connection.ops.quote_name(Asset._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH RECURSIVE folders(name) AS ("
                f" SELECT MIN(asset_folder) FROM {table} WHERE asset_folder > %s"
                f" UNION ALL SELECT (SELECT MIN(asset_folder) FROM {table} WHERE asset_folder > folders.name)"
                f" FROM folders WHERE folders.name IS NOT NULL)"
                f" SELECT name FROM folders WHERE name IS NOT NULL LIMIT %s", ["", limit])
            return [row[0] for row in cursor.fetchall()]
    folders = assets_visible_to(user).exclude(asset_folder="").values_list("asset_folder", flat=True)
    return list(folders.order_by("asset_folder").distinct()[:limit])
