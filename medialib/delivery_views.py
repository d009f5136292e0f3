"""The delivery route the SDKs build: GET|HEAD /<cloud>/image/upload/<delivery path> (and /image/upload/... for
`private_cdn`). Access (MEDIALIB_DELIVERY_ACCESS): "signed" (the default) delivers to a URL signed with an
active API key's secret whose owner may see the image, or to a signed-in user who may; "public" to anyone with
the URL, as Cloudinary's type=upload; with MEDIALIB_DELIVERY_STRICT_TRANSFORMATIONS, strangers only get the
transformations selectors.transformation_allowed_unsigned allows. t_<name> is looked up in the named
transformations (selectors.named_transformation). Errors are answered with Cloudinary's `X-Cld-Error` header.
"""
from __future__ import annotations

import hashlib
from email.utils import formatdate

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponse, HttpResponseNotModified
from django.views.decorators.http import require_http_methods

from tagging.services.gravity import gravity_face_boxes

from . import selectors
from .api.models import ApiKey
from .delivery import DeliveryPathError, delivery_path_parse, signature_valid
from .images import FORMAT_MIME_TYPES
from .models import Asset, DeliveredRendition
from .renditions import SERVABLE_FORMATS, delivered_rendition, rendition_key, rendition_render
from .transformations import TransformationError


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
    return _signed_for(path, asset)


def _signed_for(path, asset: Asset) -> bool:
    """Whether the URL is signed with an active API key's secret whose owner may see the image."""
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
        transformation = parsed.transformation.expand(selectors.named_transformation)
        fmt = transformation.output_format(extension=extension, source_format=asset.format,
                                           accept=request.headers.get("Accept", ""))
    except TransformationError as exc:
        return _error(400, exc.message)
    if fmt not in SERVABLE_FORMATS:
        return _error(400, f"Format {fmt!r} cannot be delivered.")
    # Strict transformations: in signed mode an anonymous request got here by a valid signature.
    if settings.MEDIALIB_DELIVERY_STRICT_TRANSFORMATIONS and not request.user.is_authenticated and \
            settings.MEDIALIB_DELIVERY_ACCESS == "public" and not _signed_for(parsed, asset) and \
            not selectors.transformation_allowed_unsigned(asset=asset, transformation=parsed.transformation,
                                                          expanded=transformation, fmt=fmt):
        return _error(401, f"Transformation {parsed.transformation_text} is not allowed")

    # Face gravity crops to the faces the library knows (the aws_rek_face analysis' Face rows), or that the worker
    # finds for it (tagging.services.gravity); None: not known yet, so the crop is made without them and not kept.
    faces = gravity_face_boxes(asset, wait_seconds=settings.MEDIALIB_DELIVERY_FACES_WAIT_SECONDS) \
        if transformation.uses_faces() else None
    keep = faces is not None or not transformation.uses_faces()
    key = rendition_key(transformation=transformation, fmt=fmt, faces=faces)
    etag = '"' + hashlib.sha256(f"{asset.pk}:{asset.version}:{asset.sha256}:{key}".encode()).hexdigest()[:32] + '"'
    headers = {
        "ETag": etag,
        "Last-Modified": formatdate(asset.updated_at.timestamp(), usegmt=True),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": ("public" if settings.MEDIALIB_DELIVERY_ACCESS == "public" else "private")
        # A named transformation's definition may change under a versioned URL: revalidate it (the ETag follows).
        + (", max-age=31536000, immutable" if parsed.version is not None and not parsed.transformation.named()
           else ", max-age=300"),
    }
    if not keep:
        headers = {name: value for name, value in headers.items() if name not in ("ETag", "Last-Modified")}
        headers["Cache-Control"] = "no-store"
    if transformation.varies_on_accept():
        headers["Vary"] = "Accept"
    if keep and etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponseNotModified()
        for name, value in headers.items():
            response[name] = value
        return response

    if not transformation and fmt == asset.format:
        response = FileResponse(default_storage.open(asset.file.name, "rb"), content_type=FORMAT_MIME_TYPES[fmt])
    else:
        try:
            if keep:
                made = delivered_rendition(asset=asset, transformation=transformation, fmt=fmt, faces=faces)
            else:
                made = rendition_render(asset, transformation, fmt=fmt, faces=None)
        except TransformationError as exc:
            return _error(400, exc.message)
        if isinstance(made, DeliveredRendition):
            response = FileResponse(default_storage.open(made.file.name, "rb"), content_type=FORMAT_MIME_TYPES[fmt])
        else:
            response = HttpResponse(made.data, content_type=made.mime_type)
    for name, value in headers.items():
        response[name] = value
    return response
