"""Reading the Upload API's parameters as the Cloudinary SDKs send them (multipart form fields)."""
from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
import string
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import SuspiciousOperation, TooManyFilesSent, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http.multipartparser import MultiPartParserError

from medialib.models import PUBLIC_ID_MAX_LENGTH
from medialib.renditions import MAX_EAGER, SERVABLE_FORMATS
from medialib.selectors import named_transformation
from medialib.services import context_clean
from medialib.transformations import Transformation, TransformationError
from medialib.webhooks import WebhookUrlError, notification_url_check
from tagging.addons import addons_parse, auto_tagging_parse

from .responses import ApiError

DATA_URI_RE = re.compile(r"^data:(?P<type>[\w.+-]+/[\w.+-]+)?(?:;[\w-]+=[\w.-]+)*;base64,(?P<data>.*)$", re.DOTALL)
REMOTE_URL_RE = re.compile(r"^(?:https?|ftp|s3|gs):", re.IGNORECASE)
CONTENT_RANGE_RE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
# Every parameter of the Upload API's upload (the SDKs' cloudinary.utils.upload_params and what they always send):
# None for those this server implements, else why it refuses them. A name this table does not know is refused
# too, so that a parameter a new SDK sends is never silently ignored (tests/api/test_upload_api.py walks the SDK's
# list). The README's "Upload parameters" table says the same for people.
UPLOAD_PARAMETERS: dict[str, str | None] = {
    **dict.fromkeys([
        "file", "api_key", "timestamp", "signature", "public_id", "public_id_prefix", "type", "faces", "use_filename",
        "unique_filename", "discard_original_filename", "filename_override", "invalidate", "eager", "eager_async",
        "folder", "asset_folder", "use_asset_folder_as_public_id_prefix", "overwrite", "categorization", "detection",
        "auto_tagging", "tags", "allowed_formats", "context", "async", "notification_url", "eager_notification_url",
    ]),
    "callback": "it redirects a browser form upload to a page; this API answers JSON only",
    "format": "originals are stored unchanged; ask for another format in the delivery URL (f_ or the extension)",
    "backup": "this server keeps no backup copies; back up var/ (or the bucket) instead",
    "image_metadata": "image metadata (EXIF, IPTC) is not returned",
    "media_metadata": "media metadata is not returned",
    "exif": "EXIF data is not returned",
    "colors": "colour analysis is not implemented",
    "display_name": "there are no display names: the public_id names an image",
    "use_filename_as_display_name": "there are no display names",
    "unique_display_name": "there are no display names",
    "eval": "running code sent with an upload is never done",
    "on_success": "running code sent with an upload is never done",
    "proxy": "the server never fetches remote files",
    "moderation": "moderation queues on upload are not implemented; tags are moderated in the admin",
    "raw_convert": "raw files are not stored",
    "quality_override": "quality is chosen per delivery URL (q_)",
    "quality_analysis": "quality analysis is not implemented",
    "ocr": "OCR is not implemented",
    "similarity_search": "similarity search is not implemented",
    "visual_search": "visual search is not implemented",
    "background_removal": "background removal is not implemented",
    "upload_preset": "upload presets are not implemented",
    "phash": "perceptual hashes are not computed",
    "return_delete_token": "delete tokens (delete_by_token) are not implemented; use destroy",
    "cinemagraph_analysis": "cinemagraph analysis is not implemented",
    "accessibility_analysis": "accessibility analysis is not implemented",
    "auto_chaptering": "videos are not stored",
    "batch_id": "batch notifications are not implemented",
    "transformation": "originals are stored unchanged (an incoming transformation would alter them); "
                      "use eager or a delivery URL",
    "headers": "custom delivery headers are not implemented",
    "face_coordinates": "faces come from the aws_rek_face analysis, not from the client",
    "custom_coordinates": "custom coordinates are not implemented",
    "regions": "regions are not implemented",
    "responsive_breakpoints": "responsive breakpoints are not implemented",
    "access_control": "access is decided by MEDIALIB_DELIVERY_ACCESS and MEDIALIB_VISIBILITY, not per image",
    "metadata": "structured metadata is not implemented; use context",
    "auto_transcription": "videos are not stored",
}
# Refused only when set: "false" (what an SDK sends for False) asks for nothing this server would not do anyway.
REFUSED_WHEN_TRUE = frozenset({
    "backup", "image_metadata", "media_metadata", "exif", "colors", "use_filename_as_display_name",
    "unique_display_name", "quality_analysis", "phash", "return_delete_token", "cinemagraph_analysis",
    "accessibility_analysis", "auto_chaptering", "similarity_search", "visual_search",
})
# What explicit takes besides what it shares with upload; everything else upload knows is refused on explicit.
EXPLICIT_IMPLEMENTED = frozenset({"file", "api_key", "timestamp", "signature", "public_id", "type", "invalidate",
                                  "eager", "eager_async", "categorization", "detection", "auto_tagging", "tags",
                                  "async", "notification_url", "eager_notification_url"})
