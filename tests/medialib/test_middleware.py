"""medialib.middleware: a database locked past its timeout (SQLite) is a 503 "try again", not a 500."""
import io
import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st
from django.db import OperationalError, connection
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from medialib import services
from medialib.middleware import BUSY_MESSAGE, chunked_body_read, database_busy
from tests import images
from tests.conftest import upload_file


@pytest.fixture
def locked_database(transactional_db):
    """Another connection holds SQLite's write lock; this one waits a fifth of a second for it, not 30 s."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's lock")
    options = connection.settings_dict["OPTIONS"]
    saved = options.get("timeout")
    connection.close()
    options["timeout"] = 0.2

    def lock():
        other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        return other

    yield lock
    connection.close()
    options["timeout"] = saved


def test_a_page_that_cannot_write_for_the_lock_says_busy(locked_database, user):
    asset = services.asset_upload(file=upload_file(images.jpeg(), "x.jpg"), uploaded_by=user)
    client = Client()
    client.force_login(user)
    other = locked_database()
    try:
        response = client.post(reverse("medialib:asset_tags_add", args=[asset.pk]), {"name": "dog"})
        json_response = client.post(reverse("medialib:asset_tags_add", args=[asset.pk]), {"name": "dog"},
                                    HTTP_ACCEPT="application/json")
    finally:
        other.rollback()
        other.close()
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert BUSY_MESSAGE in response.content.decode()
    assert json_response.status_code == 503
    assert json_response.json() == {"error": {"message": BUSY_MESSAGE}}
    assert list(asset.tags.names()) == []


def test_only_a_lock_counts_as_busy():
    assert database_busy(OperationalError("database is locked"))
    assert database_busy(OperationalError("database table is locked"))
    assert not database_busy(OperationalError("no such table: x"))
    assert not database_busy(ValueError("locked"))


@pytest.fixture
def session_save_locked(monkeypatch, settings):
    """Saving a session after the view (SessionMiddleware.process_response) meets SQLite's lock."""
    from importlib import import_module

    store = import_module(settings.SESSION_ENGINE).SessionStore
    real_save = store.save
    calls = []

    def save(self, must_create=False):
        if must_create:  # a new session's key, made inside the view (login's cycle_key): that one gets through
            return real_save(self, must_create=must_create)
        calls.append(self.session_key)
        raise OperationalError("database is locked")

    def lock():
        monkeypatch.setattr(store, "save", save)
        return calls

    return lock


@pytest.mark.django_db
def test_a_session_that_cannot_be_saved_for_the_lock_says_busy(client, user, session_save_locked):
    # Signing in: login() makes the new session's key in the view, the middleware saves the user into it after.
    calls = session_save_locked()
    response = client.post(reverse("login"), {"username": "alice", "password": "alice-password-1"})
    assert calls  # it was the middleware's save that met the lock
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert BUSY_MESSAGE in response.content.decode()
    assert "sessionid" not in response.cookies  # no cookie naming a session that was not saved


@pytest.mark.django_db
def test_a_session_save_locked_on_a_json_request_says_busy_in_json(client, user, settings, session_save_locked):
    settings.SESSION_SAVE_EVERY_REQUEST = True
    client.force_login(user)
    calls = session_save_locked()
    response = client.get(reverse("medialib:gallery"), HTTP_ACCEPT="application/json")
    assert calls
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {"error": {"message": BUSY_MESSAGE}}


@pytest.mark.django_db
def test_a_session_save_failing_otherwise_is_still_an_error(client, user, settings, monkeypatch):
    from importlib import import_module

    def save(self, must_create=False):
        raise OperationalError("disk I/O error")

    settings.SESSION_SAVE_EVERY_REQUEST = True
    client.force_login(user)
    monkeypatch.setattr(import_module(settings.SESSION_ENGINE).SessionStore, "save", save)
    with pytest.raises(OperationalError):
        client.get(reverse("medialib:gallery"))


# --- Chunked request bodies (the official Node SDK streams its uploads so)


def _chunked(parts: list[bytes]) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"


@given(parts=st.lists(st.binary(min_size=1, max_size=300), max_size=8), tail=st.binary(max_size=20))
def test_chunked_bodies_decode_to_their_bytes_and_stop_at_their_end(parts, tail):
    stream = io.BytesIO(_chunked(parts) + tail)
    out = io.BytesIO()
    assert chunked_body_read(stream, out, 10_000) == sum(map(len, parts))
    assert out.getvalue() == b"".join(parts)
    assert stream.read() == tail  # the next request on the connection is left alone


@given(data=st.binary(max_size=200))
def test_any_bytes_are_a_body_or_a_readable_error(data):
    try:
        chunked_body_read(io.BytesIO(data), io.BytesIO(), 100)
    except ValueError as exc:
        assert "chunked" in str(exc) or "larger than" in str(exc)


def test_a_chunked_body_over_the_limit_is_a_413_and_a_malformed_one_a_400(rf, settings):
    from medialib.middleware import ChunkedRequestMiddleware

    settings.MEDIALIB_MAX_UPLOAD_BYTES = 10
    seen = []
    middleware = ChunkedRequestMiddleware(lambda request: seen.append(request.body) or HttpResponse("ok"))

    def post(body):
        request = rf.post("/x", data=b"", content_type="application/octet-stream")
        request.environ.pop("CONTENT_LENGTH", None)
        request.META.pop("CONTENT_LENGTH", None)
        request.environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        request.environ["wsgi.input"] = io.BytesIO(body)
        return middleware(request)

    assert post(_chunked([b"hello ", b"world"])).status_code == 200 and seen == [b"hello world"]
    assert post(_chunked([b"x" * (10 + ChunkedRequestMiddleware.SLACK + 1)])).status_code == 413
    assert post(b"zz\r\nhello\r\n0\r\n\r\n").status_code == 400
    assert post(b"5\r\nhel").status_code == 400
    assert len(seen) == 1  # refused bodies never reach the view
