"""The asset library's tables: an uploaded image, its renditions, and its tags with their source."""
import re
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from taggit.managers import TaggableManager
from taggit.models import ItemBase, TagBase

# Folders are allowed ("trips/2024/beach"); every segment starts with a letter, digit or underscore,
# so "..", "." and hidden names can never appear, and no segment is empty (no "//", no leading "/").
PUBLIC_ID_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}(/[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}){0,9}$")
PUBLIC_ID_MAX_LENGTH = 255


def validate_public_id(value: str) -> None:
    if len(value) > PUBLIC_ID_MAX_LENGTH or not PUBLIC_ID_RE.match(value):
        raise ValidationError(
            "public_id may hold letters, digits, '_', '-' and '.', and '/' between folder names; "
            "each part must start with a letter, digit or '_'.",
            code="invalid_public_id",
        )


def asset_id_new() -> str:
    return uuid.uuid4().hex


class Asset(models.Model):
    """An uploaded image. The original file is kept unchanged in the storage backend."""

    public_id = models.CharField(max_length=PUBLIC_ID_MAX_LENGTH, unique=True, validators=[validate_public_id])
    # Cloudinary's asset_id: 32 hex digits that stay when the public_id is renamed.
    asset_id = models.CharField(max_length=32, unique=True, default=asset_id_new, editable=False)
    # Cloudinary's contextual metadata: text keys and values ("alt", "caption", ...).
    context = models.JSONField(default=dict, blank=True)
    # Cloudinary's asset_folder (dynamic folders): where the image shows in the library, apart from its public_id.
    asset_folder = models.CharField(max_length=PUBLIC_ID_MAX_LENGTH, blank=True, default="", db_index=True)
    file = models.FileField(max_length=255)
    original_filename = models.CharField(max_length=255, blank=True)
    format = models.CharField(max_length=10)
    width = models.PositiveIntegerField(help_text="Width as displayed, after EXIF orientation.")
    height = models.PositiveIntegerField(help_text="Height as displayed, after EXIF orientation.")
    bytes = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    version = models.PositiveBigIntegerField()
    frames = models.PositiveIntegerField(default=1)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assets"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set at upload, cleared once every rendition of the current version exists; the renditions sweep reads
    # these through a partial index that holds only the assets still waiting (services.renditions_sweep).
    renditions_missing = models.BooleanField(default=False, db_default=False)
    # False for the photos `enroll_people` uploads only to learn faces from (unless run with --gallery): the gallery
    # leaves them out; search, the person's page and the API still find them.
    in_gallery = models.BooleanField(default=True, db_default=True)
    renditions_queued_at = models.DateTimeField(
        null=True, blank=True, help_text="Last time the renditions task was queued; empty if it could not be."
    )

    tags = TaggableManager(through="medialib.AssetTag", blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["renditions_queued_at"], name="asset_renditions_missing", condition=models.Q(renditions_missing=True)
            ),
        ]

    def __str__(self):
        return self.public_id

    @property
    def mime_type(self) -> str:
        from .images import FORMAT_MIME_TYPES

        return FORMAT_MIME_TYPES.get(self.format, "application/octet-stream")


class Tag(TagBase):
    """A tag (django-taggit's, with what search and moderation need on it)."""

    # Kept by batch refreshes (tagging.services), never per row: popular tags would contend.
    usage_count = models.PositiveIntegerField(default=0)
    blocked = models.BooleanField(default=False, help_text="Auto-tagging never assigns a blocked tag.")

    class Meta:
        verbose_name = "tag"
        ordering = ["name"]


class AssetTag(ItemBase):
    """A tag on an asset, with where it came from: a person ("manual") or an add-on, and its confidence."""

    SOURCE_MANUAL = "manual"

    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="uses")
    content_object = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="tagged_items")
    source = models.CharField(max_length=40, default=SOURCE_MANUAL)  # indexed by assettag_source_newest
    confidence = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The asset's created_at, copied so that "assets with this tag, newest first" walks one index.
    asset_created_at = models.DateTimeField(editable=False)
    reviewed_at = models.DateTimeField(null=True, blank=True, help_text="When a moderator approved it.")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["content_object", "tag"], name="assettag_unique_per_asset")]
        indexes = [
            models.Index(
                "tag", models.F("asset_created_at").desc(), models.F("content_object").desc(),
                name="assettag_tag_newest",
            ),
            # The same walk for a source on its own (search's source:aws_rek_face), and the moderation filters.
            models.Index(
                "source", models.F("asset_created_at").desc(), models.F("content_object").desc(),
                name="assettag_source_newest",
            ),
        ]

    def __str__(self):
        return f"{self.tag} ({self.source})"

    def save(self, *args, **kwargs):
        # The copy is part of the row's integrity, whoever creates it (services, the admin inline).
        if self.asset_created_at is None:
            self.asset_created_at = self.content_object.created_at
        super().save(*args, **kwargs)


class Rendition(models.Model):
    """A derived image (a gallery thumbnail, a preview) made by the worker from the original."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="renditions")
    spec = models.CharField(max_length=20)
    version = models.PositiveBigIntegerField()
    file = models.FileField(max_length=255)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["asset", "spec", "version"], name="rendition_unique_spec_version")
        ]

    def __str__(self):
        return f"{self.asset.public_id} {self.spec} v{self.version}"


class NamedTransformation(models.Model):
    """A transformation with a name, used in delivery URLs as t_<name> (Cloudinary's named transformations)."""

    name = models.CharField(max_length=64, unique=True, help_text="Used as t_<name>: letters, digits, '_' and '-'.")
    transformation = models.CharField(max_length=1000, help_text='As in a URL, e.g. "c_fill,g_face,h_200,w_200".')
    allowed_unsigned = models.BooleanField(
        default=True, help_text="May be used in unsigned URLs when strict transformations are on.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"t_{self.name}"


class DeliveredRendition(models.Model):
    """A rendition made for a delivery URL, kept in storage: one per asset, version and canonical transformation
    with its format (`key`, a SHA-256 of those). A row without a file is a claim: one process is making it."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="delivered")
    version = models.PositiveBigIntegerField()
    key = models.CharField(max_length=64)
    transformation = models.CharField(max_length=2000)
    format = models.CharField(max_length=10)
    file = models.FileField(max_length=255, blank=True)
    width = models.PositiveIntegerField(null=True)
    height = models.PositiveIntegerField(null=True)
    bytes = models.PositiveBigIntegerField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["asset", "version", "key"], name="delivered_unique_key")]

    def __str__(self):
        return f"{self.asset_id} v{self.version} {self.transformation}.{self.format}"
