"""The admin for analysis and moderation: results, the moderation queue, tags and synonyms, people and faces, the log.

Staff may look at every moderation page; only moderators (the `tagging.moderate_tags` permission, given to the
"Moderators" group) may change anything. The admin parses and renders; tagging.services and tagging.recognition do
the work, in set-based statements, and write the log.
"""
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME, ActionForm
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from medialib.models import Asset, AssetTag, Tag
from medialib.page_images import page_image
from medialib.services import tag_usage_refresh

from .models import (
    AnalysisResult,
    Face,
    ModerationItem,
    ModerationLogEntry,
    Person,
    TagDecision,
    TagSynonym,
)
from .services import analysis as analysis_services
from .services import people as people_services
from .services import tags as tag_services


def _staff(request) -> bool:
    return request.user.is_active and request.user.is_staff


def _n(count: int, word: str, plural: str | None = None) -> str:
    """ "1 tag", "2 tags": the count with its noun in the right number."""
    return f"{count} {word if count == 1 else (plural or word + 's')}"


class ModerationPermissions:
    """Staff see; moderators change. Actions that change things ask for permissions=["moderate"]."""

    def has_module_permission(self, request):
        return _staff(request)

    def has_view_permission(self, request, obj=None):
        return _staff(request)

    def has_add_permission(self, request, *args):
        return tag_services.user_can_moderate(request.user)

    def has_change_permission(self, request, obj=None):
        return tag_services.user_can_moderate(request.user)

    def has_delete_permission(self, request, obj=None):
        return tag_services.user_can_moderate(request.user)

    def has_moderate_permission(self, request):
        return tag_services.user_can_moderate(request.user)


class ServiceLoggedAdmin(admin.ModelAdmin):
    """For admins whose form saves go through services that write their own log entries for some fields."""

    service_fields: tuple[str, ...] = ()

    def construct_change_message(self, request, form, formsets, add=False):
        message = super().construct_change_message(request, form, formsets, add)
        if add:
            return message
        labels = {str(form.fields[name].label or name) for name in self.service_fields if name in form.fields}
        kept = []
        for entry in message:
            if "changed" in entry and "fields" in entry["changed"] and "name" not in entry["changed"]:
                fields = [f for f in entry["changed"]["fields"] if f not in labels]
                if not fields:
                    continue
                entry = {"changed": {"fields": fields}}
            kept.append(entry)
        return kept

    def log_change(self, request, obj, message):
        if message == []:  # everything that changed was logged by the service that changed it
            return None
        return super().log_change(request, obj, message)


def _thumbnail(asset: Asset):
    image = page_image(asset, "tile")
    return format_html('<img src="{}" srcset="{}" alt="{}" class="moderation-thumb" loading="lazy">', image.src,
                       image.srcset, asset.public_id)


def _asset_link(asset: Asset):
    return format_html('<a href="{}">{}</a>', reverse("medialib:asset_detail", args=[asset.public_id]),
                       asset.public_id)


def _refuse(request) -> None:
    raise PermissionDenied("Only moderators (the “Can moderate tags” permission) can change this.")


# --- The moderation queue ----------------------------------------------------------------------------------------


class ReviewStateFilter(admin.SimpleListFilter):
    """The queue shows what is left to review unless asked otherwise."""

    title = "review"
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("approved", "Approved"), ("all", "All auto tags")]

    def queryset(self, request, queryset):
        if self.value() == "approved":
            return queryset.filter(reviewed_at__isnull=False)
        if self.value() == "all":
            return queryset
        return queryset.filter(reviewed_at__isnull=True)

    def choices(self, changelist):
        yield {"selected": self.value() is None, "display": "To review",
               "query_string": changelist.get_query_string(remove=[self.parameter_name])}
        for value, title in self.lookup_choices:
            yield {"selected": self.value() == value, "display": title,
                   "query_string": changelist.get_query_string({self.parameter_name: value})}


