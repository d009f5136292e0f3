"""URLs of the site: the library's pages, sign-in, and the admin."""
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from . import delivery_views, site_views, views

app_urls = (
    [
        path("", views.gallery, name="gallery"),
        path("upload/", views.upload, name="upload"),
        path("assets/<int:pk>/tags/add/", views.asset_tags_add, name="asset_tags_add"),
        path("assets/<int:pk>/tags/remove/", views.asset_tag_remove, name="asset_tag_remove"),
        path("assets/<int:pk>/delete/", views.asset_delete, name="asset_delete"),
        path("assets/<int:pk>/analysis.json", views.asset_analysis, name="asset_analysis"),
        path("assets/analysis.json", views.assets_analysis, name="assets_analysis"),
        path("assets/viewer.json", views.asset_viewer, name="asset_viewer"),
        path("assets/<int:pk>/analysis/rerun/", views.asset_analysis_rerun, name="asset_analysis_rerun"),
        path("files/<int:pk>/original/v<int:version>", views.asset_original, name="asset_original"),
        path("files/<int:pk>/<slug:spec>/v<int:version>.jpg", views.asset_rendition, name="asset_rendition"),
        # Last: a public_id may hold slashes.
        path("asset/<path:public_id>", views.asset_detail, name="asset_detail"),
    ],
    "medialib",
)

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Pages without our <link rel="icon"> (the admin's) make browsers ask for /favicon.ico.
    path("favicon.ico", RedirectView.as_view(url=static("img/favicon.svg"), permanent=True)),
    path("admin/login/", site_views.admin_login, name="admin_login"),
    path("admin/", admin.site.urls),
    path("", include("medialib.api.urls")),
    # Delivery URLs as the SDKs build them, with the cloud name and without it (private_cdn).
    re_path(r"^(?P<cloud>[^/]+)/image/upload/(?P<path>.+)$", delivery_views.delivery, name="delivery"),
    re_path(r"^image/upload/(?P<path>.+)$", delivery_views.delivery, name="delivery_private_cdn"),
    path("", include("tagging.urls")),
    path("", include("search.urls")),
    path("", include(app_urls)),
]

handler400 = "medialib.views.bad_request"
handler403 = "medialib.views.permission_denied"
