"""Who is calling: a signed Upload API request, or Admin API HTTP Basic with the key and secret."""
from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from datetime import timedelta

from django.utils import timezone

from medialib.clients import client_ip

from . import ratelimit
from .models import ApiKey
from .params import form_params
from .responses import ApiError
from .signatures import SignatureInvalid, TimestampInvalid, signature_verify

# last_used_at is for people ("is this key still in use?"): a minute is precise enough, and it saves a write
# on every poll of a client waiting for an analysis.
LAST_USED_PRECISION = timedelta(minutes=1)


def _key_lookup(key_value: str, *, headers: dict | None = None) -> ApiKey | None:
    if not key_value:
        raise ApiError("Must supply api_key", 401, headers)
    if "\x00" in key_value:  # no key holds one, and PostgreSQL refuses to compare text holding NUL
        return None
    return ApiKey.objects.select_related("user").filter(key=key_value).first()


# Checked against when the key does not exist, so that an unknown key takes the same path, the same time and
# gets the same answer as a wrong signature: the API never tells which keys exist.
_NO_SUCH_KEY_SECRET = secrets.token_urlsafe(32)


def _secret_of(key: ApiKey | None) -> str:
    return key.secret if key is not None else _NO_SUCH_KEY_SECRET


def _key_usable(key: ApiKey, *, headers: dict | None = None) -> ApiKey:
    # Said only to whoever proved they hold the secret: to anyone else a revoked key is just a wrong one.
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


def _rate_limited(authenticate):
    """Refused credentials count against the client's address, and past the limit the address is refused
    before its credentials are even looked at; a key that authenticates counts one request of its own."""

    def wrapper(request):
        ip = client_ip(request)
        ratelimit.auth_failures_check(ip)
        try:
            result = authenticate(request)
        except ApiError as exc:
            if exc.status == 401:
                ratelimit.auth_failure_record(ip)
            raise
        key = result[0] if isinstance(result, tuple) else result
        # Kept on the request for api_endpoint to put on the answer, as Cloudinary does on every call.
        request.api_rate_limit_headers = ratelimit.key_request_count(key.key).headers()
        return result

    wrapper.__doc__ = authenticate.__doc__
    return wrapper


@_rate_limited
def signed_request_authenticate(request) -> tuple[ApiKey, dict]:
    """The key of a correctly signed, fresh Upload API request, and the request's parameters.

    401 for a missing key, for an unknown key or a bad signature (the same answer: which keys exist is not
    told), and for a revoked key with a good signature; 400 "Stale request" for an old timestamp;
    420 past a rate limit.
    """
    params = form_params(request)
    api_key = params.get("api_key")
    key = _key_lookup(api_key if isinstance(api_key, str) else "")
    try:
        signature_verify(params, _secret_of(key))
    except SignatureInvalid as exc:
        raise ApiError(str(exc), 401) from None
    except TimestampInvalid as exc:
        raise ApiError(str(exc), 400) from None
    return _key_used(_key_usable(key)), params


@_rate_limited
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
    key = _key_lookup(key_value, headers=challenge)
    if not hmac.compare_digest(secret.encode("utf-8"), _secret_of(key).encode("utf-8")) or key is None:
        # The same words for an unknown key and a wrong secret; the key quoted is the caller's own.
        raise ApiError(f"Invalid API secret for API key {key_value[:40]}.", 401, challenge)
    return _key_used(_key_usable(key, headers=challenge))
