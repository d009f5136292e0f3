"""Reading the Upload API's parameters as the Cloudinary SDKs send them (multipart form fields)."""
from __future__ import annotations

import base64
import binascii
import hashlib
import re

from django.conf import settings
from django.core.exceptions import SuspiciousOperation, TooManyFilesSent
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http.multipartparser import MultiPartParserError

from medialib.renditions import MAX_EAGER, SERVABLE_FORMATS
from medialib.selectors import named_transformation
from medialib.transformations import Transformation, TransformationError
from tagging.addons import addons_parse, auto_tagging_parse

from .responses import ApiError

DATA_URI_RE = re.compile(r"^data:(?P<type>[\w.+-]+/[\w.+-]+)?(?:;[\w-]+=[\w.-]+)*;base64,(?P<data>.*)$", re.DOTALL)
REMOTE_URL_RE = re.compile(r"^(?:https?|ftp|s3|gs):", re.IGNORECASE)
CONTENT_RANGE_RE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
# Parameters that would change what is stored or delivered; refusing them beats silently doing something else.
UNSUPPORTED = (
    "folder", "asset_folder", "public_id_prefix", "use_filename", "use_filename_as_display_name", "format",
    "transformation", "eager_notification_url", "upload_preset", "notification_url", "callback", "async", "backup",
    "moderation",
    "raw_convert", "ocr", "background_removal",
)


def form_params(request) -> dict[str, str | list[str]]:
    """The form fields, with `k[]` lists under `k` as Cloudinary signs them; a name sent twice is refused."""
    try:
        fields = request.POST
    except TooManyFilesSent:
        raise ApiError(f"The request holds more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files; "
                       "upload one file per request, as `file`.") from None
    except (SuspiciousOperation, MultiPartParserError) as exc:
        # Too big a data: URI lands here too: Django caps form fields at DATA_UPLOAD_MAX_MEMORY_SIZE.
        raise ApiError(
            f"The request could not be read ({exc}). Send the file as a multipart file part rather than a data: URI "
            f"when it is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes."
        ) from None
    params: dict[str, str | list[str]] = {}
    for name, values in fields.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            # PostgreSQL cannot store or even compare text holding NUL: refused here, before any lookup.
            raise ApiError(f"Parameter {name.replace(chr(0), '')[:40]!r} contains a NUL character (\\x00); "
                           "remove it.")
        key, is_list = (name[:-2], True) if name.endswith("[]") else (name, False)
        if key in params or (not is_list and len(values) > 1):
            raise ApiError(f"Parameter {key!r} is given more than once.")
        params[key] = values if is_list else values[0]
    return params


def _text(params, name: str) -> str:
    value = params.get(name) or ""
    if isinstance(value, list):
        value = ",".join(value)
    return value.strip()


def _list(params, name: str) -> list[str]:
    value = params.get(name) or []
    values = value if isinstance(value, list) else value.split(",")
    return [v.strip() for v in values if v.strip()]


def _unsupported_refuse(params) -> None:
    given = [name for name in UNSUPPORTED if params.get(name)]
    if given:
        raise ApiError(f"This server does not support the parameter(s): {', '.join(given)}.")
    kind = _text(params, "type") or "upload"
    if kind != "upload":
        raise ApiError(f"type {kind!r} is not supported: this server stores every image as type 'upload'.")


def addons_arguments(params) -> dict:
    """`addons` and `auto_tagging` for the services; AddonError (400) names a bad add-on or threshold."""
    addons = addons_parse(categorization=_text(params, "categorization"), detection=_text(params, "detection"))
    auto_tagging = auto_tagging_parse(_text(params, "auto_tagging") or None)
    if auto_tagging is not None and not addons:
        raise ApiError("auto_tagging needs an add-on to take tags from: add categorization or detection.")
    return {"addons": addons, "auto_tagging": auto_tagging}


FORMAT_RE = re.compile(r"^[a-z0-9]*$")