class QueueTagFilter(admin.SimpleListFilter):
    """The tags with most auto uses to review; any other tag by ?tag=<id> or the search box."""

    title = "tag"
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        top = (
            AssetTag.objects.exclude(source=AssetTag.SOURCE_MANUAL).filter(reviewed_at__isnull=True)
            .values("tag_id", "tag__name").annotate(n=Count("pk")).order_by("-n", "tag__name")[:25]
        )
        choices = [(str(row["tag_id"]), f"{row['tag__name']} ({row['n']})") for row in top]
        value = request.GET.get(self.parameter_name)
        if value and value.isdigit() and value not in {c[0] for c in choices}:
            tag = Tag.objects.filter(pk=value).first()
            if tag is not None:
                choices.append((value, tag.name))
        return choices

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(tag_id=value) if value and value.isdigit() else queryset


class AddonFilter(admin.SimpleListFilter):
    title = "add-on"
    parameter_name = "addon"

    def lookups(self, request, model_admin):
        sources = AssetTag.objects.exclude(source=AssetTag.SOURCE_MANUAL).values_list("source", flat=True)
        return [(s, s) for s in sources.distinct().order_by("source")]

    def queryset(self, request, queryset):
        return queryset.filter(source=self.value()) if self.value() else queryset


class ConfidenceRangeFilter(admin.ListFilter):
    """A confidence range: typed (min and max, 0-1) or one of the usual bands."""

    title = "confidence"
    template = "admin/tagging/confidence_filter.html"
    parameter_min, parameter_max = "confidence_min", "confidence_max"
    bands = [("below 0.5", None, "0.5"), ("0.5 – 0.7", "0.5", "0.7"), ("0.7 – 0.9", "0.7", "0.9"),
             ("0.9 and above", "0.9", None)]

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.values: dict[str, str] = {}
        for name in (self.parameter_min, self.parameter_max):
            if name in params:
                value = params.pop(name)[-1]
                try:
                    float(value)
                except ValueError:
                    continue
                self.values[name] = value
                self.used_parameters[name] = value

    def has_output(self):
        return True

    def expected_parameters(self):
        return [self.parameter_min, self.parameter_max]

    def queryset(self, request, queryset):
        if self.parameter_min in self.values:
            queryset = queryset.filter(confidence__gte=float(self.values[self.parameter_min]))
        if self.parameter_max in self.values:
            queryset = queryset.filter(confidence__lt=float(self.values[self.parameter_max]))
        return queryset

    def choices(self, changelist):
        names = [self.parameter_min, self.parameter_max]
        self.form_action = changelist.get_query_string(remove=names)
        self.hidden = [(k, v) for k, v in changelist.params.items() if k not in names]
        yield {"selected": not self.values, "display": "All", "query_string": self.form_action}
        for title, low, high in self.bands:
            wanted = {k: v for k, v in ((self.parameter_min, low), (self.parameter_max, high)) if v is not None}
            yield {"selected": self.values == wanted, "display": title,
                   "query_string": changelist.get_query_string(wanted, remove=names)}


