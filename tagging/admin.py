"""The admin for analysis: results per asset and add-on, and the tag decisions that auto-tagging obeys."""
from django.contrib import admin, messages

from . import services
from .models import AnalysisResult, TagDecision


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
            services.analysis_request(asset=result.asset, addons=[result.addon], auto_tagging=result.auto_tagging)
        self.message_user(request, f"Queued {queryset.count()} analysis result(s) again.", messages.SUCCESS)


@admin.register(TagDecision)
class TagDecisionAdmin(admin.ModelAdmin):
    list_display = ["asset", "tag", "decision", "decided_by", "created_at"]
    list_filter = ["decision"]
    search_fields = ["asset__public_id", "tag__name"]
    autocomplete_fields = ["tag"]
    raw_id_fields = ["asset"]
