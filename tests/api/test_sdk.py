"""End to end: the official Cloudinary SDK, unchanged, against the live server and a real worker process.

The worker runs the fake detector here (fast, deterministic); test_sdk_local.py runs the embedded models.
"""
import base64
import time

import cloudinary.api
import cloudinary.uploader
import pytest
from cloudinary import exceptions
from cloudinary.utils import verify_api_response_signature
from django.core.management import call_command

from medialib.api.services import api_key_create
from medialib.models import Asset
from tests import images
from tests.api.sdk import poll_resource, statuses
from tests.conftest import stored_files

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def celery_worker_env():
    return {"TAGGING_BACKEND": "fake"}


@pytest.fixture
def key(user):
    return api_key_create(name="sdk", user=user)


@pytest.fixture
def red_photo(tmp_path):
    path = tmp_path / "red-car.jpg"
    path.write_bytes(images.jpeg(80, 40, color=(200, 10, 10)))
    return path


def test_upload_with_add_ons_then_poll_until_complete(
    cloudinary_sdk, celery_worker_process, key, user, red_photo
):
    cloudinary_sdk(key)
    result = cloudinary.uploader.upload(
        str(red_photo), public_id="trips/red", tags=["trip", "family"], categorization="aws_rek_tagging",
        detection="aws_rek_face", auto_tagging=0.6, timeout=60,
    )
    assert result["public_id"] == "trips/red"
    assert (result["width"], result["height"], result["format"]) == (80, 40, "jpg")
    assert result["original_filename"] == "red-car"
    assert statuses(result) == {"aws_rek_tagging": "pending", "aws_rek_face": "pending"}
    assert verify_api_response_signature(result["public_id"], result["version"], result["signature"])
    assert Asset.objects.get().uploaded_by == user

    resource = poll_resource(
        "trips/red", worker=celery_worker_process,
        until=lambda r: statuses(r) == {"aws_rek_tagging": "complete", "aws_rek_face": "complete"},
    )
    labels = resource["info"]["categorization"]["aws_rek_tagging"]["data"]
    assert labels[0] == {"tag": "Red", "confidence": 0.9}
    faces = resource["info"]["detection"]["aws_rek_face"]["data"]
    assert len(faces["unrecognized_faces"]) == 1
    assert resource["tags"] == ["colour", "family", "red", "trip"]


def test_explicit_on_an_existing_image(cloudinary_sdk, celery_worker_process, key, red_photo):
    cloudinary_sdk(key)
    uploaded = cloudinary.uploader.upload(str(red_photo), public_id="plain", timeout=60)
    assert "info" not in uploaded

    result = cloudinary.uploader.explicit("plain", type="upload", categorization="aws_rek_tagging", auto_tagging=0.8)
    assert statuses(result) == {"aws_rek_tagging": "pending"}
    resource = poll_resource("plain", worker=celery_worker_process,
                             until=lambda r: statuses(r) == {"aws_rek_tagging": "complete"})
    assert resource["tags"] == ["red"]

    with pytest.raises(exceptions.NotFound, match="Resource not found - nope"):
        cloudinary.uploader.explicit("nope", type="upload", categorization="aws_rek_tagging")


def test_data_uris_and_file_objects_upload_too(cloudinary_sdk, live_server, key, red_photo):
    cloudinary_sdk(key)
    uri = "data:image/png;base64," + base64.b64encode(images.png()).decode()
    assert cloudinary.uploader.upload(uri)["original_filename"] == "file"
    with red_photo.open("rb") as handle:
        assert cloudinary.uploader.upload(handle)["original_filename"] == "red-car"
    assert Asset.objects.count() == 2


def test_upload_large_works_in_one_part_and_is_refused_in_several(cloudinary_sdk, live_server, key, red_photo):
    cloudinary_sdk(key)
    upload = cloudinary.uploader.upload_large
    assert upload(str(red_photo), public_id="one-part", resource_type="image")["public_id"] == "one-part"
    with pytest.raises(exceptions.BadRequest, match="Uploads in parts"):
        upload(str(red_photo), public_id="parts", resource_type="image", chunk_size=200)
    with pytest.raises(exceptions.NotFound, match="resource_type 'raw' is not supported"):
        upload(str(red_photo), public_id="raw")  # upload_large's default resource_type
    assert list(Asset.objects.values_list("public_id", flat=True)) == ["one-part"]


