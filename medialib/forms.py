"""Forms of the asset library's pages."""
from django import forms
from taggit.utils import parse_tags


class BatchTagsField(forms.CharField):
    def clean(self, value):
        return parse_tags(super().clean(value) or "")


class UploadForm(forms.Form):
    tags = BatchTagsField(
        required=False,
        max_length=1000,
        help_text="Optional, for every file of this batch: separate tags with commas.",
    )


class TagAddForm(forms.Form):
    name = forms.CharField(max_length=1000, label="Add tags")

    def clean_name(self):
        return parse_tags(self.cleaned_data["name"])


class TagRemoveForm(forms.Form):
    name = forms.CharField(max_length=100)