def eager_arguments(params) -> dict:
    """`eager` (the SDKs send "<transformation>[/<format>]|..." ) as [(Transformation, format or None)], expanded
    and checked, and `eager_async`. A bad one is a 400 that names it."""
    text = _text(params, "eager")
    eager = []
    for item in [part for part in text.split("|") if part.strip()] if text else []:
        head, _, last = item.strip().rpartition("/")
        # A last segment that is a bare word is the format ("c_fill,w_100/jpg"; "w_100/" keeps the original's).
        transformation_text, fmt = (head, last or None) if head and FORMAT_RE.match(last) else (item.strip(), None)
        if fmt is not None and fmt not in SERVABLE_FORMATS:
            raise ApiError(f"Invalid eager transformation {item[:80]!r}: format {fmt[:10]!r} cannot be delivered "
                           f"(use one of {', '.join(sorted(SERVABLE_FORMATS))}).")
        try:
            transformation = Transformation.from_string(transformation_text).expand(named_transformation)
        except TransformationError as exc:
            raise ApiError(f"Invalid eager transformation {item[:80]!r}: {exc.message}") from None
        if not transformation:
            raise ApiError(f"Invalid eager transformation {item[:80]!r}: it is empty.")
        eager.append((transformation, fmt))
    if len(eager) > MAX_EAGER:
        raise ApiError(f"At most {MAX_EAGER} eager transformations per call; {len(eager)} were given.")
    eager_async = _text(params, "eager_async").lower()
    if eager_async not in ("", "true", "false", "1", "0"):
        raise ApiError(f"eager_async must be true or false, not {eager_async[:20]!r}.")
    if eager_async in ("true", "1") and not eager:
        raise ApiError("eager_async needs eager transformations to make.")
    return {"eager": eager, "eager_async": eager_async in ("true", "1")}


def upload_file(params, files):
    """The uploaded file: a multipart file part, or a base64 `data:` URI. Remote URLs are refused: the server
    never fetches what a client points it at (no requests to internal addresses on a client's behalf)."""
    uploaded = files.get("file")
    if uploaded is not None:
        return uploaded
    value = params.get("file")
    if not value or not isinstance(value, str):
        raise ApiError("Missing required parameter - file")
    if REMOTE_URL_RE.match(value):
        raise ApiError(
            "Uploading from a URL is not supported: this server never fetches remote files. "
            "Send the file itself (multipart) or as a base64 data: URI."
        )
    match = DATA_URI_RE.match(value)
    if match is None:
        raise ApiError("file must be an uploaded file or a base64 data: URI (data:image/jpeg;base64,...).")
    try:
        data = base64.b64decode(re.sub(r"\s+", "", match["data"]), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError("file is a data: URI whose base64 data is not valid.") from None
    # Cloudinary names a file sent as a data URI "file".
    return SimpleUploadedFile("file", data, content_type=match["type"] or "application/octet-stream")


def file_sha256(file) -> str:
    """The uploaded file's SHA-256, read in chunks, leaving the file at its start."""
    digest = hashlib.sha256()
    file.seek(0)
    for chunk in iter(lambda: file.read(1024 * 1024), b""):
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()


def _whole_file_check(headers) -> None:
    """The SDKs' upload_large sends a file in parts (Content-Range); one part holding the whole file is fine."""
    content_range = headers.get("Content-Range")
    if not content_range:
        return
    match = CONTENT_RANGE_RE.match(content_range.strip())
    if match is None or int(match[1]) != 0 or int(match[2]) + 1 != int(match[3]):
        raise ApiError(
            "Uploads in parts (upload_large with a file larger than its chunk_size) are not supported: "
            "send the whole file in one request."
        )


def upload_arguments(params, files, headers) -> dict:
    """Keyword arguments of medialib.services.asset_upload (but `uploaded_by`), and `addons` and `auto_tagging`."""
    _unsupported_refuse(params)
    _whole_file_check(headers)
    file = upload_file(params, files)
    return {
        "file": file,
        "public_id": _text(params, "public_id") or None,
        "tags": _list(params, "tags"),
        "original_filename": _text(params, "filename_override") or file.name,
        **addons_arguments(params),
        **eager_arguments(params),
    }


def explicit_arguments(params) -> dict:
    """`public_id`, and the keyword arguments of tagging.services.analysis.analysis_rerun (but `asset` and `user`)."""
    _unsupported_refuse(params)
    if params.get("tags"):
        # Cloudinary's explicit replaces all tags; this library keeps manual and add-on tags apart, so it does not.
        raise ApiError("tags cannot be set through explicit on this server; tag images in the library instead.")
    public_id = _text(params, "public_id")
    if not public_id:
        raise ApiError("Missing required parameter - public_id")
    arguments = {"public_id": public_id, **addons_arguments(params), **eager_arguments(params)}
    if not arguments["addons"] and not arguments["eager"]:
        raise ApiError("explicit needs at least one add-on (categorization, detection) or eager transformations.")
    return arguments
