"""The Admin API (HTTP Basic with the key and secret): listing, reading, updating and deleting images, tags,
ping and usage, as cloudinary.api sends them.

Permissions: a key acts as its user. Reads follow assets_visible_to (another's image in private mode is "not
found"). Updates and deletes of named images need asset_can_edit for each one: a call naming an image of someone
else is refused whole (403, nothing changed). Deletes by prefix, by tag and delete_all act on the key user's own
images only (staff: on all), since Cloudinary has no per-user rights to say otherwise.
"""
from __future__ import annotations

from datetime import UTC

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from medialib import selectors
from medialib.models import Asset
from medialib.notifications import (context_changed_notify, contexts_watch, deleted_notify, notification_request,
                                    notifications_wanted, tags_changed_notify, tags_watch)
from medialib.services import asset_details_update, assets_delete
from tagging.selectors import asset_info, face_boxes
from tagging.services.analysis import analysis_rerun, analysis_wait

from . import admin_params as p
from . import auth
from .responses import ApiError, api_response, resource_data, resource_response
from .views import api_endpoint


def _asset(public_id: str, user) -> Asset:
    """The asset, if the key's user may see it (MEDIALIB_VISIBILITY): another's is "not found", as on the pages."""
    # No public_id holds NUL (validate_public_id), and PostgreSQL refuses to compare text holding one.
    asset = selectors.assets_visible_to(user).filter(public_id=public_id).first() if "\x00" not in public_id else None
    if asset is None:
        raise Asset.DoesNotExist(f"Resource not found - {public_id[:255].replace(chr(0), '')}")
    return asset


def _page_response(request, key, page: selectors.AssetsPage, params, kind: str):
    """A listing page: each resource as Cloudinary lists it (tags and context only when asked), with next_cursor."""
    with_tags, with_context = p.boolean(params, "tags"), p.boolean(params, "context")
    tags = selectors.asset_tag_names([asset.pk for asset in page.assets]) if with_tags else {}
    resources = []
    for asset in page.assets:
        data = resource_data(asset, request=request, secret=key.secret, info=None, tags=tags.get(asset.pk, []))
        for name in ("signature", "original_filename", "placeholder"):
            data.pop(name)
        if not with_tags:
            data.pop("tags")
        if with_context:
            data.setdefault("context", {"custom": {}})
        else:
            data.pop("context", None)
        resources.append(data)
    answer = {"resources": resources}
    if page.next_key is not None:
        answer["next_cursor"] = p.cursor_encode(kind, list(page.next_key))
    return api_response(answer)


def _listing(request, key, params, *, tag: str | None = None):
    p.unsupported_refuse(params, p.UNSUPPORTED_LIST)
    prefix = p.text(params, "prefix") if tag is None else None
    descending = p.direction(params)
    if tag is not None:
        kind = f"tag:{'d' if descending else 'a'}"
        after = p.cursor_decode(params, kind, size=2)
    else:
        kind = "prefix" if prefix is not None else f"created:{'d' if descending else 'a'}"
        after = p.cursor_decode(params, kind)
    page = selectors.assets_page(user=key.user, limit=p.max_results(params), after=after and tuple(after),
                                 descending=descending, prefix=prefix, tag=tag, start_at=p.start_at(params))
    return _page_response(request, key, page, params, kind)


def _by_ids(request, key, params, *, field: str, values: list[str]):
    """resources_by_ids / by_asset_ids: the visible ones among those named, in the order given."""
    p.unsupported_refuse(params, p.UNSUPPORTED_LIST)
    if len(values) > p.MAX_RESULTS_LIMIT:
        raise ApiError(f"At most {p.MAX_RESULTS_LIMIT} {field}s per call; {len(values)} were given.")
    found = {getattr(asset, field): asset
             for asset in selectors.assets_visible_to(key.user).filter(**{f"{field}__in": values})}
    page = selectors.AssetsPage(assets=[found[v] for v in dict.fromkeys(values) if v in found], next_key=None)
    return _page_response(request, key, page, params, field)


