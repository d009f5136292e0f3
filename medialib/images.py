"""Pillow work, in one place: decode-based validation of uploads, decoding originals, thumbnails and face crops."""
from __future__ import annotations

import io
import logging
import math
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


logger = logging.getLogger(__name__)

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
        # The image library's own text ("image file is truncated", ...) means nothing to the person: logged only.
        logger.info("image_inspect: open failed: %s", exc)
        raise InvalidImage("could not be read as an image: the file is damaged or not complete; "
                           "upload it again or export it anew") from None

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
            logger.info("image_inspect: decoding failed: %s", exc)
            raise InvalidImage("is damaged or incomplete (the file ends before the picture does, or its data is "
                               "corrupt); upload it again or export it anew") from None
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


class DecodeCache(dict):
    """The decodes of one original, by the reduced scale each was made at, shared by the renditions one task makes
    of it (the thumbnails, the pages' sizes, the faces' crops): two that need the same libjpeg scale (or the same
    whole factor) get the very same pixels, decoded once. Images from it are shared: never change one in place.
    Decodes larger than max_pixels are not kept (a 100 MP PNG's whole decode is 300 MB: one at a time is enough)."""

    max_pixels = 16_000_000


def image_decode(fileobj, *, min_pixels: int | None = None, min_size: tuple[int, int] | None = None,
                 cache: DecodeCache | None = None) -> DecodedImage:
    """Decode an image as people see it: EXIF orientation applied, flattened to RGB.

    A JPEG is decoded straight to a reduced scale (libjpeg's 1/2, 1/4, 1/8) that still has at least `min_pixels`
    pixels, or covers `min_size` (width, height): far less work than a full decode. Other formats decode whole,
    and are then reduced by a whole factor to that size while they are flattened, a strip at a time.
    `cache` (one per original, see DecodeCache): a decode at the same scale is taken from it, a new one kept in it.
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
    key = (image.mode, image.size, factor)  # after draft(): the mode and size libjpeg will decode to
    if cache is not None and key in cache:
        return cache[key]
    image.load()
    shown = _flatten_reduced(image, factor)
    del image
    # Turned after flattening and reducing: the same pixels as before, on the smaller image.
    if orientation in ORIENTATION_TRANSPOSE:
        shown = shown.transpose(ORIENTATION_TRANSPOSE[orientation])
    decoded = DecodedImage(image=shown, orientation=orientation, format=fmt)
    if cache is not None and shown.width * shown.height <= cache.max_pixels:
        cache[key] = decoded
    return decoded


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
    if factor == 1 and image.mode == "RGB" and "transparency" not in image.info:
        return image  # nothing to flatten or reduce: a strip-by-strip copy would only cost time
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


def dominant_colors(fileobj, *, count: int = 10) -> list[tuple[str, float]]:
    """The image's most common colours as ("#RRGGBB", percent), most common first: a median-cut quantisation of
    a 100-pixel copy, cheap enough to run on each request (Cloudinary's `colors`)."""
    with Image.open(fileobj) as image:
        image.draft("RGB", (200, 200))  # JPEG decodes at a reduced scale
        small = rgb_flatten(image)
        small.thumbnail((100, 100))
        quantized = small.quantize(colors=count, method=Image.Quantize.MEDIANCUT)
    palette = quantized.getpalette() or []
    counts = sorted(quantized.getcolors() or [], reverse=True)
    total = sum(n for n, _ in counts) or 1
    return [("#{:02X}{:02X}{:02X}".format(*palette[index * 3:index * 3 + 3]), round(100 * n / total, 1))
            for n, index in counts]


def exif_metadata(fileobj) -> dict[str, str]:
    """The image's EXIF tags as text, by their EXIF names (Cloudinary's `image_metadata`); binary tags are left out."""
    from PIL.ExifTags import IFD, TAGS

    with Image.open(fileobj) as image:
        exif = image.getexif()
        tags = dict(exif)
        for ifd in (IFD.Exif, IFD.GPSInfo):
            try:
                tags.update(exif.get_ifd(ifd))
            except (KeyError, ValueError, TypeError):
                continue
    metadata = {}
    for tag, value in tags.items():
        name = TAGS.get(tag)
        if name is None or isinstance(value, bytes | dict) or name in ("ExifOffset", "GPSInfo"):
            continue
        text = str(value).replace("\x00", "").strip()
        if text:
            metadata[name] = text
    return metadata


def thumbnail_render(fileobj, *, max_size: int, quality: int = 82,
                     cache: DecodeCache | None = None) -> tuple[bytes, int, int]:
    """Render a JPEG that fits in max_size×max_size, as displayed (EXIF orientation applied)."""
    fileobj.seek(0)
    with Image.open(fileobj, formats=OPEN_FORMATS) as header:
        width, height = header.size
    # Fitting needs the long side covered, not both: a 12 MP landscape's 1600 px thumbnail decodes at 1/2, not whole.
    fit = min(max_size / width, max_size / height)
    min_size = (max(1, math.ceil(width * fit)), max(1, math.ceil(height * fit))) if fit < 1 else None
    shared = {"cache": cache} if cache is not None else {}
    image = image_decode(fileobj, min_size=min_size, **shared).image
    if cache is not None:
        image = image.copy()  # thumbnail() works in place, and the cache's image is shared
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

_PILLOW_SAVE = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP", "avif": "AVIF", "gif": "GIF"}
_ALPHA_FORMATS = {"png", "webp", "avif", "gif"}
# q_auto and its variants -> a fixed encoder quality (Cloudinary picks per image; we do not analyse).
_AUTO_QUALITIES = {"auto": 80, "auto:best": 90, "auto:good": 80, "auto:eco": 70, "auto:low": 60}
_DEFAULT_QUALITY = 80
_DOWNSCALE_CROPS = {"scale", "fit", "limit", "fill", "lfill", "pad", "lpad"}
_COMPASS = {  # gravity -> (horizontal, vertical) anchor, 0 = left/top, 0.5 = centre, 1 = right/bottom
    "center": (0.5, 0.5), "north": (0.5, 0.0), "north_east": (1.0, 0.0), "east": (1.0, 0.5),
    "south_east": (1.0, 1.0), "south": (0.5, 1.0), "south_west": (0.0, 1.0), "west": (0.0, 0.5),
    "north_west": (0.0, 0.0),
}
_SALIENCY_SIDE = 64  # g_auto without faces: the edge-energy search runs on a copy this long


def color_rgba(value: str) -> tuple[int, int, int, int]:
    """A validated b_/bo_ color ("red", "rgb:eee", "rgb:ff000080", "transparent") as RGBA."""
    from PIL import ImageColor

    if value == "transparent":
        return (0, 0, 0, 0)
    if value.startswith("rgb:"):
        digits = value[4:]
        if len(digits) == 3:
            digits = "".join(ch * 2 for ch in digits)
        if len(digits) == 6:
            digits += "ff"
        return tuple(int(digits[i:i + 2], 16) for i in range(0, 8, 2))
    return ImageColor.getcolor(value, "RGBA")


class _Canvas:
    """The image through the chain, and where the original's pixels went (for face boxes): a point (x, y) of
    the displayed original is at (x * sx + ox, y * sy + oy) now; `mapped` False once a rotation lost that."""

    _pending = None  # (width, height) the image is to be resized to: deferred, so a crop can resize its window only

    def __init__(self, image, scale_x, scale_y, faces, max_pixels, face_boxes=None):
        self.image = image
        self.sx, self.sy, self.ox, self.oy = scale_x, scale_y, 0.0, 0.0
        self.swapped = False  # after a quarter turn the current x comes from the original's y
        self.mapped = True
        self._faces = faces
        self._face_boxes = face_boxes  # already fetched by the caller (the draft size of a face c_thumb)
        self.max_pixels = max_pixels

    @property
    def image(self):
        if self._pending is not None:
            self._image = self._image.resize(self._pending, Image.Resampling.LANCZOS)
            self._pending = None
        return self._image

    @image.setter
    def image(self, value):
        self._image, self._pending = value, None

    @property
    def size(self):
        return self._pending or self._image.size

    def check(self, width, height):
        from .transformations import TransformationError

        if width * height > self.max_pixels:
            raise TransformationError(
                f"The output would be {width}x{height} pixels, more than the limit of {self.max_pixels:,}")

    def resize(self, width, height):
        width, height = max(1, round(width)), max(1, round(height))
        self.check(width, height)
        w, h = self.size
        if (width, height) != (w, h):
            self._pending = None if (width, height) == self._image.size else (width, height)
            fx, fy = width / w, height / h
            self.sx, self.sy, self.ox, self.oy = self.sx * fx, self.sy * fy, self.ox * fx, self.oy * fy

    def crop(self, left, top, width, height):
        left, top = round(left), round(top)
        width, height = max(1, round(width)), max(1, round(height))
        self.check(width, height)
        if (left, top, width, height) == (0, 0) + self.size:
            return
        if self._pending is not None:  # resize only the window: one resize(box=) in pre-resize pixels
            fx, fy = self._pending[0] / self._image.width, self._pending[1] / self._image.height
            box = (left / fx, top / fy, (left + width) / fx, (top + height) / fy)
            self.image = self._image.resize((width, height), Image.Resampling.LANCZOS, box=box)
        else:
            self.image = self.image.crop((left, top, left + width, top + height))
        self.ox, self.oy = self.ox - left, self.oy - top

    def faces(self):
        """The face boxes (left, top, right, bottom) in current pixels that are at least partly visible."""
        if not self.mapped or self._faces is None:
            return []
        if self._face_boxes is None:
            self._face_boxes = list(self._faces() or [])
        w, h = self.size
        boxes = []
        for left, top, width, height in self._face_boxes:
            xs, ys = (left, left + width), (top, top + height)
            if self.swapped:
                xs, ys = ys, xs
            xs = sorted(x * self.sx + self.ox for x in xs)
            ys = sorted(y * self.sy + self.oy for y in ys)
            box = (xs[0], ys[0], xs[1], ys[1])
            box = (max(0.0, box[0]), max(0.0, box[1]), min(float(w), box[2]), min(float(h), box[3]))
            if box[2] > box[0] and box[3] > box[1]:
                boxes.append(box)
        return boxes

    def focus_box(self, gravity):
        """The box (left, top, right, bottom) a face/auto gravity centres on, or None (then: centre)."""
        if gravity not in ("face", "faces", "auto"):
            return None
        boxes = self.faces()
        if boxes and gravity == "face":
            return max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
        if boxes:
            return (min(b[0] for b in boxes), min(b[1] for b in boxes),
                    max(b[2] for b in boxes), max(b[3] for b in boxes))
        if gravity == "auto":
            return None  # the salient window is found per crop size, in anchor()
        return None

    def anchor(self, gravity, width, height):
        """Top-left corner of a width x height window placed by `gravity` (clamped inside the image)."""
        w, h = self.size
        box = self.focus_box(gravity)
        if box is not None:
            left = (box[0] + box[2]) / 2 - width / 2
            top = (box[1] + box[3]) / 2 - height / 2
        elif gravity == "auto":
            left, top = self.salient(width, height)
        else:
            ax, ay = _COMPASS.get(gravity or "center", (0.5, 0.5))
            left, top = (w - width) * ax, (h - height) * ay
        return min(max(0.0, left), max(0.0, w - width)), min(max(0.0, top), max(0.0, h - height))

    def salient(self, width, height):
        """g_auto without faces: the window of this size with the most edge energy (Pillow's FIND_EDGES on a
        grayscale copy at most 64 pixels long, summed through an integral image)."""
        from PIL import ImageFilter

        w, h = self.size
        scale = min(1.0, _SALIENCY_SIDE / max(w, h))
        small = self.image.convert("L").resize((max(1, round(w * scale)), max(1, round(h * scale))),
                                               Image.Resampling.BILINEAR).filter(ImageFilter.FIND_EDGES)
        sw, sh = small.size
        pixels = small.tobytes()
        integral = [[0] * (sw + 1) for _ in range(sh + 1)]
        for y in range(sh):
            row_sum = 0
            for x in range(sw):
                row_sum += pixels[y * sw + x]
                integral[y + 1][x + 1] = integral[y][x + 1] + row_sum
        ww, wh = max(1, min(sw, round(width * scale))), max(1, min(sh, round(height * scale)))
        best, best_at = -1, ((w - width) / 2, (h - height) / 2)
        for y in range(sh - wh + 1):
            for x in range(sw - ww + 1):
                energy = integral[y + wh][x + ww] - integral[y][x + ww] - integral[y + wh][x] + integral[y][x]
                if energy > best:
                    best, best_at = energy, (x / scale, y / scale)
        return best_at

    def transpose(self, method):
        w, h = self.size
        self.image = self.image.transpose(method)
        if method in (Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.ROTATE_180):
            self.sx, self.ox = -self.sx, w - self.ox
        if method in (Image.Transpose.FLIP_TOP_BOTTOM, Image.Transpose.ROTATE_180):
            self.sy, self.oy = -self.sy, h - self.oy
        if method == Image.Transpose.ROTATE_90:  # counter-clockwise: (x, y) -> (y, w - x)
            self.sx, self.ox, self.sy, self.oy = self.sy, self.oy, -self.sx, w - self.ox
            self.swapped = not self.swapped
        elif method == Image.Transpose.ROTATE_270:  # clockwise: (x, y) -> (h - y, x)
            self.sx, self.ox, self.sy, self.oy = -self.sy, h - self.oy, self.sx, self.ox
            self.swapped = not self.swapped

    def rotate(self, degrees, fill):
        w, h = self.size
        import math

        radians = math.radians(degrees)
        nw = abs(w * math.cos(radians)) + abs(h * math.sin(radians))
        nh = abs(w * math.sin(radians)) + abs(h * math.cos(radians))
        self.check(round(nw), round(nh))
        image = self.image.convert("RGBA") if fill[3] < 255 else self.image
        self.image = image.rotate(-degrees, resample=Image.Resampling.BICUBIC, expand=True,
                                  fillcolor=fill if image.mode == "RGBA" else fill[:3])
        self.mapped = False


def _opaque(color):
    """A color with alpha for a format without it: composed on white (b_transparent is white)."""
    alpha = color[3] / 255
    return tuple(round(c * alpha + 255 * (1 - alpha)) for c in color[:3]) + (255,)


def _shape_mask(size, radius, inset=0, supersample=True):
    """An L mask of the image's shape: a rectangle with `radius` corners (None: square corners, "max": an
    ellipse), shrunk by `inset` pixels on every side; antialiased by drawing at 4x for images up to 1 MP."""
    from PIL import ImageDraw

    w, h = size
    factor = 4 if supersample and w * h <= 1_000_000 else 1
    mask = Image.new("L", (w * factor, h * factor), 0)
    draw = ImageDraw.Draw(mask)
    box = (inset * factor, inset * factor, (w - inset) * factor - 1, (h - inset) * factor - 1)
    if box[2] >= box[0] and box[3] >= box[1]:
        if radius == "max":
            draw.ellipse(box, fill=255)
        elif radius:
            draw.rounded_rectangle(box, radius=max(0, radius - inset) * factor, fill=255)
        else:
            draw.rectangle(box, fill=255)
    return mask.resize(size, Image.Resampling.LANCZOS) if factor > 1 else mask


def _number(value: str, current: int) -> float:
    """w_/h_/x_/y_: pixels, or a decimal relative to the current image's side."""
    return float(value) * current if "." in value else float(int(value))


def _aspect(value: str) -> float:
    if ":" in value:
        a, b = value.split(":")
        return float(a) / float(b)
    return float(value)


def _dimensions(component, size):
    """(w, h) a component asks for in pixels (None when not given), after ar_ and dpr_."""
    w_text, h_text, ar_text = component.get("w"), component.get("h"), component.get("ar")
    dpr = float(component.get("dpr", "1.0"))
    width = _number(w_text, size[0]) if w_text else None
    height = _number(h_text, size[1]) if h_text else None
    if ar_text:
        ratio = _aspect(ar_text)
        if width is not None and height is None:
            height = width / ratio
        elif height is not None and width is None:
            width = height * ratio
        elif width is None and height is None:  # the largest region of that ratio in the current image
            if size[0] / size[1] > ratio:
                height, width = float(size[1]), size[1] * ratio
            else:
                width, height = float(size[0]), size[0] / ratio
    if width is not None:
        width *= dpr
    if height is not None:
        height *= dpr
    return width, height, dpr


def _background(component, fmt):
    value = component.get("b")
    return color_rgba(value) if value else None


def _apply_crop(canvas, component, crop, width, height, dpr, background, fmt):
    """The crop/resize of one component. width/height: pixels asked (one may be None)."""
    from .transformations import TransformationError

    w, h = canvas.size
    gravity = component.get("g")
    if width is None and height is None:
        if dpr != 1.0:  # dpr_ alone scales the current image (see transformation_render)
            canvas.resize(w * dpr, h * dpr)
        elif crop is not None or gravity is not None:
            raise TransformationError(f"c_{crop or 'scale'} needs w_, h_ or ar_" if crop else
                                      f"g_{gravity} needs a crop (c_fill, c_crop, c_thumb...) and a size")
        return
    if crop == "crop":
        cw = min(w, width if width is not None else w)
        ch = min(h, height if height is not None else h)
        x_text, y_text = component.get("x"), component.get("y")
        if (x_text or y_text) and gravity in (None, "north_west"):
            left = _number(x_text, w) if x_text else 0.0
            top = _number(y_text, h) if y_text else 0.0
            left, top = min(max(0.0, left), w - cw), min(max(0.0, top), h - ch)
        else:
            left, top = canvas.anchor(gravity, cw, ch)
            if x_text or y_text:
                ax, ay = _COMPASS.get(gravity, (0.5, 0.5))
                left += (_number(x_text, w) if x_text else 0) * (-1 if ax == 1 else 1)
                top += (_number(y_text, h) if y_text else 0) * (-1 if ay == 1 else 1)
                left, top = min(max(0.0, left), w - cw), min(max(0.0, top), h - ch)
        canvas.crop(left, top, cw, ch)
        return
    if component.get("x") or component.get("y"):
        raise TransformationError("x_ and y_ are rendered with c_crop only")
    if gravity is not None and crop not in ("fill", "lfill", "thumb", "pad", "lpad"):
        raise TransformationError(f"g_{gravity} is rendered with c_fill, c_lfill, c_thumb, c_crop, c_pad, c_lpad")
    if crop in (None, "scale") or width is None or height is None:
        if crop in ("pad", "lpad") and (width is None or height is None):
            crop = "fit" if crop == "pad" else "limit"
        if crop in ("fill", "lfill", "thumb") and (width is None or height is None):
            crop = "scale" if crop != "lfill" else "limit"
        if crop in (None, "scale"):
            nw = width if width is not None else w * height / h
            nh = height if height is not None else h * width / w
            canvas.resize(nw, nh)
            return
    if crop in ("fit", "limit", "mfit", "pad", "lpad"):
        bound = (width or w * height / h, height or h * width / w)
        fit = min(bound[0] / w, bound[1] / h)
        if crop == "mfit":
            fit = max(bound[0] / w, bound[1] / h)
        if crop in ("limit", "lpad"):
            fit = min(fit, 1.0)
        if crop == "mfit":
            fit = max(fit, 1.0)
        if crop in ("pad", "lpad"):
            out_w, out_h = round(bound[0]), round(bound[1])
            canvas.check(out_w, out_h)
            canvas.resize(w * fit, h * fit)
            fill = background or (255, 255, 255, 255)
            if fill[3] < 255 and fmt not in _ALPHA_FORMATS:
                fill = _opaque(fill)
            iw, ih = canvas.size
            ax, ay = _COMPASS.get(gravity or "center", (0.5, 0.5))
            left, top = round((out_w - iw) * ax), round((out_h - ih) * ay)
            mode = "RGBA" if fill[3] < 255 or canvas.image.mode == "RGBA" else "RGB"
            padded = Image.new(mode, (out_w, out_h), fill if mode == "RGBA" else fill[:3])
            source = canvas.image.convert(mode) if canvas.image.mode != mode else canvas.image
            padded.paste(source, (left, top))
            canvas.image = padded
            canvas.ox, canvas.oy = canvas.ox + left, canvas.oy + top
        else:
            canvas.resize(w * fit, h * fit)
        return
    if crop in ("fill", "lfill") or (crop == "thumb" and not canvas.focus_box(gravity)):
        cover = max(width / w, height / h)
        out_w, out_h = width, height
        if crop == "lfill" and cover > 1.0:  # never upscale: the largest window of that aspect, unscaled
            cover = 1.0
            ratio = width / height
            out_w, out_h = (h * ratio, h) if w / h > ratio else (w, w / ratio)
            out_w, out_h = min(out_w, w), min(out_h, h)
        canvas.check(round(out_w), round(out_h))
        canvas.resize(w * cover, h * cover)
        left, top = canvas.anchor(gravity, round(out_w), round(out_h))
        canvas.crop(left, top, out_w, out_h)
        return
    if crop == "thumb":
        box = canvas.focus_box(gravity)
        zoom = float(component.get("z", "1.0"))
        ratio = width / height
        # The face box, grown so the face fills about half the thumbnail's shorter side at z_1.0.
        fw, fh = (box[2] - box[0]) * 2.0 / zoom, (box[3] - box[1]) * 2.0 / zoom
        rw, rh = (fh * ratio, fh) if fw / fh < ratio else (fw, fw / ratio)
        if rw > w or rh > h:  # no bigger than the image: the largest window of the ratio
            rw, rh = (h * ratio, h) if w / h > ratio else (w, w / ratio)
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        left = min(max(0.0, cx - rw / 2), w - rw)
        top = min(max(0.0, cy - rh / 2), h - rh)
        canvas.check(round(width), round(height))
        canvas.crop(left, top, rw, rh)
        canvas.resize(width, height)
        return
    raise TransformationError(f"Not rendered: c_{crop}")  # pragma: no cover - the parser knows every crop


def _apply_effect(canvas, effect):
    from PIL import ImageFilter

    name, _, strength = effect.partition(":")
    image = canvas.image
    alpha = image.getchannel("A") if image.mode == "RGBA" else None
    rgb = image.convert("RGB") if alpha is not None else image
    if name == "grayscale":
        rgb = rgb.convert("L").convert("RGB")
    elif name == "blur":
        rgb = rgb.filter(ImageFilter.GaussianBlur(int(strength or 100) / 20))
    elif name == "sharpen":
        level = int(strength or 100)
        rgb = rgb.filter(ImageFilter.UnsharpMask(radius=1 + level / 400, percent=min(500, level * 2), threshold=0))
    if alpha is not None:
        rgb = rgb.convert("RGBA")
        rgb.putalpha(alpha)
    canvas.image = rgb


def _apply_shape(canvas, radius, border):
    """r_ (corners/ellipse made transparent) and bo_ (drawn inside the edge, following that shape)."""
    image = canvas.image.convert("RGBA")
    size = image.size
    alpha = image.getchannel("A")
    if radius is not None:
        shape = _shape_mask(size, radius)
        from PIL import ImageChops

        alpha = ImageChops.multiply(alpha, shape)
    if border is not None:
        width, color = border
        from PIL import ImageChops

        inner = _shape_mask(size, radius, inset=width)
        painted = Image.new("RGBA", size, color[:3] + (255,))
        painted.paste(image, mask=inner)
        outer = _shape_mask(size, radius) if radius is not None else Image.new("L", size, 255)
        ring = ImageChops.subtract(outer, inner)
        alpha = ImageChops.lighter(ImageChops.multiply(alpha, inner), ImageChops.multiply(ring, Image.new(
            "L", size, color[3])))
        image = painted
    image.putalpha(alpha)
    canvas.image = image


def _first_min_size(transformation, displayed):
    """min_size for image_decode when the chain starts with a plain downscale in pixels, else None."""
    if not transformation.components:
        return None
    first = transformation.components[0]
    crop = first.get("c") or "scale"
    keys = {key for key, _ in first.params}
    if crop not in _DOWNSCALE_CROPS or keys & {"x", "y", "ar"}:
        return None
    texts = [first.get("w"), first.get("h")]
    if not any(texts) or any(text and "." in text for text in texts):
        return None
    dpr = float(first.get("dpr", "1.0"))
    w = int(texts[0]) * dpr if texts[0] else 1
    h = int(texts[1]) * dpr if texts[1] else 1
    if crop in ("fit", "limit", "pad", "lpad") and texts[0] and texts[1]:
        # Fitting needs only the binding side covered; ask for the smaller scale's box.
        fit = min(w / displayed[0], h / displayed[1])
        w, h = displayed[0] * fit, displayed[1] * fit
    w, h = max(1, int(w)), max(1, int(h))
    if w >= displayed[0] or h >= displayed[1]:
        return None
    return (w, h)


def _face_thumb_min_size(transformation, displayed, face_boxes):
    """min_size for a first c_thumb with g_face/g_faces and pixel w_/h_: the face window (the box doubled,
    divided by z_, widened to the aspect, no bigger than the image) decoded at the output's size, when that
    is at most half the original's (libjpeg scales by 1/2, 1/4, 1/8 only); else None."""
    first = transformation.components[0]
    w_text, h_text = first.get("w"), first.get("h")
    if not face_boxes or not w_text or not h_text or "." in w_text + h_text:
        return None
    dpr = float(first.get("dpr", "1.0"))
    out_w, out_h = int(w_text) * dpr, int(h_text) * dpr
    boxes = [(left, top, left + width, top + height) for left, top, width, height in face_boxes]
    if first.get("g") == "face":
        box = max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
    else:
        box = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
               max(b[3] for b in boxes))
    zoom, ratio = float(first.get("z", "1.0")), out_w / out_h
    fw, fh = (box[2] - box[0]) * 2.0 / zoom, (box[3] - box[1]) * 2.0 / zoom
    if fw <= 0 or fh <= 0:
        return None
    window_w = fh * ratio if fw / fh < ratio else fw
    window_w = min(window_w, displayed[0], displayed[1] * ratio)
    scale = out_w / window_w
    if scale > 0.5:
        return None
    return (max(1, math.ceil(displayed[0] * scale)), max(1, math.ceil(displayed[1] * scale)))


