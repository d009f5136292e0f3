"""The admin: assets listed with their thumbnails and tags."""
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from .models import Asset, AssetTag, Rendition, Tag
from .selectors import rendition_for

# The library's tags are medialib.Tag; django-taggit's own model stays empty, so keep it out of the way.
try:
    import taggit.models

    admin.site.unregister(taggit.models.Tag)
except admin.sites.NotRegistered:  # taggit not yet loaded its admin, or already gone
    pass


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "usage_count", "blocked"]
    list_filter = ["blocked"]
    search_fields = ["name"]
    readonly_fields = ["usage_count"]
    ordering = ["name"]


class AssetTagInline(admin.TabularInline):
    model = AssetTag
    extra = 0
    autocomplete_fields = ["tag"]
    fields = ["tag", "source", "confidence"]


class RenditionInline(admin.TabularInline):
    model = Rendition
    extra = 0
    can_delete = False
    readonly_fields = ["spec", "version", "width", "height", "file", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ["thumbnail", "public_id", "format", "dimensions", "tag_list", "uploaded_by", "created_at"]
    list_display_links = ["thumbnail", "public_id"]
    list_filter = ["format", "created_at"]
    search_fields = ["public_id", "original_filename", "sha256"]
    readonly_fields = [
        "thumbnail", "file", "format", "width", "height", "frames", "bytes", "sha256", "version",
        "uploaded_by", "created_at", "updated_at",
    ]
    exclude = ["tags"]
    inlines = [AssetTagInline, RenditionInline]
    list_per_page = 50
    actions = ["analyse"]

    @admin.action(description="Analyse with both add-ons (auto-tagging at 0.6)", permissions=["change"])
    def analyse(self, request, queryset):
        from tagging.addons import ADDONS
        from tagging.services import analysis_request

        for asset in queryset:
            analysis_request(asset=asset, addons=list(ADDONS), auto_tagging=0.6)
        self.message_user(request, f"Queued {queryset.count()} asset(s) for analysis.")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("uploaded_by").prefetch_related(
            "renditions", "tagged_items__tag"
        )

    @admin.display(description="Image")
    def thumbnail(self, obj):
        if obj.pk is None or rendition_for(obj, "thumb") is None:
            return "—"
        url = reverse("medialib:asset_rendition", args=[obj.pk, "thumb", obj.version])
        return format_html('<img src="{}" alt="" style="max-height:80px;max-width:120px">', url)

    @admin.display(description="Size")
    def dimensions(self, obj):
        return f"{obj.width}×{obj.height}"

    @admin.display(description="Tags")
    def tag_list(self, obj):
        return format_html_join(", ", "{}", ((item.tag.name,) for item in obj.tagged_items.all()))
