"""Template helpers for asset files and their analysis."""
from html import escape

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.safestring import mark_safe

from tagging.selectors import addon_statuses

from ..page_images import page_alt, page_image

register = template.Library()


@register.simple_tag
def original_url(asset):
    return reverse("medialib:asset_original", args=[asset.pk, asset.version])


@register.filter
def addon(statuses, name):
    """The status of one add-on from a list of them, or None when it was never asked for."""
    return next((status for status in statuses if status.addon == name), None)


@register.simple_tag
def analysis_pending(statuses):
    """Whether a page showing the asset should ask how the worker is doing: add-ons pending."""
    return any(status.pending for status in statuses)


def _img(image, **attributes) -> str:
    """An <img> of a medialib.page_images.PageImage: 1x and 2x delivery URLs, its size so the layout does not
    move when it loads; `attributes` (alt, class, id...) escaped, None left out."""
    extra = "".join(f' {escape(name.replace("_", "-"))}="{escape(str(value))}"'
                    for name, value in attributes.items() if value is not None)
    return (f'<img src="{escape(image.src)}" srcset="{escape(image.srcset)}" width="{int(image.width)}"'
            f' height="{int(image.height)}"{extra}>')


@register.simple_tag
def asset_img(asset, size, *, alt="", loading="lazy", **attributes):
    """`{% asset_img asset "tile" alt=... class=... %}`: the asset at a page size (medialib.page_images.SIZES)."""
    return mark_safe(_img(page_image(asset, size), alt=alt, loading=loading or None, decoding="async",
                          **attributes))  # escaped in _img


@register.simple_tag
def face_img(face, size="face", *, alt="", loading="lazy", **attributes):
    """`{% face_img face "face" %}`: a square crop around one face (anything with .asset and a box in ratios)."""
    return mark_safe(_img(page_image(face.asset, size, face=face), alt=alt, loading=loading or None,
                          decoding="async", **attributes))  # escaped in _img


# A gallery page has ~50 tiles of ~10 tags each: the tile is built here in one pass of f-strings rather than
# through template includes and filters, or format_html, which cost more than all the page's queries
# (bench/search.py: 12 ms of a 36 ms page through the template, 5.4 ms through format_html). Every value that
# goes in passes through html.escape, which escapes the same five characters as Django's escape.

def _addon_status_items(statuses) -> str:
    parts = []
    for status in statuses:
        failed = status.status == "failed"
        summary, state = escape(status.summary), escape(status.status)
        title = f' title="{summary}"' if failed else ""
        parts.append(
            f'<li class="addon-status status-{state}" data-addon="{escape(status.addon)}"{title}>\n'
            f'  <span class="addon-title">{escape(status.title)}</span> <span class="badge">{state}</span>\n'
            f'  <span class="summary{" error" if failed else ""}">{summary}</span>\n</li>'
        )
    return "".join(parts)


@register.simple_tag
def addon_status_items(statuses) -> str:
    """The <li> of each add-on status (the same markup as static/js/analysis-status.js renderStatuses)."""
    return mark_safe(_addon_status_items(statuses))  # escaped above


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
    return "".join(parts)


@register.simple_tag
def tile(asset) -> str:
    """One grid tile, quiet: the picture (delivery URLs at 1x and 2x, alt text from its tags and date), the add-on
    statuses only while one is not complete (pending or failed), the tags shown on hover and focus (CSS)."""
    statuses = addon_statuses(asset)
    pending = any(status.pending for status in statuses)
    unfinished = [status for status in statuses if status.status != "complete"]
    alt = page_alt(asset, (item.name for item in asset.tile_tags))
    picture = _img(page_image(asset, "tile"), alt=alt, loading="lazy", decoding="async", **{"class": "thumb"})
    detail = escape(reverse("medialib:asset_detail", args=[asset.public_id]))
    analysis = (f'  <ul class="addon-statuses compact" aria-label="Analysis">{_addon_status_items(unfinished)}</ul>\n'
                if unfinished else "")
    return mark_safe(  # every value above is escaped
        f'<figure class="tile" data-asset-id="{int(asset.pk)}" data-public-id="{escape(asset.public_id)}"'
        f'{" data-pending" if pending else ""}>\n'
        f'  <a class="tile-link" href="{detail}">{picture}</a>\n{analysis}'
        f'  <ul class="tags" aria-label="Tags">{_tile_tags(asset)}</ul>\n</figure>'
    )


@register.filter
def day_heading(day) -> str:
    """A photo grid's day heading, short enough to stand over one tile: "Today", "Yesterday", else the weekday and
    date ("Fri 1 March"), with the year when it is not this one."""
    today = timezone.localdate()
    age = (today - day).days
    if age == 0:
        return "Today"
    if age == 1:
        return "Yesterday"
    return date_format(day, "D j F" if day.year == today.year else "D j F Y")


@register.simple_tag
def photo_days(days) -> str:
    """The photo grid's days (selectors.tiles_by_day): a section per day, its heading, its tiles. In one pass of
    f-strings, as the tiles: a page of 48 photos of 48 days through template loops cost 15 ms more."""
    parts = []
    for group in days:
        iso = group.iso  # a date's ISO text: nothing to escape
        parts.append(
            f'<section class="photo-day" data-day="{iso}" aria-labelledby="day-{iso}">\n'
            f'  <h2 class="day-heading" id="day-{iso}"><time datetime="{iso}">{escape(day_heading(group.day))}</time></h2>\n'
            f'  <div class="grid photo-grid">{"".join(tile(asset) for asset in group.assets)}</div>\n</section>\n'
        )
    return mark_safe("".join(parts))  # escaped above and in tile