class AddedFilter(admin.DateFieldListFilter):
    """The date the photo was added (copied onto each tag use, so the filter walks one table)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = "photo added"


class PersonFilter(admin.SimpleListFilter):
    title = "person in the photo"
    parameter_name = "person"

    def lookups(self, request, model_admin):
        return [(str(p.pk), p.name) for p in Person.objects.filter(faces__isnull=False).distinct().order_by("name")]

    def queryset(self, request, queryset):
        value = self.value()
        if not value or not value.isdigit():
            return queryset
        return queryset.filter(content_object__in=Face.objects.filter(person_id=value).values("asset_id"))


@admin.register(ModerationItem)
class ModerationItemAdmin(ModerationPermissions, admin.ModelAdmin):
    list_display = ["photo", "tag", "source", "confidence_shown", "asset", "added", "review_state"]
    list_display_links = None
    list_filter = [
        ReviewStateFilter, QueueTagFilter, AddonFilter, ConfidenceRangeFilter, PersonFilter,
        ("asset_created_at", AddedFilter),
    ]
    search_fields = ["tag__name", "content_object__public_id"]
    ordering = ["confidence", "pk"]
    list_per_page = 100
    show_facets = admin.ShowFacets.NEVER
    actions = ["approve", "reject"]
    readonly_fields = ["tag", "content_object", "source", "confidence", "asset_created_at", "reviewed_at",
                       "reviewed_by"]
    fields = readonly_fields

    def has_add_permission(self, request, *args):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # rejecting is the way a tag leaves an asset here: it is remembered

    def get_queryset(self, request):
        return (
            super().get_queryset(request).exclude(source=AssetTag.SOURCE_MANUAL)
            .select_related("tag", "content_object", "reviewed_by")
        )

    @admin.display(description="Photo")
    def photo(self, obj):
        return _thumbnail(obj.content_object)

    @admin.display(description="Asset")
    def asset(self, obj):
        return _asset_link(obj.content_object)

    @admin.display(description="Added", ordering="asset_created_at")
    def added(self, obj):
        return f"{obj.asset_created_at:%Y-%m-%d}"

    @admin.display(description="Confidence", ordering="confidence")
    def confidence_shown(self, obj):
        return "—" if obj.confidence is None else f"{obj.confidence:.2f}"

    @admin.display(description="Review")
    def review_state(self, obj):
        if obj.reviewed_at is None:
            return "to review"
        return f"approved by {obj.reviewed_by or 'someone'} {obj.reviewed_at:%Y-%m-%d %H:%M}"

    @admin.action(description="Approve the selected auto tags", permissions=["moderate"])
    def approve(self, request, queryset):
        count = tag_services.tag_uses_approve(uses=queryset, user=request.user)
        self.message_user(request, f"Approved {_n(count, 'auto tag')}.", messages.SUCCESS)

    @admin.action(description="Reject the selected auto tags (analysis never adds them back)",
                  permissions=["moderate"])
    def reject(self, request, queryset):
        count = tag_services.tag_uses_reject(uses=queryset, user=request.user)
        self.message_user(request, f"Rejected {_n(count, 'auto tag')}.", messages.SUCCESS)

    def get_urls(self):
        view = self.admin_site.admin_view(self.decide_view)
        return [
            path("<int:pk>/approve/", view, {"decision": "approve"}, name="tagging_moderationitem_approve"),
            path("<int:pk>/reject/", view, {"decision": "reject"}, name="tagging_moderationitem_reject"),
        ] + super().get_urls()

    def decide_view(self, request, pk, decision):
        """One decision from the keyboard (static/js/moderation.js): POST, answered in JSON."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_moderate_permission(request):
            _refuse(request)
        item = get_object_or_404(self.get_queryset(request), pk=pk)
        uses = ModerationItem.objects.filter(pk=item.pk)
        if decision == "approve":
            tag_services.tag_uses_approve(uses=uses, user=request.user)
        else:
            tag_services.tag_uses_reject(uses=uses, user=request.user)
        return JsonResponse({"decision": decision, "tag": item.tag.name, "asset": item.content_object.public_id})

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {
            **(extra_context or {}),
            "title": "Moderation queue",
            "can_moderate": self.has_moderate_permission(request),
            "decide_base": reverse("admin:tagging_moderationitem_changelist"),
        })


# --- Tags: rename, merge, delete, block, synonyms ------------------------------------------------------------------


class TagForm(forms.ModelForm):
    class Meta:
        model = Tag
        fields = ["name", "blocked"]

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        other = Tag.objects.filter(name__iexact=name).exclude(pk=self.instance.pk).first()
        if other is not None:
            raise ValidationError(
                f"There is already a tag “{other.name}”. To make them one, select both in the list of tags and "
                "use “Merge the selected tags”."
            )
        return name


class TagActionForm(ActionForm):
    target = forms.CharField(required=False, label="Merge into:",
                             widget=forms.TextInput(attrs={"placeholder": "tag name, for “merge”", "size": 18}))