_PLAIN_DOWNSCALES = {"fill", "scale", "fit", "limit"}


def _pixel_crop_draft(transformation, displayed):
    """(crop window, min_size) for a chain that starts with a c_crop in whole pixels (w_ h_, and x_ y_ from the top
    left; nothing else in that component) followed by a plain downscale to whole pixels (c_fill, c_scale, c_fit,
    c_limit with w_ and h_): the people page's face crops. The window (left, top, width, height) is in pixels of the
    displayed original, clamped as _apply_crop clamps it; min_size is the decode that still gives the window at
    least the output's pixels, when that is at most half the original (libjpeg's scales); else None."""
    components = transformation.components
    if len(components) < 2:
        return None
    first, second = components[0], components[1]
    if first.get("c") != "crop" or {key for key, _ in first.params} - {"c", "w", "h", "x", "y"}:
        return None
    if second.get("c") not in _PLAIN_DOWNSCALES or {key for key, _ in second.params} != {"c", "w", "h"}:
        return None
    values = [first.get(key) or "0" for key in ("w", "h", "x", "y")] + [second.get("w"), second.get("h")]
    if not all(value.isdigit() for value in values):
        return None
    cw, ch, x, y, out_w, out_h = (int(value) for value in values)
    if not (cw and ch and out_w and out_h):
        return None
    cw, ch = min(displayed[0], cw), min(displayed[1], ch)
    left, top = min(max(0, x), displayed[0] - cw), min(max(0, y), displayed[1] - ch)
    scale = max(out_w / cw, out_h / ch)
    if scale > 0.5:
        return None
    min_size = (max(1, math.ceil(displayed[0] * scale)), max(1, math.ceil(displayed[1] * scale)))
    return (left, top, cw, ch), min_size


