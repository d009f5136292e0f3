"""The delivery route, answering the URLs the official Python SDK builds (cname pointing at this server)."""
import io

import cloudinary
import cloudinary.utils
import pytest
from django.test import Client
from PIL import Image

from medialib.api.services import api_key_create
from medialib.services import asset_upload
from tests import images
from tests.conftest import upload_file


@pytest.fixture
def photo(db, user):
    return asset_upload(file=upload_file(images.jpeg(320, 240), "puppy.jpg"), uploaded_by=user, public_id="pets/cute_puppy")


@pytest.fixture
def key(user):
    return api_key_create(name="delivery", user=user)


@pytest.fixture(autouse=True)
def sdk():
    cloudinary.reset_config()
    cloudinary.config(cloud_name="medialib", api_key="unused", api_secret="unused", cname="testserver")
    yield
    cloudinary.reset_config()


def _get(url, client=None, **headers):
    return (client or Client()).get(url.split("testserver", 1)[1], **headers)


def _body(response) -> bytes:
    """The bytes of a response, streamed (a kept rendition, an original) or not."""
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def _url(asset, **options):
    return cloudinary.utils.cloudinary_url(asset.public_id, format=asset.format, version=asset.version, **options)[0]


def test_signed_mode_is_the_default_and_refuses_an_unsigned_or_tampered_url(photo, key):
    unsigned = _get(_url(photo))
    assert unsigned.status_code == 401 and "not signed" in unsigned["X-Cld-Error"]
    signed_url = _url(photo, sign_url=True, api_secret=key.secret, width=100, crop="scale")
    response = _get(signed_url)
    assert response.status_code == 200, response.get("X-Cld-Error")
    assert Image.open(io.BytesIO(_body(response))).size == (100, 75)
    assert _get(signed_url.replace("w_100", "w_101")).status_code == 401
    assert _get(_url(photo, sign_url=True, api_secret="not-the-secret")).status_code == 401
    key.is_active = False
    key.save()
    assert _get(signed_url).status_code == 401  # a revoked key's URLs stop working


def test_a_signed_in_user_who_may_see_the_image_loads_it_unsigned(photo, user, other_user, settings):
    client = Client()
    client.force_login(other_user)
    assert _get(_url(photo), client).status_code == 200  # a shared library
    settings.MEDIALIB_VISIBILITY = "private"
    assert _get(_url(photo), client).status_code == 404
    client.force_login(user)
    assert _get(_url(photo), client).status_code == 200


def test_public_mode_delivers_the_original_unchanged_at_the_url_the_api_answers(photo, settings):
    from django.test import RequestFactory

    from medialib.api.responses import resource_data

    settings.MEDIALIB_DELIVERY_ACCESS = "public"
    data = resource_data(photo, request=RequestFactory().get("/"), secret="s", info=None)
    for url in (data["url"], data["secure_url"]):
        response = _get(url)
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == photo.file.open("rb").read()
        assert response["Content-Type"] == "image/jpeg"
        assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    private_cdn = cloudinary.utils.cloudinary_url(photo.public_id, format="jpg", version=photo.version,
                                                  private_cdn=True, secure_distribution="testserver", secure=True)[0]
    assert "/medialib/" not in private_cdn and _get(private_cdn).status_code == 200


def test_conditional_get_gives_304_and_head_gives_no_body(photo, settings):
    settings.MEDIALIB_DELIVERY_ACCESS = "public"
    url = _url(photo, width=50, crop="scale")
    first = _get(url)
    assert first.status_code == 200 and first["ETag"]
    again = _get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""
    assert _get(url, HTTP_IF_NONE_MATCH='"something-else"').status_code == 200
    head = Client().head(url.split("testserver", 1)[1])
    assert head.status_code == 200 and _body(head) == b""
    assert _get(_url(photo, width=60, crop="scale"))["ETag"] != first["ETag"]


@pytest.mark.parametrize("path, status", [
    ("medialib/image/upload/w_abc/v1/pets/cute_puppy.jpg", 400),
    ("medialib/image/upload/c_nonsense,w_10/pets/cute_puppy.jpg", 400),
    ("medialib/image/upload/w_10000,h_10000,c_scale/pets/cute_puppy.jpg", 400),  # over the output cap
    ("medialib/image/upload/pets/cute_puppy.bmp", 400),
    ("medialib/image/upload/v999/pets/cute_puppy.jpg", 404),
    ("medialib/image/upload/pets/no_such_puppy.jpg", 404),
    ("othercloud/image/upload/pets/cute_puppy.jpg", 404),
])
def test_bad_urls_get_a_readable_error_header_never_a_500(photo, settings, path, status):
    settings.MEDIALIB_DELIVERY_ACCESS = "public"
    response = Client().get("/" + path)
    assert response.status_code == status
    assert response["X-Cld-Error"]


