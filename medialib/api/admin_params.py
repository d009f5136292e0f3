"""Reading the Admin API's parameters as the Cloudinary SDKs send them: a query string for GET (lists as `k[]`),
a JSON body (Python SDK) or a urlencoded form (Node SDK, curl) for POST, PUT and DELETE."""
from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime

from django.http import QueryDict
from django.utils import timezone

from tagging.addons import addons_parse, auto_tagging_parse

from .params import notification_url_checked
from .responses import ApiError

MAX_RESULTS_DEFAULT = 10
MAX_RESULTS_LIMIT = 500
DELETE_LIMIT = 100  # public_ids per call, and assets per call of the bulk deletes, as Cloudinary
UNSUPPORTED_UPDATE = (
    "moderation_status", "raw_convert", "quality_override", "ocr", "similarity_search", "background_removal",
    "batch_id", "face_coordinates", "custom_coordinates", "regions", "metadata",
    "access_control", "display_name", "unique_display_name", "clear_invalid",
)
UNSUPPORTED_DETAILS = (
    "exif", "media_metadata", "cinemagraph_analysis", "phash", "coordinates", "quality_analysis",
    "accessibility_analysis", "versions", "related", "related_next_cursor", "derived_next_cursor",
)
UNSUPPORTED_LIST = ("metadata", "moderations", "fields")
UNSUPPORTED_DELETE = ("keep_original", "transformations", "batch_id")
LIST_INDEX_RE = re.compile(r"^(?P<name>[\w-]+)\[\d*\]$")


def request_params(request) -> dict:
    """The call's parameters: the query string, and the JSON (or POST form) body. A name given twice is refused."""
    params: dict = {}

    def put(name: str, value) -> None:
        match = LIST_INDEX_RE.match(name)
        if match:  # `k[]` (GET), `k[0]` (form): one list under `k`
            params.setdefault(match["name"], []).append(value)
            return
        if name in params:
            raise ApiError(f"Parameter {name!r} is given more than once.")
        params[name] = value

    for name, values in request.GET.lists():
        for value in values:
            put(name, value)
    body = request.body
    if body:
        if request.content_type == "application/json":
            try:
                data = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                raise ApiError("The request body is not valid JSON.") from None
            if not isinstance(data, dict):
                raise ApiError("The request body must be a JSON object of parameters.")
            for name, value in data.items():
                put(name, value)
        elif request.content_type == "application/x-www-form-urlencoded":
            # The Node SDK sends its POST and DELETE parameters so; Django parses such a body for POST only.
            for name, values in QueryDict(body, encoding=request.encoding).lists():
                for value in values:
                    put(name, value)
        elif request.method == "POST":
            for name, values in request.POST.lists():
                for value in values:
                    put(name, value)
    _nul_refuse(params)
    return params


def _nul_refuse(value, name: str = "") -> None:
    # PostgreSQL cannot store or even compare text holding NUL: refused before any lookup.
    if isinstance(value, dict):
        for key, item in value.items():
            _nul_refuse(key, str(key))
            _nul_refuse(item, str(key))
    elif isinstance(value, list):
        for item in value:
            _nul_refuse(item, name)
    elif isinstance(value, str) and "\x00" in value:
        raise ApiError(f"Parameter {name.replace(chr(0), '')[:40]!r} contains a NUL character (\\x00); remove it.")


def boolean(params, name: str) -> bool:
    value = params.get(name)
    if value in (None, "", False, "false", "0", 0):
        return False
    if value in (True, "true", "1", 1):
        return True
    raise ApiError(f"{name} must be true or false, not {str(value)[:20]!r}.")


def text(params, name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, list | dict):
        raise ApiError(f"{name} must be a single value.")
    return str(value)


def text_list(params, name: str) -> list[str]:
    value = params.get(name)
    if value is None or value == "":
        return []
    values = value if isinstance(value, list) else str(value).split(",")
    return [str(v).strip() for v in values if str(v).strip()]


