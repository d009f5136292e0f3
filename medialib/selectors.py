"""Reads from the asset library: the gallery's pages, one asset, its analysis status, and who may change what."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Prefetch, QuerySet
from django.urls import reverse

from tagging.addons import ADDONS
from tagging.models import AnalysisResult

from .models import Asset, AssetTag, Rendition, Tag

# The threshold offered when an asset was never analysed with one.
AUTO_TAGGING_DEFAULT = 0.6


def asset_can_edit(*, user, asset: Asset) -> bool:
    if not user or not user.is_authenticated or not user.is_active:
        return False
    return user.is_staff or asset.uploaded_by_id == user.pk


def _with_display_data(queryset: QuerySet[Asset]) -> QuerySet[Asset]:
    return queryset.select_related("uploaded_by").prefetch_related(
        Prefetch("tagged_items", queryset=AssetTag.objects.select_related("tag").order_by("tag__name").only(
            "source", "confidence", "content_object_id", "tag__name", "tag__slug")),
        Prefetch("renditions", queryset=Rendition.objects.order_by("spec")),
        Prefetch("analyses", queryset=AnalysisResult.objects.order_by("addon")),
    )


def _with_tile_data(queryset: QuerySet[Asset]) -> QuerySet[Asset]:
    """What a gallery tile shows besides its tags (those come from tiles_prepare). Into plain lists (to_attr):
    filling each asset's related managers clones a queryset per asset and relation, 3 ms a page of 48."""
    return queryset.prefetch_related(
        Prefetch("renditions", queryset=Rendition.objects.order_by("spec"), to_attr="tile_renditions"),
        Prefetch("analyses", queryset=AnalysisResult.objects.order_by("addon"), to_attr="tile_analyses"),
    )


def _related(asset: Asset, name: str):
    """The asset's renditions or analyses: the tile lists when _with_tile_data fetched them, else the manager's."""
    rows = getattr(asset, f"tile_{name}", None)
    return rows if rows is not None else getattr(asset, name).all()


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


def tiles_by_ids(*, ids: list[int]) -> list[Asset]:
    """Those assets that exist, ready for gallery tiles, newest first."""
    return tiles_prepare(list(_with_tile_data(Asset.objects.filter(pk__in=ids)).order_by("-pk")))


@dataclass
class GalleryPage:
    assets: list[Asset]
    next_before: int | None  # cursor for older assets
    prev_after: int | None  # cursor for newer assets


def gallery_page(*, before: int | None = None, after: int | None = None, limit: int = 48) -> GalleryPage:
    """A page of assets, newest first, by keyset on the primary key (no OFFSET scans).

    `before=<id>` gives the next (older) page, `after=<id>` the previous (newer) one.
    """
    queryset = _with_tile_data(Asset.objects.all())
    if after is not None:
        rows = list(queryset.filter(pk__gt=after).order_by("pk")[: limit + 1])
        has_newer = len(rows) > limit
        assets = list(reversed(rows[:limit]))
        has_older = Asset.objects.filter(pk__lt=assets[-1].pk).exists() if assets else False
    else:
        if before is not None:
            queryset = queryset.filter(pk__lt=before)
        rows = list(queryset.order_by("-pk")[: limit + 1])
        has_older = len(rows) > limit
        assets = rows[:limit]
        has_newer = before is not None and bool(assets) and Asset.objects.filter(pk__gt=assets[0].pk).exists()
    return GalleryPage(
        assets=tiles_prepare(assets),
        next_before=assets[-1].pk if assets and has_older else None,
        prev_after=assets[0].pk if assets and has_newer else None,
    )


def asset_get(*, public_id: str) -> Asset | None:
    return _with_display_data(Asset.objects.filter(public_id=public_id)).first()


def rendition_for(asset: Asset, spec: str) -> Rendition | None:
    """The current rendition of that spec, from the prefetched list when there is one."""
    for rendition in _related(asset, "renditions"):
        if rendition.spec == spec and rendition.version == asset.version:
            return rendition
    return None


def assets_by_ids(*, ids: list[int]) -> list[Asset]:
    """Those assets that exist, with what the pages show of them, newest first."""
    return list(_with_display_data(Asset.objects.filter(pk__in=ids)).order_by("-pk"))


def asset_by_pk(*, pk: int) -> Asset | None:
    return _with_display_data(Asset.objects.filter(pk=pk)).first()


