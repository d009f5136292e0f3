"""The Search API (`POST|GET /v1_1/<cloud>/resources/search`, the SDKs' `Search().expression(...).execute()`):
Cloudinary's expressions (search.expressions) compiled to the search page's query model and SQL
(search.selectors.expression_search), answered in Cloudinary's shape."""
from __future__ import annotations

import json
import time
from datetime import UTC

from medialib.images import image_metadata_read
from search import expressions
from search import query as q
from search.selectors import AGGREGATES, SORT_FIELDS, ExpressionSearchError, SearchTooSlow, expression_search

from . import auth
from .responses import ApiError, api_response, delivery_urls
from .views import api_endpoint

MAX_RESULTS_DEFAULT, MAX_RESULTS_MAX = 50, 500
PARAMETERS = ("expression", "sort_by", "max_results", "next_cursor", "with_field", "fields", "aggregate")
WITH_FIELDS = ("tags", "context", "image_metadata")
# What a resource holds without `fields`; with it, these always come and the named ones are added (Cloudinary's).
RESOURCE_FIELDS = ("asset_id", "public_id", "folder", "asset_folder", "filename", "display_name", "format", "version",
                   "resource_type", "type", "created_at", "uploaded_at", "bytes", "backup_bytes", "width", "height",
                   "aspect_ratio", "pixels", "url", "secure_url", "status", "access_mode", "access_control", "etag")
ALWAYS_FIELDS = ("asset_id", "public_id", "asset_folder", "created_at", "status", "type", "resource_type")


@api_endpoint("GET", "POST")
def resources_search(request):
    started = time.perf_counter()
    key = auth.basic_authenticate(request)
    arguments = _search_arguments(_request_params(request))
    try:
        node = expressions.parse(arguments["expression"])
        page = expression_search(node=node, sort=arguments["sort"], limit=arguments["max_results"],
                                 cursor=arguments["next_cursor"], aggregate=arguments["aggregate"],
                                 with_tags="tags" in (*arguments["with_field"], *arguments["fields"]),
                                 user=key.user)
    except q.QueryError as exc:
        raise ApiError(f"Invalid expression: {exc.message}") from None
    except ExpressionSearchError as exc:
        raise ApiError(str(exc)) from None
    except SearchTooSlow:
        raise ApiError("This search took too long; narrow the expression (a tag or a date).") from None
    data = {
        "total_count": page.total_count,
        "time": round((time.perf_counter() - started) * 1000),
        "resources": [_resource(asset, request=request, with_field=arguments["with_field"],
                                fields=arguments["fields"]) for asset in page.assets],
    }
    if page.next_cursor:
        data["next_cursor"] = page.next_cursor
    if arguments["aggregate"]:
        data["aggregations"] = page.aggregations
    return api_response(data)