def max_results(params, *, default: int = MAX_RESULTS_DEFAULT, limit: int = MAX_RESULTS_LIMIT) -> int:
    value = params.get("max_results")
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if not 1 <= number <= limit:
        raise ApiError(f"max_results must be a whole number from 1 to {limit}, not {str(value)[:20]!r}.")
    return number


def unsupported_refuse(params, names) -> None:
    given = [name for name in names if params.get(name) not in (None, "", False, "false", [])]
    if given:
        raise ApiError(f"This server does not support the parameter(s): {', '.join(given)}.")


def cursor_encode(kind: str, key) -> str | None:
    """An opaque next_cursor: which listing it belongs to and the key of the last row given."""
    if key is None:
        return None
    return base64.urlsafe_b64encode(json.dumps([kind, key]).encode()).decode().rstrip("=")


def cursor_decode(params, kind: str, *, size: int = 1) -> list | None:
    value = text(params, "next_cursor")
    if not value:
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        ok = (isinstance(decoded, list) and len(decoded) == 2 and decoded[0] == kind
              and isinstance(decoded[1], list) and len(decoded[1]) == size
              and all(isinstance(part, str | int) for part in decoded[1]))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        ok = False
    if not ok:
        raise ApiError("Invalid next_cursor: pass the next_cursor of the previous answer to the same call.")
    return decoded[1]


def direction(params) -> bool:
    """True for newest first: Cloudinary's default (desc or -1); asc or 1 for oldest first."""
    value = str(params.get("direction") or "desc").lower()
    if value in ("desc", "-1"):
        return True
    if value in ("asc", "1"):
        return False
    raise ApiError(f"direction must be asc or desc (1 or -1), not {value[:20]!r}.")


def start_at(params) -> datetime | None:
    value = text(params, "start_at")
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(f"start_at must be an ISO 8601 date and time, not {value[:40]!r}.") from None
    return moment if moment.tzinfo else timezone.make_aware(moment, timezone.utc)


def listing_type(kind: str | None) -> None:
    if kind not in (None, "upload"):
        raise ApiError(f"type {kind[:40]!r} is not supported: this server stores every image as type 'upload'.")


def context_parse(value) -> dict[str, str]:
    """Cloudinary's context as the SDKs send it: "key=value|key2=value2", with `=` and `|` in values escaped by a
    backslash (cloudinary.utils.encode_context); a JSON object is taken as it is."""
    if isinstance(value, dict):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    if not isinstance(value, str):
        raise ApiError("context must be key=value pairs separated by |.")
    context: dict[str, str] = {}
    for pair in re.split(r"(?<!\\)\|", value):
        if not pair:
            continue
        parts = re.split(r"(?<!\\)=", pair, maxsplit=1)
        if len(parts) != 2:
            raise ApiError(f"context {pair[:40]!r} is not a key=value pair.")
        key, item = parts
        context[key.replace("\\=", "=").replace("\\|", "|")] = item.replace("\\=", "=").replace("\\|", "|")
    return context


def update_arguments(params) -> dict:
    """What update changes: `tags`, `context`, `asset_folder` (each None when not given), `addons`, `auto_tagging`."""
    unsupported_refuse(params, UNSUPPORTED_UPDATE)
    addons = addons_parse(categorization=text(params, "categorization") or "", detection=text(params, "detection") or "")
    auto_tagging = auto_tagging_parse(text(params, "auto_tagging") or None)
    if auto_tagging is not None and not addons:
        raise ApiError("auto_tagging needs an add-on to take tags from: add categorization or detection.")
    notification_url = notification_url_argument(params)
    if notification_url and not addons:
        raise ApiError("notification_url on update tells of the add-ons' results: add categorization or detection.")
    return {
        "tags": text_list(params, "tags") if "tags" in params else None,
        "context": context_parse(params["context"]) if "context" in params else None,
        "asset_folder": text(params, "asset_folder"),
        "addons": addons,
        "auto_tagging": auto_tagging,
        "notification_url": notification_url,
    }


def notification_url_argument(params) -> str:
    """notification_url, checked now: a 400 that says why one may not be reached; "" when none is given."""
    return notification_url_checked(text(params, "notification_url") or "")
