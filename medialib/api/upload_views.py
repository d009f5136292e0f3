"""The Upload API calls that change existing images: tags, context, rename and destroy, signed as the SDKs sign."""
from __future__ import annotations

from django.db import transaction

from medialib.asset_edits import asset_rename, assets_context_command, assets_tags_command
from medialib.models import Asset
from medialib.notifications import (context_changed_notify, contexts_watch, deleted_notify, notifications_wanted,
                                    renamed_notify, tags_changed_notify, tags_watch)
from medialib.selectors import assets_visible_to
from medialib.services import asset_delete

from . import auth, params
from .params import form_params
from .responses import api_response, resource_response
from .services import signed_write_once
from .views import api_endpoint


def _visible(public_id: str, user) -> Asset | None:
    # No public_id holds NUL (validate_public_id), and PostgreSQL refuses to compare text holding one.
    return assets_visible_to(user).filter(public_id=public_id).first() if "\x00" not in public_id else None


def _told(change, *, public_ids, watch, notify):
    """Run `change` in one transaction with its notification: the library-wide URL hears what it changed (`watch`
    reads the images before it, `notify` tells the difference after), with the change or not at all."""
    with transaction.atomic():
        before = watch(public_ids=public_ids) if notifications_wanted() else None
        changed = change()
        if before:
            notify(before=before)
    return changed


@api_endpoint("POST")
def image_tags(request):
    params.unsigned_notification_refuse(form_params(request))
    key, form = auth.signed_request_authenticate(request)
    arguments = params.tags_arguments(form)
    changed = _told(lambda: assets_tags_command(**arguments, user=key.user), public_ids=arguments["public_ids"],
                    watch=tags_watch, notify=tags_changed_notify)
    return api_response({"public_ids": changed})


@api_endpoint("POST")
def image_context(request):
    params.unsigned_notification_refuse(form_params(request))
    key, form = auth.signed_request_authenticate(request)
    arguments = params.context_arguments(form)
    changed = _told(lambda: assets_context_command(**arguments, user=key.user), public_ids=arguments["public_ids"],
                    watch=contexts_watch, notify=context_changed_notify)
    return api_response({"public_ids": changed})


@api_endpoint("POST")
def image_rename(request):
    key, form = auth.signed_request_authenticate(request)
    arguments = params.rename_arguments(form)

    def rename() -> str:
        asset = _visible(arguments["from_public_id"], key.user)
        if asset is None:
            raise Asset.DoesNotExist(f"Resource not found - {arguments['from_public_id'][:255]}")
        with transaction.atomic():
            renamed = asset_rename(asset=asset, to_public_id=arguments["to_public_id"], user=key.user,
                                   overwrite=arguments["overwrite"])
            renamed_notify(asset=renamed, from_public_id=arguments["from_public_id"],
                           url=arguments["notification_url"], api_key=key)
        return renamed.public_id

    # A replay answers with the renamed image rather than "not found" for the name it no longer has.
    public_id, _ = signed_write_once(key=key, action="rename", signature=form["signature"], write=rename)
    asset = _visible(public_id, key.user)
    if asset is None:
        raise Asset.DoesNotExist(f"Resource not found - {public_id}")
    return resource_response(asset, request=request, secret=key.secret, addons=[])


@api_endpoint("POST")
def image_destroy(request):
    key, form = auth.signed_request_authenticate(request)
    arguments = params.destroy_arguments(form)
    asset = _visible(arguments["public_id"], key.user)
    if asset is None:
        return api_response({"result": "not found"})  # Cloudinary's answer, with 200
    with transaction.atomic():
        asset_delete(asset=asset, user=key.user)  # only the owner or staff (PermissionDenied: 403)
        deleted_notify(assets=[asset], url=arguments["notification_url"], api_key=key)
    return api_response({"result": "ok"})
