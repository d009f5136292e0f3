"""medialib.transformations: the parser of Cloudinary transformation strings and its canonical form."""
import cloudinary
import cloudinary.utils
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medialib.transformations import (
    MAX_COMPONENTS, MAX_LENGTH, Component, Transformation, TransformationError,
)

parse = Transformation.from_string


def roundtrip(text):
    parsed = parse(text)
    canonical = str(parsed)
    assert parse(canonical) == parsed
    assert str(parse(canonical)) == canonical
    return canonical


# Cloudinary's documentation examples parse exactly as written.
@pytest.mark.parametrize("text", [
    "c_fill,w_770/dpr_2.0",
    "bo_1px_solid_rgb:eee,c_thumb,dpr_2.0,g_face,h_42,r_max,w_42,z_0.8",
    "f_auto,q_auto",
])
def test_doc_examples(text):
    assert roundtrip(text) == text


def test_doc_example_components():
    t = parse("bo_1px_solid_rgb:eee,c_thumb,dpr_2.0,g_face,h_42,r_max,w_42,z_0.8")
    (component,) = t.components
    assert component.get("w") == "42" and component.get("g") == "face" and component.get("bo") == "1px_solid_rgb:eee"
    assert component.get("missing", "d") == "d"
    assert [key for key, _ in component.params] == sorted(key for key, _ in component.params)
    assert [str(c) for c in parse("c_fill,w_770/dpr_2.0").components] == ["c_fill,w_770", "dpr_2.0"]


@pytest.mark.parametrize("text, canonical", [
    # every parameter, in its plain form
    ("w_300", "w_300"), ("w_0.5", "w_0.5"), ("h_200", "h_200"), ("h_1.5", "h_1.5"), ("w_10000", "w_10000"),
    *[(f"c_{c}", f"c_{c}") for c in "scale fit limit mfit fill lfill pad lpad crop thumb".split()],
    *[(f"g_{g}", f"g_{g}") for g in
      "center north north_east east south_east south south_west west north_west face faces auto".split()],
    ("x_10", "x_10"), ("x_-10", "x_-10"), ("y_0.25", "y_0.25"), ("y_-0.25", "y_-0.25"),
    ("z_2", "z_2"), ("z_0.8", "z_0.8"),
    ("ar_1.5", "ar_1.5"), ("ar_16:9", "ar_16:9"), ("ar_1", "ar_1"),
    ("dpr_2.0", "dpr_2.0"), ("dpr_0.1", "dpr_0.1"), ("dpr_5", "dpr_5.0"), ("dpr_1.25", "dpr_1.25"),
    ("r_0", "r_0"), ("r_20", "r_20"), ("r_max", "r_max"),
    ("bo_3px_solid_black", "bo_3px_solid_black"), ("bo_1px_solid_rgb:eee", "bo_1px_solid_rgb:eee"),
    ("bo_2px_solid_rgb:FF0000", "bo_2px_solid_rgb:ff0000"), ("bo_2px_solid_rgb:ff000080", "bo_2px_solid_rgb:ff000080"),
    ("b_white", "b_white"), ("b_Red", "b_red"), ("b_rgb:ABC", "b_rgb:abc"), ("b_transparent", "b_transparent"),
    ("a_90", "a_90"), ("a_-45", "a_-45"), ("a_0", "a_0"), ("a_auto_right", "a_auto_right"),
    ("a_auto_left", "a_auto_left"), ("a_ignore", "a_ignore"), ("a_vflip", "a_vflip"), ("a_hflip", "a_hflip"),
    ("a_hflip.90", "a_hflip.90"),
    ("e_grayscale", "e_grayscale"), ("e_blur", "e_blur"), ("e_blur:300", "e_blur:300"), ("e_blur:2000", "e_blur:2000"),
    ("e_sharpen", "e_sharpen"), ("e_sharpen:1", "e_sharpen:1"),
    ("q_1", "q_1"), ("q_100", "q_100"), ("q_auto", "q_auto"), ("q_auto:good", "q_auto:good"),
    ("q_auto:eco", "q_auto:eco"), ("q_auto:low", "q_auto:low"), ("q_auto:best", "q_auto:best"),
    *[(f"f_{f}", f"f_{f}") for f in "jpg png webp avif gif auto".split()], ("f_jpeg", "f_jpg"),
    ("t_thumb", "t_thumb"), ("t_my_thumb-2", "t_my_thumb-2"),
    # normalisation
    ("w_0300", "w_300"), ("w_.50", "w_0.5"), ("z_1.", "z_1.0"), ("x_-0", "x_0"), ("x_-0.0", "x_0.0"),
    ("dpr_2", "dpr_2.0"), ("dpr_2.50", "dpr_2.5"), ("ar_016:09", "ar_16:9"), ("e_blur:0100", "e_blur:100"),
    ("q_080", "q_80"), ("w_100,c_fill,h_50", "c_fill,h_50,w_100"), ("/w_1//h_2/", "w_1/h_2"),
    ("bo_02px_solid_WHITE", "bo_2px_solid_white"), ("", ""), ("/", ""),
])
def test_parameters_parse_and_round_trip(text, canonical):
    assert roundtrip(text) == canonical


