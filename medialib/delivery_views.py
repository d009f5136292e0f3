"""The delivery route the SDKs build: GET|HEAD /<cloud>/image/upload/<delivery path> (and /image/upload/... for
`private_cdn`). Access (MEDIALIB_DELIVERY_ACCESS): "signed" (the default) delivers to a URL signed with an
active API key's secret whose owner may see the image, or to a signed-in user who may; "public" to anyone with
the URL, as Cloudinary's type=upload. Errors are answered with Cloudinary's `X-Cld-Error` header.
"""
from __future__ import annotations

import hashlib
import tempfile
from email.utils import formatdate

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponse, HttpResponseNotModified
from django.views.decorators.http import require_http_methods

from tagging.services.gravity import gravity_face_boxes

from . import selectors
from .api.models import ApiKey
from .delivery import DeliveryPathError, delivery_path_parse, signature_valid
from .images import FORMAT_MIME_TYPES, transformation_render
from .models import Asset
from .transformations import TransformationError

SERVABLE_FORMATS = {"jpg", "png", "webp", "avif", "gif"}


def _error(status: int, message: str) -> HttpResponse:
    response = HttpResponse(status=status, content_type="text/plain; charset=utf-8")
    response["X-Cld-Error"] = message.encode("ascii", "replace").decode()[:300]
    response["Cache-Control"] = "no-store"
    return response


def _may_deliver(request, path, asset: Asset) -> bool:
    if settings.MEDIALIB_DELIVERY_ACCESS == "public":
        return True
    if request.user.is_authenticated and selectors.assets_visible_to(request.user).filter(pk=asset.pk).exists():
        return True
    if path.signature is None:
        return False
    for key in ApiKey.objects.filter(is_active=True).select_related("user"):
        if signature_valid(path, [key.secret]) and key.user.is_active and \
                selectors.assets_visible_to(key.user).filter(pk=asset.pk).exists():
            return True
    return False


@require_http_methods(["GET", "HEAD"])
def delivery(request, path, cloud=None):
    if cloud is not None and cloud != settings.MEDIALIB_CLOUD_NAME:
        return _error(404, f"Unknown cloud name {cloud[:40]!r}.")
    try:
        parsed = delivery_path_parse(path)
    except (DeliveryPathError, TransformationError) as exc:
        return _error(400, exc.message)
    asset = Asset.objects.filter(public_id=parsed.public_id).first()
    if asset is None and parsed.extension:  # a public_id with a dot in it, asked for without an extension
        asset = Asset.objects.filter(public_id=parsed.source).first()
        extension = None
    else:
        extension = parsed.extension
    if asset is None or not _may_deliver(request, parsed, asset):
        # The same answer for "no such image" and "not yours": nobody learns which public_ids exist.
        return _error(404 if settings.MEDIALIB_DELIVERY_ACCESS == "public" or request.user.is_authenticated
                      else 401, "Resource not found, or the URL is not signed for it.")
    if parsed.version is not None and parsed.version != asset.version:
        return _error(404, f"Version {parsed.version} of {asset.public_id[:60]} does not exist.")
    try:
        transformation = parsed.transformation.expand(lambda name: None)
        fmt = transformation.output_format(extension=extension, source_format=asset.format,
                                           accept=request.headers.get("Accept", ""))
    except TransformationError as exc:
        return _error(400, exc.message)
    if fmt not in SERVABLE_FORMATS:
        return _error(400, f"Format {fmt!r} cannot be delivered.")

    canonical = f"{asset.pk}:{asset.version}:{asset.sha256}:{transformation}:{fmt}"
    etag = '"' + hashlib.sha256(canonical.encode()).hexdigest()[:32] + '"'
    headers = {
        "ETag": etag,
        "Last-Modified": formatdate(asset.updated_at.timestamp(), usegmt=True),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": ("public" if settings.MEDIALIB_DELIVERY_ACCESS == "public" else "private")
        + (", max-age=31536000, immutable" if parsed.version is not None else ", max-age=300"),
    }
    if transformation.varies_on_accept():
        headers["Vary"] = "Accept"
    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponseNotModified()
        for name, value in headers.items():
            response[name] = value
        return response

    if not transformation and fmt == asset.format:
        response = FileResponse(default_storage.open(asset.file.name, "rb"), content_type=FORMAT_MIME_TYPES[fmt])
    else:
        with tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024) as original:
            with default_storage.open(asset.file.name, "rb") as source:
                for chunk in iter(lambda: source.read(1024 * 1024), b""):
                    original.write(chunk)
            original.seek(0)
            try:
                # Face gravity crops to the faces the library knows (the aws_rek_face analysis' Face rows).
                rendered = transformation_render(original, transformation, fmt=fmt,
                                                 faces=lambda: gravity_face_boxes(asset, wait_seconds=settings.MEDIALIB_DELIVERY_FACES_WAIT_SECONDS),
                                                 max_output_pixels=settings.MEDIALIB_MAX_OUTPUT_PIXELS)
            except TransformationError as exc:
                return _error(400, exc.message)
        response = HttpResponse(rendered.data, content_type=rendered.mime_type)
    for name, value in headers.items():
        response[name] = value
    return response
