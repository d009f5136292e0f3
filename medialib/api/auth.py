"""Who is calling: a signed Upload API request, or Admin API HTTP Basic with the key and secret."""
from __future__ import annotations

import base64
import binascii
import hmac
from datetime import timedelta

from django.utils import timezone

from .models import ApiKey
from .params import form_params
from .responses import ApiError
from .signatures import SignatureInvalid, TimestampInvalid, signature_verify

# last_used_at is for people ("is this key still in use?"): a minute is precise enough, and it saves a write
# on every poll of a client waiting for an analysis.
LAST_USED_PRECISION = timedelta(minutes=1)


def _key_active(key_value: str, *, headers: dict | None = None) -> ApiKey:
    if not key_value:
        raise ApiError("Must supply api_key", 401, headers)
    if "\x00" in key_value:  # no key holds one, and PostgreSQL refuses to compare text holding NUL
        raise ApiError("Unknown API key: it contains a NUL character (\\x00).", 401, headers)
    key = ApiKey.objects.select_related("user").filter(key=key_value).first()
    if key is None:
        raise ApiError(f"Unknown API key {key_value[:40]}", 401, headers)
    if not key.is_active:
        raise ApiError(f"API key {key.key} has been revoked.", 401, headers)
    if not key.user.is_active:
        raise ApiError(f"API key {key.key} belongs to a deactivated account.", 401, headers)
    return key


def _key_used(key: ApiKey) -> ApiKey:
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_PRECISION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def signed_request_authenticate(request) -> tuple[ApiKey, dict]:
    """The key of a correctly signed, fresh Upload API request, and the request's parameters.

    401 for a missing, unknown or revoked key and for a bad signature; 400 "Stale request" for an old timestamp.
    """
    params = form_params(request)
    api_key = params.get("api_key")
    key = _key_active(api_key if isinstance(api_key, str) else "")
    try:
        signature_verify(params, key.secret)
    except SignatureInvalid as exc:
        raise ApiError(str(exc), 401) from None
    except TimestampInvalid as exc:
        raise ApiError(str(exc), 400) from None
    return _key_used(key), params


def basic_authenticate(request) -> ApiKey:
    """The key of an Admin API request, given as HTTP Basic `key:secret` as the SDKs send it."""
    challenge = {"WWW-Authenticate": 'Basic realm="medialib"'}
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic" or not credentials:
        raise ApiError("Must supply api_key", 401, challenge)
    try:
        key_value, _, secret = base64.b64decode(credentials.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, ValueError):
        raise ApiError("The Authorization header is not valid HTTP Basic.", 401, challenge) from None
    key = _key_active(key_value, headers=challenge)
    if not hmac.compare_digest(secret.encode("utf-8"), key.secret.encode("utf-8")):
        raise ApiError(f"Invalid API secret for API key {key.key}.", 401, challenge)
    return _key_used(key)
