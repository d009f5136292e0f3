"""The API's endpoints through Django's test client: the resource shape, every refusal with its status and message,
who may do what, and nothing stored when a request is refused."""
import base64
import hashlib
import re
import time

import pytest
from cloudinary.utils import api_sign_request
from django.conf import settings
from django.utils import timezone

from medialib import services as media_services
from medialib.api.models import ApiKey
from medialib.api.services import api_key_create
from medialib.models import Asset
from tagging.models import AnalysisResult
from tests import images
from tests.api.conftest import api_url, signed
from tests.conftest import stored_files, upload_file

pytestmark = pytest.mark.django_db


def _error(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()["error"]["message"]


def _nothing_stored(media_root):
    assert Asset.objects.count() == 0
    assert AnalysisResult.objects.count() == 0
    assert stored_files(media_root) == []


def _upload(api_client, key, **params):
    params.setdefault("file", upload_file(images.jpeg(80, 40), "holiday.photo.jpg"))
    return api_client.post(api_url("upload"), signed(params, key))


# --- upload


def test_upload_answers_a_cloudinary_resource(api_client, api_key, user):
    data = images.jpeg(80, 40)
    response = _upload(
        api_client, api_key, file=upload_file(data, "holiday.photo.jpg"), public_id="trips/2024/beach",
        tags="Beach, family", categorization="aws_rek_tagging", detection="aws_rek_face", auto_tagging="0.6",
    )
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "private, no-store"
    body = response.json()
    asset = Asset.objects.get()
    assert asset.uploaded_by == user
    assert sorted(asset.tags.names()) == ["Beach", "family"]
    version = asset.version
    delivery = f"testserver/{settings.MEDIALIB_CLOUD_NAME}/image/upload/v{version}/trips/2024/beach.jpg"
    assert body == {
        "asset_id": asset.asset_id,
        "public_id": "trips/2024/beach",
        "version": version,
        "version_id": body["version_id"],
        "signature": api_sign_request({"public_id": "trips/2024/beach", "version": version}, api_key.secret),
        "width": 80,
        "height": 40,
        "format": "jpg",
        "resource_type": "image",
        "created_at": body["created_at"],
        "tags": ["Beach", "family"],
        "bytes": len(data),
        "type": "upload",
        "etag": hashlib.sha256(data).hexdigest()[:32],
        "placeholder": False,
        "url": f"http://{delivery}",
        "secure_url": f"https://{delivery}",
        "original_filename": "holiday.photo",
        "asset_folder": "",
        "info": {
            "categorization": {"aws_rek_tagging": {"status": "pending"}},
            "detection": {"aws_rek_face": {"status": "pending"}},
        },
    }
    assert re.fullmatch(r"[0-9a-f]{32}", body["version_id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["created_at"])
    assert {r.addon: r.auto_tagging for r in AnalysisResult.objects.all()} == {
        "aws_rek_tagging": 0.6, "aws_rek_face": 0.6
    }


def test_upload_without_add_ons_has_no_info_and_a_generated_public_id(api_client, api_key):
    body = _upload(api_client, api_key).json()
    assert "info" not in body
    assert re.fullmatch(r"[a-z0-9]{20}", body["public_id"])


def test_list_parameters_are_read_and_signed_like_the_sdk_sends_them(api_client, api_key):
    response = _upload(api_client, api_key, tags=["one", "two"])
    assert response.status_code == 200, response.content
    assert response.json()["tags"] == ["one", "two"]


def test_sha256_signatures_are_accepted(api_client, api_key):
    params = {"file": upload_file(images.png()), "public_id": "green"}
    response = api_client.post(api_url("upload"), signed(params, api_key, algorithm="sha256"))
    assert response.status_code == 200, response.content
    assert response.json()["format"] == "png"


def test_upload_of_a_data_uri(api_client, api_key):
    uri = "data:image/png;base64," + base64.b64encode(images.png()).decode()
    body = _upload(api_client, api_key, file=uri).json()
    assert (body["format"], body["original_filename"]) == ("png", "file")


def test_filename_override_names_the_original(api_client, api_key):
    body = _upload(api_client, api_key, filename_override="named.jpg").json()
    assert body["original_filename"] == "named"


def test_the_upload_is_queued_only_after_it_commits(api_client, api_key, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = _upload(api_client, api_key, categorization="aws_rek_tagging")
    assert response.status_code == 200
    assert len(callbacks) == 2  # renditions and analysis, each queued once


@pytest.mark.parametrize(
    ("file", "message"),
    [
        ("https://169.254.169.254/latest/meta-data/", "Uploading from a URL is not supported"),
        ("HTTP://example.com/dog.jpg", "Uploading from a URL is not supported"),
        ("s3://bucket/dog.jpg", "Uploading from a URL is not supported"),
        ("/etc/passwd", "file must be an uploaded file or a base64 data: URI"),
        ("data:image/png;base64,@@@not-base64@@@", "base64 data is not valid"),
        ("data:text/plain,hello", "file must be an uploaded file or a base64 data: URI"),
    ],
)
def test_remote_urls_paths_and_broken_data_uris_are_refused(api_client, api_key, media_root, file, message):
    assert message in _error(_upload(api_client, api_key, file=file), 400)
    _nothing_stored(media_root)


def test_a_data_uri_larger_than_djangos_field_limit_is_refused_with_advice(api_client, api_key, media_root, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_000
    uri = "data:image/png;base64," + base64.b64encode(images.png()).decode() + "A" * 2_000
    assert "Send the file as a multipart file part" in _error(_upload(api_client, api_key, file=uri), 400)
    _nothing_stored(media_root)


def test_a_missing_file_is_refused(api_client, api_key, media_root):
    response = api_client.post(api_url("upload"), signed({"public_id": "x"}, api_key))
    assert _error(response, 400) == "Missing required parameter - file"
    _nothing_stored(media_root)


def test_a_file_that_is_not_an_image_is_refused(api_client, api_key, media_root):
    response = _upload(api_client, api_key, file=upload_file(b"%PDF-1.4 not an image", "notes.pdf"))
    assert "notes.pdf is not an image" in _error(response, 400)
    _nothing_stored(media_root)


def test_an_unknown_add_on_is_refused(api_client, api_key, media_root):
    response = _upload(api_client, api_key, categorization="google_tagging")
    assert "unknown add-on 'google_tagging'" in _error(response, 400)
    _nothing_stored(media_root)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"categorization": "aws_rek_tagging", "auto_tagging": "2"}, "auto_tagging must be between 0 and 1"),
        ({"auto_tagging": "0.5"}, "auto_tagging needs an add-on"),
        ({"public_id": "../etc/passwd"}, "is not valid"),
        ({"transformation": "w_100"}, "does not support the parameter(s): transformation"),
        ({"display_name": "Trips"}, "does not support the parameter(s): display_name (there are no display names"),
        ({"exif": "true"}, "exif (EXIF data is not returned)"),
        ({"no_such_parameter": "1"}, "no_such_parameter (this server does not know it)"),
        ({"type": "private"}, "type 'private' is not supported"),
    ],
)
def test_parameters_this_server_cannot_honour_are_refused(api_client, api_key, media_root, params, message):
    assert message in _error(_upload(api_client, api_key, **params), 400)
    _nothing_stored(media_root)


def test_a_public_id_taken_by_someone_else_is_a_conflict_or_forbidden(api_client, api_key, other_user, settings):
    theirs = media_services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=other_user, public_id="dog")
    # They can see it (shared): not theirs to overwrite.
    assert "can overwrite it" in _error(_upload(api_client, api_key, public_id="dog"), 403)
    # They cannot (private): it is just taken, as by nobody they know.
    settings.MEDIALIB_VISIBILITY = "private"
    assert _error(_upload(api_client, api_key, public_id="dog"), 409) == "public_id 'dog' is already taken."
    assert list(Asset.objects.values_list("pk", "version", "sha256")) == [(theirs.pk, theirs.version, theirs.sha256)]


