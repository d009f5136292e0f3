"""medialib.images: decode-based validation and thumbnail rendering on real and hostile input."""
import io

import pytest
from PIL import Image

from medialib.images import InvalidImage, face_crop, image_decode, image_inspect, stored_image_decode, thumbnail_render
from tests import images

LIMIT = 100_000_000


def inspect(data: bytes, max_pixels=LIMIT):
    return image_inspect(io.BytesIO(data), max_pixels=max_pixels)


def test_real_jpeg_is_measured():
    info = inspect(images.photo_bytes("dogs.jpg"))
    with Image.open(images.PHOTOS / "dogs.jpg") as image:
        assert (info.width, info.height) == image.size
    assert info.format == "jpg"
    assert info.frames == 1


@pytest.mark.parametrize(
    "data, fmt",
    [
        (images.png(), "png"),
        (images.encode(Image.new("RGB", (20, 10)), "WEBP"), "webp"),
        (images.encode(Image.new("RGB", (20, 10)), "TIFF"), "tiff"),
        (images.animated_gif(), "gif"),
    ],
)
def test_accepted_formats(data, fmt):
    assert inspect(data).format == fmt


def test_heic_is_accepted_when_pillow_heif_is_installed():
    pillow_heif = pytest.importorskip("pillow_heif")
    out = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (64, 32), (10, 20, 30))).save(out, quality=80)
    info = inspect(out.getvalue())
    assert (info.format, info.width, info.height) == ("heic", 64, 32)


def test_exif_rotation_swaps_width_and_height():
    data = images.exif_rotated_jpeg(orientation=6)
    with Image.open(io.BytesIO(data)) as stored:
        stored_w, stored_h = stored.size
    info = inspect(data)
    assert (info.width, info.height) == (stored_h, stored_w)
    assert stored_w != stored_h


def test_animated_gif_counts_frames():
    assert inspect(images.animated_gif(frames=4)).frames == 4


def test_sixteen_bit_png_and_cmyk_jpeg_are_accepted():
    assert inspect(images.sixteen_bit_png()).mode.startswith("I")
    assert inspect(images.cmyk_jpeg()).mode == "CMYK"


@pytest.mark.parametrize(
    "data, message",
    [
        (images.truncated_jpeg(), "damaged or incomplete"),
        (b"just some text, not a picture\n", "not an image this library reads"),
        (images.svg_with_script(), "not an image this library reads"),
        (images.png_bomb(), "than the limit of 100,000,000"),
        (images.encode(Image.new("RGB", (10, 10)), "BMP"), "not an image this library reads"),
    ],
    ids=["truncated", "text", "svg", "bomb", "bmp"],
)
def test_bad_input_is_refused_with_a_reason(data, message):
    with pytest.raises(InvalidImage, match=message):
        inspect(data)


def test_pixel_limit_is_checked_before_decoding():
    # 4000x4000 claimed, but the limit is lower: refused from the header alone.
    with pytest.raises(InvalidImage, match="4000×4000 pixels, more than the limit of 1,000,000"):
        inspect(images.png_bomb(4000, 4000), max_pixels=1_000_000)


def test_polyglot_is_an_image_and_nothing_else():
    # It decodes as a JPEG, so it is one; it is served as image/jpeg with nosniff (see test_views).
    assert inspect(images.html_jpeg_polyglot()).format == "jpg"


def _render(data, size=100):
    out, width, height = thumbnail_render(io.BytesIO(data), max_size=size)
    image = Image.open(io.BytesIO(out))
    assert image.format == "JPEG" and image.mode == "RGB"
    assert (image.width, image.height) == (width, height)
    return image


def test_thumbnail_fits_and_keeps_aspect_ratio():
    image = _render(images.photo_bytes("dogs.jpg"), size=200)
    with Image.open(images.PHOTOS / "dogs.jpg") as original:
        ratio = original.width / original.height
    assert max(image.size) == 200
    assert abs(image.width / image.height - ratio) < 0.02


def test_thumbnail_applies_exif_orientation():
    data = images.exif_rotated_jpeg(orientation=6)
    with Image.open(io.BytesIO(data)) as stored:
        assert stored.size == (360, 480)  # stored upright as a portrait...
    image = _render(data, size=200)
    assert image.size == (200, 150)  # ...displayed turned a quarter, as a landscape


