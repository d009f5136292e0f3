"""The admin: assets listed with their thumbnails and tags, and the named transformations of delivery URLs."""
import re

from django import forms
from django.conf import settings
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from . import selectors
from .models import Asset, AssetTag, NamedTransformation, Rendition
from .page_images import page_image
from .transformations import EXTENSIONS, MAX_NAME, Transformation, TransformationError

# The library's tags are medialib.Tag; django-taggit's own model stays empty, so keep it out of the way.
try:
    import taggit.models

    admin.site.unregister(taggit.models.Tag)
except admin.sites.NotRegistered:  # taggit not yet loaded its admin, or already gone
    pass


# Tag's admin (rename, merge, block, synonyms) is moderation's: tagging/admin.py.


class AssetTagInline(admin.TabularInline):
    """The asset's tags with where each came from and whether a moderator approved it.

    Only moderators change them here; removing an add-on's tag rejects it (analysis will not add it back).
    """

    model = AssetTag
    extra = 0
    autocomplete_fields = ["tag"]
    fields = ["tag", "origin", "confidence", "review_state"]
    readonly_fields = ["origin", "confidence", "review_state"]

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def _can_moderate(self, request):
        from tagging.services.tags import user_can_moderate

        return user_can_moderate(request.user)

    def has_add_permission(self, request, obj=None):
        return self._can_moderate(request)

    def has_change_permission(self, request, obj=None):
        return self._can_moderate(request)

    def has_delete_permission(self, request, obj=None):
        return self._can_moderate(request)

    @admin.display(description="Origin")
    def origin(self, obj):
        if obj.pk is None:
            return "manual"
        return "manual (a person)" if obj.source == AssetTag.SOURCE_MANUAL else f"add-on {obj.source}"

    @admin.display(description="Review")
    def review_state(self, obj):
        if obj.pk is None or obj.source == AssetTag.SOURCE_MANUAL:
            return "—"
        if obj.reviewed_at is None:
            return "not reviewed"
        return f"approved by {obj.reviewed_by or 'someone'} {obj.reviewed_at:%Y-%m-%d %H:%M}"


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
        from tagging.services.analysis import analysis_request

        for asset in queryset:
            analysis_request(asset=asset, addons=list(ADDONS), auto_tagging=0.6)
        self.message_user(request, f"Queued {queryset.count()} asset(s) for analysis.")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("uploaded_by").prefetch_related("tagged_items__tag")

    def delete_model(self, request, obj):
        """Through asset_delete: the row locked as a worker recording a rendition locks it, the files deleted on
        commit, so no rendition (row or file) outlives the asset."""
        from .services import asset_delete

        asset_delete(asset=obj, user=request.user)

    def delete_queryset(self, request, queryset):
        """The "delete selected" action: each asset as delete_model deletes one (a queryset delete leaves the files,
        and races a worker recording a rendition)."""
        for asset in queryset.order_by("pk"):
            self.delete_model(request, asset)

    def save_formset(self, request, form, formset, change):
        if formset.model is not AssetTag:
            return super().save_formset(request, form, formset, change)
        from tagging.services.tags import tag_reject

        from .services import tag_usage_refresh

        instances = formset.save(commit=False)
        touched = set()
        for item in formset.deleted_objects:
            touched.add(item.tag_id)
            if item.source == AssetTag.SOURCE_MANUAL:
                item.delete()
            else:  # an add-on's tag taken off by a moderator: remember it, as the queue's "reject" does
                tag_reject(asset=item.content_object, tag=item.tag, user=request.user)
        for item in instances:
            item.save()
            touched.add(item.tag_id)
        formset.save_m2m()
        tag_usage_refresh(touched)

    @admin.display(description="Image")
    def thumbnail(self, obj):
        if obj.pk is None:
            return "—"
        image = page_image(obj, "tile")
        return format_html('<img src="{}" srcset="{}" alt="" loading="lazy" style="max-height:80px;max-width:120px">',
                           image.src, image.srcset)

    @admin.display(description="Size")
    def dimensions(self, obj):
        return f"{obj.width}×{obj.height}"

    @admin.display(description="Tags")
    def tag_list(self, obj):
        return format_html_join(", ", "{}", ((item.tag.name,) for item in obj.tagged_items.all()))


# What a t_<name> may hold, as Cloudinary's named transformations (t_instagram-auto-crop) and our URL parser allow.
NAMED_TRANSFORMATION_NAME_RE = re.compile(r"[A-Za-z0-9_-]+")


class NamedTransformationForm(forms.ModelForm):
    """Refuses a definition that would not work in a URL: one that does not parse, uses an unknown t_<name>, makes
    a cycle, or breaks another named transformation (one that used the old name, or now nests too deep)."""

    class Meta:
        model = NamedTransformation
        fields = ["name", "transformation", "allowed_unsigned"]

    def clean_name(self):
        name = self.cleaned_data["name"]
        if len(name) > MAX_NAME or not NAMED_TRANSFORMATION_NAME_RE.fullmatch(name):
            raise forms.ValidationError("A name holds only letters, digits, '_' and '-'.", code="invalid_name")
        return name

    def clean_transformation(self):
        text = self.cleaned_data["transformation"].strip()
        try:
            transformation = Transformation.from_string(text)
        except TransformationError as exc:
            raise forms.ValidationError(exc.message, code="invalid_transformation") from None
        if not transformation:
            raise forms.ValidationError("A named transformation needs at least one parameter.", code="empty")
        self.parsed_transformation = transformation
        return str(transformation)  # stored canonical, as URLs are compared

    def clean(self):
        cleaned = super().clean()
        if "name" in cleaned and hasattr(self, "parsed_transformation") and not self.has_error("name"):
            old_name = self.instance.name if self.instance.pk else None
            for message in selectors.named_transformation_errors(
                    name=cleaned["name"], definition=self.parsed_transformation, old_name=old_name):
                self.add_error("transformation", message)
        return cleaned


@admin.register(NamedTransformation)
class NamedTransformationAdmin(admin.ModelAdmin):
    form = NamedTransformationForm
    list_display = ["name", "transformation", "allowed_unsigned", "updated_at"]
    list_filter = ["allowed_unsigned"]
    search_fields = ["name", "transformation"]
    readonly_fields = ["preview", "created_at", "updated_at"]
    fields = ["name", "transformation", "allowed_unsigned", "preview", "created_at", "updated_at"]

    @admin.display(description="Preview")
    def preview(self, obj):
        asset = Asset.objects.order_by("-pk").first()
        if obj.pk is None or asset is None:
            return "—"
        url = reverse("delivery", kwargs={
            "cloud": settings.MEDIALIB_CLOUD_NAME, "path": f"t_{obj.name}/v{asset.version}/{asset.public_id}.{EXTENSIONS.get(asset.format, 'jpg')}"})
        return format_html('<a href="{}" target="_blank" rel="noopener">t_{} on {}</a>', url, obj.name, asset.public_id)

    def get_deleted_objects(self, objs, request):
        """Another named transformation using one being deleted would stop working: the admin refuses, listing it."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        names = {obj.name for obj in objs}
        for obj in objs:
            protected.extend(f"t_{other} uses t_{obj.name}"
                             for other in selectors.named_transformations_using(obj.name) if other not in names)
        return deleted, counts, perms_needed, protected
