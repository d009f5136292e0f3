"""medialib.images.transformation_render: the pixel work of Cloudinary transformations on synthetic images."""
import io

import pytest
from PIL import Image

from medialib.images import transformation_render
from medialib.transformations import Transformation, TransformationError
from tests import images

LIMIT = 50_000_000
TOP_LEFT, TOP_RIGHT, BOTTOM_LEFT, BOTTOM_RIGHT = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)


def quadrants(width=400, height=300) -> Image.Image:
    """Four flat quadrants (red, green / blue, yellow), crops are checked by colour; `gradient` gives an image
    whose pixels differ, for pixel-by-pixel comparisons."""
    image = Image.new("RGB", (width, height))
    image.paste(TOP_LEFT, (0, 0, width // 2, height // 2))
    image.paste(TOP_RIGHT, (width // 2, 0, width, height // 2))
    image.paste(BOTTOM_LEFT, (0, height // 2, width // 2, height))
    image.paste(BOTTOM_RIGHT, (width // 2, height // 2, width, height))
    return image


def gradient(width=400, height=300) -> Image.Image:
    image = Image.new("RGB", (width, height))
    image.putdata([(x % 256, y % 256, (x * 7 + y * 3) % 256) for y in range(height) for x in range(width)])
    return image


def render(text, source=None, fmt="png", faces=None, limit=LIMIT):
    data = images.encode(source or quadrants(), "PNG")
    rendered = transformation_render(io.BytesIO(data), Transformation.from_string(text), fmt=fmt, faces=faces,
                                     max_output_pixels=limit)
    image = Image.open(io.BytesIO(rendered.data))
    image.load()
    assert (rendered.width, rendered.height) == image.size
    return rendered, image


def close(pixel, color, tolerance=8):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], color))


@pytest.mark.parametrize("text, size", [
    ("w_200", (200, 150)),
    ("h_150", (200, 150)),
    ("c_scale,w_100,h_100", (100, 100)),
    ("w_0.5", (200, 150)),
    ("c_fit,w_100,h_100", (100, 75)),
    ("c_fit,w_800,h_800", (800, 600)),
    ("c_limit,w_800,h_800", (400, 300)),
    ("c_limit,w_100,h_100", (100, 75)),
    ("c_mfit,w_100,h_100", (400, 300)),
    ("c_mfit,w_800,h_800", (1067, 800)),
    ("c_fill,w_100,h_100", (100, 100)),
    ("c_fill,w_800,h_100", (800, 100)),
    ("c_lfill,w_800,h_800", (300, 300)),
    ("c_lfill,w_100,h_50", (100, 50)),
    ("c_pad,w_100,h_100", (100, 100)),
    ("c_lpad,w_800,h_800", (800, 800)),
    ("c_crop,w_100,h_80", (100, 80)),
    ("c_crop,w_1000,h_80", (400, 80)),
    ("c_thumb,w_50,h_50", (50, 50)),
    ("c_fill,ar_1:1,w_120", (120, 120)),
    ("c_fill,ar_16:9,h_90", (160, 90)),
    ("c_crop,ar_1.0", (300, 300)),
    ("c_fill,dpr_2.0,h_50,w_50", (100, 100)),
    ("c_fill,w_100,h_100/dpr_2.0", (200, 200)),
    ("a_90", (300, 400)),
    ("a_hflip", (400, 300)),
])
def test_output_sizes(text, size):
    rendered, image = render(text)
    assert image.size == size, text


def test_crop_at_x_y_is_the_original_region_pixel_for_pixel():
    source = gradient()
    _, image = render("c_crop,h_70,w_90,x_33,y_41", source=source)
    assert image.convert("RGB").tobytes() == source.crop((33, 41, 123, 111)).tobytes()


def test_crop_is_clamped_inside_the_image():
    source = gradient()
    _, image = render("c_crop,h_70,w_90,x_390,y_290", source=source)
    assert image.convert("RGB").tobytes() == source.crop((310, 230, 400, 300)).tobytes()


def test_crop_with_gravity_and_no_scaling():
    source = gradient()
    _, image = render("c_crop,g_south_east,h_50,w_60", source=source)
    assert image.convert("RGB").tobytes() == source.crop((340, 250, 400, 300)).tobytes()


def test_fill_north_takes_the_top_and_south_the_bottom():
    _, north = render("c_fill,g_north,h_50,w_400")
    _, south = render("c_fill,g_south,h_50,w_400")
    assert close(north.getpixel((10, 25)), TOP_LEFT) and close(north.getpixel((390, 25)), TOP_RIGHT)
    assert close(south.getpixel((10, 25)), BOTTOM_LEFT) and close(south.getpixel((390, 25)), BOTTOM_RIGHT)


def test_fill_west_and_east():
    _, west = render("c_fill,g_west,h_300,w_100")
    _, east = render("c_fill,g_east,h_300,w_100")
    assert close(west.getpixel((50, 10)), TOP_LEFT)
    assert close(east.getpixel((50, 10)), TOP_RIGHT)


def test_face_gravity_centres_on_the_face():
    calls = []

    def faces():
        calls.append(1)
        return [(300, 200, 40, 40)]  # in the yellow quadrant

    _, image = render("c_fill,g_face,h_60,w_60", faces=faces)
    assert close(image.getpixel((30, 30)), BOTTOM_RIGHT)
    assert image.size == (60, 60)
    assert calls == [1]
    # The same box scaled through a first resize: still on the face.
    _, image = render("w_200/c_crop,g_face,h_20,w_20", faces=faces)
    assert close(image.getpixel((10, 10)), BOTTOM_RIGHT)


def test_faces_picks_the_largest_face_for_g_face_and_all_for_g_faces():
    boxes = [(20, 20, 10, 10), (320, 220, 50, 50)]
    _, image = render("c_crop,g_face,h_20,w_20", faces=lambda: boxes)
    assert close(image.getpixel((10, 10)), BOTTOM_RIGHT)
    _, image = render("c_crop,g_faces,h_20,w_20", faces=lambda: boxes)
    # The bounding box of both is centred at (195, 145): the window straddles the four quadrants.
    assert close(image.getpixel((1, 1)), TOP_LEFT) and close(image.getpixel((18, 18)), BOTTOM_RIGHT)


def test_faces_not_called_without_face_gravity():
    def faces():
        raise AssertionError("faces() called")

    render("c_fill,g_north,h_50,w_50", faces=faces)
    render("c_thumb,h_50,w_50", faces=faces)


def test_no_face_falls_back_to_centre():
    _, image = render("c_crop,g_face,h_20,w_20", faces=lambda: [])
    assert close(image.getpixel((1, 1)), TOP_LEFT) and close(image.getpixel((18, 18)), BOTTOM_RIGHT)


def test_thumb_zooms_on_the_face():
    rendered, image = render("c_thumb,g_face,h_40,w_40", faces=lambda: [(40, 40, 30, 30)])
    assert image.size == (40, 40)
    assert close(image.getpixel((20, 20)), TOP_LEFT) and close(image.getpixel((0, 0)), TOP_LEFT)


def test_auto_gravity_without_faces_finds_the_detail():
    source = Image.new("RGB", (400, 300), (128, 128, 128))
    for x in range(10, 100, 6):
        source.paste((0, 0, 0), (x, 20, x + 3, 280))
    _, auto = render("c_fill,g_auto,h_100,w_100", source=source, faces=lambda: [])
    _, west = render("c_fill,g_west,h_100,w_100", source=source)
    _, centre = render("c_fill,h_100,w_100", source=source)
    assert auto.tobytes() == west.tobytes() != centre.tobytes()


def test_r_max_corners_are_transparent_in_png():
    _, image = render("c_fill,h_100,r_max,w_100")
    assert image.mode == "RGBA"
    assert image.getpixel((0, 0))[3] == 0 and image.getpixel((99, 99))[3] == 0
    assert image.getpixel((50, 50))[3] == 255


def test_rounded_corners_on_jpg_are_the_background():
    _, image = render("b_black,c_fill,h_100,r_20,w_100", fmt="jpg")
    assert close(image.getpixel((0, 0)), (0, 0, 0), 30)
    _, image = render("c_fill,h_100,r_20,w_100", fmt="jpg")
    assert close(image.getpixel((0, 0)), (255, 255, 255), 30)


def test_pad_color():
    _, image = render("b_rgb:00ff00,c_pad,h_400,w_400", source=Image.new("RGB", (400, 200), (0, 0, 255)))
    assert image.size == (400, 400)
    assert close(image.getpixel((200, 20)), (0, 255, 0)) and close(image.getpixel((200, 200)), (0, 0, 255))
    _, image = render("c_pad,h_400,w_400", source=Image.new("RGB", (400, 200), (0, 0, 255)))
    assert close(image.getpixel((200, 20)), (255, 255, 255))
    _, image = render("b_transparent,c_pad,h_400,w_400", source=Image.new("RGB", (400, 200), (0, 0, 255)))
    assert image.getpixel((200, 20))[3] == 0


def test_grayscale():
    _, image = render("e_grayscale", source=gradient())
    assert all(r == g == b for r, g, b in zip(*(band.tobytes() for band in image.convert("RGB").split())))


def test_blur_and_sharpen_change_pixels():
    source = quadrants()
    _, blurred = render("e_blur:300", source=source)
    _, sharpened = render("e_sharpen", source=gradient())
    assert blurred.getpixel((200, 10)) != source.getpixel((200, 10))
    assert sharpened.size == (400, 300)


def test_border_is_inside():
    _, image = render("bo_3px_solid_black,c_fill,h_50,w_50")
    assert image.size == (50, 50)
    assert close(image.getpixel((1, 25)), (0, 0, 0)) and close(image.getpixel((10, 10)), TOP_LEFT)


def test_rotate_background():
    _, image = render("a_45", fmt="png")
    assert image.getpixel((0, 0))[3] == 0
    _, image = render("a_45,b_red", fmt="jpg")
    assert close(image.getpixel((0, 0)), (255, 0, 0), 30)


def test_documented_examples():
    rendered, image = render("c_fill,w_770/dpr_2.0", source=gradient(), fmt="jpg")
    assert image.size == (1540, 1156)  # 770 x 578 (577.5 rounded), then doubled
    rendered, image = render("bo_1px_solid_rgb:eee,c_thumb,dpr_2.0,g_face,h_42,r_max,w_42,z_0.8",
                             faces=lambda: [(150, 100, 60, 60)], fmt="png")
    assert image.size == (84, 84) and image.getpixel((0, 0))[3] == 0
    rendered, image = render("f_auto,q_auto", fmt="webp")
    assert rendered.format == "webp" and image.size == (400, 300)


@pytest.mark.parametrize("fmt", ["jpg", "png", "webp", "avif", "gif"])
def test_formats(fmt):
    rendered, image = render("c_fill,h_40,r_10,w_40", fmt=fmt)
    assert rendered.format == fmt and image.size == (40, 40)


def test_quality_changes_jpeg_size():
    low, _ = render("q_10", source=gradient(), fmt="jpg")
    high, _ = render("q_95", source=gradient(), fmt="jpg")
    assert len(low.data) < len(high.data)


def test_output_over_the_limit_is_refused():
    with pytest.raises(TransformationError):
        render("w_2000", limit=1_000_000)
    with pytest.raises(TransformationError):
        render("c_pad,w_2000,h_1000", limit=1_000_000)
    with pytest.raises(TransformationError):
        render("w_800/dpr_2.0", limit=1_000_000)


@pytest.mark.parametrize("text", ["a_auto_right", "a_ignore", "z_2.0", "c_fit,g_north,w_10", "c_fill,w_10,x_5",
                                  "c_fill", "t_named"])
def test_not_rendered_is_refused(text):
    with pytest.raises(TransformationError):
        render(text)


def test_jpeg_starting_with_a_downscale_decodes_reduced_and_keeps_faces():
    source = quadrants(1600, 1200)
    data = images.encode(source, "JPEG", quality=95)
    rendered = transformation_render(io.BytesIO(data), Transformation.from_string("c_fill,g_face,h_100,w_100"),
                                     fmt="png", faces=lambda: [(1200, 900, 100, 100)],
                                     max_output_pixels=LIMIT)
    image = Image.open(io.BytesIO(rendered.data))
    assert image.size == (100, 100)
    assert close(image.getpixel((50, 50)), BOTTOM_RIGHT, 20)


def test_translucent_background_on_jpg_is_composed_on_white():
    _, image = render("b_rgb:ff000080,c_pad,h_500,w_500", fmt="jpg")
    assert close(image.getpixel((0, 0)), (255, 127, 127), 10)


def test_a_first_downscale_asks_image_decode_for_a_reduced_decode(monkeypatch):
    from medialib import images as module

    asked = []
    decode = module.image_decode

    def spy(fileobj, **sizes):
        asked.append(sizes)
        return decode(fileobj, **sizes)

    monkeypatch.setattr(module, "image_decode", spy)
    render("c_fill,h_100,w_100")
    render("c_crop,h_100,w_100,x_5")
    render("w_800")
    assert asked == [{"min_size": (100, 100)}, {"min_size": None}, {"min_size": None}]


@pytest.mark.parametrize("turn, color", [
    ("a_hflip", BOTTOM_LEFT), ("a_vflip", TOP_RIGHT), ("a_180", TOP_LEFT), ("a_90", TOP_RIGHT),
    ("a_270", BOTTOM_LEFT), ("a_-90", BOTTOM_LEFT), ("a_90.hflip", BOTTOM_RIGHT),
])
def test_faces_follow_flips_and_quarter_turns(turn, color):
    # The face is in the yellow (bottom right) quadrant; where it goes, the crop goes.
    faces = lambda: [(330, 230, 30, 30)]  # noqa: E731
    _, image = render(f"w_200/{turn}/c_crop,g_face,h_10,w_10", faces=faces)
    assert close(image.getpixel((5, 5)), BOTTOM_RIGHT)
    # And the turn itself: a_90 is clockwise (Cloudinary), so the top right quadrant ends bottom right.
    _, turned = render(f"w_200/{turn}")
    assert close(turned.getpixel((turned.width - 5, turned.height - 5)), color)


def test_faces_are_dropped_after_an_arbitrary_angle():
    _, image = render("a_30/c_crop,g_face,h_10,w_10", faces=lambda: [(330, 230, 30, 30)])
    assert image.size == (10, 10)


def _jpeg_render(text, source, faces=None):
    data = images.encode(source, "JPEG")
    rendered = transformation_render(io.BytesIO(data), Transformation.from_string(text), fmt="png", faces=faces,
                                     max_output_pixels=LIMIT)
    return Image.open(io.BytesIO(rendered.data)).convert("RGB")


def test_face_thumb_decodes_reduced_and_keeps_the_face_in_the_crop(monkeypatch):
    from medialib import images as medialib_images

    source = Image.new("RGB", (1600, 1200), (0, 0, 255))
    source.paste((255, 0, 0), (1200, 200, 1280, 280))  # the "face": a red square
    asked, calls = [], []
    original = medialib_images.image_decode

    def spy(fileobj, **sizes):
        asked.append(sizes.get("min_size"))
        return original(fileobj, **sizes)

    monkeypatch.setattr(medialib_images, "image_decode", spy)

    def faces():
        calls.append(1)
        return [(1200, 200, 80, 80)]

    image = _jpeg_render("c_thumb,g_face,w_40,h_40,z_1.0", source, faces)
    assert image.size == (40, 40)
    assert calls == [1]  # fetched before decoding, and not again by the canvas
    assert asked[0] is not None and asked[0][0] <= 800  # a reduced decode (scale <= 1/2)
    assert close(image.getpixel((20, 20)), (255, 0, 0), tolerance=40)  # the face is in the middle
    assert close(image.getpixel((1, 1)), (0, 0, 255), tolerance=40)  # context around it


def test_crop_window_resize_equals_resize_then_crop():
    from PIL import ImageChops, ImageStat

    source = Image.new("RGB", (640, 480))  # smooth, so that only the resampling could differ
    source.putdata([(x * 255 // 640, y * 255 // 480, (x + y) * 255 // 1120) for y in range(480) for x in range(640)])
    rendered, image = render("c_fill,w_200,h_100,g_north", source)
    expected = source.resize((200, 150), Image.Resampling.LANCZOS).crop((0, 0, 200, 100))
    assert image.size == (200, 100)
    diff = sum(ImageStat.Stat(ImageChops.difference(image.convert("RGB"), expected)).mean) / 3
    assert diff < 1.0


def test_rgb_flatten_shortcut_returns_the_image_itself_without_reduction():
    from medialib.images import _flatten_reduced

    rgb = Image.new("RGB", (2000, 1000), (10, 20, 30))
    assert _flatten_reduced(rgb, 1) is rgb
    rgba = Image.new("RGBA", (2000, 1000), (10, 20, 30, 0))
    flat = _flatten_reduced(rgba, 1)
    assert flat.mode == "RGB" and flat.getpixel((0, 0)) == (255, 255, 255)


def _smooth(width=1600, height=1200) -> Image.Image:
    red = Image.linear_gradient("L").resize((width, height))
    green = Image.radial_gradient("L").resize((width, height))
    return Image.merge("RGB", (red, green, red.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))


def test_a_pixel_crop_then_a_downscale_decodes_reduced_and_keeps_the_region(monkeypatch):
    """The people page's face crops (c_crop in pixels, then c_fill to 96 or 192 px) decode a 12 MP photo at the
    scale the output needs, not whole: the same region, within a few grey levels of the whole decode's."""
    from medialib import images as module

    source = _smooth()
    source.paste((255, 0, 0), (1150, 850, 1250, 950))  # a red square in the middle of the crop
    data = images.encode(source, "JPEG", quality=95)
    asked = []
    decode = module.image_decode

    def spy(fileobj, **sizes):
        asked.append(sizes.get("min_size"))
        return decode(fileobj, **sizes)

    monkeypatch.setattr(module, "image_decode", spy)
    text = "c_crop,h_400,w_400,x_1000,y_700/c_fill,h_96,w_96"
    rendered = transformation_render(io.BytesIO(data), Transformation.from_string(text), fmt="png",
                                     max_output_pixels=LIMIT)
    assert asked == [(384, 288)]  # 96 / 400 of the photo: libjpeg's 1/4 covers it
    image = Image.open(io.BytesIO(rendered.data)).convert("RGB")
    assert image.size == (96, 96) and close(image.getpixel((48, 48)), (255, 0, 0), 30)
    whole = Image.open(io.BytesIO(data)).convert("RGB").crop((1000, 700, 1400, 1100))
    whole = whole.resize((96, 96), Image.Resampling.LANCZOS)
    from PIL import ImageChops, ImageStat

    assert max(ImageStat.Stat(ImageChops.difference(image, whole)).mean) < 4  # grey levels, per channel


def test_a_pixel_crop_past_the_edge_is_clamped_as_before_at_a_reduced_scale():
    data = images.encode(_smooth(), "JPEG", quality=95)

    def rendered(text):
        return transformation_render(io.BytesIO(data), Transformation.from_string(text), fmt="png",
                                     max_output_pixels=LIMIT).data

    assert rendered("c_crop,h_400,w_400,x_1500,y_1100/c_fill,h_96,w_96") == \
        rendered("c_crop,h_400,w_400,x_1200,y_800/c_fill,h_96,w_96")


def test_a_pixel_crop_without_a_downscale_after_it_decodes_whole(monkeypatch):
    from medialib import images as module

    asked = []
    decode = module.image_decode
    monkeypatch.setattr(module, "image_decode",
                        lambda fileobj, **sizes: asked.append(sizes) or decode(fileobj, **sizes))
    data = images.encode(_smooth(), "JPEG")
    for text in ("c_crop,h_400,w_400,x_10/e_grayscale", "c_crop,h_400,w_400,x_10/c_fill,h_300,w_300",
                 "c_crop,g_north,h_400,w_400/c_fill,h_96,w_96"):
        transformation_render(io.BytesIO(data), Transformation.from_string(text), fmt="png", max_output_pixels=LIMIT)
    assert asked == [{"min_size": None}] * 3


def test_a_pixel_crop_of_a_quarter_turned_jpeg_takes_the_displayed_region_at_a_reduced_scale():
    from PIL import ImageChops, ImageOps, ImageStat

    data = images.exif_rotated_jpeg(6)  # stored 360x480, displayed 480x360
    text = "c_crop,h_300,w_300,x_150,y_40/c_fill,h_96,w_96"
    rendered = transformation_render(io.BytesIO(data), Transformation.from_string(text), fmt="png",
                                     max_output_pixels=LIMIT)
    image = Image.open(io.BytesIO(rendered.data)).convert("RGB")
    shown = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    assert shown.size == (480, 360)
    whole = shown.crop((150, 40, 450, 340)).resize((96, 96), Image.Resampling.LANCZOS)
    assert image.size == (96, 96)
    assert max(ImageStat.Stat(ImageChops.difference(image, whole)).mean) < 6
