"""Writes behind the API: making and revoking keys."""
from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet

from .models import ApiKey


def api_key_create(*, name: str, user) -> ApiKey:
    """A new active key for the user; its secret is random and is to be shown once, now."""
    return ApiKey.objects.create(name=name, user=user)


def api_keys_revoke(*, keys: QuerySet[ApiKey]) -> int:
    return keys.filter(is_active=True).update(is_active=False)


def api_key_cloudinary_url(key: ApiKey, *, upload_prefix: str) -> str:
    """The CLOUDINARY_URL the SDKs read from the environment: cloudinary://KEY:SECRET@CLOUD?upload_prefix=..."""
    cloud = settings.MEDIALIB_CLOUD_NAME
    return f"cloudinary://{key.key}:{key.secret}@{cloud}?upload_prefix={upload_prefix.rstrip('/')}"
