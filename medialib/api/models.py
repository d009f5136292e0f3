"""API keys: the key and secret a Cloudinary SDK is configured with, owned by the user its uploads belong to."""
import secrets

from django.conf import settings
from django.db import models


def api_key_generate() -> str:
    # 15 digits, like Cloudinary's keys: some clients check the shape.
    return str(secrets.randbelow(9 * 10**14) + 10**14)


def api_secret_generate() -> str:
    # URL-safe characters only: the secret travels inside CLOUDINARY_URL (cloudinary://key:secret@cloud).
    return secrets.token_urlsafe(32)


class ApiKey(models.Model):
    """One client's credentials. Uploads made with the key belong to its user and obey that user's rights."""

    name = models.CharField(max_length=100, help_text="Who or what uses this key, e.g. 'backup script'.")
    key = models.CharField(max_length=32, unique=True, default=api_key_generate, editable=False)
    # Kept in clear, unlike a password: a Cloudinary signature is SHA-1/SHA-256 of the parameters followed by
    # the secret, so checking one means computing it again, which needs the secret itself (a hash would not do).
    # It is shown once, when the key is made, and never again (the admin hides it).
    secret = models.CharField(max_length=64, default=api_secret_generate, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    is_active = models.BooleanField(default=True, help_text="Untick to revoke the key; requests with it are refused.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    # How the webhooks this key signs are signed (requests it signs may use either, as the SDKs choose).
    signature_algorithm = models.CharField(
        max_length=6, choices=[("sha1", "SHA-1"), ("sha256", "SHA-256")], default="sha1",
        help_text="Signature of the webhooks it signs: the SDK's verify_notification_signature needs "
                  "algorithm='sha256' for SHA-256.")

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.key})"


class SignedRequest(models.Model):
    """A signed write (upload, explicit) already carried out, so that sending it again does not do it twice.

    A signature covers the parameters but not the file (as at Cloudinary), so an upload is told apart by its
    file's SHA-256 as well: two different photos sent by a script within the same second with the same options
    carry the same signature and are two uploads; the same request sent twice is one. `public_id` is empty
    while the first request is still being carried out. Rows older than a signature's validity are of no use
    (a replay would be refused as stale) and are deleted as new ones come in.
    """

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=16)
    signature = models.CharField(max_length=64)
    content_sha256 = models.CharField(max_length=64, blank=True)
    public_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "action", "signature", "content_sha256"],
                                    name="signed_request_once"),
        ]

    def __str__(self):
        return f"{self.action} {self.signature[:12]}… -> {self.public_id or '(in progress)'}"


class WebhookDelivery(models.Model):
    """One notification to send to one URL (medialib.notifications): its JSON, who signs it, and how it went.

    Created in the transaction of the change it reports, so that a change that rolls back sends nothing and
    one that commits is never lost: a worker sends it, and the sweep queues again any whose attempt is due.
    """

    PENDING, SENT, GIVEN_UP = "pending", "sent", "given_up"
    STATUS_CHOICES = [(PENDING, "pending"), (SENT, "sent"), (GIVEN_UP, "given up")]

    url = models.CharField(max_length=2000)
    notification_type = models.CharField(max_length=40)
    payload = models.JSONField()
    # The key whose secret signs it: the one that made the request, or the library-wide URL's.
    api_key = models.ForeignKey(ApiKey, on_delete=models.SET_NULL, null=True, related_name="+")
    status = models.CharField(max_length=10, choices=STATUS_CHOICES, default=PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text="Attempts since it was created or sent again.")
    next_attempt_at = models.DateTimeField(null=True, blank=True,
                                           help_text="When the next attempt is due (empty once sent or given up).")
    last_status = models.PositiveIntegerField(null=True, blank=True, help_text="The receiver's last HTTP status.")
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_due")]

    def __str__(self):
        return f"{self.notification_type} to {self.url[:80]} ({self.status})"


class WebhookAttempt(models.Model):
    """One POST of a delivery: when, what the receiver answered (or what went wrong), and how long it took."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    started_at = models.DateTimeField()
    response_status = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, help_text="Empty when the receiver answered 2xx.")
    duration_ms = models.PositiveIntegerField()

    class Meta:
        ordering = ["started_at"]

    def __str__(self):
        return f"{self.started_at:%Y-%m-%d %H:%M:%S} {self.response_status or self.error[:40]}"


class NotificationSettings(models.Model):
    """The library-wide notification URL (Cloudinary's global one): every event is sent there too."""

    url = models.CharField("notification URL", max_length=2000, blank=True,
                           help_text="Every upload, add-on result, rename and delete is POSTed here; empty: none.")
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="The key whose secret signs these notifications; empty: the oldest active key.")

    class Meta:
        verbose_name = verbose_name_plural = "notification settings"

    def __str__(self):
        return self.url or "No library-wide notification URL"