def test_thumbnail_of_16_bit_png_keeps_its_gradient():
    image = _render(images.sixteen_bit_png(), size=80)
    low, high = image.convert("L").getextrema()
    assert high - low > 100  # scaled to 8 bits, not clipped to white


def test_thumbnail_of_cmyk_is_rgb_of_the_same_colour():
    image = _render(images.cmyk_jpeg(), size=50)
    r, g, b = image.getpixel((10, 10))
    assert r > 200 and g < 60 and b < 60  # C=0, M=255, Y=255: red


def test_thumbnail_of_transparent_png_is_on_white():
    image = _render(images.png(mode="RGBA", color=(0, 0, 0, 0)), size=50)
    assert image.getpixel((5, 5)) == (255, 255, 255)


# --- decoding an original: the one recipe every reader of pixels uses (analysis, face crops, thumbnails) -------


def test_decode_drafts_a_large_jpeg_to_at_least_the_pixels_asked_for():
    data = images.encode(Image.new("RGB", (4000, 3000), (20, 200, 20)), "JPEG")
    decoded = image_decode(io.BytesIO(data), min_pixels=300_000)
    # 300,000 pixels wanted (632x474): libjpeg decodes at 1/4, the smallest scale that covers it.
    assert decoded.image.size == (1000, 750) and decoded.image.mode == "RGB"
    assert (decoded.format, decoded.orientation) == ("jpg", 1)
    assert image_decode(io.BytesIO(data), min_size=(400, 400)).image.size == (1000, 750)
    assert image_decode(io.BytesIO(data)).image.size == (4000, 3000)  # nothing asked: whole


def test_decode_turns_the_image_as_displayed_and_says_how_it_was_stored():
    decoded = image_decode(io.BytesIO(images.exif_rotated_jpeg(orientation=6)))
    assert decoded.image.size == (480, 360) and decoded.orientation == 6


def test_decode_flattens_any_mode_to_rgb():
    decoded = image_decode(io.BytesIO(images.png(mode="RGBA", color=(0, 0, 0, 0))))
    assert decoded.format == "png" and decoded.image.mode == "RGB"
    assert decoded.image.getpixel((5, 5)) == (255, 255, 255)
    assert image_decode(io.BytesIO(images.cmyk_jpeg())).image.mode == "RGB"


def test_stored_image_decode_reads_through_the_storage():
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    name = default_storage.save("originals/x.jpg", ContentFile(images.jpeg(64, 48)))
    assert stored_image_decode(name).image.size == (64, 48)


def test_face_crop_is_a_square_around_the_box_with_a_margin():
    image = Image.new("RGB", (400, 200), (0, 0, 255))
    image.paste((255, 0, 0), (100, 50, 140, 90))  # the "face": 40x40 at (100, 50)
    crop = face_crop(image, left=100 / 400, top=50 / 200, width=40 / 400, height=40 / 200, size=56)
    assert crop.size == (56, 56) and crop.mode == "RGB"
    assert crop.getpixel((28, 28)) == (255, 0, 0)  # centred on the face
    r, g, b = crop.getpixel((2, 2))
    assert b > 200 and r < 50  # a margin of the background around it (1.4 x the box)


def test_large_non_jpeg_images_are_flattened_and_reduced_a_strip_at_a_time(monkeypatch):
    import random

    from medialib import images as medialib_images

    random.seed(7)
    rgba = Image.frombytes("RGBA", (301, 200), bytes(random.randrange(256) for _ in range(301 * 200 * 4)))
    whole = medialib_images.rgb_flatten(rgba).reduce(3)
    monkeypatch.setattr(medialib_images, "_STRIP_PIXELS", 301 * 10)  # 9 rows a strip: 23 strips
    strips = medialib_images._flatten_reduced(rgba, 3)
    assert strips.size == whole.size == (101, 67)
    assert strips.tobytes() == whole.tobytes()


