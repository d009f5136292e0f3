"""Reads from the asset library: the gallery's pages, one asset, and who may change what."""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from .models import Asset, AssetTag, Rendition


def asset_can_edit(*, user, asset: Asset) -> bool:
    if not user or not user.is_authenticated or not user.is_active:
        return False
    return user.is_staff or asset.uploaded_by_id == user.pk


def _with_display_data(queryset: QuerySet[Asset]) -> QuerySet[Asset]:
    return queryset.select_related("uploaded_by").prefetch_related(
        Prefetch("tagged_items", queryset=AssetTag.objects.select_related("tag").order_by("tag__name")),
        Prefetch("renditions", queryset=Rendition.objects.order_by("spec")),
    )


@dataclass
class GalleryPage:
    assets: list[Asset]
    next_before: int | None  # cursor for older assets
    prev_after: int | None  # cursor for newer assets


def gallery_page(*, before: int | None = None, after: int | None = None, limit: int = 48) -> GalleryPage:
    """A page of assets, newest first, by keyset on the primary key (no OFFSET scans).

    `before=<id>` gives the next (older) page, `after=<id>` the previous (newer) one.
    """
    queryset = _with_display_data(Asset.objects.all())
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
        assets=assets,
        next_before=assets[-1].pk if assets and has_older else None,
        prev_after=assets[0].pk if assets and has_newer else None,
    )


def asset_get(*, public_id: str) -> Asset | None:
    return _with_display_data(Asset.objects.filter(public_id=public_id)).first()


def rendition_for(asset: Asset, spec: str) -> Rendition | None:
    """The current rendition of that spec, from the prefetched list when there is one."""
    for rendition in asset.renditions.all():
        if rendition.spec == spec and rendition.version == asset.version:
            return rendition
    return None