def _is_face_thumb(transformation):
    first = transformation.components[0] if transformation.components else None
    return first is not None and first.get("c") == "thumb" and first.get("g") in ("face", "faces")


def transformation_render(fileobj, transformation, *, fmt: str, faces=None, max_output_pixels: int,
                          cache: DecodeCache | None = None) -> Rendered:
    """Render `transformation` (a medialib.transformations.Transformation, already expanded) of the original
    in `fileobj` as `fmt`. `faces` is a callable giving FaceBoxes, called only when a gravity needs them (and at
    most once). Raises medialib.transformations.TransformationError for what cannot be done (an output over
    `max_output_pixels`, say, checked before each step that makes pixels).

    Each component works on the result of the previous one, in this order inside a component: size and crop
    (w_ h_ ar_ dpr_ c_ g_ x_ y_ z_), then e_, then r_, then bo_, then a_; b_ is the background wherever one
    shows (c_pad, a_, r_ corners and the flattening of a jpg).

    Choices where Cloudinary's documentation leaves room:
    - w_/h_ decimals are relative to the current image; dpr_ multiplies w_/h_ (and r_ and the bo_ width) of
      its component; a dpr_ in a component with no w_/h_/ar_ ("c_fill,w_770/dpr_2.0") scales the previous
      result by it (so that string gives 1540 pixels wide).
    - No c_ with a size is c_scale; c_fill/c_thumb with one side only scale keeping the aspect; c_lfill never
      upscales (if w x h is bigger than the image it takes the largest window of that aspect, unscaled).
    - c_crop with x_/y_ and no gravity (or g_north_west) takes the region whose top-left is (x, y); with a
      compass gravity x_/y_ move the window away from that edge; the window is clamped inside the image.
    - A JPEG is decoded at a reduced scale (libjpeg's 1/2, 1/4, 1/8) when the first component is a plain
      downscale in pixels, or a c_thumb with g_face/g_faces in pixels whose face window (found before
      decoding) is scaled by 1/2 or less, or a c_crop in pixels followed by a downscale in pixels (the window
      then taken at that scale); then a resize followed by a crop resizes only the crop's window. `cache`
      (medialib.images.DecodeCache) shares the decodes of one original between renditions.
    - c_thumb with g_face/g_faces/g_auto (faces found): the window is the face box doubled and divided by z_
      (z_0.8: more context, z_2: closer), widened to the asked aspect, no bigger than the image, centred on the
      face, then scaled to w x h. Without a face it is c_fill.
    - g_auto without faces: the window of the crop size with the most edge energy (FIND_EDGES on a grayscale
      copy at most 64 pixels long). g_face/g_faces without a face: centre.
    - bo_ is drawn inside the image's edge (the output stays exactly w x h), following r_'s shape.
    - e_blur:n is a Gaussian blur of radius n/20 pixels (default 100: 5 px, 2000: 100 px); e_sharpen:n an
      unsharp mask of n*2 percent (at most 500), radius 1 + n/400 (default 100).
    - q_<n> is the encoder quality of jpg, webp, avif; q_auto = 80, auto:best 90, auto:good 80, auto:eco 70,
      auto:low 60; the default is 80.
    - png/webp/avif/gif keep transparency (r_ corners, b_transparent pads, rotated corners); jpg is flattened
      on the last b_ given, else white (a translucent b_ such as rgb:ff000080 is first composed on white).
    - Face boxes follow resizes, crops, pads, flips and quarter turns; after any other angle they are dropped
      (face gravity then centres).
    - a_auto_right, a_auto_left and a_ignore are refused (TransformationError), as is anything not rendered.
    """
    from .transformations import TransformationError

    fileobj.seek(0)
    try:
        with Image.open(fileobj, formats=OPEN_FORMATS) as header:
            displayed = header.size
            orientation = exif_orientation(header)
    except (OSError, SyntaxError, ValueError) as exc:
        raise TransformationError(f"The original could not be read ({exc})") from None
    if orientation in QUARTER_TURN_ORIENTATIONS:
        displayed = (displayed[1], displayed[0])
    min_size = _first_min_size(transformation, displayed)
    face_boxes = None
    if min_size is None and faces is not None and _is_face_thumb(transformation):
        # The faces are needed anyway; fetched before decoding, the face window gives the draft size.
        face_boxes = list(faces() or [])
        min_size = _face_thumb_min_size(transformation, displayed, face_boxes)
    window = None
    if min_size is None:
        plan = _pixel_crop_draft(transformation, displayed)
        if plan is not None:
            window, min_size = plan
    if min_size and orientation in QUARTER_TURN_ORIENTATIONS:
        min_size = (min_size[1], min_size[0])  # image_decode reduces the stored (unturned) image
    shared = {"cache": cache} if cache is not None else {}
    image = image_decode(fileobj, min_size=min_size, **shared).image
    canvas = _Canvas(image, image.width / displayed[0], image.height / displayed[1], faces, max_output_pixels,
                     face_boxes=face_boxes)
    components = transformation.components
    if window is not None:
        # The c_crop's pixels are the displayed original's: its window at the scale decoded.
        left, top, width, height = window
        canvas.crop(left * canvas.sx, top * canvas.sy, width * canvas.sx, height * canvas.sy)
        components = components[1:]

    quality = _DEFAULT_QUALITY
    flatten_on = None
    for component in components:
        if component.get("t") is not None:
            raise TransformationError("Named transformations must be expanded before rendering")
        if component.get("z") is not None and component.get("c") != "thumb":
            raise TransformationError("z_ is rendered with c_thumb only")
        background = _background(component, fmt)
        if background is not None:
            flatten_on = background
        width, height, dpr = _dimensions(component, canvas.size)
        _apply_crop(canvas, component, component.get("c"), width, height, dpr, background, fmt)
        if component.get("e"):
            _apply_effect(canvas, component.get("e"))
        radius_text, border_text = component.get("r"), component.get("bo")
        radius = None if radius_text is None else ("max" if radius_text == "max" else
                                                    round(int(radius_text) * dpr))
        border = None
        if border_text:
            px, _, color = border_text.partition("px_solid_")
            border = (max(1, round(int(px) * dpr)), color_rgba(color))
        if radius == 0:
            radius = None
        if radius is not None or border is not None:
            _apply_shape(canvas, radius, border)
        if component.get("a"):
            for mode in component.get("a").split("."):
                if mode == "hflip":
                    canvas.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
                elif mode == "vflip":
                    canvas.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
                elif mode in ("auto_right", "auto_left", "ignore"):
                    raise TransformationError(f"Not rendered: a_{mode}")
                else:
                    degrees = int(mode) % 360
                    turns = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180,
                             270: Image.Transpose.ROTATE_90}
                    if degrees in turns:
                        canvas.transpose(turns[degrees])
                    elif degrees:
                        fill = background or (0, 0, 0, 0)
                        if fmt not in _ALPHA_FORMATS:
                            fill = _opaque(fill)
                        canvas.rotate(degrees, fill)
        q = component.get("q")
        if q:
            quality = _AUTO_QUALITIES.get(q) or int(q)

    image = canvas.image
    canvas.check(*image.size)
    if fmt not in _PILLOW_SAVE:
        raise TransformationError(f"Unsupported output format {fmt!r}")
    options = {}
    if fmt == "jpg":
        if image.mode == "RGBA":
            fill = _opaque(flatten_on) if flatten_on else (255, 255, 255, 255)
            flat = Image.new("RGB", image.size, fill[:3])
            flat.paste(image, mask=image.getchannel("A"))
            image = flat
        image = rgb_flatten(image)
        options = {"quality": quality, "optimize": True, "progressive": True}
    elif fmt in ("webp", "avif"):
        options = {"quality": quality}
    elif fmt == "png":
        options = {"optimize": False}
    out = io.BytesIO()
    image.save(out, _PILLOW_SAVE[fmt], **options)
    return Rendered(out.getvalue(), fmt, image.width, image.height)


def image_metadata_read(name: str) -> dict[str, str]:
    """The EXIF fields of a stored original by their tag names ("Make", "DateTimeOriginal", ...), as text: what
    Cloudinary's image_metadata gives. Only the header is read; a file without EXIF (or unreadable) gives {}."""
    from PIL import ExifTags

    try:
        with default_storage.open(name, "rb") as source, Image.open(source) as image:
            exif = image.getexif()
            fields = dict(exif.items())
            fields.update(exif.get_ifd(ExifTags.IFD.Exif).items())
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError):
        return {}
    metadata = {}
    for tag, value in fields.items():
        label = ExifTags.TAGS.get(tag)
        if label is None or isinstance(value, (bytes, dict)) or label in ("ExifOffset", "GPSInfo"):
            continue  # maker notes and binary blobs are not text
        text = str(value).replace("\x00", "").strip()
        if text:
            metadata[label] = text[:1000]
    return metadata