@pytest.mark.parametrize("text", [
    "w_abc", "w_0", "w_-5", "w_999999", "w_10001", "w_0.0", "w_11.0", "h_1e3", "w_", "w", "w_ 1", "w_1 ",
    "W_100", "foo_1", "zz", "_1", "c_fill,,w_1", ",w_1", "w_1,", "c_fill,w_1,c_fit", "c_stretch", "c_FILL",
    "g_nowhere", "g_Face", "x_abc", "x_1e2", "x_--1", "z_0", "z_-1", "z_101", "ar_0", "ar_16:0", "ar_16:9:1",
    "ar_:9", "dpr_0", "dpr_0.05", "dpr_5.1", "dpr_auto", "r_-1", "r_1.5", "r_maximum", "bo_1px_solid",
    "bo_0px_solid_red", "bo_1px_dashed_red", "bo_1px_solid_notacolor", "bo_1px_solid_rgb:ee", "b_rgb:12345",
    "b_rgb:eeeee", "b_#fff", "a_abc", "a_361", "a_auto", "a_90.90", "e_blur:0", "e_blur:2001", "e_blur:",
    "e_blur:x", "e_sepia", "e_grayscale:5", "q_0", "q_101", "q_auto:great", "f_bmp", "f_", "t_", "t_a.b",
    "t_a b", "w_\u0661\u0662", "w_１", "e_blur:\u0661", "w_1\n", "w_1/" * 11, "w_1," + "x" * MAX_LENGTH,
])
def test_bad_inputs_are_refused(text):
    with pytest.raises(TransformationError) as error:
        parse(text)
    message = error.value.message
    assert message and message.isascii() and "\n" not in message and "\r" not in message and len(message) < 200


def test_error_names_the_offending_part():
    with pytest.raises(TransformationError, match="w_abc"):
        parse("c_fill,w_abc")
    with pytest.raises(TransformationError, match="zz_1"):
        parse("c_fill/zz_1")
    with pytest.raises(TransformationError, match="w_"):
        parse("w_1,w_2")


def test_component_cap():
    assert len(parse("/".join(["w_1"] * MAX_COMPONENTS)).components) == MAX_COMPONENTS
    with pytest.raises(TransformationError):
        parse("/".join(["w_1"] * (MAX_COMPONENTS + 1)))


def test_bool_and_equality():
    assert not parse("") and not Transformation() and parse("w_1")
    assert parse("w_1,h_2") == parse("h_2,w_1")
    assert hash(parse("w_1,h_2")) == hash(parse("h_2,w_1"))
    assert parse("w_1") != parse("w_1.0")