@dataclass
class AddonStatus:
    """What the pages show of one add-on's result on one asset."""

    addon: str
    title: str
    status: str
    error: str = ""
    auto_tagging: float | None = None
    labels: list[dict] = field(default_factory=list)  # aws_rek_tagging: {"tag", "confidence"}, best first
    faces: int | None = None  # aws_rek_face: how many faces were found
    people: list[str] = field(default_factory=list)  # aws_rek_face: the recognised ones' names

    @property
    def pending(self) -> bool:
        return self.status == AnalysisResult.PENDING

    @property
    def summary(self) -> str:
        """One line for people: what was found, or why it failed."""
        if self.status == AnalysisResult.PENDING:
            return "in progress…"
        if self.status == AnalysisResult.FAILED:
            return self.error or "failed"
        if self.faces is not None:
            found = {0: "no faces found", 1: "1 face found"}.get(self.faces, f"{self.faces} faces found")
            return f"{found}: {', '.join(self.people)}" if self.people else found
        count = len(self.labels)
        return {0: "no labels", 1: "1 label"}.get(count, f"{count} labels")


def addon_statuses(asset: Asset) -> list[AddonStatus]:
    """The asset's add-on results in the registry's order, from the prefetched rows when there are some."""
    by_addon = {result.addon: result for result in _related(asset, "analyses")}
    statuses = []
    for name, addon in ADDONS.items():
        result = by_addon.get(name)
        if result is None:
            continue
        status = AddonStatus(
            addon=name, title=addon.title, status=result.status, auto_tagging=result.auto_tagging,
            error=result.error if result.status == AnalysisResult.FAILED else "",
        )
        if result.status == AnalysisResult.COMPLETE and isinstance(result.data, list):
            status.labels = sorted(result.data, key=lambda item: -float(item.get("confidence", 0)))
        elif result.status == AnalysisResult.COMPLETE and isinstance(result.data, dict):
            celebrities = result.data.get("celebrity_faces") or []
            status.faces = len(celebrities) + len(result.data.get("unrecognized_faces") or [])
            status.people = [face.get("name", "") for face in celebrities]
        statuses.append(status)
    return statuses


def analysis_defaults(asset: Asset) -> dict:
    """What a re-run offers: the add-ons and threshold of the last request on this asset (all add-ons if none)."""
    results = list(asset.analyses.all())
    if not results:
        return {"addons": list(ADDONS), "auto_tagging": AUTO_TAGGING_DEFAULT}
    # One request stamps all its add-ons with the same time.
    last = max(r.requested_at for r in results)
    latest = [r for r in results if r.requested_at == last]
    return {
        "addons": [name for name in ADDONS if any(r.addon == name for r in latest)],
        "auto_tagging": latest[0].auto_tagging,
    }


def tag_items(asset: Asset) -> list[dict]:
    """The asset's tags with where each came from: "manual", or the add-on that found it and how sure it was."""
    items = []
    for item in asset.tagged_items.all():
        addon = ADDONS.get(item.source)
        items.append({
            "name": item.tag.name,
            "source": item.source,
            "auto": item.source != AssetTag.SOURCE_MANUAL,
            "source_title": f"{addon.title} ({addon.name})" if addon else item.source,
            "confidence": item.confidence,
        })
    return items


def _rendition_url(asset: Asset, spec: str) -> str | None:
    rendition = rendition_for(asset, spec)
    return reverse("medialib:asset_rendition", args=[asset.pk, spec, asset.version]) if rendition else None


def asset_status(asset: Asset, *, with_labels: bool = False) -> dict:
    """The JSON the pages poll while an asset is being worked on: add-on statuses, tags, renditions."""
    statuses = addon_statuses(asset)
    thumb = _rendition_url(asset, "thumb")
    preview = _rendition_url(asset, "preview")
    analyses = {}
    for status in statuses:
        entry: dict = {"title": status.title, "status": status.status, "summary": status.summary,
                       "auto_tagging": status.auto_tagging}
        if status.status == AnalysisResult.FAILED:
            entry["error"] = {"message": status.error}
        if status.faces is not None:
            entry["faces"] = status.faces
            entry["people"] = status.people
        if with_labels and status.addon == "aws_rek_tagging":
            entry["labels"] = status.labels
        analyses[status.addon] = entry
    return {
        "id": asset.pk,
        "public_id": asset.public_id,
        "analyses": analyses,
        "tags": tag_items(asset),
        "thumb": thumb,
        "preview": preview,
        "pending": any(s.pending for s in statuses),
        # Pages also wait a while for the worker's renditions, but not for ever: the broker may be down.
        "renditions_pending": thumb is None or preview is None,
    }
