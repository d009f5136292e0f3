"""The image as the detectors see it: one AnalysisImage, built here only, from a stored asset or from bytes."""
from __future__ import annotations

import io

from django.core.files.storage import default_storage

from medialib.images import image_decode
from medialib.models import Asset

from .backends.base import AnalysisImage


def analysis_image(asset: Asset, *, max_pixels: int | None = None) -> AnalysisImage:
    """The asset's original, decoded once (to about max_pixels for a JPEG; None: whole), for every add-on of a run.

    Raises OSError, SyntaxError, ValueError or Image.DecompressionBombError when the stored file cannot be read.
    """
    name = asset.file.name
    return _analysis_image(lambda: default_storage.open(name, "rb"), max_pixels=max_pixels, storage_name=name,
                           width=asset.width, height=asset.height, bytes=asset.bytes)


def analysis_image_from_bytes(data: bytes) -> AnalysisImage:
    """A file that is not in the library (`manage.py analyze_file`), decoded whole as the worker would see it."""
    return _analysis_image(lambda: io.BytesIO(data), bytes=len(data))


def _analysis_image(open_original, *, max_pixels: int | None = None, storage_name: str = "", width: int = 0,
                    height: int = 0, bytes: int = 0) -> AnalysisImage:
    with open_original() as handle:
        decoded = image_decode(handle, min_pixels=max_pixels)
    return AnalysisImage(
        decoded.image, open_original=open_original, format=decoded.format, storage_name=storage_name,
        width=width, height=height, orientation=decoded.orientation, bytes=bytes,
    )