# The SDK's strings parse, and their canonical form is the SDK's string.
@pytest.mark.parametrize("options, expected", [
    (dict(width=300, crop="fill", gravity="face"), "c_fill,g_face,w_300"),
    (dict(width=300, height=200, crop="thumb", gravity="faces", zoom=0.8), "c_thumb,g_faces,h_200,w_300,z_0.8"),
    (dict(width=0.5, crop="scale"), "c_scale,w_0.5"),
    (dict(width=770, crop="fill", transformation=[dict(dpr="2.0")]), None),
    (dict(dpr="2.0"), "dpr_2.0"),
    (dict(fetch_format="auto", quality="auto"), "f_auto,q_auto"),
    (dict(quality="auto:good"), "q_auto:good"),
    (dict(border=dict(width=1, color="#eee"), radius="max", crop="thumb", gravity="face", width=42, height=42,
          zoom=0.8, dpr="2.0"), "bo_1px_solid_rgb:eee,c_thumb,dpr_2.0,g_face,h_42,r_max,w_42,z_0.8"),
    (dict(border="3px_solid_black"), "bo_3px_solid_black"),
    (dict(background="#ff0000", crop="pad", width=100, height=100), "b_rgb:ff0000,c_pad,h_100,w_100"),
    (dict(angle=90), "a_90"), (dict(angle="auto_right"), "a_auto_right"), (dict(angle=["hflip", 90]), "a_hflip.90"),
    (dict(effect="grayscale"), "e_grayscale"), (dict(effect="blur:300"), "e_blur:300"),
    (dict(effect=["sharpen", 100]), "e_sharpen:100"), (dict(effect={"blur": 50}), "e_blur:50"),
    (dict(x=-10, y=20, crop="crop", width=50, height=50, gravity="north_west"),
     "c_crop,g_north_west,h_50,w_50,x_-10,y_20"),
    (dict(aspect_ratio="16:9", crop="fill", width=400), "ar_16:9,c_fill,w_400"),
    (dict(aspect_ratio=1.5, crop="lfill", width=400), "ar_1.5,c_lfill,w_400"),
    (dict(transformation="thumb"), "t_thumb"),
    (dict(transformation=[dict(width=100, crop="fit"), dict(effect="blur")], fetch_format="webp"),
     "c_fit,w_100/e_blur/f_webp"),
    (dict(radius=20, width=300, crop="limit"), "c_limit,r_20,w_300"),
    (dict(crop="mfit", width=100, height=100), "c_mfit,h_100,w_100"),
    (dict(crop="lpad", width=100, height=100, background="white", gravity="south_east"),
     "b_white,c_lpad,g_south_east,h_100,w_100"),
])
def test_sdk_strings(options, expected):
    cloudinary.config(cloud_name="x")
    sdk, _ = cloudinary.utils.generate_transformation_string(**options)
    if expected is not None:
        assert sdk == expected
    assert roundtrip(sdk) == sdk


def test_sdk_dpr_written_as_integer_is_normalised():
    cloudinary.config(cloud_name="x")
    sdk, _ = cloudinary.utils.generate_transformation_string(dpr=2, width=100)
    assert sdk == "dpr_2,w_100"
    assert str(parse(sdk)) == "dpr_2.0,w_100"


def test_named_and_expand():
    definitions = {
        "thumb": parse("c_thumb,g_face,h_100,w_100"),
        "round": parse("t_thumb/r_max"),
        "loop": parse("t_loop2"), "loop2": parse("t_loop"),
        "self": parse("w_1/t_self"),
    }
    t = parse("t_round/f_auto,t_thumb/e_blur")
    assert t.named() == ["round", "thumb"]
    expanded = t.expand(definitions.get)
    assert str(expanded) == "c_thumb,g_face,h_100,w_100/r_max/c_thumb,g_face,h_100,w_100/f_auto/e_blur"
    assert expanded.named() == []
    assert parse("w_1").expand(definitions.get) == parse("w_1")
    for name in ("loop", "self", "missing"):
        with pytest.raises(TransformationError, match=name):
            parse(f"t_{name}").expand(definitions.get)
    deep = {f"n{i}": parse(f"t_n{i + 1}") for i in range(10)} | {"n10": parse("w_1")}
    with pytest.raises(TransformationError):
        parse("t_n0").expand(deep.get)
    assert str(parse("t_n7").expand(deep.get)) == "w_1"
    wide = {"wide": parse("/".join(["w_1"] * 10))}
    with pytest.raises(TransformationError):
        parse("t_wide/t_wide/t_wide").expand(wide.get)
    with pytest.raises(TransformationError):
        parse("t_wide/t_wide/" + "/".join(["h_1"] * 8)).expand(wide.get)
    mixed = parse("t_thumb,e_grayscale,w_5").expand(definitions.get)
    assert str(mixed) == "c_thumb,g_face,h_100,w_100/e_grayscale,w_5"


