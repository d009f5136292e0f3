"""Signed writes are carried out once: the same signed upload or explicit again answers with the first result."""
import threading
import time
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone

from medialib.api import views as api_views
from medialib.api.models import SignedRequest
from medialib.models import Asset
from tagging.models import AnalysisResult
from tests import images
from tests.api.conftest import api_url, signed
from tests.conftest import stored_files, upload_file


def _fields(api_key, data=None, **params):
    return signed({"file": upload_file(data or images.jpeg(80, 40), "dog.jpg"), **params}, api_key)


def _replay(fields, data):
    # The same form again; a file object is read once, so the same bytes in a new one.
    return {**fields, "file": upload_file(data, "dog.jpg")}


@pytest.mark.django_db
def test_a_replayed_upload_returns_the_first_asset(api_client, api_key, media_root):
    data = images.jpeg(80, 40)
    fields = _fields(api_key, data, tags=["walk"])
    first = api_client.post(api_url("upload"), fields)
    assert first.status_code == 200, first.content
    again = api_client.post(api_url("upload"), _replay(fields, data))
    assert again.status_code == 200
    assert again.json() == first.json()
    assert Asset.objects.count() == 1 and len(stored_files(media_root)) == 1
    assert SignedRequest.objects.get().public_id == first.json()["public_id"]


@pytest.mark.django_db
def test_another_file_under_the_same_signature_is_another_upload(api_client, api_key):
    # The SDK signs the parameters, not the file: a script sending two photos in one second with the same
    # options sends the same signature twice, and means two uploads.
    fields = _fields(api_key)
    first = api_client.post(api_url("upload"), fields)
    second = api_client.post(api_url("upload"), _replay(fields, images.jpeg(80, 40, color=(0, 0, 200))))
    assert first.status_code == second.status_code == 200
    assert first.json()["public_id"] != second.json()["public_id"]
    assert Asset.objects.count() == 2


@pytest.mark.django_db
def test_a_failed_upload_can_be_sent_again(api_client, api_key, user, other_user):
    from medialib import services as media_services

    # Someone else's image: this key may not overwrite it.
    taken = media_services.asset_upload(file=upload_file(images.jpeg(), "x.jpg"), uploaded_by=other_user,
                                        public_id="dog")
    data = images.jpeg(80, 40)
    fields = _fields(api_key, data, public_id="dog")
    assert api_client.post(api_url("upload"), fields).status_code == 403
    assert not SignedRequest.objects.exists()  # the failure let go of its claim
    taken.delete()
    assert api_client.post(api_url("upload"), _replay(fields, data)).status_code == 200


@pytest.mark.django_db
def test_a_replayed_explicit_asks_for_the_analysis_once(api_client, api_key, user, django_capture_on_commit_callbacks):
    from medialib import services as media_services

    media_services.asset_upload(file=upload_file(images.jpeg(), "x.jpg"), uploaded_by=user, public_id="dog")
    fields = signed({"public_id": "dog", "type": "upload", "categorization": "aws_rek_tagging"}, api_key)
    with django_capture_on_commit_callbacks() as first_callbacks:
        first = api_client.post(api_url("explicit"), fields)
    assert first.status_code == 200, first.content
    result = AnalysisResult.objects.get()
    with django_capture_on_commit_callbacks() as replay_callbacks:
        again = api_client.post(api_url("explicit"), fields)
    assert again.status_code == 200 and again.json() == first.json()
    assert len(first_callbacks) == 1 and replay_callbacks == []  # no second analysis queued
    assert AnalysisResult.objects.get().requested_at == result.requested_at


@pytest.mark.django_db
def test_records_older_than_a_signature_can_live_are_deleted(api_client, api_key):
    api_client.post(api_url("upload"), _fields(api_key))
    SignedRequest.objects.update(created_at=timezone.now() - timedelta(hours=3))
    api_client.post(api_url("upload"), _fields(api_key, images.jpeg(80, 40, color=(0, 200, 0))))
    assert SignedRequest.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_identical_requests_at_once_make_one_asset(live_server, api_key, media_root, monkeypatch):
    slow_upload = api_views.asset_upload

    def upload_taking_its_time(**kwargs):
        time.sleep(0.5)  # the second request arrives while the first is still storing its file
        return slow_upload(**kwargs)

    monkeypatch.setattr(api_views, "asset_upload", upload_taking_its_time)
    data = images.jpeg(80, 40)
    body, content_type = _multipart(_fields(api_key, data), data)
    answers = []

    def send():
        request = urllib.request.Request(live_server.url + api_url("upload"), data=body,
                                         headers={"Content-Type": content_type})
        with urllib.request.urlopen(request, timeout=60) as response:
            answers.append((response.status, response.read()))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [status for status, _ in answers] == [200, 200]
    assert answers[0][1] == answers[1][1]
    assert Asset.objects.count() == 1 and len(stored_files(media_root)) == 1


def _multipart(fields, data):
    boundary = "medialib-test-boundary"
    parts = []
    for name, value in fields.items():
        if name == "file":
            continue
        for item in value if isinstance(value, list) else [value]:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{item}\r\n'.encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="dog.jpg"\r\n'
                 "Content-Type: image/jpeg\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
