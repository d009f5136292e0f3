"""Analysis results per asset and add-on, and the moderators' decisions that auto-tagging obeys."""
import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from medialib.models import Asset, Tag


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

    class Meta:
        constraints = [models.UniqueConstraint(fields=["asset", "addon"], name="analysis_one_per_asset_addon")]
        indexes = [models.Index(fields=["status", "requested_at"], name="analysis_status_requested")]

    def __str__(self):
        return f"{self.asset.public_id} {self.addon} {self.status}"


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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["asset_id", "index"]
        indexes = [models.Index(fields=["person", "person_source"], name="face_person_source")]

    def __str__(self):
        return f"face {self.index} of {self.asset.public_id}" + (f" ({self.person})" if self.person_id else "")


class FaceRejection(models.Model):
    """A correction: this face is not that person, so recognition never matches them again."""

    face = models.ForeignKey(Face, on_delete=models.CASCADE, related_name="rejections")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="rejections")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["face", "person"], name="facerejection_unique")]
