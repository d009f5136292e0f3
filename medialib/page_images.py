"""The images the library's own pages show, all through delivery URLs: the one list of the transformations they use
(what the worker makes eagerly after upload: eager_transformations) and the <img> data for each (page_image).

Each named size has a 1x and a 2x transformation. The 2x one doubles the sizes rather than adding `dpr_2.0`: the
pixels are the same (Cloudinary's dpr_2.0 doubles w_ and h_, and so does our renderer), but a kept rendition is
keyed by its canonical string, and doubled sizes let two sizes share one: the 2x of the 48 px face is the 1x of
the 96 px face, one rendition rather than two.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language

from .delivery import delivery_url
from .transformations import Transformation

# The formats delivered as they are; others (TIFF, HEIC) are delivered as JPEG, which every browser shows.
_PAGE_FORMATS = {"jpg", "png", "webp", "gif", "avif"}
# How much room around a face its crop takes: the box's longer side times this (as tagging's face thumbnails did).
FACE_MARGIN = 1.4


@dataclass(frozen=True)
class Size:
    """A named page size: `crop` "fill" (exactly width x height, cut to fit) or "limit" (within width x height,
    aspect kept, never enlarged), in CSS pixels; `face` sizes are a square crop around one face, then filled."""

    crop: str
    width: int
    height: int
    face: bool = False

    def transformation(self, *, density: int = 1) -> str:
        fit = f"c_{self.crop},h_{self.height * density},w_{self.width * density}"
        return fit if not self.face else "{crop}/" + fit

    def output_size(self, width: int, height: int, *, density: int = 1) -> tuple[int, int]:
        """The pixels the renderer makes (medialib.images._apply_crop) of an image of width x height."""
        w, h = self.width * density, self.height * density
        if self.crop == "limit":
            fit = min(w / width, h / height, 1.0)
            return max(1, round(width * fit)), max(1, round(height * fit))
        return w, h


# The gallery, search and person grids (.tile .thumb: the column's width, 200 px high, object-fit: cover); the
# asset page's picture (about 1000 px wide at most in the detail layout); faces on the people page and in the
# asset page's face list.
SIZES: dict[str, Size] = {
    "tile": Size("fill", 320, 200),
    "preview": Size("limit", 1000, 1000),
    "face": Size("fill", 96, 96, face=True),
    "face_small": Size("fill", 48, 48, face=True),
}
DENSITIES = (1, 2)


class FaceBox(Protocol):
    """A face's box as ratios of the image as displayed (tagging's Face rows have these)."""

    left: float
    top: float
    width: float
    height: float


@dataclass(frozen=True)
class PageImage:
    """What an <img> needs: the 1x URL, the srcset of every density, and the 1x size in CSS pixels."""

    src: str
    srcset: str
    width: int
    height: int
    urls: dict[int, str]  # density -> URL


def face_crop_transformation(*, width: int, height: int, face: FaceBox) -> str:
    """`c_crop` of a square around one face, in pixels of the image as displayed (width x height).

    A known box rather than g_face: g_face crops to the largest face of the photo, which on a group photo is
    somebody else than the face the page means; and the string stays the same whatever faces are found later."""
    side = min(width, height, max(1, round(max(face.width * width, face.height * height) * FACE_MARGIN)))
    cx, cy = (face.left + face.width / 2) * width, (face.top + face.height / 2) * height
    x = min(max(0, round(cx - side / 2)), width - side)
    y = min(max(0, round(cy - side / 2)), height - side)
    return f"c_crop,h_{side},w_{side},x_{x},y_{y}"


def page_transformation(name: str, *, width: int, height: int, density: int = 1, face: FaceBox | None = None) -> str:
    """The canonical transformation string of a named size at a density, for an image of width x height."""
    size = SIZES[name]
    text = size.transformation(density=density)
    if size.face:
        if face is None:
            raise ValueError(f"The page size {name!r} is a face crop: give the face.")
        text = text.format(crop=face_crop_transformation(width=width, height=height, face=face))
    return _canonical(text)


@lru_cache(maxsize=256)  # a gallery page asks for the same two strings for each of its ~50 tiles
def _canonical(text: str) -> str:
    return str(Transformation.from_string(text))


def page_extension(asset) -> str:
    return asset.format if asset.format in _PAGE_FORMATS else "jpg"


def page_image(asset, name: str, *, face: FaceBox | None = None) -> PageImage:
    """The delivery URLs (1x, 2x) and the 1x size of a named page size of `asset` (of one of its faces)."""
    size = SIZES[name]
    urls = {
        density: delivery_url(
            cloud=settings.MEDIALIB_CLOUD_NAME, public_id=asset.public_id, version=asset.version,
            extension=page_extension(asset),
            transformation=page_transformation(name, width=asset.width, height=asset.height, density=density,
                                               face=face))
        for density in DENSITIES
    }
    width, height = size.output_size(asset.width, asset.height) if not size.face else (size.width, size.height)
    return PageImage(src=urls[1], srcset=", ".join(f"{url} {density}x" for density, url in urls.items()),
                     width=width, height=height, urls=urls)


@lru_cache(maxsize=512)
def _uploaded_on(day: date, language: str) -> str:
    return f"Photo uploaded {date_format(day, 'j F Y')}"


def page_alt(asset, tag_names: Iterable[str] = ()) -> str:
    """Alt text that says what is in the photo (its first tags) and when it came, never the file name.
    The date's text once per day (a grid page of 48 tiles formatted it 48 times: 4 ms)."""
    when = _uploaded_on(timezone.localdate(asset.created_at), get_language() or "")
    names = list(tag_names)[:8]
    return f"{when}: {', '.join(names)}" if names else when


def eager_transformations(*, asset=None, faces: Iterable[FaceBox] = ()) -> list[str]:
    """Every transformation string the pages use, each once, in a stable order: those of every image (tile,
    preview) and, given the asset, those of each of `faces` on it. Delivered with the extension page_extension
    gives, unsigned, as page_image's URLs are."""
    strings = [page_transformation(name, width=0, height=0, density=density)
               for name, size in SIZES.items() if not size.face for density in DENSITIES]
    if asset is not None:
        for face in faces:
            strings += [page_transformation(name, width=asset.width, height=asset.height, density=density, face=face)
                        for name, size in SIZES.items() if size.face for density in DENSITIES]
    return list(dict.fromkeys(strings))
