"""Analysis results per asset and add-on, and the moderators' decisions that auto-tagging obeys."""
import uuid

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.db import models
from django.db.models.functions import Lower

from medialib.models import Asset, AssetTag, Tag

from .people_cache import PageManager


class AnalysisResult(models.Model):
    """What one add-on found in one asset; the `info` of the Cloudinary-shaped responses is built from these."""

    PENDING, COMPLETE, FAILED = "pending", "complete", "failed"
    STATUS_CHOICES = [(PENDING, "pending"), (COMPLETE, "complete"), (FAILED, "failed")]

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="analyses")
    addon = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=STATUS_CHOICES, default=PENDING)
    data = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    backend = models.CharField(max_length=40, blank=True, help_text="The detector that produced the data.")
    attempts = models.PositiveIntegerField(default=0)
    auto_tagging = models.FloatField(null=True, blank=True, help_text="The threshold asked for, if any.")
    # A new id each time the result is asked for: a run only writes a result whose request it read,
    # so an old run finishing late never overwrites a newer request.
    request_id = models.UUIDField(default=uuid.uuid4)
    requested_at = models.DateTimeField()
    queued_at = models.DateTimeField(null=True, blank=True, help_text="Last time a task was queued for it.")
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Who asked to be told when it is done (a call's notification_url): {"url", "api_key_id", "host"}
    # (medialib.notifications.notification_request); empty: only the library-wide URL, if any, is told.
    notification = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["asset", "addon"], name="analysis_one_per_asset_addon")]
        indexes = [models.Index(fields=["status", "requested_at"], name="analysis_status_requested")]

    def __str__(self):
        return f"{self.asset.public_id} {self.addon} {self.status}"


class GravityFaces(models.Model):
    """Faces found on demand for delivery's face gravity (g_face, g_faces, g_auto) in an image nobody analysed.

    A cache of the crop, not an analysis: a delivery request (anonymous, or signed by another user's key) may not
    make or change the owner's aws_rek_face result, Face rows, people or tags, so only the boxes are kept (no
    embeddings, nothing recognised), per version of the image. An aws_rek_face analysis, once complete, wins.
    """

    PENDING, COMPLETE, FAILED = "pending", "complete", "failed"
    STATUS_CHOICES = [(PENDING, "pending"), (COMPLETE, "complete"), (FAILED, "failed")]

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="gravity_faces")
    version = models.PositiveBigIntegerField(help_text="The version of the image the faces were found in.")
    status = models.CharField(max_length=10, choices=STATUS_CHOICES, default=PENDING)
    boxes = models.JSONField(default=list, blank=True,
                             help_text="[left, top, width, height] in pixels of the image as displayed, largest first.")
    error = models.TextField(blank=True)
    backend = models.CharField(max_length=40, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True, help_text="Last time a task was queued; empty if it could not be.")
    detected_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "gravity faces"
        constraints = [models.UniqueConstraint(fields=["asset", "version"], name="gravityfaces_one_per_version")]

    def __str__(self):
        return f"{self.asset_id} v{self.version} {self.status}"


class TagDecision(models.Model):
    """A moderator's (or owner's) rejection of a tag on an asset: analysis never puts it back."""

    REJECTED = "rejected"

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="tag_decisions")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="decisions")
    decision = models.CharField(max_length=10, default=REJECTED, choices=[(REJECTED, "rejected")])
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["asset", "tag"], name="tagdecision_one_per_asset_tag")]

    def __str__(self):
        return f"{self.tag} {self.decision} on {self.asset}"


