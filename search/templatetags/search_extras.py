"""Template helpers of the search page: counts as people read them, and where a query went wrong."""
from django import template
from django.utils.html import format_html

register = template.Library()


def _rounded(value: int) -> int:
    """Two significant digits: an estimate should not look more precise than it is."""
    if value < 100:
        return value
    digits = len(str(value)) - 2
    return round(value, -digits)


@register.filter
def thousands(value) -> str:
    return f"{int(value):,}"


@register.filter
def facet_count(facet) -> str:
    return f"≈ {_rounded(facet.count):,}" if facet.approximate else f"{facet.count:,}"


@register.filter
def count_text(count) -> str:
    if count is None:
        return ""
    if count.approximate:
        return f"≈ {_rounded(count.value):,} photos"
    return {0: "No photos", 1: "1 photo"}.get(count.value, f"{count.value:,} photos")


@register.simple_tag
def error_excerpt(text: str, position):
    """The query with the character where it went wrong marked (escaped: it is what someone typed)."""
    if position is None or not text:
        return ""
    position = max(0, min(position, len(text)))
    return format_html('<code class="query-excerpt">{}<mark>{}</mark>{}</code>',
                       text[:position], text[position:position + 1] or "\u2002", text[position + 1:])


@register.filter
def tag_query(name: str) -> str:
    """A tag name as a query: quoted when it needs to be ("mobile phone")."""
    from ..query import quote

    return quote(name)
