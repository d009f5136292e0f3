"""Forms of the tagging app's pages: which add-ons to run, and how sure a finding must be to become a tag."""
from django import forms

from .addons import ADDONS, AddonError, auto_tagging_parse

ADDON_CHOICES = [(addon.name, f"{addon.title} ({addon.name})") for addon in ADDONS.values()]


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


class AnalysisRerunForm(AnalysisOptionsForm):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "rerun_%s")  # it shares the detail page with other forms
        super().__init__(*args, **kwargs)

    def clean_addons(self):
        if not self.cleaned_data["addons"]:
            raise forms.ValidationError("Choose at least one add-on to run.", code="no_addons")
        return self.cleaned_data["addons"]
