"""The Cloudinary-compatible endpoints: each authenticates, parses, calls a service and renders a resource."""
from __future__ import annotations

import logging
import uuid
from functools import wraps

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.views.decorators.csrf import csrf_exempt

from medialib.middleware import BUSY_MESSAGE, RETRY_AFTER_SECONDS, database_busy
from medialib.asset_edits import assets_tags_command
from medialib.models import Asset
from medialib.notifications import (eager_entry_made, eager_notify, notification_request, notifications_queue,
                                    notifications_wanted)
from medialib.renditions import SERVABLE_FORMATS, eager_renditions_make, eager_renditions_queue
from medialib.selectors import asset_can_edit, assets_visible_to
from medialib.services import UploadError, asset_upload, duplicate_find
from medialib.transformations import TransformationError
from tagging.addons import AddonError
from tagging.selectors import asset_info, face_boxes
from tagging.services.analysis import analysis_on_upload, analysis_rerun, analysis_wait

from . import auth, params
from .responses import ApiError, delivery_urls, error_response, resource_data, resource_response
from .services import signed_write_once

logger = logging.getLogger(__name__)


def _error_for(exc: Exception) -> ApiError | None:
    """The API's answer to what a service raised, with the status the SDKs map to the matching exception."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, UploadError) and exc.code == "exists":
        # A public_id taken by an image the caller may not replace (or rename onto): the SDK raises AlreadyExists.
        return ApiError(exc.messages[0], 409)
    if isinstance(exc, ValidationError):
        return ApiError(" ".join(exc.messages), 400)
    if isinstance(exc, AddonError):
        return ApiError(str(exc), 400)
    if isinstance(exc, PermissionDenied):
        return ApiError(str(exc) or "Not allowed.", 403)
    if isinstance(exc, Asset.DoesNotExist):
        return ApiError(str(exc) or "Resource not found", 404)
    if database_busy(exc):
        return ApiError(BUSY_MESSAGE, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)})
    return None


def api_endpoint(*methods: str):
    """CSRF-exempt (requests carry a signature or Basic credentials, never a cookie), JSON in every answer,
    and only for this server's cloud name."""

    def decorator(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, cloud: str, **kwargs):
            try:
                # Case-insensitive: the SDKs read the cloud name from CLOUDINARY_URL's host, which they lower-case.
                if cloud.lower() != settings.MEDIALIB_CLOUD_NAME.lower():
                    raise ApiError(f"Unknown cloud name {cloud[:60]!r}.", 404)
                if request.method not in methods:
                    raise ApiError(f"{request.method} is not allowed here; use {' or '.join(methods)}.", 405,
                                   {"Allow": ", ".join(methods)})
                response = view(request, **kwargs)
            except Exception as exc:
                error = _error_for(exc)
                if error is None:
                    logger.exception("API request %s %s failed", request.method, request.path)
                    error = ApiError("Internal server error.", 500)
                response = error_response(error.message, error.status, error.headers)
            for header, value in getattr(request, "api_rate_limit_headers", {}).items():
                response.setdefault(header, value)
            return response

        return wrapper

    return decorator


@api_endpoint("POST")
def image_upload(request):
    key, form = auth.signed_request_authenticate(request)
    arguments = params.upload_arguments(form, request.FILES, request.headers)
    addons, auto_tagging = arguments.pop("addons"), arguments.pop("auto_tagging")
    eager, eager_async = arguments.pop("eager"), arguments.pop("eager_async")
    eager_notification = notification_request(url=arguments.pop("eager_notification_url"), api_key=key,
                                              host=request.get_host())
    faces = arguments.pop("faces")
    async_ = arguments.pop("async_")
    notification_url = arguments.pop("notification_url")
    notification = notification_request(url=notification_url, api_key=key, host=request.get_host())
    found = {"existing": False}

    def upload() -> str:
        on_create = analysis_on_upload(addons=addons, auto_tagging=auto_tagging, replacing=arguments["overwrite"],
                                       notification=notification)
        try:
            with transaction.atomic():  # the upload notification is made with the image, or not at all
                asset = asset_upload(uploaded_by=key.user, on_create=on_create, **arguments)
                if notifications_wanted(notification_url):
                    info = asset_info(asset, addons=addons) if addons else None
                    notifications_queue(notification_type="upload", url=notification_url, api_key=key,
                                        payload=resource_data(asset, request=request, secret=key.secret, info=info))
                return asset.public_id
        except UploadError as exc:
            # overwrite=false: Cloudinary answers with the image already there (if the caller may see it).
            if exc.code == "exists" and not arguments["overwrite"] and arguments["public_id"] and \
                    assets_visible_to(key.user).filter(public_id=arguments["public_id"]).exists():
                found["existing"] = True
                return arguments["public_id"]
            raise

    # The same signed request again (a replay, a client's retry) answers with the first upload, not a copy.
    public_id, _ = signed_write_once(key=key, action="upload", signature=form["signature"],
                                     content_sha256=params.file_sha256(arguments["file"]), write=upload)
    if addons and not found["existing"]:
        _results_wait(public_id, key.user, addons, async_)
    asset = _asset(public_id, key.user)
    extra = {"existing": True} if found["existing"] else {}
    # Cloudinary stores a file again under a new public_id, and so does this library; the answer also names the
    # oldest image with the same bytes the caller may see (not Cloudinary's: its clients ignore unknown keys).
    duplicate = duplicate_find(sha256=asset.sha256, user=key.user, exclude=asset)
    if duplicate is not None:
        extra["duplicate_of"] = duplicate.public_id
    if faces:
        # What this library knows; a new file has none yet (its analysis runs after the answer).
        extra["faces"] = [list(box) for box in face_boxes(asset)] if found["existing"] else []
    return resource_response(asset, request=request, secret=key.secret, addons=addons, with_data=True,
                             eager=[] if found["existing"] else _eager(asset, eager, eager_async, request=request,
                                                                         notification=eager_notification),
                             extra=extra)