def test_a_parameter_sent_twice_is_refused(api_client, api_key, media_root):
    fields = signed({"file": upload_file(images.jpeg()), "public_id": "a"}, api_key)
    fields["public_id"] = ["a", "b"]
    assert "given more than once" in _error(api_client.post(api_url("upload"), fields), 400)
    _nothing_stored(media_root)


# --- who is asking


def test_a_missing_api_key_is_refused(api_client, api_key, media_root):
    fields = signed({"file": upload_file(images.jpeg())}, api_key)
    del fields["api_key"]
    assert _error(api_client.post(api_url("upload"), fields), 401) == "Must supply api_key"
    _nothing_stored(media_root)


def test_an_unknown_api_key_gets_the_answer_of_a_wrong_signature(api_client, api_key, media_root):
    # Which keys exist is not told: an unknown key and a known key with a wrong signature read alike.
    fields = signed({"file": upload_file(images.jpeg()), "public_id": "dog"}, api_key, timestamp=1700000000)
    fields["api_key"] = "123456789012345"
    unknown = api_client.post(api_url("upload"), fields)
    wrong = api_client.post(api_url("upload"), {**fields, "api_key": api_key.key, "signature": fields["signature"][::-1]})
    assert unknown.status_code == wrong.status_code == 401
    assert _error(unknown, 401).startswith("Invalid Signature ")
    assert _error(unknown, 401).replace(fields["signature"], "S") == _error(wrong, 401).replace(fields["signature"][::-1], "S")
    _nothing_stored(media_root)