def test_uses_faces_and_varies_on_accept():
    assert parse("c_thumb,g_face").uses_faces() and parse("w_1/g_faces").uses_faces()
    assert parse("c_fill,g_auto").uses_faces()
    assert not parse("c_fill,g_north").uses_faces() and not parse("").uses_faces()
    assert parse("w_1/f_auto").varies_on_accept()
    assert not parse("f_webp").varies_on_accept() and not parse("").varies_on_accept()


AVIF = "image/avif,image/webp,image/apng,*/*;q=0.8"
WEBP = "image/webp,*/*"


@pytest.mark.parametrize("text, extension, source, accept, expected", [
    ("f_auto", None, "jpg", AVIF, "avif"),
    ("f_auto", "jpg", "jpg", WEBP, "webp"),
    ("f_auto", None, "jpg", "*/*", "jpg"),
    ("f_auto", None, "png", "*/*", "png"),
    ("f_auto", None, "png", "", "png"),
    ("f_auto", None, "png", WEBP, "webp"),
    ("f_auto", None, "gif", "image/png", "jpg"),
    ("f_auto", None, "jpg", "image/avif;q=0,image/webp;q=0.5", "webp"),
    ("f_png/f_webp", "jpg", "jpg", "", "webp"),
    ("f_auto/f_gif", None, "jpg", AVIF, "gif"),
    ("f_webp/f_auto", None, "jpg", "", "jpg"),
    ("f_jpeg", "png", "png", "", "jpg"),
    ("w_100", "jpeg", "png", "", "jpg"), ("w_100", "JPG", "png", "", "jpg"), ("", "png", "jpg", "", "png"),
    ("", "webp", "jpg", "", "webp"), ("", "avif", "jpg", "", "avif"), ("", "gif", "jpg", "", "gif"),
    ("", None, "png", AVIF, "png"), ("", None, "jpeg", "", "jpg"), ("", None, "tiff", "", "jpg"),
    ("", None, "heic", "", "jpg"), ("", None, "gif", "", "gif"), ("", "", "webp", "", "webp"),
])
def test_output_format(text, extension, source, accept, expected):
    assert parse(text).output_format(extension=extension, source_format=source, accept=accept) == expected


@pytest.mark.parametrize("extension", ["bmp", "tiff", "pdf", "exe"])
def test_output_format_refuses_other_extensions(extension):
    with pytest.raises(TransformationError):
        parse("w_1").output_format(extension=extension, source_format="jpg")
    assert parse("f_png").output_format(extension=extension, source_format="jpg") == "png"


# Hypothesis: nothing but TransformationError comes out of the parser, and valid strings round-trip.
ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFRGB0123456789_,/:.-#px "
near_miss = st.text(alphabet=ALPHABET, max_size=60)
keyish = st.lists(
    st.tuples(st.sampled_from(["w", "h", "c", "g", "x", "y", "z", "ar", "dpr", "r", "bo", "b", "a", "e", "q", "f",
                               "t", "zz", ""]), st.text(alphabet=ALPHABET, max_size=12)),
    max_size=6,
).map(lambda items: ",".join(f"{k}_{v}" for k, v in items))


def check_only_transformation_error(text):
    try:
        parsed = parse(text)
    except TransformationError as error:
        assert error.message.isascii() and "\n" not in error.message and len(error.message) < 200
    else:
        assert parse(str(parsed)) == parsed