def _results_wait(public_id: str, user, addons: list[str], async_: bool) -> None:
    """Cloudinary answers upload, explicit and update with the add-ons' results: wait for the worker's (never
    running a detector here), at most MEDIALIB_API_RESULT_WAIT_SECONDS; async=true answers at once ("pending")."""
    if async_ or settings.MEDIALIB_API_RESULT_WAIT_SECONDS <= 0:
        return
    asset_id = assets_visible_to(user).filter(public_id=public_id).values_list("pk", flat=True).first()
    if asset_id is not None:
        analysis_wait(asset_id=asset_id, addons=addons, timeout=settings.MEDIALIB_API_RESULT_WAIT_SECONDS)


@api_endpoint("POST")
def image_explicit(request):
    key, form = auth.signed_request_authenticate(request)
    arguments = params.explicit_arguments(form)
    asset = _asset(arguments.pop("public_id"), key.user)

    eager, eager_async = arguments.pop("eager"), arguments.pop("eager_async")
    eager_notification = notification_request(url=arguments.pop("eager_notification_url"), api_key=key,
                                              host=request.get_host())
    tags, async_ = arguments.pop("tags"), arguments.pop("async_")
    arguments["notification"] = notification_request(url=arguments.pop("notification_url"), api_key=key,
                                                     host=request.get_host())
    if not asset_can_edit(user=key.user, asset=asset):
        raise PermissionDenied("Only the person who uploaded this image, or staff, can run explicit on it.")

    def rerun() -> str:
        if tags is not None:  # Cloudinary's explicit replaces the tags: here the manual ones, add-on tags stay
            assets_tags_command(public_ids=[asset.public_id], command="replace" if tags else "remove_all",
                                tags=tags, user=key.user)
        if arguments["addons"]:
            analysis_rerun(asset=asset, user=key.user, **arguments)  # only the owner or staff may (PermissionDenied)
        return asset.public_id

    signed_write_once(key=key, action="explicit", signature=form["signature"], write=rerun)
    if arguments["addons"]:
        _results_wait(asset.public_id, key.user, arguments["addons"], async_)
        asset = _asset(asset.public_id, key.user)
    return resource_response(asset, request=request, secret=key.secret, addons=arguments["addons"], with_data=True,
                             eager=_eager(asset, eager, eager_async, request=request, notification=eager_notification))


def _eager(asset: Asset, eager, eager_async: bool, *, request, notification: dict | None = None) -> list[dict]:
    """Make the eager renditions now (Cloudinary's default: they are in the answer, with their size), or queue
    them for the worker (`eager_async`: "processing"). One that cannot be made says why; the others are made.
    `notification` (eager_notification_url's): Cloudinary's `eager` notification once they are made."""
    if not eager:
        return []
    resolved = []
    for transformation, fmt in eager:
        fmt = transformation.output_format(extension=fmt, source_format=asset.format, accept="")
        resolved.append((str(transformation), fmt if fmt in SERVABLE_FORMATS else "jpg"))
    batch_id = uuid.uuid4().hex
    entries = []
    for text, fmt in resolved:
        url, secure_url = delivery_urls(asset, request=request, transformation=text, fmt=fmt)
        entry = {"transformation": text, "format": fmt, "url": url, "secure_url": secure_url}
        if eager_async:
            entry.update(status="processing", batch_id=batch_id)
        else:
            try:
                made = eager_renditions_make(asset, [(text, fmt)])[0]
            except TransformationError as exc:
                made = exc.message
            entry = eager_entry_made(entry, made)
        entries.append(entry)
    if eager_async:
        eager_renditions_queue(asset, resolved, notify=notification and {
            "entries": entries, "batch_id": batch_id, "notification": notification})
    elif notification:
        eager_notify(asset_id=asset.pk, entries=entries, batch_id=batch_id, notification=notification)
    return [{key: entry[key] for key in _EAGER_KEYS if key in entry} for entry in entries]


# Each eager entry of an answer, in Cloudinary's order.
_EAGER_KEYS = ("transformation", "format", "width", "height", "bytes", "status", "batch_id", "reason", "url",
               "secure_url")


def _asset(public_id: str, user) -> Asset:
    """The asset, if the key's user may see it (MEDIALIB_VISIBILITY): another's is "not found", as on the pages."""
    # Not selectors.asset_get: the page's prefetches would be wasted here, and stale once explicit has written.
    # No public_id holds NUL (validate_public_id), and PostgreSQL refuses to compare text holding one.
    asset = assets_visible_to(user).filter(public_id=public_id).first() if "\x00" not in public_id else None
    if asset is None:
        raise Asset.DoesNotExist(f"Resource not found - {public_id[:255].replace(chr(0), '')}")
    return asset


@csrf_exempt
def not_found(request):
    return error_response("Not found: this server offers only the Cloudinary image API it documents.", 404)


@csrf_exempt
def resource_type_unsupported(request, resource_type: str):
    # upload_large defaults to "raw": say how to call it rather than just "not found".
    return error_response(
        f"resource_type {resource_type!r} is not supported: this server stores images only (resource_type='image').",
        404,
    )