def test_a_revoked_key_with_a_wrong_signature_is_just_a_wrong_signature(api_client, api_key, media_root):
    api_key.is_active = False
    api_key.save()
    fields = signed({"file": upload_file(images.jpeg())}, api_key, secret="not-the-secret")
    message = _error(api_client.post(api_url("upload"), fields), 401)
    assert message.startswith("Invalid Signature ") and "revoked" not in message


def test_a_bad_signature_is_refused(api_client, api_key, media_root):
    fields = signed({"file": upload_file(images.jpeg()), "public_id": "dog"}, api_key, secret="not-the-secret")
    message = _error(api_client.post(api_url("upload"), fields), 401)
    assert message.startswith("Invalid Signature ")
    assert "String to sign - 'public_id=dog&timestamp=" in message
    assert api_key.secret not in message
    _nothing_stored(media_root)


def test_a_parameter_changed_after_signing_is_refused(api_client, api_key, media_root):
    fields = signed({"file": upload_file(images.jpeg()), "public_id": "dog"}, api_key)
    fields["categorization"] = "aws_rek_tagging"
    assert _error(api_client.post(api_url("upload"), fields), 401).startswith("Invalid Signature")
    _nothing_stored(media_root)


def test_a_missing_signature_is_refused(api_client, api_key, media_root):
    fields = signed({"file": upload_file(images.jpeg())}, api_key)
    del fields["signature"]
    assert _error(api_client.post(api_url("upload"), fields), 401) == "Missing required parameter - signature"
    _nothing_stored(media_root)


def test_an_expired_timestamp_is_a_stale_request(api_client, api_key, media_root):
    fields = signed({"file": upload_file(images.jpeg())}, api_key, timestamp=int(time.time()) - 3700)
    message = _error(api_client.post(api_url("upload"), fields), 400)
    assert re.fullmatch(r"Stale request - reported time is .* \+0000 which is more than 1 hour ago", message)
    _nothing_stored(media_root)


def test_a_revoked_key_is_refused(api_client, api_key, media_root):
    api_key.is_active = False
    api_key.save()
    assert "has been revoked" in _error(_upload(api_client, api_key), 401)
    _nothing_stored(media_root)


def test_a_key_of_a_deactivated_user_is_refused(api_client, api_key, user, media_root):
    user.is_active = False
    user.save()
    assert "deactivated" in _error(_upload(api_client, api_key), 401)
    _nothing_stored(media_root)


def test_another_cloud_name_is_not_found(api_client, api_key, media_root):
    fields = signed({"file": upload_file(images.jpeg())}, api_key)
    assert "Unknown cloud name" in _error(api_client.post(api_url("upload", cloud="someone-else"), fields), 404)
    _nothing_stored(media_root)