TRUE_VALUES, FALSE_VALUES = ("1", "true"), ("", "0", "false")


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


def _flag(params, name: str, default: bool = False) -> bool:
    value = _text(params, name).lower()
    if name not in params:
        return default
    if value not in TRUE_VALUES + FALSE_VALUES:
        raise ApiError(f"{name} must be true or false, not {value[:20]!r}.")
    return value in TRUE_VALUES


def _unsupported_refuse(params, implemented=None) -> None:
    """A 400 naming every parameter given that this server does not implement (for this call), with why."""
    refused = []
    for name in params:
        reason = UPLOAD_PARAMETERS.get(name, "this server does not know it")
        if implemented is not None and reason is None and name not in implemented:
            reason = "it is not available on this call"
        if reason is None or (name in REFUSED_WHEN_TRUE and _text(params, name).lower() in FALSE_VALUES):
            continue
        refused.append(f"{name[:40]} ({reason})")
    if refused:
        raise ApiError(f"This server does not support the parameter(s): {'; '.join(refused)}.")
    kind = _text(params, "type") or "upload"
    if kind != "upload":
        raise ApiError(f"type {kind!r} is not supported: this server stores every image as type 'upload'.")


def notification_url_argument(params) -> str:
    """The call's notification_url, checked now (http(s), public addresses only, or allowed by
    MEDIALIB_WEBHOOK_ALLOWED_HOSTS): a 400 that says why one may not be reached. "" when none is given."""
    return notification_url_checked(_text(params, "notification_url"))


def notification_url_checked(url: str) -> str:
    """A notification URL that may be reached, or a 400 that says why not; "" stays ""."""
    if not url:
        return ""
    try:
        notification_url_check(url)
    except WebhookUrlError as exc:
        raise ApiError(str(exc)) from None
    return url


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
    # Cloudinary's `eager` notification when the renditions are made (by the worker with eager_async, else in
    # the call); checked now as notification_url is.
    eager_notification_url = notification_url_checked(_text(params, "eager_notification_url"))
    if eager_notification_url and not eager:
        raise ApiError("eager_notification_url tells when eager transformations are made: add eager.")
    return {"eager": eager, "eager_async": eager_async in ("true", "1"), "eager_notification_url": eager_notification_url}


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