def test_refusals_raise_the_sdks_exceptions(cloudinary_sdk, live_server, key, user, other_user, red_photo, media_root,
                                           monkeypatch, settings):
    cloudinary_sdk(key, api_secret="not-the-secret")
    with pytest.raises(exceptions.AuthorizationRequired, match="Invalid Signature"):
        cloudinary.uploader.upload(str(red_photo))
    with pytest.raises(exceptions.AuthorizationRequired, match="Invalid API secret"):
        cloudinary.api.resource("anything")

    cloudinary_sdk(key, api_key="123456789012345")  # an unknown key reads as a wrong signature: keys are not told
    with pytest.raises(exceptions.AuthorizationRequired, match="Invalid Signature"):
        cloudinary.uploader.upload(str(red_photo))
    with pytest.raises(exceptions.AuthorizationRequired, match="Invalid API secret for API key 123456789012345"):
        cloudinary.api.resource("anything")

    cloudinary_sdk(None)  # no credentials at all: an unsigned upload
    with pytest.raises(exceptions.AuthorizationRequired, match="Must supply api_key"):
        cloudinary.uploader.unsigned_upload(str(red_photo), "some_preset")

    cloudinary_sdk(key)
    with monkeypatch.context() as patched:
        patched.setattr(cloudinary.utils, "now", lambda: str(int(time.time()) - 2 * 3600))
        with pytest.raises(exceptions.BadRequest, match="Stale request"):
            cloudinary.uploader.upload(str(red_photo))
    with pytest.raises(exceptions.BadRequest, match="unknown add-on 'google_tagging'"):
        cloudinary.uploader.upload(str(red_photo), categorization="google_tagging")
    with pytest.raises(exceptions.BadRequest, match="is not an image"):
        cloudinary.uploader.upload(b"just some text, not a picture")
    with pytest.raises(exceptions.BadRequest, match="Uploading from a URL is not supported"):
        cloudinary.uploader.upload("http://169.254.169.254/latest/meta-data/")
    with pytest.raises(exceptions.NotFound, match="Resource not found"):
        cloudinary.api.resource("nope")
    with pytest.raises(exceptions.NotFound, match="Unknown cloud name"):
        cloudinary.uploader.upload(str(red_photo), cloud_name="elsewhere")
    assert not Asset.objects.exists() and stored_files(media_root) == []

    # Someone else's public_id, which this key's user may not see (private): taken, whatever overwrite says.
    with monkeypatch.context() as patched:
        patched.setattr(settings, "MEDIALIB_VISIBILITY", "private")
        Asset.objects.create(public_id="taken", file="x.jpg", format="jpg", width=1, height=1, bytes=1, sha256="0",
                             version=1, uploaded_by=other_user)
        with pytest.raises(exceptions.AlreadyExists, match="already taken"):
            cloudinary.uploader.upload(str(red_photo), public_id="taken", tags=["again"])

    key.is_active = False
    key.save()
    with pytest.raises(exceptions.AuthorizationRequired, match="revoked"):
        cloudinary.uploader.upload(str(red_photo))
    assert Asset.objects.count() == 1


def test_the_key_from_create_api_key_works_from_cloudinary_url(live_server, user, red_photo, monkeypatch, capsys):
    import cloudinary

    host, port = live_server.url.removeprefix("http://").split(":")
    call_command("create_api_key", "from the environment", "--user", "alice", "--host", host, "--port", port)
    line = capsys.readouterr().out.strip()
    assert line.startswith("CLOUDINARY_URL=cloudinary://")

    monkeypatch.delenv("CLOUDINARY_CLOUD_NAME", raising=False)
    monkeypatch.setenv("CLOUDINARY_URL", line.split("=", 1)[1])
    cloudinary.reset_config()  # the SDK reads CLOUDINARY_URL when its configuration is made
    try:
        result = cloudinary.uploader.upload(str(red_photo), public_id="from-env")
        assert cloudinary.api.resource("from-env")["version"] == result["version"]
    finally:
        monkeypatch.delenv("CLOUDINARY_URL")
        cloudinary.reset_config()
    assert Asset.objects.get().uploaded_by == user