def test_other_methods_and_paths_answer_json(api_client):
    assert "use POST" in _error(api_client.get(api_url("upload")), 405)
    assert "Not found" in _error(api_client.post(api_url("destroy", cloud="x") + "/more"), 404)
    assert "'video' is not supported" in _error(
        api_client.post(f"/v1_1/{settings.MEDIALIB_CLOUD_NAME}/video/upload"), 404
    )


def test_use_is_recorded_at_most_once_a_minute(api_client, api_key):
    assert api_key.last_used_at is None
    _upload(api_client, api_key)
    first = ApiKey.objects.get().last_used_at
    assert first is not None
    _upload(api_client, api_key)
    assert ApiKey.objects.get().last_used_at == first


# --- explicit


def _explicit(api_client, key, **params):
    return api_client.post(api_url("explicit"), signed(params, key))


@pytest.fixture
def asset(user):
    return media_services.asset_upload(file=upload_file(images.jpeg(80, 40), "red.jpg"), uploaded_by=user,
                                       public_id="trips/red", tags=["trip"])


def test_explicit_asks_for_the_analysis_again(api_client, api_key, asset, django_capture_on_commit_callbacks):
    AnalysisResult.objects.create(asset=asset, addon="aws_rek_tagging", status="complete", data=[],
                                  requested_at=timezone.now())
    with django_capture_on_commit_callbacks() as callbacks:
        response = _explicit(api_client, api_key, public_id="trips/red", type="upload",
                             categorization="aws_rek_tagging", auto_tagging="0.7")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["public_id"], body["tags"], body["original_filename"]) == ("trips/red", ["trip"], "red")
    assert body["info"] == {"categorization": {"aws_rek_tagging": {"status": "pending"}}}
    result = AnalysisResult.objects.get(asset=asset)
    assert (result.status, result.auto_tagging) == ("pending", 0.7)
    assert len(callbacks) == 1


def test_explicit_of_an_unknown_public_id_is_not_found(api_client, api_key):
    response = _explicit(api_client, api_key, public_id="nope", categorization="aws_rek_tagging")
    assert _error(response, 404) == "Resource not found - nope"


def test_explicit_needs_a_public_id(api_client, api_key):
    assert _error(_explicit(api_client, api_key, categorization="aws_rek_tagging"), 400) == (
        "Missing required parameter - public_id"
    )


def test_explicit_on_someone_elses_image_is_not_allowed(api_client, asset, other_user, staff_user):
    response = _explicit(api_client, api_key_create(name="bob", user=other_user), public_id="trips/red",
                         categorization="aws_rek_tagging")
    assert "Only the person who uploaded this image, or staff" in _error(response, 403)
    assert not AnalysisResult.objects.exists()

    response = _explicit(api_client, api_key_create(name="staff", user=staff_user), public_id="trips/red",
                         categorization="aws_rek_tagging")
    assert response.status_code == 200, response.content


def test_explicit_refuses_what_it_cannot_do_and_unknown_add_ons(api_client, api_key, asset):
    assert "overwrite (it is not available on this call)" in _error(
        _explicit(api_client, api_key, public_id="trips/red", overwrite="1", categorization="aws_rek_tagging"), 400
    )
    assert "unknown add-on" in _error(_explicit(api_client, api_key, public_id="trips/red", detection="nope"), 400)
    assert not AnalysisResult.objects.exists()


def test_explicit_without_an_add_on_is_refused(api_client, api_key, asset):
    assert "at least one add-on" in _error(_explicit(api_client, api_key, public_id="trips/red"), 400)


def test_explicit_is_signed_too(api_client, api_key, asset):
    fields = signed({"public_id": "trips/red", "categorization": "aws_rek_tagging"}, api_key, secret="wrong")
    assert _error(api_client.post(api_url("explicit"), fields), 401).startswith("Invalid Signature")
    assert not AnalysisResult.objects.exists()


# --- Admin API: one resource