class Person(models.Model):
    """Someone this library knows by name: a "celebrity" of the local backend, recognised from their faces."""

    name = models.CharField(max_length=200)
    hidden = models.BooleanField(
        default=False, help_text="Hidden people are left out of the people pages and never auto-tagged."
    )
    # Whoever names a face says who it is on their own photos; on other people's photos only once a moderator
    # (or staff, or the enrol command, by creating them) has vouched for the person: tagging.matching.
    approved = models.BooleanField(
        default=False, help_text="Approved people are recognised on everyone's photos, from their approved example "
                                 "faces; the others only on the photos of whoever named them."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PageManager()  # its writes bump the people page's cache (tagging.people_cache)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "people"
        constraints = [models.UniqueConstraint(Lower("name"), name="person_name_unique_ci")]

    def __str__(self):
        return self.name


class Face(models.Model):
    """A face found in an asset by the aws_rek_face add-on; the source of truth of that add-on's data once stored.

    Box and landmarks are ratios of the EXIF-oriented image. `person_source` says who decided who it is:
    "user" (someone named it, never overridden by recognition), "auto" (matched by embedding distance),
    "rekognition" (Amazon's celebrity recognition), or "" (unknown).
    """

    SOURCE_USER, SOURCE_AUTO, SOURCE_REKOGNITION = "user", "auto", "rekognition"

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="faces")
    index = models.PositiveIntegerField(help_text="Order within the photo, largest face first.")
    left = models.FloatField()
    top = models.FloatField()
    width = models.FloatField()
    height = models.FloatField()
    confidence = models.FloatField(help_text="Detection confidence, 0-100.")
    landmarks = models.JSONField(default=list)
    pose = models.JSONField(null=True, blank=True)
    quality = models.JSONField(null=True, blank=True)
    embedding = models.JSONField(null=True, blank=True, help_text="128 floats (local backend).")
    backend = models.CharField(max_length=40, blank=True)
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="faces")
    person_source = models.CharField(max_length=20, blank=True)
    match_confidence = models.FloatField(null=True, blank=True, help_text="0-100")
    celebrity_id = models.CharField(max_length=100, blank=True, help_text="The recogniser's own id (Rekognition).")
    celebrity_urls = models.JSONField(default=list, blank=True)
    # A named face ("user") is an example face; it counts on other owners' photos only when approved (named by
    # staff or enrolled, or there when a moderator approved its person) and its person is approved.
    example_approved = models.BooleanField(default=False)
    # The look-alikes it is grouped with while nobody has named it (tagging.services.face_groups, in the worker);
    # empty for a named face, one that looks like nobody else, or one not grouped yet.
    group = models.ForeignKey("FaceGroup", null=True, blank=True, on_delete=models.SET_NULL, related_name="faces")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PageManager()  # its writes bump the people page's cache (tagging.people_cache)

    class Meta:
        ordering = ["asset_id", "index"]
        indexes = [
            models.Index(fields=["person", "person_source"], name="face_person_source"),
            # A person's cover on the people page: their surest face, without sorting all of them.
            models.Index(fields=["person", "-confidence"], name="face_person_confidence"),
            # The people page's strip of faces that match nobody: newest first, without reading the named ones.
            models.Index(fields=["-id"], name="face_unnamed_ungrouped",
                         condition=models.Q(person__isnull=True, group__isnull=True)),
        ]

    def __str__(self):
        return f"face {self.index} of {self.asset.public_id}" + (f" ({self.person})" if self.person_id else "")


class FaceGroup(models.Model):
    """Unnamed faces on one owner's photos that look alike (two or more), as the worker last grouped them: the
    people page only reads these. `owner_key` is the uploader's id, or tagging.matching.NO_OWNER."""

    owner_key = models.IntegerField()
    size = models.PositiveIntegerField(help_text="How many faces it had when grouped.")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PageManager()  # its writes bump the people page's cache (tagging.people_cache)

    class Meta:
        indexes = [models.Index(fields=["owner_key", "-size", "-id"], name="facegroup_owner_size"),
                   models.Index(fields=["-size", "-id"], name="facegroup_size")]

    def __str__(self):
        return f"{self.size} look-alike faces of owner {self.owner_key}"


class FaceGroupScope(models.Model):
    """The grouping state of one owner's faces: `changes` counts what happened to them (a face stored, named,
    cleared), `grouped` is the count the last grouping read, so the worker knows whose groups are behind."""

    owner_key = models.IntegerField(unique=True)
    changes = models.PositiveBigIntegerField(default=0)
    grouped = models.PositiveBigIntegerField(default=0)
    grouped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["grouped_at"], name="facegroupscope_grouped_at")]

    def __str__(self):
        return f"face groups of owner {self.owner_key}: {self.changes - self.grouped} change(s) behind"


class FaceRejection(models.Model):
    """A correction: this face is not that person, so recognition never matches them again."""

    face = models.ForeignKey(Face, on_delete=models.CASCADE, related_name="rejections")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="rejections")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["face", "person"], name="facerejection_unique")]


class TagSynonym(models.Model):
    """A detector's label that auto-tagging writes as one of the library's tags instead ("puppy" -> "dog")."""

    label = models.CharField(max_length=100, help_text="The label as a detector says it; compared without case.")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="synonyms")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["label"]
        constraints = [models.UniqueConstraint(Lower("label"), name="tagsynonym_label_unique_ci")]

    def __str__(self):
        return f"{self.label} -> {self.tag}"

    def clean(self):
        from django.core.exceptions import ValidationError

        self.label = " ".join(self.label.split()).lower()
        if self.tag_id and self.label == self.tag.name.lower():
            raise ValidationError({"label": "A label cannot be a synonym of the tag of the same name."})

    def save(self, *args, **kwargs):
        # Stored the way auto-tagging compares it: lower-case, single spaces.
        self.label = " ".join(self.label.split()).lower()
        super().save(*args, **kwargs)


class ModerationItem(AssetTag):
    """An asset's tag seen from the moderation queue (a proxy: its own changelist, permission and log)."""

    class Meta:
        proxy = True
        verbose_name = "auto tag to review"
        verbose_name_plural = "moderation queue"
        permissions = [("moderate_tags", "Can moderate tags")]

    def __str__(self):
        # Read in the admin's log: which tag, from where, on which photo.
        return f"{self.tag} ({self.source}) on {self.content_object.public_id}"


class ModerationLogEntry(LogEntry):
    """The admin's log, shown to moderators for the moderated models only (who changed what, when)."""

    class Meta:
        proxy = True
        verbose_name = "moderation log entry"
        verbose_name_plural = "moderation log"
