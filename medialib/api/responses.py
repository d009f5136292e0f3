"""What the API answers: an asset as a Cloudinary resource, and errors as `{"error": {"message": ...}}`."""
from __future__ import annotations

import hashlib
import uuid
from datetime import UTC
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from django.conf import settings
from django.http import JsonResponse

from medialib.delivery import delivery_url
from medialib.models import Asset
from tagging.selectors import asset_info

from .signatures import response_signature


class ApiError(Exception):
    """A refusal with the HTTP status the Cloudinary SDKs map to their exceptions (400 BadRequest, 401
    AuthorizationRequired, 403 NotAllowed, 404 NotFound, 409 AlreadyExists, 420/429 RateLimited, 500 GeneralError)."""

    def __init__(self, message: str, status: int = 400, headers: dict | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.headers = headers or {}


def api_response(data: dict, status: int = 200, headers: dict | None = None) -> JsonResponse:
    response = JsonResponse(data, status=status, headers=headers)
    # Answers to authenticated calls are for the caller only; no shared cache may keep them.
    response["Cache-Control"] = "private, no-store"
    # As Cloudinary's, on every answer: the SDKs give it to their callers (Response.request_id) to quote.
    response["X-Request-Id"] = uuid.uuid4().hex
    return response


def error_response(message: str, status: int, headers: dict | None = None) -> JsonResponse:
    response = api_response({"error": {"message": message}}, status=status, headers=headers)
    if status == 420:
        response.reason_phrase = "Enhance Your Calm"  # Cloudinary's rate-limit status, unknown to http.HTTPStatus
    return response


def delivery_urls(asset: Asset, *, request, transformation: str = "", fmt: str | None = None) -> tuple[str, str]:
    """The `url` and `secure_url` of an asset (with a transformation: of that rendition) at the delivery route."""
    path = delivery_url(cloud=settings.MEDIALIB_CLOUD_NAME, public_id=asset.public_id, version=asset.version,
                        extension=fmt or asset.format, transformation=transformation)
    # Behind a proxy, the host people reach (MEDIALIB_PUBLIC_BASE_URL) rather than the one gunicorn is asked for.
    host = urlsplit(settings.MEDIALIB_PUBLIC_BASE_URL).netloc if settings.MEDIALIB_PUBLIC_BASE_URL else request.get_host()
    return f"http://{host}{path}", f"https://{host}{path}"


def resource_data(asset: Asset, *, request, secret: str, info: dict | None, tags: list[str] | None = None) -> dict:
    """The asset as Cloudinary describes an image resource, with `info` (add-on results) when there is any.

    `etag` is the first 32 hex digits of the file's SHA-256 (Cloudinary sends an MD5, also 32 hex digits: this
    library hashes uploads with SHA-256 only); like Cloudinary's, it changes exactly when the bytes do.
    `original_filename` is without its extension, as Cloudinary gives it ("file" when there was no name).
    `tags`: the asset's tag names when the caller fetched them for a whole page (else one query here).
    `context` is there when the asset has some, as Cloudinary's `{"custom": {...}}`.
    """
    url, secure_url = delivery_urls(asset, request=request)
    data = {
        "asset_id": asset.asset_id,
        "public_id": asset.public_id,
        "version": asset.version,
        "version_id": hashlib.sha256(f"{asset.public_id}:{asset.version}:{asset.sha256}".encode()).hexdigest()[:32],
        "signature": response_signature(public_id=asset.public_id, version=asset.version, secret=secret),
        "width": asset.width,
        "height": asset.height,
        "format": asset.format,
        "resource_type": "image",
        "created_at": asset.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tags": tags if tags is not None else sorted(asset.tags.names(), key=str.lower),
        "bytes": asset.bytes,
        "type": "upload",
        "etag": asset.sha256[:32],
        "placeholder": False,
        "url": url,
        "secure_url": secure_url,
        "original_filename": PurePosixPath(asset.original_filename).stem or "file",
        "asset_folder": asset.asset_folder,
    }
    if asset.context:
        data["context"] = {"custom": dict(asset.context)}  # as Cloudinary nests it
    if info:
        data["info"] = info
    return data


def resource_response(asset: Asset, *, request, secret: str, addons: list[str] | None = None, with_data: bool = True,
                      eager: list[dict] | None = None, extra: dict | None = None):
    """`addons` limits `info` to those add-ons (what an upload or explicit call asked for); None shows them all.
    `eager`: the eager renditions' entries, when the call asked for some; `extra`: keys of this call's answer."""
    info = asset_info(asset, with_data=with_data, addons=addons) if addons is None or addons else None
    data = resource_data(asset, request=request, secret=secret, info=info)
    if eager:
        data["eager"] = eager
    data.update(extra or {})
    return api_response(data)