# 10,000 random strings in all: 200 examples of 50 strings each (one string per example costs more in Hypothesis
# than the parse does).
@settings(max_examples=200)
@given(st.lists(st.one_of(near_miss, keyish, st.text(max_size=80)), min_size=50, max_size=50))
def test_random_strings_only_raise_transformation_error(texts):
    for text in texts:
        check_only_transformation_error(text)


@settings(max_examples=100)
@given(st.lists(st.text(alphabet=ALPHABET, max_size=30).map(lambda s: s.replace(" ", "_")), min_size=50,
                max_size=50))
def test_random_keyed_strings_only_raise_transformation_error(texts):
    for text in texts:
        check_only_transformation_error(text)


def integer(low, high):
    return st.integers(low, high).map(str)


def decimal(low, high, places=3):
    return st.decimals(low, high, places=places, allow_nan=False, allow_infinity=False).map(
        lambda d: format(d, "f")).filter(lambda s: "." in s)


color = st.one_of(
    st.sampled_from(["red", "White", "black", "transparent", "rebeccapurple", "LightGoldenRodYellow"]),
    st.sampled_from([3, 6, 8]).flatmap(
        lambda n: st.text(alphabet="0123456789abcdefABCDEF", min_size=n, max_size=n)).map(lambda h: "rgb:" + h),
)
size = st.one_of(integer(1, 10000), decimal("0.001", "10").filter(lambda s: float(s) > 0))
VALUES = {
    "w": size, "h": size,
    "c": st.sampled_from("scale fit limit mfit fill lfill pad lpad crop thumb".split()),
    "g": st.sampled_from(
        "center north north_east east south_east south south_west west north_west face faces auto".split()),
    "x": st.one_of(integer(-10000, 10000), decimal("-10", "10")),
    "y": st.one_of(integer(-10000, 10000), decimal("-10", "10")),
    "z": st.one_of(integer(1, 100), decimal("0.01", "100")),
    "ar": st.one_of(decimal("0.01", "100"), st.tuples(integer(1, 100), integer(1, 100)).map(":".join)),
    "dpr": st.one_of(integer(1, 5), decimal("0.1", "5", places=2)),
    "r": st.one_of(integer(0, 10000), st.just("max")),
    "bo": st.tuples(integer(1, 1000), color).map(lambda p: f"{p[0]}px_solid_{p[1]}"),
    "b": color,
    "a": st.one_of(integer(-360, 360), st.sampled_from(["auto_right", "auto_left", "ignore", "vflip", "hflip",
                                                          "hflip.90", "vflip.hflip"])),
    "e": st.one_of(st.sampled_from(["grayscale", "blur", "sharpen"]),
                   st.tuples(st.sampled_from(["blur", "sharpen"]), integer(1, 2000)).map(":".join)),
    "q": st.one_of(integer(1, 100), st.sampled_from(["auto", "auto:good", "auto:eco", "auto:low", "auto:best"])),
    "f": st.sampled_from(["jpg", "jpeg", "png", "webp", "avif", "gif", "auto"]),
    "t": st.text(alphabet="abcXYZ019_-", min_size=1, max_size=20),
}
component = st.dictionaries(st.sampled_from(sorted(VALUES)), st.just(None), min_size=1, max_size=8).flatmap(
    lambda keys: st.tuples(*[VALUES[key].map(lambda v, k=key: f"{k}_{v}") for key in keys])
).flatmap(lambda items: st.permutations(list(items))).map(",".join)
valid = st.lists(component, min_size=0, max_size=MAX_COMPONENTS).map("/".join)


@settings(max_examples=300)
@given(valid)
def test_valid_transformations_round_trip(text):
    parsed = parse(text)
    canonical = str(parsed)
    assert parse(canonical) == parsed
    assert str(parse(canonical)) == canonical
    assert all(isinstance(c, Component) and c.params == tuple(sorted(c.params)) for c in parsed.components)
    assert len(parsed.components) == len([part for part in text.split("/") if part])
