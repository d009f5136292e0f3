"""Forms of the asset library's pages."""
from django import forms
from taggit.utils import parse_tags

from tagging.addons import ADDONS, AddonError, auto_tagging_parse

from .selectors import AUTO_TAGGING_DEFAULT

ADDON_CHOICES = [(addon.name, f"{addon.title} ({addon.name})") for addon in ADDONS.values()]


class BatchTagsField(forms.CharField):
    def clean(self, value):
        return parse_tags(super().clean(value) or "")


class AnalysisOptionsForm(forms.Form):
    """Which add-ons to run and the auto-tagging threshold, as on Cloudinary's upload."""

    addons = forms.MultipleChoiceField(
        choices=ADDON_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Analyse with",
    )
    auto_tagging = forms.CharField(
        required=False,
        label="Auto-tagging threshold",
        help_text="From 0 to 1: what an add-on finds with at least this confidence becomes a tag. "
        "Empty: no tags are added.",
        widget=forms.NumberInput(attrs={"min": "0", "max": "1", "step": "any", "inputmode": "decimal", "data-threshold": ""}),
    )

    def clean_auto_tagging(self):
        try:
            return auto_tagging_parse(self.cleaned_data["auto_tagging"].strip())
        except AddonError:
            raise forms.ValidationError(
                "The auto-tagging threshold must be a number from 0 to 1 (or empty for no tags).",
                code="invalid_threshold",
            ) from None


class UploadForm(AnalysisOptionsForm):
    tags = BatchTagsField(
        required=False,
        max_length=1000,
        help_text="Optional, for every file of this batch: separate tags with commas.",
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"addons": list(ADDONS), "auto_tagging": AUTO_TAGGING_DEFAULT})
        super().__init__(*args, **kwargs)


class AnalysisRerunForm(AnalysisOptionsForm):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "rerun_%s")  # it shares the detail page with other forms
        super().__init__(*args, **kwargs)

    def clean_addons(self):
        if not self.cleaned_data["addons"]:
            raise forms.ValidationError("Choose at least one add-on to run.", code="no_addons")
        return self.cleaned_data["addons"]


class TagAddForm(forms.Form):
    name = forms.CharField(max_length=1000, label="Add tags")

    def clean_name(self):
        return parse_tags(self.cleaned_data["name"])


class TagRemoveForm(forms.Form):
    name = forms.CharField(max_length=100)
