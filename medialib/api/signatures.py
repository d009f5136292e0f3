"""Cloudinary's request signatures, computed exactly as the official SDKs do (signature version 2)."""
from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from datetime import UTC, datetime

# Never signed: the file itself, who is asking, the signature, and what the URL already says.
UNSIGNED_PARAMS = frozenset({"file", "api_key", "signature", "cloud_name", "resource_type"})
# A signature is good for an hour from its timestamp, as at Cloudinary; so is a clock running ahead.
MAX_AGE_SECONDS = 3600
# SHA-1 (the SDKs' default) or SHA-256 (signature_algorithm="sha256"), told apart by the hex digest's length.
ALGORITHMS = {40: hashlib.sha1, 64: hashlib.sha256}


class SignatureInvalid(Exception):
    """The signature is missing, malformed, or not the one the secret gives."""


class TimestampInvalid(Exception):
    """The timestamp is missing, not a number, or too far from now; the message is Cloudinary's."""


def string_to_sign(params: Mapping[str, str | list[str]]) -> str:
    """`k=v` for every signed, non-empty parameter, lists joined by commas, `&` in values escaped, sorted, `&`-joined.

    Signature version 2 escapes `&` as `%26`, so `a=1&b=2` can never be passed off as `a=1` plus `b=2`. Sorted as
    the SDKs sort: the `k=v` strings, which is key order for every parameter name Cloudinary has.
    """
    parts = []
    for key, value in params.items():
        if key in UNSIGNED_PARAMS:
            continue
        if isinstance(value, (list, tuple)):
            value = ",".join(value)
        if not value:
            continue
        parts.append(f"{key}={value}".replace("&", "%26"))
    return "&".join(sorted(parts))


def signature_compute(params: Mapping[str, str | list[str]], secret: str, *, algorithm: str = "sha1") -> str:
    return hashlib.new(algorithm, (string_to_sign(params) + secret).encode("utf-8")).hexdigest()


def signature_verify(params: Mapping[str, str | list[str]], secret: str, *, now: float | None = None) -> None:
    """Raise SignatureInvalid or TimestampInvalid unless the request was signed with this secret within the hour."""
    signature = params.get("signature")
    if not isinstance(signature, str) or not signature:
        raise SignatureInvalid("Missing required parameter - signature")
    signature = signature.lower()
    to_sign = string_to_sign(params)
    algorithm = ALGORITHMS.get(len(signature))
    expected = algorithm((to_sign + secret).encode("utf-8")).hexdigest() if algorithm else ""
    # Constant time: how much of a guess matched must not show in how long the answer takes.
    if algorithm is None or not hmac.compare_digest(expected.encode(), signature.encode("utf-8")):
        # The string to sign holds only what the client sent (never the secret): it lets a client find its mistake.
        raise SignatureInvalid(f"Invalid Signature {signature[:64]}. String to sign - '{to_sign}'.")
    timestamp_check(params.get("timestamp"), now=now)


def timestamp_check(value, *, now: float | None = None) -> int:
    if not value:
        raise TimestampInvalid("Missing required parameter - timestamp")
    try:
        timestamp = int(value)
    except (TypeError, ValueError):
        raise TimestampInvalid(f"Invalid timestamp {str(value)[:20]!r}: seconds since 1970 expected.") from None
    now = time.time() if now is None else now
    if abs(now - timestamp) > MAX_AGE_SECONDS:
        try:
            reported = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S +0000")
        except (OverflowError, OSError, ValueError):
            reported = str(timestamp)
        when = "ago" if timestamp < now else "ahead of this server's clock"
        raise TimestampInvalid(f"Stale request - reported time is {reported} which is more than 1 hour {when}")
    return timestamp


def response_signature(*, public_id: str, version: int, secret: str) -> str:
    """The `signature` of an upload response, which `cloudinary.utils.verify_api_response_signature` checks."""
    return signature_compute({"public_id": public_id, "version": str(version)}, secret)