class TagSynonymInline(ModerationPermissions, admin.TabularInline):
    model = TagSynonym
    fk_name = "tag"
    extra = 0
    fields = ["label", "created_by", "created_at"]
    readonly_fields = ["created_by", "created_at"]
    verbose_name = "detector label written as this tag"
    verbose_name_plural = "synonyms (detector labels written as this tag)"


@admin.register(Tag)
class TagAdmin(ModerationPermissions, ServiceLoggedAdmin):
    form = TagForm
    list_display = ["name", "usage_count", "blocked", "synonym_list"]
    list_filter = ["blocked"]
    search_fields = ["name"]
    fields = ["name", "slug", "blocked", "usage_count"]
    readonly_fields = ["slug", "usage_count"]
    ordering = ["name"]
    inlines = [TagSynonymInline]
    action_form = TagActionForm
    actions = ["merge", "block", "unblock", "remove_auto_uses", "delete_everywhere", "refresh_counts"]
    service_fields = ("name", "blocked")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("synonyms")

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # delete_everywhere says what it removes, and deletes in bulk
        return actions

    @admin.display(description="Synonyms")
    def synonym_list(self, obj):
        return ", ".join(s.label for s in obj.synonyms.all())

    def save_model(self, request, obj, form, change):
        if not change:
            return super().save_model(request, obj, form, change)
        current = Tag.objects.get(pk=obj.pk)
        if "name" in form.changed_data:
            tag_services.tag_rename(tag=current, name=form.cleaned_data["name"], user=request.user)
        if "blocked" in form.changed_data:
            tag_services.tags_block(tags=Tag.objects.filter(pk=obj.pk), blocked=form.cleaned_data["blocked"],
                                user=request.user)
        obj.refresh_from_db()

    def save_formset(self, request, form, formset, change):
        for synonym in formset.save(commit=False):
            if synonym.pk is None:
                synonym.created_by = request.user
        super().save_formset(request, form, formset, change)

    @admin.action(description="Merge the selected tags into the tag typed in “Merge into”", permissions=["moderate"])
    def merge(self, request, queryset):
        name = request.POST.get("target", "").strip()
        if not name:
            self.message_user(request, "Type the name of the tag to merge into, then run the action again.",
                              messages.ERROR)
            return
        from medialib.services import tag_get_or_create

        try:
            target = tag_get_or_create(tag_services.tag_name_clean(name))
            result = tag_services.tags_merge(tags=list(queryset), target=target, user=request.user)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        self.message_user(
            request, f"Merged {', '.join(result.merged)} into “{target.name}”: {result.moved} uses moved, "
                     f"{result.dropped} duplicates dropped.", messages.SUCCESS)

    @admin.action(description="Block: auto-tagging never assigns the selected tags", permissions=["moderate"])
    def block(self, request, queryset):
        count = tag_services.tags_block(tags=queryset, user=request.user, blocked=True)
        self.message_user(request, f"Blocked {_n(count, 'tag')}. Their existing auto uses stay until you run "
                                   "“Remove the auto uses of the selected blocked tags”.", messages.SUCCESS)

    @admin.action(description="Unblock the selected tags", permissions=["moderate"])
    def unblock(self, request, queryset):
        count = tag_services.tags_block(tags=queryset, user=request.user, blocked=False)
        self.message_user(request, f"Unblocked {_n(count, 'tag')}.", messages.SUCCESS)

    @admin.action(description="Remove the auto uses of the selected blocked tags", permissions=["moderate"])
    def remove_auto_uses(self, request, queryset):
        skipped = queryset.filter(blocked=False).count()
        removed = tag_services.tags_auto_uses_remove(tags=queryset, user=request.user)
        note = f" {_n(skipped, 'selected tag')} {'is' if skipped == 1 else 'are'} not blocked, so left alone." if skipped else ""
        self.message_user(request, f"Removed {_n(removed, 'auto use')}.{note}", messages.SUCCESS)

    @admin.action(description="Recount the uses of the selected tags", permissions=["moderate"])
    def refresh_counts(self, request, queryset):
        count = tag_usage_refresh(queryset.values("pk"))
        self.message_user(request, f"Recounted {_n(count, 'tag')}.", messages.SUCCESS)

    @admin.action(description="Delete the selected tags everywhere", permissions=["moderate"])
    def delete_everywhere(self, request, queryset):
        if request.POST.get("confirmed") == "yes":
            uses = tag_services.tags_delete(tags=queryset, user=request.user)
            self.message_user(request, f"Deleted the tag(s) and their {_n(uses, 'use')}.", messages.SUCCESS)
            return None
        tags = queryset.annotate(uses_now=Count("uses")).order_by("name")
        return TemplateResponse(request, "admin/tagging/tag_delete_everywhere.html", {
            **self.admin_site.each_context(request),
            "title": "Delete tags everywhere?",
            "opts": self.model._meta,
            "tags": tags[:200],
            "count": tags.count(),
            "uses": sum(t.uses_now for t in tags),
            "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        })


@admin.register(TagSynonym)
class TagSynonymAdmin(ModerationPermissions, admin.ModelAdmin):
    list_display = ["label", "tag", "created_by", "created_at"]
    search_fields = ["label", "tag__name"]
    autocomplete_fields = ["tag"]
    fields = ["label", "tag"]
    list_select_related = ["tag", "created_by"]
    actions = ["apply"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Apply the selected synonyms to the tags already given", permissions=["moderate"])
    def apply(self, request, queryset):
        moved, dropped = tag_services.synonyms_apply(synonyms=queryset, user=request.user)
        self.message_user(request, f"{_n(moved, 'tag use')} now use the synonym's tag; {_n(dropped, 'duplicate')} dropped.",
                          messages.SUCCESS)


@admin.register(TagDecision)
class TagDecisionAdmin(ModerationPermissions, admin.ModelAdmin):
    list_display = ["asset", "tag", "decision", "decided_by", "created_at"]
    list_filter = ["decision"]
    search_fields = ["asset__public_id", "tag__name"]
    autocomplete_fields = ["tag"]
    raw_id_fields = ["asset"]
    list_select_related = ["asset", "tag", "decided_by"]


# --- People and faces ----------------------------------------------------------------------------------------------


class PersonForm(forms.ModelForm):
    class Meta:
        model = Person
        fields = ["name", "hidden"]

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        other = Person.objects.filter(name__iexact=name).exclude(pk=self.instance.pk).first()
        if other is not None:
            raise ValidationError(f"There is already someone called “{other.name}”. To make them one, select "
                                  "both in the list of people and use “Merge the selected people”.")
        return name


class PersonActionForm(ActionForm):
    target = forms.CharField(required=False, label="Merge into:",
                             widget=forms.TextInput(attrs={"placeholder": "a name, for “merge”", "size": 18}))


class ApprovalFilter(admin.SimpleListFilter):
    """People named by users who are not staff wait here for a moderator (the approve action); only moderators
    see the filter (PersonAdmin.changelist_view refuses ?approval= to anyone else)."""

    title = "approval"
    parameter_name = "approval"

    def lookups(self, request, model_admin):
        if not tag_services.user_can_moderate(request.user):
            return []
        pending = Person.objects.filter(approved=False).count()
        return [("pending", f"Awaiting approval ({pending})"), ("approved", "Approved")]

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(approved=False)
        if self.value() == "approved":
            return queryset.filter(approved=True)
        return queryset


@admin.register(Person)
class PersonAdmin(ModerationPermissions, ServiceLoggedAdmin):
    form = PersonForm
    list_display = ["name", "photos", "faces_link", "hidden", "approved"]
    list_filter = [ApprovalFilter, "hidden"]
    search_fields = ["name"]
    fields = ["name", "hidden", "approved", "faces_link", "created_at"]
    readonly_fields = ["approved", "faces_link", "created_at"]  # approval by its actions, which log and re-check
    action_form = PersonActionForm
    actions = ["merge", "hide", "unhide", "approve", "withdraw_approval"]
    service_fields = ("name", "hidden")

    def has_delete_permission(self, request, obj=None):
        return False  # merge or hide: both keep the faces and tags right

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(photo_count=Count("faces__asset", distinct=True))

    @admin.display(description="Photos", ordering="photo_count")
    def photos(self, obj):
        return obj.photo_count

    @admin.display(description="Faces")
    def faces_link(self, obj):
        if obj.pk is None:
            return "—"
        url = reverse("admin:tagging_face_changelist") + f"?person__id__exact={obj.pk}"
        return format_html('<a href="{}">faces (split off the wrong ones)</a>', url)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.approved = True  # created by a moderator
            return super().save_model(request, obj, form, change)
        current = Person.objects.get(pk=obj.pk)
        if "name" in form.changed_data:
            people_services.person_rename(person=current, name=form.cleaned_data["name"], user=request.user)
        if "hidden" in form.changed_data:
            people_services.people_hide(people=Person.objects.filter(pk=obj.pk), hidden=form.cleaned_data["hidden"],
                                    user=request.user)
        obj.refresh_from_db()

    @admin.action(description="Merge the selected people into the one typed in “Merge into”",
                  permissions=["moderate"])
    def merge(self, request, queryset):
        name = request.POST.get("target", "").strip()
        if not name:
            self.message_user(request, "Type the name of the person to merge into, then run the action again.",
                              messages.ERROR)
            return
        try:
            target = people_services.person_get_or_create(name, approved=True)  # a moderator's
            moved = people_services.people_merge(people=list(queryset), target=target, user=request.user)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        self.message_user(request, f"Merged into {target.name}: {_n(moved, 'face')} moved.", messages.SUCCESS)

    @admin.action(description="Hide the selected people (not listed, not auto-tagged)", permissions=["moderate"])
    def hide(self, request, queryset):
        count = people_services.people_hide(people=queryset, hidden=True, user=request.user)
        self.message_user(request, f"Hid {_n(count, 'person', 'people')}.", messages.SUCCESS)

    @admin.action(description="Show the selected people again", permissions=["moderate"])
    def unhide(self, request, queryset):
        count = people_services.people_hide(people=queryset, hidden=False, user=request.user)
        self.message_user(request, f"Showed {_n(count, 'person', 'people')} again.", messages.SUCCESS)

    @admin.action(description="Approve the selected people: recognised on everyone's photos, from their faces named "
                              "so far", permissions=["moderate"])
    def approve(self, request, queryset):
        count = people_services.people_approve(people=queryset, approved=True, user=request.user)
        self.message_user(request, f"Approved {_n(count, 'person', 'people')}; everyone's photos are being checked.",
                          messages.SUCCESS)

    @admin.action(description="Withdraw approval: recognised only on the photos of whoever named them",
                  permissions=["moderate"])
    def withdraw_approval(self, request, queryset):
        count = people_services.people_approve(people=queryset, approved=False, user=request.user)
        self.message_user(request, f"Withdrew approval of {_n(count, 'person', 'people')}.", messages.SUCCESS)

    def changelist_view(self, request, extra_context=None):
        if ApprovalFilter.parameter_name in request.GET and not self.has_moderate_permission(request):
            _refuse(request)
        return super().changelist_view(request, extra_context)


class FaceActionForm(ActionForm):
    person_name = forms.CharField(required=False, label="Move to:",
                                  widget=forms.TextInput(attrs={"placeholder": "a name, for “move”", "size": 18}))


@admin.register(Face)
class FaceAdmin(ModerationPermissions, admin.ModelAdmin):
    list_display = ["face", "photo", "person", "person_source", "example_approved", "match_confidence", "index"]
    list_display_links = None
    list_filter = [("person", admin.RelatedOnlyFieldListFilter), "person_source"]
    search_fields = ["person__name", "asset__public_id"]
    list_select_related = ["person", "asset"]
    action_form = FaceActionForm
    actions = ["clear", "move"]
    list_per_page = 100

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # faces change through the actions (and the photo's page), which keep corrections

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Face")
    def face(self, obj):
        image = page_image(obj.asset, "face", face=obj)
        return format_html('<img src="{}" srcset="{}" alt="" class="moderation-thumb" loading="lazy">', image.src,
                           image.srcset)

    @admin.display(description="Photo")
    def photo(self, obj):
        return _asset_link(obj.asset)

    @admin.action(description="Not this person: clear the selected faces (never matched to them again)",
                  permissions=["moderate"])
    def clear(self, request, queryset):
        count = people_services.faces_clear(faces=queryset, user=request.user)
        self.message_user(request, f"Cleared {_n(count, 'face')}.", messages.SUCCESS)

    @admin.action(description="Move the selected faces to the person typed in “Move to”", permissions=["moderate"])
    def move(self, request, queryset):
        name = request.POST.get("person_name", "").strip()
        try:
            person, count = people_services.faces_move(faces=queryset, name=name, user=request.user)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages) + " Type who they are in “Move to”.", messages.ERROR)
            return
        self.message_user(request, f"Moved {_n(count, 'face')} to {person.name}.", messages.SUCCESS)


# --- The log, and the analysis results -----------------------------------------------------------------------------


MODERATED_MODELS = [Tag, AssetTag, ModerationItem, TagSynonym, TagDecision, Person, Face]


@admin.register(ModerationLogEntry)
class ModerationLogAdmin(admin.ModelAdmin):
    """Who changed what, when: the admin's own log, for the moderated models."""

    list_display = ["action_time", "user", "action", "what", "kind", "message"]
    list_display_links = None
    list_filter = ["action_flag", ("user", admin.RelatedOnlyFieldListFilter),
                   ("content_type", admin.RelatedOnlyFieldListFilter), "action_time"]
    search_fields = ["object_repr", "change_message", "user__username"]
    date_hierarchy = "action_time"
    list_select_related = ["user", "content_type"]
    ordering = ["-action_time", "-pk"]

    def has_module_permission(self, request):
        return _staff(request)

    def has_view_permission(self, request, obj=None):
        return _staff(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        types = ContentType.objects.get_for_models(*MODERATED_MODELS, for_concrete_models=False).values()
        return super().get_queryset(request).filter(content_type__in=[t.pk for t in types])

    @admin.display(description="Action", ordering="action_flag")
    def action(self, obj):
        return {1: "added", 2: "changed", 3: "deleted"}.get(obj.action_flag, "?")

    @admin.display(description="Object")
    def what(self, obj):
        url = obj.get_admin_url() if obj.action_flag != 3 else ""
        return format_html('<a href="{}">{}</a>', url, obj.object_repr) if url else obj.object_repr

    @admin.display(description="Type")
    def kind(self, obj):
        return obj.content_type.name if obj.content_type else ""

    @admin.display(description="What changed")
    def message(self, obj):
        return obj.get_change_message()


@admin.register(AnalysisResult)
class AnalysisResultAdmin(admin.ModelAdmin):
    list_display = ["asset", "addon", "status", "backend", "attempts", "auto_tagging", "requested_at", "completed_at"]
    list_filter = ["status", "addon", "backend"]
    search_fields = ["asset__public_id", "error"]
    list_select_related = ["asset"]
    readonly_fields = [f.name for f in AnalysisResult._meta.fields]
    actions = ["analyse_again"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Analyse again (same add-on and threshold)", permissions=["change"])
    def analyse_again(self, request, queryset):
        for result in queryset.select_related("asset"):
            analysis_services.analysis_request(asset=result.asset, addons=[result.addon], auto_tagging=result.auto_tagging)
        self.message_user(request, f"Queued {_n(queryset.count(), 'analysis result')} again.", messages.SUCCESS)