def _delete(assets: list[Asset], *, key, named: list[str] | None = None, more: bool = False, kind: str = "",
            notification_url: str = "") -> dict:
    """Cloudinary's delete answer: {"deleted": {public_id: "deleted"|"not_found"}, "partial": ...}, with
    next_cursor when a bulk delete stopped at its limit of DELETE_LIMIT images."""
    with transaction.atomic():
        deleted = assets_delete(assets=assets, user=key.user)
        deleted_notify(assets=assets, url=notification_url, api_key=key)
    answer: dict = {"deleted": {public_id: "deleted" for public_id in deleted}}
    for public_id in named or []:
        answer["deleted"].setdefault(public_id, "not_found")
    answer["deleted_counts"] = {public_id: {"original": 1, "derived": derived} for public_id, derived in deleted.items()}
    answer["partial"] = more
    if more and assets:
        answer["next_cursor"] = p.cursor_encode(kind, [assets[-1].pk])
    return answer


def _bulk_delete(request, key, params, queryset, *, kind: str, notification_url: str = ""):
    """Delete the key user's own images (staff: all) among `queryset`, DELETE_LIMIT at a time, oldest first."""
    after = p.cursor_decode(params, kind)
    mine = queryset.filter(pk__in=selectors.assets_editable_by(key.user).values("pk"))
    if after is not None:
        mine = mine.filter(pk__gt=after[0])
    rows = list(mine.order_by("pk")[: p.DELETE_LIMIT + 1])
    return api_response(_delete(rows[: p.DELETE_LIMIT], key=key, more=len(rows) > p.DELETE_LIMIT, kind=kind,
                                notification_url=notification_url))


def _delete_params(params) -> str:
    """Refuses what a delete cannot honour; returns its notification_url (checked), "" when none."""
    p.unsupported_refuse(params, p.UNSUPPORTED_DELETE)
    # `invalidate` asks a CDN to drop its copies: this server has none, and its own renditions go with the image.
    return p.notification_url_argument(params)


@api_endpoint("GET")
def ping(request):
    auth.basic_authenticate(request)
    return api_response({"status": "ok"})


@api_endpoint("GET")
def usage(request):
    key = auth.basic_authenticate(request)
    counts = selectors.library_usage(user=key.user)
    storage = counts["bytes"] + counts["derived_bytes"]
    return api_response({
        "plan": "Self-hosted",
        "last_updated": timezone.now().astimezone(UTC).strftime("%Y-%m-%d"),
        "resources": counts["resources"],
        "derived_resources": counts["derived_resources"],
        "objects": {"usage": counts["resources"] + counts["derived_resources"]},
        "storage": {"usage": storage},
        "media_limits": {"image_max_size_bytes": settings.MEDIALIB_MAX_UPLOAD_BYTES},
    })


@api_endpoint("GET")
def tags(request):
    key = auth.basic_authenticate(request)
    params = p.request_params(request)
    after = p.cursor_decode(params, "tags")
    names, last = selectors.tag_names_page(user=key.user, limit=p.max_results(params),
                                           prefix=p.text(params, "prefix") or "", after=after and after[0])
    answer: dict = {"tags": names}
    if last is not None:
        answer["next_cursor"] = p.cursor_encode("tags", [last])
    return api_response(answer)


@api_endpoint("GET")
def resources(request):
    """GET resources/image: every image (this server has only the `upload` type)."""
    key = auth.basic_authenticate(request)
    return _listing(request, key, p.request_params(request))


@api_endpoint("GET", "DELETE")
def resources_by_type(request, kind: str):
    """resources/image/<type>: list (GET, or by `public_ids` resources_by_ids); delete by `public_ids`, by `prefix`
    or `all` (DELETE)."""
    p.listing_type(kind)
    key = auth.basic_authenticate(request)
    params = p.request_params(request)
    public_ids = p.text_list(params, "public_ids")
    if request.method == "GET":
        if public_ids:
            return _by_ids(request, key, params, field="public_id", values=public_ids)
        return _listing(request, key, params)
    notification_url = _delete_params(params)
    prefix = p.text(params, "prefix")
    if public_ids:
        if len(public_ids) > p.DELETE_LIMIT:
            raise ApiError(f"At most {p.DELETE_LIMIT} public_ids per call; {len(public_ids)} were given.")
        named = list(dict.fromkeys(public_ids))
        assets = list(selectors.assets_visible_to(key.user).filter(public_id__in=named))
        return api_response(_delete(assets, key=key, named=named, notification_url=notification_url))
    if prefix:
        return _bulk_delete(request, key, params, Asset.objects.filter(public_id__startswith=prefix), kind="dprefix",
                            notification_url=notification_url)
    if p.boolean(params, "all"):
        return _bulk_delete(request, key, params, Asset.objects.all(), kind="dall", notification_url=notification_url)
    raise ApiError("Missing required parameter - public_ids (or prefix, or all=true to delete all your images)")


