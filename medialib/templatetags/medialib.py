"""Template helpers for asset files and their analysis."""
from html import escape

from django import template
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

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


@register.filter
def addon(statuses, name):
    """The status of one add-on from a list of them, or None when it was never asked for."""
    return next((status for status in statuses if status.addon == name), None)


@register.simple_tag
def analysis_pending(asset, statuses, spec="thumb"):
    """Whether a page showing the asset should ask how the worker is doing: add-ons pending, or no rendition yet."""
    return any(status.pending for status in statuses) or rendition_for(asset, spec) is None


# A gallery page has ~50 tiles of ~10 tags each: the tile is built here in one pass rather than through template
# includes and filters, which cost more than all the page's queries (bench/search.py: 12 ms of a 36 ms page).

@register.simple_tag
def addon_status_items(statuses) -> str:
    """The <li> of each add-on status (the same markup as static/js/analysis-status.js renderStatuses)."""
    return format_html_join("", (
        '<li class="addon-status status-{}" data-addon="{}"{}>\n'
        '  <span class="addon-title">{}</span> <span class="badge">{}</span>\n'
        '  <span class="summary{}">{}</span>\n</li>'
    ), (
        (status.status, status.addon,
         format_html(' title="{}"', status.summary) if status.status == "failed" else "",
         status.title, status.status, " error" if status.status == "failed" else "", status.summary)
        for status in statuses
    ))


def _tile_tags(asset) -> str:
    """The tile's tags (selectors.tiles_prepare): manual ones plain, found ones with their add-on and confidence."""
    parts = []
    for item in asset.tile_tags:
        name = escape(item.name)
        if item.source == "manual":
            parts.append(f'<li class="tag source-manual">{name}</li>')
        else:
            source = escape(item.source)
            title = source if item.confidence is None else f"{source} {item.confidence:.2f}"
            parts.append(f'<li class="tag source-{source} auto" title="{title}">{name}</li>')
    return "".join(parts)  # every value above is escaped


@register.simple_tag
def tile(asset) -> str:
    """One gallery tile: the thumbnail (or a placeholder while the worker makes it), add-on statuses, tags."""
    statuses = addon_statuses(asset)
    thumb = rendition_url(asset, "thumb")
    pending = any(status.pending for status in statuses) or not thumb
    label = asset.original_filename or asset.public_id
    width, height = int(asset.width), int(asset.height)
    if thumb:
        picture = format_html('<img src="{}" alt="{}" loading="lazy" width="{}" height="{}" class="thumb">',
                              thumb, label, width, height)
    else:
        picture = format_html(
            '<span class="thumb placeholder" role="img" aria-label="{} (thumbnail on its way)" data-alt="{}"'
            ' data-width="{}" data-height="{}"><span>{} · {}×{}</span> <span class="muted">thumbnail on its way</span>'
            '</span>', label, label, width, height, asset.format.upper(), width, height)
    return format_html(
        '<figure class="tile" data-asset-id="{}"{}>\n  <a href="{}">{}</a>\n  <figcaption>\n'
        '    <span class="name">{}</span>\n'
        '    <ul class="addon-statuses compact" aria-label="Analysis">{}</ul>\n'
        '    <ul class="tags">{}</ul>\n  </figcaption>\n</figure>',
        asset.pk, mark_safe(" data-pending") if pending else "",
        reverse("medialib:asset_detail", args=[asset.public_id]), picture, label,
        addon_status_items(statuses), mark_safe(_tile_tags(asset)),
    )
