"""Writes behind the API: making and revoking keys, and carrying out each signed write once."""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from .models import ApiKey, SignedRequest
from .responses import ApiError
from .signatures import MAX_AGE_SECONDS

# A signature is accepted from an hour before its timestamp to an hour after: past that, a replay is refused
# as stale anyway, and the record of the first request can go.
SIGNED_REQUEST_KEPT = timedelta(seconds=2 * MAX_AGE_SECONDS + 60)
# How long a replay waits for the first request, still being carried out, to finish.
SIGNED_REQUEST_WAIT_SECONDS = 30


def api_key_create(*, name: str, user) -> ApiKey:
    """A new active key for the user; its secret is random and is to be shown once, now."""
    return ApiKey.objects.create(name=name, user=user)


def api_keys_revoke(*, keys: QuerySet[ApiKey]) -> int:
    return keys.filter(is_active=True).update(is_active=False)


def api_key_cloudinary_url(key: ApiKey, *, upload_prefix: str) -> str:
    """The CLOUDINARY_URL the SDKs read from the environment: cloudinary://KEY:SECRET@CLOUD?upload_prefix=..."""
    cloud = settings.MEDIALIB_CLOUD_NAME
    return f"cloudinary://{key.key}:{key.secret}@{cloud}?upload_prefix={upload_prefix.rstrip('/')}"


def signed_write_once(*, key: ApiKey, action: str, signature: str, content_sha256: str = "",
                      write: Callable[[], str]) -> tuple[str, bool]:
    """Carry out `write` (which returns the public_id it wrote) once per signed request: the public_id, and
    whether this was a replay. The same request again, even at the same moment, gets the first one's public_id.

    The unique constraint decides who is first; the others wait for its public_id. A write that fails lets go
    of its claim, so that the client may send the same request again.
    """
    identity = {"api_key": key, "action": action, "signature": signature.lower(), "content_sha256": content_sha256}
    SignedRequest.objects.filter(created_at__lt=timezone.now() - SIGNED_REQUEST_KEPT).delete()
    deadline = time.monotonic() + SIGNED_REQUEST_WAIT_SECONDS
    while True:
        try:
            with transaction.atomic():
                claim = SignedRequest.objects.create(**identity)
            break
        except IntegrityError:
            first = SignedRequest.objects.filter(**identity).values_list("public_id", flat=True).first()
            if first:
                return first, True
            if time.monotonic() > deadline:
                raise ApiError("The same signed request is still being carried out; send it again later.",
                               409) from None
            if first is None:
                continue  # the first attempt failed and let go: this one may claim it
            time.sleep(0.05)
    try:
        public_id = write()
    except BaseException:
        SignedRequest.objects.filter(pk=claim.pk).delete()
        raise
    SignedRequest.objects.filter(pk=claim.pk).update(public_id=public_id)
    return public_id, False
