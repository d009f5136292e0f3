"""Duplicates on the upload page: a file already in the library the person sees is reported, not stored twice."""
import threading
import time

import pytest
from django.db import connection
from django.urls import reverse
from hypothesis import given, strategies as st

from medialib import services
from medialib.models import Asset
from medialib.views import upload_summary
from tests import images
from tests.conftest import stored_files, upload_file

pytestmark = pytest.mark.django_db


def _post(client, *files, **data):
    return client.post(reverse("medialib:upload"), {"files": list(files), **data}, HTTP_ACCEPT="application/json")


def test_a_file_already_in_the_library_is_reported_with_a_link_and_not_stored(client, user, media_root):
    client.force_login(user)
    first = services.asset_upload(file=upload_file(images.jpeg(), "a.jpg"), uploaded_by=user)
    files_before = stored_files(media_root)
    response = _post(client, upload_file(images.jpeg(), "again.jpg"))
    assert response.status_code == 200
    [result] = response.json()["results"]
    assert result["duplicate"] is True and result["ok"] is False
    assert result["error"] == "again.jpg is already in your library."
    assert result["public_id"] == first.public_id
    assert result["url"] == reverse("medialib:asset_detail", args=[first.public_id])
    assert Asset.objects.count() == 1
    assert stored_files(media_root) == files_before  # nothing stored, nothing left behind


def test_keep_both_stores_it_anyway(client, user):
    client.force_login(user)
    services.asset_upload(file=upload_file(images.jpeg(), "a.jpg"), uploaded_by=user)
    [result] = _post(client, upload_file(images.jpeg(), "again.jpg"), keep_both="on").json()["results"]
    assert result["ok"] is True
    assert Asset.objects.count() == 2


def test_the_same_photo_twice_in_one_batch_is_caught_without_javascript(client, user):
    client.force_login(user)
    other = images.jpeg(color=(10, 200, 10))
    response = client.post(reverse("medialib:upload"), {"files": [
        upload_file(images.jpeg(), "one.jpg"), upload_file(images.jpeg(), "two.jpg"), upload_file(other, "three.jpg"),
        upload_file(b"not a photo", "bad.jpg")]})
    assert response.status_code == 200
    page = response.content.decode()
    assert "2 of 4 uploaded, 1 already in your library, 1 failed" in page
    assert "already in your library</a>" in page
    assert Asset.objects.count() == 2


def test_another_users_private_photo_is_not_reported(client, user, other_user, settings):
    settings.MEDIALIB_VISIBILITY = "private"
    services.asset_upload(file=upload_file(images.jpeg(), "bobs.jpg"), uploaded_by=other_user)
    client.force_login(user)
    [result] = _post(client, upload_file(images.jpeg(), "mine.jpg")).json()["results"]
    assert result["ok"] is True and "duplicate" not in result  # Bob's photo stays unknown to Alice
    assert Asset.objects.count() == 2
    # In a shared library it is the same library: reported.
    settings.MEDIALIB_VISIBILITY = "shared"
    [result] = _post(client, upload_file(images.jpeg(), "third.jpg")).json()["results"]
    assert result["duplicate"] is True


def test_empty_submit_says_so_without_javascript(client, user):
    client.force_login(user)
    response = client.post(reverse("medialib:upload"), {"tags": ""})
    assert response.status_code == 400
    assert "Choose at least one file to upload." in response.content.decode()


def test_the_page_names_the_add_ons_for_people_and_writes_the_limit_as_the_error_does(client, user, settings):
    settings.MEDIALIB_MAX_UPLOAD_BYTES = 50 * 1000 * 1000
    client.force_login(user)
    page = client.get(reverse("medialib:upload")).content.decode()
    assert "Labels" in page and "Faces and people" in page and "Auto-tagging threshold" in page
    assert "aws_rek_tagging</label>" not in page and "> aws_rek_face" not in page
    assert "up to 50 MB each" in page
    settings.MEDIALIB_MAX_UPLOAD_BYTES = 1000
    [result] = _post(client, upload_file(images.jpeg(400, 300), "big.jpg")).json()["results"]
    assert "more than the limit of 1 kB" in result["error"]


def test_the_truncated_file_error_is_in_our_words(client, user):
    client.force_login(user)
    [result] = _post(client, upload_file(images.truncated_jpeg(), "cut.jpg")).json()["results"]
    assert result["error"].startswith("cut.jpg is damaged or incomplete")
    assert "truncated" not in result["error"] and "image file" not in result["error"]


@pytest.mark.django_db(transaction=True)
def test_two_requests_racing_with_the_same_file_store_it_once(user, media_root):
    """The first upload pauses inside its transaction, after its last check and before its row; the second starts
    then. Without the lock the second finds nothing either and both are stored (or the database refuses one)."""
    original = services.duplicate_find
    first_inside = threading.Event()
    calls = {}
    outcomes = []

    def slow_inside_the_first(**kwargs):
        found = original(**kwargs)
        name = threading.current_thread().name
        calls[name] = calls.get(name, 0) + 1
        if name == "first" and calls[name] == 2:  # the check under the lock
            first_inside.set()
            time.sleep(1.5)
        return found

    def upload():
        try:
            services.asset_upload(file=upload_file(images.jpeg(), "same.jpg"), uploaded_by=user,
                                  refuse_duplicate=True)
            outcomes.append(threading.current_thread().name + " stored")
        except services.DuplicateUpload:
            outcomes.append(threading.current_thread().name + " duplicate")
        except Exception as exc:  # noqa: BLE001 - the assertion below names it
            outcomes.append(repr(exc))
        finally:
            connection.close()

    services.duplicate_find = slow_inside_the_first
    try:
        first = threading.Thread(target=upload, name="first")
        second = threading.Thread(target=upload, name="second")
        first.start()
        assert first_inside.wait(20)
        second.start()
        first.join(60)
        second.join(60)
    finally:
        services.duplicate_find = original
    assert sorted(outcomes) == ["first stored", "second duplicate"]
    assert Asset.objects.count() == 1
    assert stored_files(media_root) == [Asset.objects.get().file.name]  # the refused one left no file


def test_upload_summary():
    assert upload_summary([]) == []
    assert upload_summary([{"ok": True}] * 10) == ["10 of 10 uploaded"]
    assert upload_summary([{"ok": True}, {"ok": False, "duplicate": True}, {"ok": False}]) == [
        "1 of 3 uploaded", "1 already in your library", "1 failed"]


@pytest.mark.parametrize("size, text", [
    (0, "0 bytes"), (1, "1 byte"), (999, "999 bytes"), (1000, "1 kB"), (1500, "1.5 kB"),
    (50 * 1000 * 1000, "50 MB"), (52_428_800, "52.4 MB"), (999_999, "1 MB"), (10**12, "1 TB"), (10**16, "10000 TB"),
])
def test_size_format(size, text):
    assert services.size_format(size) == text


@given(st.integers(min_value=0, max_value=10**18))
def test_size_format_is_short_and_roughly_right(size):
    text = services.size_format(size)
    number, unit = text.split(" ")
    scale = {"byte": 1, "bytes": 1, "kB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}[unit]
    assert abs(float(number) * scale - size) <= 0.05 * scale + 0.5
    assert unit in ("byte", "bytes") or 1 <= float(number) < 1000 or unit == "TB"
    assert not number.endswith(".0")