def _basic(key, secret=None):
    credentials = base64.b64encode(f"{key.key}:{secret or key.secret}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {credentials}"}


def _resource_url(public_id, cloud=None):
    return f"/v1_1/{cloud or settings.MEDIALIB_CLOUD_NAME}/resources/image/upload/{public_id}"


def test_resource_shows_each_add_ons_data_once_complete(api_client, api_key, asset):
    data = [{"tag": "Red", "confidence": 0.9}]
    AnalysisResult.objects.create(asset=asset, addon="aws_rek_tagging", status="complete", data=data,
                                  requested_at=timezone.now())
    AnalysisResult.objects.create(asset=asset, addon="aws_rek_face", status="failed", error="No detector.",
                                  requested_at=timezone.now())
    response = api_client.get(_resource_url("trips/red"), **_basic(api_key))
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["public_id"], body["width"], body["height"], body["tags"]) == ("trips/red", 80, 40, ["trip"])
    assert body["info"] == {
        "categorization": {"aws_rek_tagging": {"status": "complete", "data": data}},
        "detection": {"aws_rek_face": {"status": "failed", "error": {"message": "No detector."}}},
    }


def test_any_active_key_may_read_a_resource(api_client, asset, other_user):
    response = api_client.get(_resource_url("trips/red"), **_basic(api_key_create(name="bob", user=other_user)))
    assert response.status_code == 200


def test_resource_refusals(api_client, api_key, asset):
    assert _error(api_client.get(_resource_url("trips/red")), 401) == "Must supply api_key"
    response = api_client.get(_resource_url("trips/red"), **_basic(api_key, secret="wrong"))
    assert "Invalid API secret" in _error(response, 401)
    assert response["WWW-Authenticate"] == 'Basic realm="medialib"'
    response = api_client.get(_resource_url("trips/red"), HTTP_AUTHORIZATION="Basic %%%")
    assert "not valid HTTP Basic" in _error(response, 401)
    assert _error(api_client.get(_resource_url("trips/nope"), **_basic(api_key)), 404) == (
        "Resource not found - trips/nope"
    )
    assert "Unknown cloud name" in _error(api_client.get(_resource_url("trips/red", cloud="x"), **_basic(api_key)), 404)
    api_key.is_active = False
    api_key.save()
    assert "revoked" in _error(api_client.get(_resource_url("trips/red"), **_basic(api_key)), 401)


