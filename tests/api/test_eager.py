"""The upload API's `eager` and `eager_async`, through the official SDK against the live server (and a real
worker for eager_async): the renditions are made and kept, and their URLs in the answer deliver them."""
import io
import urllib.error
import urllib.request

import cloudinary.uploader
import pytest
from cloudinary import exceptions
from PIL import Image

from medialib.api.services import api_key_create
from medialib.models import DeliveredRendition
from tests import images
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def key(user):
    return api_key_create(name="eager", user=user)


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "dogs.jpg"
    path.write_bytes(images.photo_bytes("dogs.jpg"))
    return path


@pytest.fixture(autouse=True)
def public(settings):
    settings.MEDIALIB_DELIVERY_ACCESS = "public"


def _fetch(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.headers["Content-Type"], response.read()


def test_eager_renditions_are_made_during_the_upload_and_in_its_answer(cloudinary_sdk, key, photo):
    cloudinary_sdk(key)
    result = cloudinary.uploader.upload(str(photo), public_id="pets/dogs", eager=[
        {"width": 120, "height": 90, "crop": "fill"},
        {"width": 64, "crop": "scale", "format": "png"},
        "e_grayscale,w_50/webp",
    ])
    eager = result["eager"]
    assert [(e["transformation"], e["format"], e["width"], e["height"]) for e in eager] == [
        ("c_fill,h_90,w_120", "jpg", 120, 90),
        ("c_scale,w_64", "png", 64, round(64 * result["height"] / result["width"])),
        ("e_grayscale,w_50", "webp", 50, round(50 * result["height"] / result["width"])),
    ]
    kept = {(r.transformation, r.format): r for r in DeliveredRendition.objects.exclude(file="")}
    assert set(kept) == {(e["transformation"], e["format"]) for e in eager}
    for entry in eager:
        assert entry["url"].startswith("http://") and entry["secure_url"].startswith("https://")
        status, content_type, body = _fetch(entry["url"])
        assert status == 200 and content_type == f"image/{'jpeg' if entry['format'] == 'jpg' else entry['format']}"
        assert len(body) == entry["bytes"] and Image.open(io.BytesIO(body)).size == (entry["width"], entry["height"])
        with kept[(entry["transformation"], entry["format"])].file.open("rb") as stored:
            assert stored.read() == body  # served from the kept rendition, not made again
    assert DeliveredRendition.objects.count() == 3


def test_bad_eager_transformations_are_refused_and_nothing_is_stored(cloudinary_sdk, key, photo, media_root):
    cloudinary_sdk(key)
    for eager, message in [("w_abc", "Invalid eager transformation 'w_abc'"), ("w_10/bmp", "format 'bmp'"),
                           ("t_nope", "Unknown named transformation"), ("|".join(["w_10"] * 21), "At most 20")]:
        with pytest.raises(exceptions.BadRequest, match=message):
            cloudinary.uploader.upload(str(photo), eager=eager)
    with pytest.raises(exceptions.BadRequest, match="eager_async needs eager"):
        cloudinary.uploader.upload(str(photo), eager_async=True)
    assert not DeliveredRendition.objects.exists() and not list(media_root.rglob("*.jpg"))


def test_a_rendition_that_cannot_be_made_says_why_and_the_others_are_made(cloudinary_sdk, key, photo, settings):
    settings.MEDIALIB_MAX_OUTPUT_PIXELS = 100_000
    cloudinary_sdk(key)
    result = cloudinary.uploader.upload(str(photo), eager="w_40|w_2000,h_2000,c_scale")
    assert result["eager"][0]["width"] == 40
    assert result["eager"][1]["status"] == "failed" and "pixels" in result["eager"][1]["reason"]
    assert list(DeliveredRendition.objects.values_list("transformation", flat=True)) == ["w_40"]


def test_explicit_makes_eager_renditions_of_an_existing_image_for_its_owner_only(
        cloudinary_sdk, key, photo, other_user):
    cloudinary_sdk(key)
    cloudinary.uploader.upload(str(photo), public_id="mine")
    result = cloudinary.uploader.explicit("mine", type="upload", eager=[{"width": 30, "crop": "scale"}])
    assert result["eager"][0]["width"] == 30 and "info" not in result
    assert _fetch(result["eager"][0]["url"])[0] == 200

    cloudinary_sdk(api_key_create(name="other", user=other_user))
    with pytest.raises(exceptions.NotAllowed, match="Only the person who uploaded"):
        cloudinary.uploader.explicit("mine", type="upload", eager="w_31")
    assert not DeliveredRendition.objects.filter(transformation="w_31").exists()


@pytest.mark.worker
def test_eager_async_answers_processing_and_the_worker_makes_them(cloudinary_sdk, celery_worker_process, key, photo):
    cloudinary_sdk(key)
    result = cloudinary.uploader.upload(str(photo), eager="c_fill,w_80,h_80|w_33/png", eager_async=True)
    assert [(e["status"], e["transformation"], e["format"]) for e in result["eager"]] == [
        ("processing", "c_fill,h_80,w_80", "jpg"), ("processing", "w_33", "png")]
    assert len({e["batch_id"] for e in result["eager"]}) == 1
    wait_for(lambda: DeliveredRendition.objects.exclude(file="").filter(transformation__in=["c_fill,h_80,w_80", "w_33"])
             .count() == 2, timeout=60,
             message=f"the worker made the eager renditions\n{celery_worker_process.output()}")
    status, _, body = _fetch(result["eager"][1]["url"])
    assert status == 200 and Image.open(io.BytesIO(body)).size[0] == 33
    with DeliveredRendition.objects.get(transformation="w_33").file.open("rb") as stored:
        assert stored.read() == body