def context_parse(text: str) -> dict[str, str]:
    """Cloudinary's context text, `k=v|k2=v2`, with `=` and `|` inside keys and values escaped as `\\=` and `\\|`
    (cloudinary.utils.encode_context); a key without `=` has an empty value."""
    context: dict[str, str] = {}
    pair, escaped, pairs = [], False, []
    for char in text:
        if escaped:
            pair.append(char if char in "=|\\" else "\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "|":
            pairs.append(pair)
            pair = []
        elif char == "=":
            pair.append(None)  # an unescaped separator
        else:
            pair.append(char)
    pairs.append(pair)
    for chars in pairs:
        if not chars:
            continue
        split = chars.index(None) if None in chars else len(chars)
        key = "".join(c for c in chars[:split] if c is not None).strip()
        value = "".join("=" if c is None else c for c in chars[split + 1:])
        if not key:
            raise ApiError(f"context entry {''.join(c or '=' for c in chars)[:40]!r} has no key.")
        context[key] = value
    try:
        return context_clean(context)
    except ValidationError as exc:
        raise ApiError(exc.messages[0]) from None


def _folder(params, name: str) -> str:
    value = _text(params, name).strip("/")
    if "\x00" in value or len(value) > PUBLIC_ID_MAX_LENGTH:
        raise ApiError(f"{name} must be at most {PUBLIC_ID_MAX_LENGTH} characters, without NUL.")
    return value


def _filename_public_id(name: str, *, unique: bool) -> str:
    """Cloudinary's use_filename: the file's name without its extension, made URL-safe, and unless
    unique_filename=false, `_` and 6 random characters."""
    stem = re.sub(r"[^A-Za-z0-9_.\-]+", "_", PurePosixPath(name.replace("\\", "/")).stem).lstrip(".-")[:80] or "file"
    if unique:
        stem += "_" + "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(6))
    return stem


def _public_id_compose(params, file_name: str) -> str | None:
    """public_id (or use_filename's), after its one prefix: folder (fixed folders), public_id_prefix, or the
    asset_folder (use_asset_folder_as_public_id_prefix). None: the service generates one (no prefix asked)."""
    public_id = _text(params, "public_id")
    if not public_id and _flag(params, "use_filename"):
        public_id = _filename_public_id(_text(params, "filename_override") or file_name,
                                        unique=_flag(params, "unique_filename", default=True))
    else:
        _flag(params, "unique_filename")  # checked; without use_filename it changes nothing, as on Cloudinary
    prefixes = {name: value for name, value in (
        ("folder", _folder(params, "folder")), ("public_id_prefix", _folder(params, "public_id_prefix")),
        ("use_asset_folder_as_public_id_prefix",
         _folder(params, "asset_folder") if _flag(params, "use_asset_folder_as_public_id_prefix") else ""),
    ) if value}
    if _flag(params, "use_asset_folder_as_public_id_prefix") and not _folder(params, "asset_folder"):
        raise ApiError("use_asset_folder_as_public_id_prefix needs an asset_folder.")
    if len(prefixes) > 1:
        raise ApiError(f"Give one of {', '.join(prefixes)}: each prefixes the public_id (folder in fixed folder "
                       "mode, the others in dynamic folder mode).")
    if not prefixes:
        return public_id or None
    return f"{next(iter(prefixes.values()))}/{public_id or _public_id_random()}"


def _public_id_random() -> str:
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(20))


def upload_arguments(params, files, headers) -> dict:
    """Keyword arguments of medialib.services.asset_upload (but `uploaded_by`), and `addons`, `auto_tagging`,
    `eager`, `eager_async` and `faces` for the view."""
    _unsupported_refuse(params)
    _whole_file_check(headers)
    file = upload_file(params, files)
    allowed_formats = None
    if "allowed_formats" in params:
        aliases = {"jpeg": "jpg", "jpe": "jpg", "tif": "tiff", "heif": "heic"}
        allowed_formats = [aliases.get(f.lower(), f.lower()) for f in _list(params, "allowed_formats")]
    folder, asset_folder = _folder(params, "folder"), _folder(params, "asset_folder")
    return {
        "file": file,
        "public_id": _public_id_compose(params, file.name),
        "tags": _list(params, "tags"),
        "original_filename": "" if _flag(params, "discard_original_filename")
        else _text(params, "filename_override") or file.name,
        # Cloudinary replaces an image whose public_id is given and taken, unless overwrite=false.
        "overwrite": _flag(params, "overwrite", default=True),
        "context": context_parse(_text(params, "context")) if "context" in params else None,
        # In fixed folder mode the folder is where the image shows, as asset_folder is in dynamic folder mode.
        "asset_folder": (asset_folder or folder) if ("asset_folder" in params or folder) else None,
        "allowed_formats": allowed_formats,
        "faces": _flag(params, "faces"),
        # Cloudinary's async: answer at once; otherwise the add-ons' results are waited for (MEDIALIB_API_RESULT_WAIT_SECONDS).
        "async_": _flag(params, "async"),
        "notification_url": notification_url_argument(params),
        **addons_arguments(params),
        **eager_arguments(params),
    }


