"""Template helpers for asset files."""
from django import template
from django.urls import reverse

from ..selectors import rendition_for

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
