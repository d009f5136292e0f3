"""Pillow work: decode-based validation of uploads and rendering of thumbnails."""
from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

try:  # HEIC from phones, where the wheel is available
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:  # pragma: no cover - pillow-heif is an ordinary dependency
    HEIF_SUPPORTED = False

# Pillow's format name -> the format name Cloudinary reports (and our file extension).
PILLOW_FORMATS = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "TIFF": "tiff"}
if HEIF_SUPPORTED:
    PILLOW_FORMATS["HEIF"] = "heic"
# What Image.open may try: the JPEG opener itself returns MPO images, so MPO is not listed there.
OPEN_FORMATS = [name for name in PILLOW_FORMATS if name != "MPO"]
FORMAT_MIME_TYPES = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
    "tiff": "image/tiff",
    "heic": "image/heic",
}
ACCEPTED_DESCRIPTION = "JPEG, PNG, WebP, GIF, TIFF" + (" or HEIC" if HEIF_SUPPORTED else "")
# EXIF orientations 5-8 turn the picture a quarter: what people see is the stored size swapped.
QUARTER_TURN_ORIENTATIONS = {5, 6, 7, 8}


class InvalidImage(ValueError):
    """The file is not an image we accept; the message says why, in words a person understands."""


@dataclass(frozen=True)
class ImageInfo:
    format: str  # "jpg", "png", ...
    width: int  # as displayed, after EXIF orientation
    height: int
    frames: int
    mode: str


def image_inspect(fileobj, *, max_pixels: int) -> ImageInfo:
    """Decode the image (never trust the name or the extension) and return what it is.

    Raises InvalidImage for anything that is not a complete image of an accepted format within the limits.
    """
    fileobj.seek(0)
    try:
        image = Image.open(fileobj, formats=OPEN_FORMATS)
    except Image.DecompressionBombError:
        raise InvalidImage(f"has more pixels than the limit of {max_pixels:,}") from None
    except UnidentifiedImageError:
        raise InvalidImage(f"is not an image this library reads ({ACCEPTED_DESCRIPTION})") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidImage(f"could not be read as an image: {exc}") from None

    with image:
        width, height = image.size
        if width < 1 or height < 1:
            raise InvalidImage("has no pixels")
        # Checked from the header, before decoding: a small file can claim billions of pixels.
        if width * height > max_pixels:
            raise InvalidImage(f"is {width}×{height} pixels, more than the limit of {max_pixels:,}")
        fmt = PILLOW_FORMATS[image.format]
        frames = getattr(image, "n_frames", 1)
        orientation = exif_orientation(image)
        try:
            if image.format in ("JPEG", "MPO"):
                # Decoding at 1/8 scale still reads every byte of the entropy-coded data, so a
                # truncated or corrupt JPEG fails here, at a fraction of the cost of a full decode.
                image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
            image.load()
        except Image.DecompressionBombError:
            raise InvalidImage(f"has more pixels than the limit of {max_pixels:,}") from None
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise InvalidImage(f"is damaged or incomplete ({exc})") from None
        mode = image.mode

    if orientation in QUARTER_TURN_ORIENTATIONS:
        width, height = height, width
    return ImageInfo(format=fmt, width=width, height=height, frames=frames, mode=mode)


def exif_orientation(image: Image.Image) -> int:
    """The image's EXIF orientation, 1 to 8; 1 when it has none or it cannot be read (a broken EXIF block is not
    worth rejecting a photo for, and the pages then show it unturned too)."""
    try:
        orientation = int(image.getexif().get(0x0112, 1))
    except Exception:  # noqa: BLE001
        return 1
    return orientation if 1 <= orientation <= 8 else 1


def _to_rgb(image: Image.Image) -> Image.Image:
    """Flatten any mode (16-bit, CMYK, palette with transparency, alpha) to 8-bit RGB on white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit greyscale: scale to 8 bits instead of clipping everything above 255 to white.
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "RGB" and "transparency" in image.info):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        return background
    if image.mode != "RGB":
        image = image.convert("RGB")
    return image


def thumbnail_render(fileobj, *, max_size: int, quality: int = 82) -> tuple[bytes, int, int]:
    """Render a JPEG that fits in max_size×max_size, as displayed (EXIF orientation applied)."""
    fileobj.seek(0)
    with Image.open(fileobj, formats=OPEN_FORMATS) as image:
        if image.format in ("JPEG", "MPO"):
            # Let libjpeg scale by 1/2, 1/4 or 1/8 while decoding: far less work than a full decode.
            image.draft("RGB", (max_size, max_size))
        image = ImageOps.exif_transpose(image)
        image = _to_rgb(image)
        image.thumbnail((max_size, max_size), Image.Resampling.LANCZOS, reducing_gap=3.0)
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
        return out.getvalue(), image.width, image.height
