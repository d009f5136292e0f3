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