def _request_params(request) -> dict:
    """The parameters: the SDKs' JSON body on POST (a form body too), the query string on GET."""
    if request.method == "POST" and request.content_type == "application/json":
        try:
            params = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise ApiError("The request body is not valid JSON.") from None
        if not isinstance(params, dict):
            raise ApiError("The request body must be a JSON object.")
        return params
    source = request.POST if request.method == "POST" else request.GET
    params: dict = {}
    for name, values in source.lists():
        key = name[:-2] if name.endswith("[]") else name
        if key.startswith("sort_by["):  # sort_by[0][created_at]=desc
            field = key.rpartition("[")[2].rstrip("]")
            params.setdefault("sort_by", []).extend({field: value} for value in values)
            continue
        if key == "sort_by":
            for value in values:
                if value.strip().startswith(("[", "{")):
                    try:
                        params.setdefault("sort_by", []).extend(_as_list(json.loads(value)))
                    except ValueError:
                        raise ApiError("sort_by is not valid JSON.") from None
                else:
                    for item in value.split(","):
                        field, _, direction = item.strip().partition(":")
                        params.setdefault("sort_by", []).append({field: direction or "desc"})
            continue
        if key in ("with_field", "fields", "aggregate"):
            params.setdefault(key, []).extend(v.strip() for value in values for v in value.split(",") if v.strip())
            continue
        if len(values) > 1:
            raise ApiError(f"Parameter {key!r} is given more than once.")
        params[key] = values[0]
    return params


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _search_arguments(params: dict) -> dict:
    unknown = sorted(str(name)[:40] for name in params if name not in PARAMETERS)
    if unknown:
        raise ApiError(f"The Search API does not support the parameter(s): {', '.join(unknown)}.")
    expression = params.get("expression") or ""
    if not isinstance(expression, str):
        raise ApiError("expression must be a string.")
    if "\x00" in expression:
        raise ApiError("Invalid expression: it contains a NUL character.")

    max_results = params.get("max_results", MAX_RESULTS_DEFAULT)
    try:
        if isinstance(max_results, bool) or isinstance(max_results, float) and not max_results.is_integer():
            raise ValueError
        max_results = int(max_results)
    except (TypeError, ValueError):
        raise ApiError(f"max_results must be a whole number from 1 to {MAX_RESULTS_MAX}.") from None
    if not 1 <= max_results <= MAX_RESULTS_MAX:
        raise ApiError(f"max_results must be from 1 to {MAX_RESULTS_MAX}, not {max_results}.")

    sort = []
    for item in _as_list(params.get("sort_by") or []):
        if isinstance(item, str):
            item = {item: "desc"}
        if not isinstance(item, dict) or len(item) != 1:
            raise ApiError('sort_by takes fields and directions, like [{"created_at": "desc"}].')
        (field, direction), = item.items()
        direction = str(direction).lower()
        if field not in SORT_FIELDS:
            raise ApiError(f"sort_by {str(field)[:40]!r} is not supported; sort by {', '.join(SORT_FIELDS)}.")
        if direction not in ("asc", "desc"):
            raise ApiError(f"The direction of sort_by {field} is asc or desc, not {direction[:20]!r}.")
        sort.append((field, direction))

    next_cursor = params.get("next_cursor") or None
    if next_cursor is not None and (not isinstance(next_cursor, str) or len(next_cursor) > 2000):
        raise ApiError("next_cursor is not one this search returned.")

    def names(name: str, allowed) -> tuple:
        values = []
        for value in _as_list(params.get(name) or []):
            if isinstance(value, dict):  # the SDKs' newer aggregate form: {"type": "format"}
                if set(value) != {"type"}:
                    raise ApiError(f"{name} with {', '.join(sorted(map(str, value)))[:80]} is not supported; give"
                                   f" the field's name.")
                value = value["type"]
            if not isinstance(value, str) or value not in allowed:
                raise ApiError(f"{name} {str(value)[:40]!r} is not supported; use {', '.join(allowed)}.")
            if value not in values:
                values.append(value)
        return tuple(values)

    return {"expression": expression, "max_results": max_results, "sort": sort, "next_cursor": next_cursor,
            "with_field": names("with_field", WITH_FIELDS), "fields": names("fields", (*RESOURCE_FIELDS,
                                                                                       *WITH_FIELDS)),
            "aggregate": names("aggregate", AGGREGATES)}


def _resource(asset, *, request, with_field: tuple, fields: tuple) -> dict:
    """An asset as Cloudinary's search lists it; with `fields`, only those (and ALWAYS_FIELDS)."""
    wanted = set(fields) | set(ALWAYS_FIELDS) if fields else None

    def want(name: str) -> bool:
        return name in with_field or (wanted is not None and name in wanted) if name in WITH_FIELDS else (
            wanted is None or name in wanted)

    folder, _, filename = asset.public_id.rpartition("/")
    created = asset.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    url, secure_url = delivery_urls(asset, request=request) if want("url") or want("secure_url") else ("", "")
    data = {
        "asset_id": asset.asset_id, "public_id": asset.public_id, "folder": folder,
        "asset_folder": asset.asset_folder, "filename": filename, "display_name": filename,
        "format": asset.format, "version": asset.version, "resource_type": "image", "type": "upload",
        "created_at": created, "uploaded_at": created, "bytes": asset.bytes, "backup_bytes": 0,
        "width": asset.width, "height": asset.height,
        "aspect_ratio": round(asset.width / asset.height, 5) if asset.height else 0,
        "pixels": asset.width * asset.height, "url": url, "secure_url": secure_url, "status": "active",
        "access_mode": "public", "access_control": None, "etag": asset.sha256[:32],
    }
    data = {name: value for name, value in data.items() if want(name)}
    if want("tags"):
        data["tags"] = sorted((item.tag.name for item in asset.tagged_items.all()), key=str.lower)
    if want("context"):
        data["context"] = dict(asset.context or {})
    if want("image_metadata"):
        data["image_metadata"] = image_metadata_read(asset.file.name)
    return data