def test_behind_a_proxy_the_api_answers_the_public_host(photo, settings):
    from django.test import RequestFactory

    from medialib.api.responses import resource_data

    settings.MEDIALIB_PUBLIC_BASE_URL = "https://media.example.org"
    data = resource_data(photo, request=RequestFactory().get("/"), secret="s", info=None)
    assert data["secure_url"] == f"https://media.example.org/medialib/image/upload/v{photo.version}/pets/cute_puppy.jpg"
    assert data["url"].startswith("http://media.example.org/medialib/image/upload/")


def _face_photo(user):
    from PIL import ImageDraw

    image = Image.new("RGB", (400, 300), (200, 40, 40))
    ImageDraw.Draw(image).rectangle((300, 30, 359, 89), fill=(20, 40, 220))  # the "face", top right
    data = io.BytesIO()
    image.save(data, "PNG")
    return asset_upload(file=upload_file(data.getvalue(), "face.png", "image/png"), uploaded_by=user,
                        public_id="face_photo")


def test_g_face_crops_to_the_face_the_library_knows(user, settings):
    from tagging.models import Face

    settings.MEDIALIB_DELIVERY_ACCESS = "public"
    asset = _face_photo(user)
    centre = _get(_url(asset, width=60, height=60, crop="crop", gravity="center"))
    before = Image.open(io.BytesIO(_body(centre))).convert("RGB")
    assert before.getpixel((30, 30)) == (200, 40, 40)  # no face known: the centre, all background
    Face.objects.create(asset=asset, index=0, left=300 / 400, top=30 / 300, width=60 / 400, height=60 / 300,
                        confidence=99.0)

    def blue(response, size):
        assert response.status_code == 200, response.get("X-Cld-Error")
        crop = Image.open(io.BytesIO(_body(response))).convert("RGB")
        assert crop.size == size
        return sum(1 for pixel in crop.getdata() if pixel[2] > 150 and pixel[0] < 100)

    # Cropping without scaling: a 60x60 window on the face is all face.
    for options in ({"crop": "crop", "gravity": "face"}, {"crop": "thumb", "gravity": "face", "zoom": 2}):
        assert blue(_get(_url(asset, width=60, height=60, **options)), (60, 60)) > 0.8 * 60 * 60, options
    # Filling a tall 30x60 frame scales the photo to 80x60 first (the face becomes 12x12 at the right): the
    # centre misses it, the face gravities hold all of it.
    assert blue(_get(_url(asset, width=30, height=60, crop="fill", gravity="center")), (30, 60)) == 0
    for gravity in ("face", "faces", "auto"):
        assert blue(_get(_url(asset, width=30, height=60, crop="fill", gravity=gravity)), (30, 60)) >= 100, gravity


@pytest.mark.parametrize("transformation", ["c_fill,w_770/dpr_2.0",
                                            "bo_1px_solid_rgb:eee,c_thumb,dpr_2.0,g_face,h_42,r_max,w_42,z_0.8",
                                            "f_auto,q_auto"])
def test_the_examples_of_cloudinarys_articles_work_as_written(photo, settings, transformation):
    settings.MEDIALIB_DELIVERY_ACCESS = "public"
    response = Client().get(f"/medialib/image/upload/{transformation}/v{photo.version}/pets/cute_puppy.jpg",
                            HTTP_ACCEPT="image/avif,image/webp,*/*")
    assert response.status_code == 200, response.get("X-Cld-Error")
    image = Image.open(io.BytesIO(_body(response)))
    if transformation.startswith("c_fill"):
        assert image.width == 1540
    elif transformation.startswith("bo_"):
        assert image.size == (84, 84)
    else:
        assert response["Content-Type"] == "image/avif" and response["Vary"] == "Accept"
        plain = Client().get(f"/medialib/image/upload/{transformation}/v{photo.version}/pets/cute_puppy.jpg",
                             HTTP_ACCEPT="image/png,*/*")
        assert plain["Content-Type"] == "image/jpeg"
        assert plain["ETag"] != response["ETag"]


def test_cloudinary_image_tags_load(photo, key):
    import re

    from cloudinary import CloudinaryImage

    tag = CloudinaryImage(photo.public_id).image(format="jpg", version=photo.version, width=64, crop="scale",
                                                 sign_url=True, api_secret=key.secret)
    src = re.search(r'src="([^"]+)"', tag).group(1)
    response = _get(src)
    assert response.status_code == 200, response.get("X-Cld-Error")
    assert Image.open(io.BytesIO(_body(response))).size == (64, 48)
