"""API keys in the admin: the secret is shown once, on the page that follows creation, and never again."""
from django.conf import settings
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from .models import ApiKey
from .services import api_key_cloudinary_url, api_keys_revoke


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "user", "may", "is_active", "created_at", "last_used_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "key", "user__username"]
    list_select_related = ["user"]
    readonly_fields = ["key", "created_at", "last_used_at"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        # The secret is never a field: not on the add form, not on the change form.
        if obj is None:
            return ["name", "user"]
        return ["name", "user", "is_active", "key", "created_at", "last_used_at"]

    def response_add(self, request, obj, post_url_continue=None):
        upload_prefix = request.build_absolute_uri("/").rstrip("/")
        response = TemplateResponse(
            request,
            "admin/medialib_api/apikey/created.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": f"API key {obj.key} created",
                "api_key": obj,
                "cloudinary_url": api_key_cloudinary_url(obj, upload_prefix=upload_prefix),
            },
        )
        response["Cache-Control"] = "no-store"  # the only page that ever shows the secret
        return response

    @admin.display(description="What it may do")
    def may(self, obj):
        """A key acts as its user (medialib.selectors: assets_visible_to, asset_can_edit): say what that means."""
        user = obj.user
        if not user.is_active:
            return "Nothing: its user is deactivated."
        if user.is_staff:
            return "Upload; read, change and delete every image (staff)."
        sees = "every image" if settings.MEDIALIB_VISIBILITY == "shared" else "its user's images"
        return f"Upload; read {sees}; change and delete only its user's images."

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        count = api_keys_revoke(keys=queryset)
        self.message_user(request, f"Revoked {count} key(s); requests signed with them are refused.", messages.SUCCESS)