@api_endpoint("GET", "DELETE")
def resources_by_tag(request, tag: str):
    key = auth.basic_authenticate(request)
    params = p.request_params(request)
    if request.method == "GET":
        return _listing(request, key, params, tag=tag)
    notification_url = _delete_params(params)
    return _bulk_delete(request, key, params, Asset.objects.filter(tagged_items__tag__name=tag), kind="dtag",
                        notification_url=notification_url)


@api_endpoint("GET")
def resources_by_asset_ids(request):
    key = auth.basic_authenticate(request)
    params = p.request_params(request)
    asset_ids = p.text_list(params, "asset_ids")
    if not asset_ids:
        raise ApiError("Missing required parameter - asset_ids")
    return _by_ids(request, key, params, field="asset_id", values=asset_ids)


@api_endpoint("DELETE")
def resources_delete_by_asset_ids(request):
    key = auth.basic_authenticate(request)
    params = p.request_params(request)
    notification_url = _delete_params(params)
    asset_ids = list(dict.fromkeys(p.text_list(params, "asset_ids")))
    if not asset_ids:
        raise ApiError("Missing required parameter - asset_ids")
    if len(asset_ids) > p.DELETE_LIMIT:
        raise ApiError(f"At most {p.DELETE_LIMIT} asset_ids per call; {len(asset_ids)} were given.")
    assets = list(selectors.assets_visible_to(key.user).filter(asset_id__in=asset_ids))
    by_asset_id = {asset.asset_id: asset.public_id for asset in assets}
    answer = _delete(assets, key=key, notification_url=notification_url)
    # Cloudinary answers by_asset_ids deletes keyed by asset_id.
    answer["deleted"] = {a: "deleted" if a in by_asset_id else "not_found" for a in asset_ids}
    answer["deleted_counts"] = {a: answer["deleted_counts"][public_id] for a, public_id in by_asset_id.items()}
    return api_response(answer)


@api_endpoint("GET", "POST", "PUT")
def resource(request, kind: str, public_id: str):
    """resources/image/upload/<public_id>: the resource (GET, with faces, colors, image_metadata, pages when
    asked), or update it (POST as the SDKs send it, or PUT): tags, context, asset_folder, and the add-ons."""
    p.listing_type(kind)
    key = auth.basic_authenticate(request)
    params = p.request_params(request)
    asset = _asset(public_id, key.user)
    if request.method == "GET":
        return _details(request, key, asset, params)
    arguments = p.update_arguments(params)
    addons, auto_tagging = arguments.pop("addons"), arguments.pop("auto_tagging")
    notification = notification_request(url=arguments.pop("notification_url"), api_key=key, host=request.get_host())
    with transaction.atomic():
        watched = notifications_wanted()  # the library-wide URL hears the tags and context changed, with the change
        tags_before = tags_watch(public_ids=[asset.public_id]) if watched else None
        context_before = contexts_watch(public_ids=[asset.public_id]) if watched else None
        asset = asset_details_update(asset=asset, user=key.user, **arguments)  # PermissionDenied: another's
        if watched:
            tags_changed_notify(before=tags_before)
            context_changed_notify(before=context_before)
        if addons:
            # Exactly as explicit does: the worker runs them, and the answer waits for their results a while.
            analysis_rerun(asset=asset, user=key.user, addons=addons, auto_tagging=auto_tagging,
                           notification=notification)
    if addons and settings.MEDIALIB_API_RESULT_WAIT_SECONDS > 0:
        analysis_wait(asset_id=asset.pk, addons=addons, timeout=settings.MEDIALIB_API_RESULT_WAIT_SECONDS)
        asset = _asset(public_id, key.user)
    return resource_response(asset, request=request, secret=key.secret, with_data=True)


def _details(request, key, asset: Asset, params):
    p.unsupported_refuse(params, p.UNSUPPORTED_DETAILS)
    data = resource_data(asset, request=request, secret=key.secret, info=asset_info(asset))
    if p.boolean(params, "faces"):
        data["faces"] = [list(box) for box in face_boxes(asset)]
    if p.boolean(params, "colors"):
        data["colors"] = [[color, share] for color, share in selectors.asset_colors(asset)]
    if p.boolean(params, "image_metadata"):
        data["image_metadata"] = selectors.asset_image_metadata(asset)
    if p.boolean(params, "pages"):
        data["pages"] = asset.frames
    return api_response(data)
