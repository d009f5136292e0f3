"""Routes of the Cloudinary-compatible API, as the SDKs build them: /v1_1/<cloud>/<resource_type>/<action>."""
from django.urls import path, re_path

from . import admin_views, search_views, upload_views, views

app_name = "medialib_api"

urlpatterns = [
    path("v1_1/<str:cloud>/image/upload", views.image_upload, name="image_upload"),
    path("v1_1/<str:cloud>/image/explicit", views.image_explicit, name="image_explicit"),
    path("v1_1/<str:cloud>/image/tags", upload_views.image_tags, name="image_tags"),
    path("v1_1/<str:cloud>/image/context", upload_views.image_context, name="image_context"),
    path("v1_1/<str:cloud>/image/rename", upload_views.image_rename, name="image_rename"),
    path("v1_1/<str:cloud>/image/destroy", upload_views.image_destroy, name="image_destroy"),
    path("v1_1/<str:cloud>/resources/search", search_views.resources_search, name="resources_search"),
    # The Admin API (admin_views). Tags and public_ids may hold slashes (folders).
    path("v1_1/<str:cloud>/ping", admin_views.ping, name="ping"),
    path("v1_1/<str:cloud>/usage", admin_views.usage, name="usage"),
    path("v1_1/<str:cloud>/tags/image", admin_views.tags, name="tags"),
    path("v1_1/<str:cloud>/resources", admin_views.resources_delete_by_asset_ids, name="resources_by_asset_ids_delete"),
    path("v1_1/<str:cloud>/resources/by_asset_ids", admin_views.resources_by_asset_ids, name="resources_by_asset_ids"),
    path("v1_1/<str:cloud>/resources/image", admin_views.resources, name="resources"),
    path("v1_1/<str:cloud>/resources/image/tags/<path:tag>", admin_views.resources_by_tag, name="resources_by_tag"),
    path("v1_1/<str:cloud>/resources/image/<str:kind>", admin_views.resources_by_type, name="resources_by_type"),
    path("v1_1/<str:cloud>/resources/image/<str:kind>/<path:public_id>", admin_views.resource, name="resource"),
    re_path(r"^v1_1/[^/]+/(?P<resource_type>raw|video|auto)/", views.resource_type_unsupported),
    re_path(r"^v1_1/[^/]+/resources/(?P<resource_type>raw|video)(?:/|$)", views.resource_type_unsupported),
    # Anything else under the API answers in JSON, so an SDK raises NotFound rather than failing to parse HTML.
    re_path(r"^v1_1/", views.not_found),
]
