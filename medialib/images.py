"""Pillow work, in one place: decode-based validation of uploads, decoding originals, thumbnails and face crops."""
from __future__ import annotations

import io
from dataclasses import dataclass

from django.core.files.storage import default_storage
from PIL import Image, UnidentifiedImageError

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
    "avif": "image/avif",
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


def rgb_flatten(image: Image.Image) -> Image.Image:
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


@dataclass(frozen=True)
class DecodedImage:
    image: Image.Image  # 8-bit RGB, EXIF orientation applied: what people see
    orientation: int  # the original's EXIF orientation, 1-8, which was applied (1: none)
    format: str  # "jpg", "png", ...


def image_decode(fileobj, *, min_pixels: int | None = None, min_size: tuple[int, int] | None = None) -> DecodedImage:
    """Decode an image as people see it: EXIF orientation applied, flattened to RGB.

    A JPEG is decoded straight to a reduced scale (libjpeg's 1/2, 1/4, 1/8) that still has at least `min_pixels`
    pixels, or covers `min_size` (width, height): far less work than a full decode. Other formats decode whole,
    and are then reduced by a whole factor to that size while they are flattened, a strip at a time.
    """
    fileobj.seek(0)
    # Not closed with `with`: closing an Image frees its pixels, which `shown` may be (an RGB file at full size);
    # the file object is the caller's, and stays open for it.
    image = Image.open(fileobj, formats=OPEN_FORMATS)
    fmt = PILLOW_FORMATS[image.format]
    orientation = exif_orientation(image)
    factor = 1
    if image.format in ("JPEG", "MPO"):
        if min_pixels and image.width * image.height > min_pixels:
            scale = (min_pixels / (image.width * image.height)) ** 0.5
            image.draft("RGB", (max(1, int(image.width * scale)), max(1, int(image.height * scale))))
        elif min_size:
            image.draft("RGB", min_size)
    elif min_pixels and image.width * image.height > min_pixels:
        factor = int((image.width * image.height / min_pixels) ** 0.5)
    elif min_size:
        factor = max(1, min(image.width // max(1, min_size[0]), image.height // max(1, min_size[1])))
    image.load()
    shown = _flatten_reduced(image, factor)
    del image
    # Turned after flattening and reducing: the same pixels as before, on the smaller image.
    if orientation in ORIENTATION_TRANSPOSE:
        shown = shown.transpose(ORIENTATION_TRANSPOSE[orientation])
    return DecodedImage(image=shown, orientation=orientation, format=fmt)


# EXIF orientation -> the transposition that shows the photo upright (as ImageOps.exif_transpose does).
ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


# Rows flattened at a time: a few MB whatever the image's size.
_STRIP_PIXELS = 1 << 20


def _flatten_reduced(image: Image.Image, factor: int) -> Image.Image:
    """rgb_flatten(image).reduce(factor), without a full-size copy of the image in any other mode.

    A large PNG with alpha is 4 bytes a pixel decoded; flattening it whole took three more full-size copies
    (12 bytes a pixel: 1.2 GB for a 100 MP PNG of 400 KB). Strips whose height is a multiple of the factor
    are flattened and box-reduced on their own, which gives the same pixels as the whole at once.
    """
    width, height = image.size
    rows = max(factor, (_STRIP_PIXELS // max(1, width)) // factor * factor)
    if rows >= height:
        flat = rgb_flatten(image)
        return flat.reduce(factor) if factor > 1 else flat
    out = Image.new("RGB", (-(-width // factor), -(-height // factor)))
    for top in range(0, height, rows):
        strip = rgb_flatten(image.crop((0, top, width, min(top + rows, height))))
        out.paste(strip.reduce(factor) if factor > 1 else strip, (0, top // factor))
    return out


def stored_image_decode(name: str, **sizes) -> DecodedImage:
    """image_decode of a stored file, read through the storage (never a local path: it may be on S3)."""
    with default_storage.open(name, "rb") as handle:
        return image_decode(handle, **sizes)


def thumbnail_render(fileobj, *, max_size: int, quality: int = 82) -> tuple[bytes, int, int]:
    """Render a JPEG that fits in max_size×max_size, as displayed (EXIF orientation applied)."""
    image = image_decode(fileobj, min_size=(max_size, max_size)).image
    image.thumbnail((max_size, max_size), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return jpeg_bytes(image, quality=quality, optimize=True, progressive=True), image.width, image.height


def face_crop(image: Image.Image, *, left: float, top: float, width: float, height: float, size: int,
              margin: float = 1.4) -> Image.Image:
    """A size×size square around a face box (ratios of the image), `margin` times the box's longer side."""
    w, h = image.size
    side = max(width * w, height * h) * margin
    cx, cy = (left + width / 2) * w, (top + height / 2) * h
    crop = image.crop((int(cx - side / 2), int(cy - side / 2), int(cx + side / 2), int(cy + side / 2)))
    return rgb_flatten(crop).resize((size, size), Image.Resampling.LANCZOS)


def jpeg_bytes(image: Image.Image, *, quality: int, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, **options)
    return out.getvalue()


@dataclass(frozen=True)
class Rendered:
    """A delivered image: its bytes, format ("jpg", "png", "webp", "avif", "gif") and size."""

    data: bytes
    format: str
    width: int
    height: int

    @property
    def mime_type(self) -> str:
        return FORMAT_MIME_TYPES.get(self.format, "application/octet-stream")


# Faces for g_face/g_faces/g_auto: boxes (left, top, width, height) in pixels of the displayed original.
FaceBoxes = list[tuple[int, int, int, int]]


def transformation_render(fileobj, transformation, *, fmt: str, faces=None, max_output_pixels: int) -> Rendered:
    """Render `transformation` (a medialib.transformations.Transformation, already expanded) of the original
    in `fileobj` as `fmt`. `faces` is a callable giving FaceBoxes, called only when a gravity needs them.
    Raises medialib.transformations.TransformationError for what cannot be done (an output over
    `max_output_pixels`, say).

    INTERFACE SKELETON (issue 13): only w_/h_ with c_scale here; the renderer helper replaces the body.
    """
    from .transformations import TransformationError

    image = image_decode(fileobj).image
    for component in transformation.components:
        unsupported = [f"{key}_{value}" for key, value in component.params
                       if key not in {"w", "h", "c"} or (key == "c" and value != "scale")
                       or (key in {"w", "h"} and not value.isdigit())]
        if unsupported:
            raise TransformationError(f"Not rendered yet: {', '.join(unsupported)}")
        width, height = component.get("w"), component.get("h")
        if width or height:
            w = int(width) if width else round(image.width * int(height) / image.height)
            h = int(height) if height else round(image.height * int(width) / image.width)
            if w * h > max_output_pixels:
                raise TransformationError("The output would be larger than this library delivers.")
            image = image.resize((max(1, w), max(1, h)), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    pillow_format = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP", "avif": "AVIF", "gif": "GIF"}[fmt]
    if pillow_format == "JPEG":
        image = rgb_flatten(image)
    image.save(out, pillow_format)
    return Rendered(out.getvalue(), fmt, image.width, image.height)
