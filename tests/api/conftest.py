"""Helpers for the API tests: keys, and requests signed the way the official SDK signs them."""
import time

import pytest
from cloudinary.utils import api_sign_request
from django.conf import settings
from django.test import Client

from medialib.api.services import api_key_create


@pytest.fixture
def api_key(user):
    return api_key_create(name="tests", user=user)


def signed(params: dict, key, *, secret=None, algorithm="sha1", timestamp=None) -> dict:
    """The form fields the SDK sends: params, timestamp, signature and api_key (the file is not signed)."""
    fields = {k: v for k, v in params.items() if k != "file"}
    fields["timestamp"] = str(int(time.time()) if timestamp is None else timestamp)
    fields["signature"] = api_sign_request(fields, secret or key.secret, algorithm)
    fields["api_key"] = key.key
    # Lists travel as repeated `k[]` fields, as the SDK sends them; they are signed as `k=a,b`.
    fields = {f"{k}[]" if isinstance(v, list) else k: v for k, v in fields.items()}
    if "file" in params:
        fields["file"] = params["file"]
    return fields


def api_url(action: str, cloud: str | None = None) -> str:
    return f"/v1_1/{cloud or settings.MEDIALIB_CLOUD_NAME}/image/{action}"


@pytest.fixture
def api_client():
    # CSRF is enforced, as in production: the API must not need a token.
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def cloudinary_sdk(live_server, settings):
    """Returns a function that configures the SDK with a key (or any credentials) against the live server."""
    import cloudinary

    def configure(key=None, **overrides):
        cloudinary.reset_config()
        options = {"cloud_name": settings.MEDIALIB_CLOUD_NAME, "upload_prefix": live_server.url}
        if key is not None:
            options.update(api_key=key.key, api_secret=key.secret)
        cloudinary.config(**{**options, **overrides})
        return cloudinary

    yield configure
    cloudinary.reset_config()