def test_an_unexpected_failure_is_a_json_500(api_client, api_key, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("medialib.api.views.asset_upload", broken)
    assert _error(_upload(api_client, api_key), 500) == "Internal server error."


def test_basic_auth_answers_an_unknown_key_as_a_wrong_secret(api_client, api_key, asset):
    import base64

    def basic(key_value, secret):
        return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{key_value}:{secret}".encode()).decode()}

    unknown = api_client.get(_resource_url("trips/red"), **basic("123456789012345", api_key.secret))
    wrong = api_client.get(_resource_url("trips/red"), **basic(api_key.key, "wrong"))
    assert unknown.status_code == wrong.status_code == 401
    assert _error(unknown, 401) == "Invalid API secret for API key 123456789012345."
    assert _error(wrong, 401) == f"Invalid API secret for API key {api_key.key}."
    api_key.is_active = False
    api_key.save()
    # Revocation is said only to whoever holds the secret.
    assert _error(api_client.get(_resource_url("trips/red"), **basic(api_key.key, "wrong")), 401) == (
        f"Invalid API secret for API key {api_key.key}."
    )


def test_in_private_mode_a_key_reads_and_analyses_only_its_users_images(api_client, asset, other_user, staff_user,
                                                                         settings):
    settings.MEDIALIB_VISIBILITY = "private"
    bob = api_key_create(name="bob", user=other_user)
    assert _error(api_client.get(_resource_url("trips/red"), **_basic(bob)), 404) == "Resource not found - trips/red"
    response = _explicit(api_client, bob, public_id="trips/red", categorization="aws_rek_tagging")
    assert _error(response, 404) == "Resource not found - trips/red"
    assert not AnalysisResult.objects.exists()
    assert api_client.get(_resource_url("trips/red"), **_basic(api_key_create(name="s", user=staff_user))).status_code \
        == 200


# --- Input that used to give a 500 (NUL characters: PostgreSQL cannot store or compare text holding them)


def test_a_nul_in_the_api_key_is_refused_without_credentials(api_client):
    response = api_client.post(api_url("upload"), {"api_key": "12\x0034", "timestamp": "1", "signature": "x"})
    assert "NUL character" in _error(response, 400)
    response = api_client.post(api_url("explicit"), {"api_key": "12\x0034"})
    assert "NUL character" in _error(response, 400)


def test_a_nul_in_the_basic_key_is_an_unknown_key(api_client):
    credentials = base64.b64encode(b"12\x0034:secret").decode()
    response = api_client.get(_resource_url("trips/red"), HTTP_AUTHORIZATION=f"Basic {credentials}")
    # As any unknown key: answered as a wrong secret, so that the API never tells which keys exist.
    assert _error(response, 401) == "Invalid API secret for API key 12\x0034."


@pytest.mark.parametrize("name, value", [("tags", "beach,a\x00b"), ("filename_override", "a\x00b.jpg"),
                                         ("public_id", "a\x00b")])
def test_a_nul_in_an_upload_parameter_is_refused(api_client, api_key, media_root, name, value):
    response = _upload(api_client, api_key, **{name: value})
    assert f"Parameter '{name}' contains a NUL character" in _error(response, 400)
    _nothing_stored(media_root)


def test_a_nul_in_a_resource_path_is_not_found(api_client, api_key):
    assert "Resource not found - ab" in _error(api_client.get(_resource_url("a%00b"), **_basic(api_key)), 404)


def test_too_many_files_in_one_request_get_the_apps_message(api_client, api_key, settings, media_root):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    fields = signed({}, api_key)
    fields["file"] = [upload_file(images.jpeg(), f"{i}.jpg") for i in range(3)]
    assert "more than 2 files; upload one file per request" in _error(api_client.post(api_url("upload"), fields), 400)
    _nothing_stored(media_root)


def test_a_database_locked_past_its_timeout_is_a_503_to_try_again(api_client, api_key, monkeypatch):
    from django.db import OperationalError

    from medialib.api import views
    from medialib.middleware import BUSY_MESSAGE

    asset = media_services.asset_upload(file=upload_file(images.jpeg(), "x.jpg"), uploaded_by=api_key.user)

    def locked(**kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(views, "analysis_rerun", locked)
    response = api_client.post(api_url("explicit"), signed({"public_id": asset.public_id,
                                                            "categorization": "aws_rek_tagging"}, api_key))
    assert _error(response, 503) == BUSY_MESSAGE
    assert response["Retry-After"] == "5"


# --- Fuzzing the endpoints: with or without credentials, no parameters give a 500

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.api.test_params import fields as fuzz_fields  # noqa: E402
from tests.fuzz import FUZZ, text  # noqa: E402


@FUZZ
@given(fields=fuzz_fields)
def test_unsigned_requests_never_fail(api_client, fields):
    for action in ("upload", "explicit"):
        response = api_client.post(api_url(action), fields)
        assert response.status_code < 500, response.content


@FUZZ
@given(fields=fuzz_fields)
def test_signed_requests_never_fail(api_client, api_key, fields):
    fields = {k: v for k, v in fields.items() if k not in ("api_key", "timestamp", "signature") and "[]" not in k}
    if isinstance(fields.get("file"), list):
        fields.pop("file")
    for action in ("upload", "explicit"):
        response = api_client.post(api_url(action), signed(fields, api_key))
        assert response.status_code < 500, response.content


@FUZZ
@given(authorization=st.one_of(text, text.map(lambda t: "Basic " + base64.b64encode(t.encode()).decode())),
       public_id=text)
def test_resource_requests_never_fail(api_client, authorization, public_id):
    from urllib.parse import quote

    response = api_client.get(_resource_url(quote(public_id, safe="/") or "x"), HTTP_AUTHORIZATION=authorization)
    assert response.status_code < 500, response.content
