"""The gallery's filters, turned into the same query AST the search page's language parses to."""
from django import forms
from django.urls import reverse_lazy

from . import query as q


def _suggesting(kind: str) -> forms.TextInput:
    return forms.TextInput(attrs={"data-suggest-url": reverse_lazy("search:suggest"), "data-suggest-kind": kind,
                                  "autocomplete": "off", "spellcheck": "false"})


class GalleryFilterForm(forms.Form):
    tag = forms.CharField(required=False, max_length=100, widget=_suggesting("tag"))
    person = forms.CharField(required=False, max_length=200, widget=_suggesting("person"))
    status = forms.ChoiceField(required=False, choices=[("", "any"), ("pending", "pending"), ("failed", "failed")],
                               label="Analysis")
    uploader = forms.CharField(required=False, max_length=150)
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        for name in ("tag", "person", "uploader"):
            # As the search refuses them: "Open in search" must give a query the search reads.
            if any(ord(char) < 32 and not char.isspace() for char in data.get(name) or ""):
                self.add_error(name, "Type it again without the control character.")
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError("The date range ends before it starts.")
        return data

    def node(self):
        """The query these filters mean, or None when none is set (the plain gallery)."""
        data = self.cleaned_data
        tag = " ".join((data.get("tag") or "").split())
        person = " ".join((data.get("person") or "").split())
        uploader = " ".join((data.get("uploader") or "").split())  # as the search reads uploader:"..."
        return q.all_of(
            q.Tag(tag) if tag else None,
            q.Person(person) if person else None,
            q.Status(data["status"]) if data.get("status") else None,
            q.Uploader(uploader) if uploader else None,
            q.DateRange(data.get("date_from"), data.get("date_to"))
            if data.get("date_from") or data.get("date_to") else None,
        )
