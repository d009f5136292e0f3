"""Forms of the asset library's pages."""
from django import forms
from taggit.utils import parse_tags

from tagging.addons import ADDONS, AUTO_TAGGING_DEFAULT, FACES_ADDON, LABELS_ADDON
from tagging.forms import AnalysisOptionsForm


class BatchTagsField(forms.CharField):
    def clean(self, value):
        return parse_tags(super().clean(value) or "")


class UploadForm(AnalysisOptionsForm):
    tags = BatchTagsField(
        required=False,
        max_length=1000,
        help_text="Optional, for every file of this batch: separate tags with commas.",
    )

    keep_both = forms.BooleanField(
        required=False,
        label="Keep duplicates",
        help_text="Store a file even when the same photo is already in your library.",
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"addons": list(ADDONS), "auto_tagging": AUTO_TAGGING_DEFAULT})
        super().__init__(*args, **kwargs)
        # The add-ons by what they find, not by their Cloudinary names.
        self.fields["addons"].choices = [(name, ADDON_NAMES.get(name, addon.title)) for name, addon in ADDONS.items()]


ADDON_NAMES = {LABELS_ADDON: "Labels", FACES_ADDON: "Faces and people"}


class TagAddForm(forms.Form):
    name = forms.CharField(max_length=1000, label="Add tags")

    def clean_name(self):
        return parse_tags(self.cleaned_data["name"])


class TagRemoveForm(forms.Form):
    name = forms.CharField(max_length=100)
