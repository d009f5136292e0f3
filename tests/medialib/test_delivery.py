"""Delivery paths as the official Python SDK builds them, and their signatures."""
import cloudinary
import cloudinary.utils
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medialib.delivery import DeliveryPathError, delivery_path_parse, signature_valid, url_signature
from medialib.transformations import TransformationError

SECRET = "a-secret-of-this-library"


@pytest.fixture(autouse=True)
def sdk():
    cloudinary.reset_config()
    cloudinary.config(cloud_name="medialib", api_key="k", api_secret=SECRET, cname="media.example.org",
                      secure_distribution=None, private_cdn=False)
    yield
    cloudinary.reset_config()


def _path(url: str) -> str:
    prefix = "/medialib/image/upload/"
    path = url.split("media.example.org", 1)[1]
    assert path.startswith(prefix), url
    return path[len(prefix):]


@pytest.mark.parametrize("options, transformation", [
    ({"width": 300, "crop": "fill", "gravity": "face"}, "c_fill,g_face,w_300"),
    ({"transformation": [{"crop": "fill", "width": 770}, {"dpr": "2.0"}]}, "c_fill,w_770/dpr_2.0"),
    ({"border": "1px_solid_rgb:eee", "crop": "thumb", "dpr": "2.0", "gravity": "face", "height": 42,
      "radius": "max", "width": 42, "zoom": 0.8}, "bo_1px_solid_rgb:eee,c_thumb,dpr_2.0,g_face,h_42,r_max,w_42,z_0.8"),
    ({"fetch_format": "auto", "quality": "auto"}, "f_auto,q_auto"),
    ({}, ""),
])
@pytest.mark.parametrize("public_id", ["cute_puppy", "trips/2024/beach"])
def test_the_sdk_urls_parse_to_their_parts(options, transformation, public_id):
    url, _ = cloudinary.utils.cloudinary_url(public_id, format="jpg", version=1712345678, **options)
    path = delivery_path_parse(_path(url))
    assert (path.public_id, path.extension, path.version) == (public_id, "jpg", 1712345678)
    assert path.transformation_text == transformation
    assert str(path.transformation) == transformation
    assert path.signature is None


def test_without_a_version_leading_transformations_are_told_from_folders():
    url, _ = cloudinary.utils.cloudinary_url("sample", format="png", width=100, crop="scale", force_version=False)
    path = delivery_path_parse(_path(url))
    assert (path.transformation_text, path.public_id, path.extension, path.version) == ("c_scale,w_100", "sample", "png", None)
    path = delivery_path_parse("trips/beach.jpg")
    assert (path.transformation_text, path.public_id) == ("", "trips/beach")
    assert delivery_path_parse("sample").extension is None


@pytest.mark.parametrize("long", [False, True])
def test_sdk_signed_urls_verify_and_tampered_ones_do_not(long):
    url, _ = cloudinary.utils.cloudinary_url("trips/beach", format="jpg", width=300, crop="fill", gravity="face",
                                             sign_url=True, long_url_signature=long)
    path = delivery_path_parse(_path(url))
    assert path.signature is not None and len(path.signature) == (32 if long else 8)
    assert signature_valid(path, ["another secret", SECRET])
    assert not signature_valid(path, ["another secret"])
    tampered = _path(url).replace("w_300", "w_3000")
    assert not signature_valid(delivery_path_parse(tampered), [SECRET])
    other_image = _path(url).replace("beach", "party")
    assert not signature_valid(delivery_path_parse(other_image), [SECRET])
    unsigned = delivery_path_parse(_path(cloudinary.utils.cloudinary_url("trips/beach", format="jpg")[0]))
    assert not signature_valid(unsigned, [SECRET])


def test_the_signature_is_the_sdks_formula():
    # The version is not signed: the SDK signs "<transformation>/<public_id>.<format>".
    url, _ = cloudinary.utils.cloudinary_url("sample", format="jpg", width=10, crop="scale", version=5, sign_url=True)
    assert f"s--{url_signature('c_scale,w_10/sample.jpg', SECRET)}--" in url


@pytest.mark.parametrize("bad", ["", "/", "s--abcdefgh--/", "w_abc/v1/sample.jpg", "c_nonsense/v3/x.jpg",
                                 "w_abc/sample.jpg", "c_fill,w_0/x.jpg", "a" * 3000])
def test_bad_paths_are_refused_with_a_readable_reason(bad):
    with pytest.raises((DeliveryPathError, TransformationError)) as raised:
        delivery_path_parse(bad)
    assert raised.value.message and "\n" not in raised.value.message


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=st.sampled_from("abcfghvwxyz_s-0123456789.,:/%"), max_size=80) | st.text(max_size=40))
def test_any_path_parses_or_is_refused_cleanly(text):
    try:
        path = delivery_path_parse(text)
    except (DeliveryPathError, TransformationError):
        return
    assert path.public_id and "/" not in (path.extension or "")
    assert delivery_path_parse(path.signed_part).public_id == path.public_id or path.version is not None