def test_a_thumbnail_of_a_large_png_with_alpha_stays_near_its_decoded_size():
    """A 25 MP PNG of one colour with alpha (100 KB) is 100 MB decoded; its thumbnail took 310 MB, now about that."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = (
        "import io\nfrom PIL import Image\n"
        "out = io.BytesIO(); Image.new('RGBA', (5000, 5000), (30, 120, 200, 128)).save(out, 'PNG')\n"
        "data = out.getvalue(); del out\n"
        "def kb(field):\n"
        "    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith(field + ':'))\n"
        "from medialib.images import thumbnail_render\n"
        "open('/proc/self/clear_refs', 'w').write('5')\n"
        "before = kb('VmRSS')\n"
        "thumbnail_render(io.BytesIO(data), max_size=400)\n"
        "print((kb('VmHWM') - before) // 1024)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    peak_mb = int(result.stdout.strip().splitlines()[-1])
    assert peak_mb < 140, f"{peak_mb} MB"  # 100 MB of decoded pixels, a few MB of strips


def _smooth_jpeg(width=1600, height=1200) -> bytes:
    """A photo-like JPEG: smooth gradients in each channel (a reduced decode and a resize agree on it)."""
    red = Image.linear_gradient("L").resize((width, height))
    green = Image.radial_gradient("L").resize((width, height))
    blue = red.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return images.encode(Image.merge("RGB", (red, green, blue)), "JPEG", quality=90)


def test_a_decode_cache_shares_one_decode_per_scale_with_the_same_pixels():
    from medialib.images import DecodeCache

    data = _smooth_jpeg()
    cache = DecodeCache()
    small = image_decode(io.BytesIO(data), min_size=(200, 150), cache=cache)
    again = image_decode(io.BytesIO(data), min_size=(190, 140), cache=cache)  # the same 1/8 scale
    half = image_decode(io.BytesIO(data), min_size=(800, 600), cache=cache)
    assert again is small and half is not small and len(cache) == 2
    assert (small.image.size, half.image.size) == ((200, 150), (800, 600))
    # The very pixels a decode of its own gives.
    assert half.image.tobytes() == image_decode(io.BytesIO(data), min_size=(800, 600)).image.tobytes()


def test_a_decode_cache_keeps_no_decode_over_its_pixel_limit():
    from medialib.images import DecodeCache

    data = _smooth_jpeg(800, 600)
    cache = DecodeCache()
    cache.max_pixels = 100_000
    image_decode(io.BytesIO(data), cache=cache)  # 480,000 pixels: decoded, not kept
    image_decode(io.BytesIO(data), min_size=(200, 150), cache=cache)
    assert [decoded.image.size for decoded in cache.values()] == [(200, 150)]


def test_thumbnails_from_a_shared_decode_are_the_same_files_and_leave_the_decode_as_it_was():
    from medialib.images import DecodeCache

    data = _smooth_jpeg()
    cache = DecodeCache()
    for size in (400, 300, 1000):  # 1/4 (twice) and whole
        assert thumbnail_render(io.BytesIO(data), max_size=size, cache=cache) == \
            thumbnail_render(io.BytesIO(data), max_size=size)
    # thumbnail() works in place: the shared images must not have been shrunk.
    assert sorted(decoded.image.size for decoded in cache.values()) == [(400, 300), (1600, 1200)]


def test_a_thumbnail_decodes_a_large_jpeg_at_the_scale_its_long_side_needs(monkeypatch):
    """Fitting a box needs only the long side covered: a 1600 px thumbnail of a 4000x2000 JPEG decodes at 1/2
    (2000x1000), not whole, which covering 1600x1600 would need."""
    from medialib import images as module

    asked = []
    decode = module.image_decode
    monkeypatch.setattr(module, "image_decode", lambda fileobj, **sizes: asked.append(sizes["min_size"]) or
                        decode(fileobj, **sizes))
    data = images.encode(Image.new("RGB", (4000, 2000), (20, 200, 20)), "JPEG")
    assert _thumbnail_size(thumbnail_render(io.BytesIO(data), max_size=1600)) == (1600, 800)
    assert _thumbnail_size(thumbnail_render(io.BytesIO(images.jpeg(64, 48)), max_size=1600)) == (64, 48)
    assert asked == [(1600, 800), None]


def _thumbnail_size(rendered) -> tuple[int, int]:
    data, width, height = rendered
    assert Image.open(io.BytesIO(data)).size == (width, height)
    return width, height
