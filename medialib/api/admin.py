"""API keys in the admin (the secret is shown once, on the page that follows creation, and never again), the
library-wide notification URL, and the webhooks sent with each attempt."""
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Subquery
from django.template.response import TemplateResponse

from medialib.notifications import webhooks_send_again
from medialib.webhooks import WebhookUrlError, notification_url_check

from .models import ApiKey, NotificationSettings, WebhookAttempt, WebhookDelivery
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
            return ["name", "user"]  # its webhooks are signed with SHA-1 until it is changed to SHA-256
        return ["name", "user", "is_active", "signature_algorithm", "key", "created_at", "last_used_at"]

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


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = readonly_fields = ["started_at", "response_status", "duration_ms", "error"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "notification_type", "url", "status", "attempts", "last_status", "response_time",
                    "next_attempt_at"]
    list_filter = ["status", "notification_type"]
    search_fields = ["url"]
    date_hierarchy = "created_at"
    fields = readonly_fields = ["url", "notification_type", "status", "attempts", "last_status", "last_error",
                                "next_attempt_at", "created_at", "sent_at", "api_key", "payload"]
    inlines = [WebhookAttemptInline]
    actions = ["send_again"]

    def get_queryset(self, request):
        last = WebhookAttempt.objects.filter(delivery=OuterRef("pk")).order_by("-started_at")
        return super().get_queryset(request).select_related("api_key").annotate(
            last_duration_ms=Subquery(last.values("duration_ms")[:1]))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # read only, but for the action (which needs the change permission: see send_again)

    @admin.display(description="Response time", ordering="last_duration_ms")
    def response_time(self, obj):
        return "–" if obj.last_duration_ms is None else f"{obj.last_duration_ms} ms"

    @admin.action(description="Send again", permissions=["send"])
    def send_again(self, request, queryset):
        count = webhooks_send_again(deliveries=queryset)
        self.message_user(request, f"{count} webhook(s) queued to be sent again.", messages.SUCCESS)

    def has_send_permission(self, request):
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(admin.ModelAdmin):
    list_display = ["url", "api_key"]
    fields = ["url", "api_key"]

    def has_add_permission(self, request):
        return not NotificationSettings.objects.exists()  # one row: the library's

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)

        def clean_url(self):
            url = self.cleaned_data["url"].strip()
            if url:
                try:
                    notification_url_check(url)
                except WebhookUrlError as exc:
                    raise ValidationError(str(exc)) from None
            return url

        form.clean_url = clean_url
        return form