def test_rate_limits_raise_the_sdks_rate_limited(cloudinary_sdk, key, red_photo, settings):
    settings.MEDIALIB_API_KEY_RATE_LIMIT = 2
    cloudinary_sdk(key)
    cloudinary.uploader.upload(str(red_photo), public_id="limited")
    resource = cloudinary.api.resource("limited")
    # The SDK reads the X-FeatureRateLimit-* headers into the response, as from Cloudinary's Admin API.
    assert (resource.rate_limit_allowed, resource.rate_limit_remaining) == (2, 0)
    assert resource.rate_limit_reset_at is not None
    with pytest.raises(exceptions.RateLimited, match="Rate Limit Exceeded"):
        cloudinary.api.resource("limited")
    with pytest.raises(exceptions.RateLimited, match="Rate Limit Exceeded"):
        cloudinary.uploader.upload(str(red_photo))

    settings.MEDIALIB_API_AUTH_FAILURE_LIMIT = 3
    cloudinary_sdk(key, api_secret="guessed")
    for _ in range(3):
        with pytest.raises(exceptions.AuthorizationRequired):
            cloudinary.uploader.upload(str(red_photo))
    with pytest.raises(exceptions.RateLimited, match="wrong credentials"):
        cloudinary.uploader.upload(str(red_photo))
    with pytest.raises(exceptions.RateLimited, match="wrong credentials"):
        cloudinary.api.resource("limited")


def test_a_retried_upload_is_one_asset(cloudinary_sdk, key, red_photo, monkeypatch):
    # The SDK signing two sends of the same upload alike (same second, as a retry after a timeout would be).
    timestamp = str(int(time.time()))
    monkeypatch.setattr(cloudinary.utils, "now", lambda: timestamp)
    cloudinary_sdk(key)
    first = cloudinary.uploader.upload(str(red_photo), tags=["walk"])
    again = cloudinary.uploader.upload(str(red_photo), tags=["walk"])
    assert again["public_id"] == first["public_id"] and Asset.objects.count() == 1


def test_the_articles_calls_answer_complete_with_the_tags_in_the_response_itself(
        cloudinary_sdk, celery_worker_process, key, red_photo, settings):
    """Cloudinary's auto-tagging article reads the labels and tags from the upload's own answer."""
    settings.MEDIALIB_API_RESULT_WAIT_SECONDS = 30
    cloudinary_sdk(key)
    labels = cloudinary.uploader.upload(str(red_photo), categorization="aws_rek_tagging", auto_tagging=0.7)
    assert statuses(labels) == {"aws_rek_tagging": "complete"}
    assert labels["info"]["categorization"]["aws_rek_tagging"]["data"][0] == {"tag": "Red", "confidence": 0.9}
    assert labels["tags"] == ["colour", "red"]
    faces = cloudinary.uploader.upload(str(red_photo), detection="aws_rek_face", auto_tagging=0.7)
    assert statuses(faces) == {"aws_rek_face": "complete"}
    assert len(faces["info"]["detection"]["aws_rek_face"]["data"]["unrecognized_faces"]) == 1
    both = cloudinary.uploader.explicit(labels["public_id"], type="upload", categorization="aws_rek_tagging",
                                        detection="aws_rek_face", auto_tagging=0.7)
    assert statuses(both) == {"aws_rek_tagging": "complete", "aws_rek_face": "complete"}
    updated = cloudinary.api.update(faces["public_id"], categorization="aws_rek_tagging", auto_tagging=0.7)
    assert statuses(updated)["aws_rek_tagging"] == "complete" and "red" in updated["tags"]

    started = time.monotonic()
    at_once = cloudinary.uploader.upload(str(red_photo), categorization="aws_rek_tagging", **{"async": True})
    assert statuses(at_once) == {"aws_rek_tagging": "pending"} and time.monotonic() - started < 5
