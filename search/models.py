"""Search's own table: which tags occur together, precomputed for the popular ones (their facets and counts)."""
from django.db import models

from medialib.models import Tag


class TagCooccurrence(models.Model):
    """For a popular tag, one of its most frequent companions and on how many assets both are.

    Rebuilt as a whole (services.cooccurrence_rebuild) on a schedule and after bulk changes: exact counts of
    many assets cost hundreds of milliseconds live (SEARCH.md) and a fraction of one from here.
    """

    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="+", db_index=False)
    other = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="+")
    assets = models.PositiveIntegerField(help_text="How many assets have both tags.")
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tag", "other"], name="tagcooccurrence_unique_pair")]
        indexes = [models.Index("tag", models.F("assets").desc(), name="tagcooccurrence_top")]

    def __str__(self):
        return f"{self.tag_id} & {self.other_id}: {self.assets}"
