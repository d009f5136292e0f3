"""Template helpers for asset files and their analysis."""
from django import template
from django.urls import reverse

from ..selectors import addon_statuses, rendition_for

register = template.Library()


@register.simple_tag
def rendition_url(asset, spec):
    """The URL of the asset's current rendition, or "" while the worker has not made it yet."""
    rendition = rendition_for(asset, spec)
    if rendition is None:
        return ""
    return reverse("medialib:asset_rendition", args=[asset.pk, spec, asset.version])


@register.simple_tag
def original_url(asset):
    return reverse("medialib:asset_original", args=[asset.pk, asset.version])


@register.simple_tag
def asset_addon_statuses(asset):
    """The asset's add-on statuses (from the prefetched results)."""
    return addon_statuses(asset)


@register.filter
def addon(statuses, name):
    """The status of one add-on from a list of them, or None when it was never asked for."""
    return next((status for status in statuses if status.addon == name), None)


@register.simple_tag
def analysis_pending(asset, statuses, spec="thumb"):
    """Whether a page showing the asset should ask how the worker is doing: add-ons pending, or no rendition yet."""
    return any(status.pending for status in statuses) or rendition_for(asset, spec) is None


@register.simple_tag
def tile_tags(asset):
    """The tags of a gallery tile, built in one pass: a page has ~50 tiles of ~10 tags each, and the same
    markup through template tags and floatformat cost more than the rest of the page (bench/search.py)."""
    from html import escape

    from django.utils.safestring import mark_safe

    parts = []
    for item in asset.tagged_items.all():
        name = escape(item.tag.name)
        if item.source == "manual":
            parts.append(f'<li class="tag source-manual">{name}</li>')
        else:
            source = escape(item.source)
            title = source if item.confidence is None else f"{source} {item.confidence:.2f}"
            parts.append(f'<li class="tag source-{source} auto" title="{title}">{name}</li>')
    return mark_safe("".join(parts))  # every value above is escaped