def explicit_arguments(params) -> dict:
    """`public_id`, `tags` (None: not given; Cloudinary's explicit replaces the manual tags, add-on tags stay), and
    the keyword arguments of tagging.services.analysis.analysis_rerun (but `asset` and `user`)."""
    _unsupported_refuse(params, implemented=EXPLICIT_IMPLEMENTED)
    public_id = _text(params, "public_id")
    if not public_id:
        raise ApiError("Missing required parameter - public_id")
    tags = _list(params, "tags") if "tags" in params else None
    arguments = {"public_id": public_id, "tags": tags, **addons_arguments(params), **eager_arguments(params),
                 "async_": _flag(params, "async"), "notification_url": notification_url_argument(params)}
    if not arguments["addons"] and not arguments["eager"] and tags is None:
        raise ApiError("explicit needs at least one add-on (categorization, detection), eager transformations "
                       "or tags.")
    if arguments["notification_url"] and not arguments["addons"]:
        raise ApiError("notification_url on explicit tells of the add-ons' results: add categorization or "
                       "detection (eager renditions are in the answer).")
    return arguments


def _public_ids(params) -> list[str]:
    public_ids = _list(params, "public_ids")
    if not public_ids:
        raise ApiError("Missing required parameter - public_ids")
    return public_ids


def _call_refuse(params, allowed: set[str]) -> None:
    """The tags, context, rename and destroy calls: a 400 naming what they cannot honour."""
    allowed = allowed | {"api_key", "timestamp", "signature", "type", "invalidate"}
    given = [name[:40] for name in params if name not in allowed]
    if given:
        reasons = {"notification_url": TAGS_NOTIFICATION_REASON,
                   "batch_id": "batch notifications are not implemented",
                   "metadata": "structured metadata is not implemented; use context"}
        raise ApiError("This server does not support the parameter(s): "
                       + "; ".join(f"{n} ({reasons.get(n, 'not available on this call')})" for n in given) + ".")
    kind = _text(params, "type") or "upload"
    if kind != "upload":
        raise ApiError(f"type {kind!r} is not supported: this server stores every image as type 'upload'.")


TAGS_NOTIFICATION_REASON = ("tag and context calls send no per-call notification (the SDKs leave it unsigned); "
                            "the library-wide notification URL hears of uploads, add-on results, renames and deletes")


def unsigned_notification_refuse(params) -> None:
    """The SDKs send notification_url and batch_id with tags and context unsigned: refused before the signature is
    checked, which would otherwise call them a bad signature."""
    given = [name for name in ("notification_url", "batch_id") if params.get(name)]
    if given:
        raise ApiError(f"This server does not support the parameter(s): {', '.join(given)} "
                       f"({TAGS_NOTIFICATION_REASON}).")


def tags_arguments(params) -> dict:
    """`command`, `tags` and `public_ids` of a tags call (add_tag, remove_tag, replace_tag, remove_all_tags)."""
    _call_refuse(params, {"tag", "public_ids", "command"})
    command = _text(params, "command")
    if command == "set_exclusive":
        raise ApiError("command 'set_exclusive' (add_tag(exclusive=True)) is not supported: it would take the tag "
                       "off every other image, other people's too. Use remove_tag on the images to leave out.")
    return {"command": command, "tags": _list(params, "tag"), "public_ids": _public_ids(params)}


def context_arguments(params) -> dict:
    """`command`, `context` and `public_ids` of a context call (uploader.add_context, remove_all_context)."""
    _call_refuse(params, {"context", "public_ids", "command"})
    command = _text(params, "command")
    context = context_parse(_text(params, "context")) if command == "add" else None
    return {"command": command, "context": context, "public_ids": _public_ids(params)}


def rename_arguments(params) -> dict:
    # `context` asks for the context in the answer, where it always is.
    _call_refuse(params, {"from_public_id", "to_public_id", "overwrite", "to_type", "context", "notification_url"})
    to_type = _text(params, "to_type") or "upload"
    if to_type != "upload":
        raise ApiError(f"to_type {to_type!r} is not supported: this server stores every image as type 'upload'.")
    from_public_id, to_public_id = _text(params, "from_public_id"), _text(params, "to_public_id")
    if not from_public_id or not to_public_id:
        raise ApiError(f"Missing required parameter - {'from_public_id' if not from_public_id else 'to_public_id'}")
    return {"from_public_id": from_public_id, "to_public_id": to_public_id, "overwrite": _flag(params, "overwrite"),
            "notification_url": notification_url_argument(params)}


def destroy_arguments(params) -> dict:
    _call_refuse(params, {"public_id", "notification_url"})
    public_id = _text(params, "public_id")
    if not public_id:
        raise ApiError("Missing required parameter - public_id")
    return {"public_id": public_id, "notification_url": notification_url_argument(params)}
