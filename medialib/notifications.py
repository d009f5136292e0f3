"""Webhook deliveries: created with the change they report, sent by a worker, retried with backoff, swept up.

A delivery is a row made in the transaction of its change (upload, add-on result, rename, delete), and queued
when that commits. The task claims it (an attempt is due and nobody else holds it), POSTs it once
(medialib.webhooks), records the attempt, and either marks it sent or sets when the next attempt is due:
MEDIALIB_WEBHOOK_RETRY_DELAYS after each failure, given up after one attempt more than there are delays (7 by
default). A short wait is a countdown on the task; a long one, a lost message or a broker that was down is found
by the sweep (every minute), so no delivery depends on a message surviving.
"""
from __future__ import annotations

import logging
import time
from datetime import UTC, timedelta
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .api.models import ApiKey, NotificationSettings, WebhookAttempt, WebhookDelivery
from .delivery import delivery_url
from .models import Asset, AssetTag, DeliveredRendition
from .queueing import broker_pause_reset, task_enqueue
from .webhooks import notification_sign, payload_body, webhook_post

logger = logging.getLogger(__name__)

# A retry waiting longer than this is left to the sweep: a broker holds a countdown message unacknowledged, and
# Redis hands one held past its visibility timeout to a second worker.
COUNTDOWN_MAX_SECONDS = 120
SWEEP_BATCH = 500


def retry_delays(text: str | None = None) -> list[float]:
    """MEDIALIB_WEBHOOK_RETRY_DELAYS as seconds; ValueError names what is wrong."""
    text = settings.MEDIALIB_WEBHOOK_RETRY_DELAYS if text is None else text
    delays = []
    for part in str(text).replace(" ", "").split(","):
        if not part:
            continue
        delay = float(part)  # ValueError for a word
        if not 0 <= delay <= 7 * 24 * 3600:
            raise ValueError(f"a wait of {part} s is not between 0 and a week")
        delays.append(delay)
    return delays


def max_attempts() -> int:
    return len(retry_delays()) + 1


def claim_lease() -> timedelta:
    """How long an attempt holds its delivery: past it, a worker that died mid-attempt lets the sweep retry."""
    return timedelta(seconds=settings.MEDIALIB_WEBHOOK_TIMEOUT_SECONDS + 60)


def library_notification() -> tuple[str, ApiKey | None]:
    """The library-wide notification URL and the key that signs it (its chosen key if active, else the oldest
    active key); ("", None) when there is none."""
    row = NotificationSettings.objects.select_related("api_key").first()
    if row is None or not row.url:
        return "", None
    key = row.api_key if row.api_key is not None and row.api_key.is_active else None
    return row.url, key or ApiKey.objects.filter(is_active=True).order_by("created_at", "pk").first()


def notification_request(*, url: str, api_key: ApiKey, host: str) -> dict | None:
    """What a result remembers of a call's notification_url (already checked), for the worker that finishes it:
    stored as JSON (tagging's AnalysisResult.notification). None when the call gave none."""
    return {"url": url, "api_key_id": api_key.pk, "host": host} if url else None


def notification_request_key(notification: dict | None) -> ApiKey | None:
    if not notification or not notification.get("url"):
        return None
    return ApiKey.objects.filter(pk=notification.get("api_key_id")).first()


def asset_notice(asset: Asset, *, host: str = "") -> dict:
    """What every notification about an image says of it, with its delivery URLs at `host` (the call's) or
    MEDIALIB_PUBLIC_BASE_URL's; without either (a worker's event nobody asked for by API) there are none."""
    data = {"asset_id": asset.asset_id, "public_id": asset.public_id, "version": asset.version,
            "resource_type": "image", "type": "upload", "etag": asset.sha256[:32],
            "uploaded_at": asset.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    if settings.MEDIALIB_PUBLIC_BASE_URL:
        host = urlsplit(settings.MEDIALIB_PUBLIC_BASE_URL).netloc
    if host:
        path = delivery_url(cloud=settings.MEDIALIB_CLOUD_NAME, public_id=asset.public_id, version=asset.version,
                            extension=asset.format)
        data.update(url=f"http://{host}{path}", secure_url=f"https://{host}{path}")
    return data


def notifications_wanted(url: str = "") -> bool:
    """Whether an event would be sent anywhere: saves building a payload nobody receives."""
    return bool(url) or NotificationSettings.objects.exclude(url="").exists()


def uploaded_notify(*, asset: Asset, host: str = "") -> list[WebhookDelivery]:
    """Cloudinary's `upload` notification of an upload made on the pages, to the library-wide URL (the API's
    uploads send their answer instead). Call it inside the upload's transaction (asset_upload's on_create)."""
    if not notifications_wanted():
        return []
    payload = {**asset_notice(asset, host=host), "width": asset.width, "height": asset.height,
               "format": asset.format, "bytes": asset.bytes, "created_at": asset.created_at.astimezone(UTC).strftime(
                   "%Y-%m-%dT%H:%M:%SZ"), "original_filename": PurePosixPath(asset.original_filename).stem or "file",
               "asset_folder": asset.asset_folder, "source": "ui"}
    return notifications_queue(notification_type="upload", payload=payload)


def deleted_notify(*, assets: list[Asset], url: str = "", api_key: ApiKey | None = None) -> list[WebhookDelivery]:
    """Cloudinary's `delete` notification of these images (read before they were deleted)."""
    if not assets or not notifications_wanted(url):
        return []
    resources = [{"resource_type": "image", "type": "upload", "asset_id": asset.asset_id,
                  "public_id": asset.public_id, "version": asset.version, "asset_folder": asset.asset_folder}
                 for asset in assets]
    return notifications_queue(notification_type="delete", payload={"resources": resources}, url=url,
                               api_key=api_key)


def renamed_notify(*, asset: Asset, from_public_id: str, url: str = "",
                   api_key: ApiKey | None = None) -> list[WebhookDelivery]:
    """Cloudinary's `rename` notification."""
    if from_public_id == asset.public_id or not notifications_wanted(url):
        return []
    payload = {"resource_type": "image", "type": "upload", "asset_id": asset.asset_id,
               "asset_folder": asset.asset_folder, "from_public_id": from_public_id, "to_public_id": asset.public_id}
    return notifications_queue(notification_type="rename", payload=payload, url=url, api_key=api_key)


def tags_watch(*, public_ids) -> dict[int, tuple[Asset, set[str]]]:
    """The tags of these images before a change, for tags_changed_notify to tell what the change did."""
    assets = Asset.objects.filter(public_id__in=[p for p in public_ids if "\x00" not in p]).prefetch_related("tags")
    return {asset.pk: (asset, {tag.name for tag in asset.tags.all()}) for asset in assets}


def tags_changed_notify(*, before: dict[int, tuple[Asset, set[str]]], source: str = "api") -> list[WebhookDelivery]:
    """Cloudinary's `resource_tags_changed` to the library-wide URL: each image whose tags changed, with the tags
    added and removed (read inside the transaction of the change). `source` is Cloudinary's: "api" for the API,
    "ui" for the pages (its Media Library)."""
    now = {asset.pk: {tag.name for tag in asset.tags.all()}
           for asset in Asset.objects.filter(pk__in=list(before)).prefetch_related("tags")}
    resources = []
    for pk, (asset, old) in before.items():
        new = now.get(pk, old)
        if new != old:
            resources.append({"asset_id": asset.asset_id, "public_id": asset.public_id, "resource_type": "image",
                              "type": "upload", "added": sorted(new - old, key=str.lower),
                              "removed": sorted(old - new, key=str.lower)})
    if not resources:
        return []
    return notifications_queue(notification_type="resource_tags_changed",
                               payload={"source": source, "resources": resources})


def eager_entry_made(entry: dict, made) -> dict:
    """An eager entry of the answer (transformation, format, url, secure_url) with what was made: its size, or
    `status: failed` and why (`made` is the reason's text)."""
    if isinstance(made, str):
        return {**entry, "status": "failed", "reason": made}
    size = made.bytes if isinstance(made, DeliveredRendition) else len(made.data)
    return {**entry, "width": made.width, "height": made.height, "bytes": size}


def eager_notify(*, asset_id: int, entries: list[dict], batch_id: str, notification: dict,
                 results: list | None = None) -> list[WebhookDelivery]:
    """Cloudinary's `eager` notification to the call's eager_notification_url (and the library-wide URL) once the
    eager renditions are made: `entries` as the call answered them, with `results` (the worker's, item by item,
    eager_async) filled in, or already filled (made in the call)."""
    asset = Asset.objects.filter(pk=asset_id).first()
    if asset is None or results is not None and len(results) != len(entries):
        return []  # deleted, or replaced while they were made: its own notifications tell of that
    if results is not None:
        entries = [eager_entry_made({k: v for k, v in entry.items() if k not in ("status", "batch_id")}, made)
                   for entry, made in zip(entries, results, strict=True)]
    payload = {"asset_id": asset.asset_id, "public_id": asset.public_id, "version": asset.version,
               "resource_type": "image", "type": "upload", "batch_id": batch_id, "eager": entries}
    with transaction.atomic():
        return notifications_queue(notification_type="eager", payload=payload, url=notification.get("url", ""),
                                   api_key=notification_request_key(notification))


def contexts_watch(*, public_ids) -> dict[int, tuple[Asset, dict]]:
    """The context of these images before a change, for context_changed_notify."""
    assets = Asset.objects.filter(public_id__in=[p for p in public_ids if "\x00" not in p])
    return {asset.pk: (asset, dict(asset.context or {})) for asset in assets}


def context_changed_notify(*, before: dict[int, tuple[Asset, dict]], source: str = "api") -> list[WebhookDelivery]:
    """Cloudinary's `resource_context_changed` to the library-wide URL: for each image whose context changed, the
    keys added and updated (with their values) and removed, keyed by public_id as Cloudinary's is."""
    now = dict(Asset.objects.filter(pk__in=list(before)).values_list("pk", "context"))
    resources = {}
    for pk, (asset, old) in before.items():
        new = now.get(pk, old) or {}
        if new != old:
            resources[asset.public_id] = {
                "added": {k: v for k, v in new.items() if k not in old},
                "updated": {k: v for k, v in new.items() if k in old and old[k] != v},
                "removed": sorted(k for k in old if k not in new),
                "asset_id": asset.asset_id, "resource_type": "image", "type": "upload",
            }
    if not resources:
        return []
    return notifications_queue(notification_type="resource_context_changed",
                               payload={"source": source, "resources": resources})


# One resource_tags_changed lists at most this many images (Cloudinary's tag calls take 1,000 public_ids at
# most, so an API call is never split); a moderator's change to more sends several.
TAGS_CHANGED_BATCH = 1000


class TagUsesWatch:
    """The uses of some tags before a moderation change (a rename, a merge, a deletion, rejections), for
    `notify()` to send Cloudinary's resource_tags_changed (source "ui", as Cloudinary's console changes are) for
    every image whose tags the change altered. Only the watched tags' uses are read (what the change can touch,
    not each image's every tag), and nothing at all when no library-wide URL is set. Make it, and call notify(),
    inside the transaction of the change."""

    def __init__(self, *, tag_ids, asset_ids=None):
        self.tag_ids = list(tag_ids)
        self.asset_ids = None if asset_ids is None else list(asset_ids)
        self.before = self._uses() if notifications_wanted() else None

    def _uses(self) -> dict[int, set[str]]:
        uses: dict[int, set[str]] = {}
        for start in range(0, len(self.tag_ids), SWEEP_BATCH):
            found = AssetTag.objects.filter(tag_id__in=self.tag_ids[start:start + SWEEP_BATCH])
            if self.asset_ids is not None:
                found = found.filter(content_object_id__in=self.asset_ids)
            for asset_id, name in found.values_list("content_object_id", "tag__name").iterator(chunk_size=5000):
                uses.setdefault(asset_id, set()).add(name)
        return uses

    def notify(self) -> list[WebhookDelivery]:
        if self.before is None:
            return []
        after = self._uses()
        changes = {pk: (after.get(pk, set()), self.before.get(pk, set())) for pk in self.before.keys() | after.keys()}
        changes = {pk: (new, old) for pk, (new, old) in changes.items() if new != old}
        deliveries = []
        ids = sorted(changes)
        for start in range(0, len(ids), TAGS_CHANGED_BATCH):
            chunk = ids[start:start + TAGS_CHANGED_BATCH]
            resources = [
                {"asset_id": asset_id, "public_id": public_id, "resource_type": "image", "type": "upload",
                 "added": sorted(changes[pk][0] - changes[pk][1], key=str.lower),
                 "removed": sorted(changes[pk][1] - changes[pk][0], key=str.lower)}
                for pk, public_id, asset_id in Asset.objects.filter(pk__in=chunk).order_by("pk")
                .values_list("pk", "public_id", "asset_id")
            ]
            if resources:
                deliveries += notifications_queue(notification_type="resource_tags_changed",
                                                  payload={"source": "ui", "resources": resources})
        return deliveries


def notifications_queue(*, notification_type: str, payload: dict, url: str = "",
                        api_key: ApiKey | None = None) -> list[WebhookDelivery]:
    """Deliveries of one event: to the call's notification_url (signed by the key that made the call) and to the
    library-wide URL. Call it inside the transaction of the change; they are queued when it commits."""
    targets = [(url, api_key)] if url and api_key is not None else []
    library_url, library_key = library_notification()
    if library_url and library_url != url:
        if library_key is None:
            logger.warning("No active API key signs the library-wide notifications: %s not sent to %s",
                           notification_type, library_url)
        else:
            targets.append((library_url, library_key))
    if not targets:
        return []
    now = timezone.now()
    deliveries = []
    with transaction.atomic():
        for target_url, key in targets:
            body = {**payload, "notification_type": notification_type,
                    "timestamp": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00"), "signature_key": key.key}
            deliveries.append(WebhookDelivery.objects.create(
                url=target_url, notification_type=notification_type, payload=body, api_key=key, next_attempt_at=now))
        ids = [delivery.pk for delivery in deliveries]
        transaction.on_commit(lambda: [webhook_enqueue(delivery_id=pk) for pk in ids])
    return deliveries


def webhook_enqueue(*, delivery_id: int, countdown: float | None = None) -> bool:
    """Queue one delivery's attempt; False if the broker did not take it (the sweep will find it due)."""
    from .tasks import webhook_deliver

    if countdown is None:
        return task_enqueue(webhook_deliver, delivery_id)
    try:
        webhook_deliver.apply_async(args=(delivery_id,), countdown=countdown, retry=False)
    except Exception:
        logger.warning("Could not queue the retry of webhook %s; the sweep will", delivery_id, exc_info=True)
        return False
    return True


def webhook_deliver(*, delivery_id: int) -> str:
    """One attempt of a delivery whose attempt is due; the body of the webhook_deliver task. Returns its status,
    or "skipped" when it is not due or another worker holds it (running a task twice sends once)."""
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.PENDING, next_attempt_at__lte=now,
    ).update(next_attempt_at=now + claim_lease(), attempts=F("attempts") + 1)
    if not claimed:
        return "skipped"
    delivery = WebhookDelivery.objects.select_related("api_key").get(pk=delivery_id)
    key = delivery.api_key
    if key is None:
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=WebhookDelivery.GIVEN_UP, next_attempt_at=None,
            last_error="The API key that signs it was deleted: it cannot be signed.")
        return WebhookDelivery.GIVEN_UP
    body = payload_body(delivery.payload)
    timestamp = int(time.time())
    headers = {"X-Cld-Timestamp": str(timestamp),
               "X-Cld-Signature": notification_sign(body, timestamp, key.secret, key.signature_algorithm)}
    started_at = timezone.now()
    answer = webhook_post(delivery.url, body=body, headers=headers)
    WebhookAttempt.objects.create(delivery_id=delivery_id, started_at=started_at, response_status=answer.status,
                                  error=answer.error, duration_ms=answer.duration_ms)
    fields = {"last_status": answer.status, "last_error": answer.error}
    if not answer.error:
        fields.update(status=WebhookDelivery.SENT, sent_at=timezone.now(), next_attempt_at=None)
        status, countdown = WebhookDelivery.SENT, None
    elif delivery.attempts >= max_attempts():
        fields.update(status=WebhookDelivery.GIVEN_UP, next_attempt_at=None)
        status, countdown = WebhookDelivery.GIVEN_UP, None
        logger.warning("Webhook %s to %s given up after %s attempts: %s", delivery_id, delivery.url,
                       delivery.attempts, answer.error)
    else:
        countdown = retry_delays()[delivery.attempts - 1]
        fields["next_attempt_at"] = timezone.now() + timedelta(seconds=countdown)
        status = WebhookDelivery.PENDING
    WebhookDelivery.objects.filter(pk=delivery_id).update(**fields)
    if countdown is not None and countdown <= COUNTDOWN_MAX_SECONDS:
        webhook_enqueue(delivery_id=delivery_id, countdown=countdown)
    return status


def webhooks_sweep() -> list[int]:
    """Queue every delivery whose attempt is due (a retry left to the sweep, a lost message, a dead worker's
    claim that lapsed, an enqueue the broker refused). Returns the ids queued."""
    broker_pause_reset()
    due = list(WebhookDelivery.objects.filter(status=WebhookDelivery.PENDING, next_attempt_at__lte=timezone.now())
               .order_by("next_attempt_at").values_list("pk", flat=True)[:SWEEP_BATCH])
    return [pk for pk in due if webhook_enqueue(delivery_id=pk)]


def webhooks_send_again(*, deliveries) -> int:
    """Send these deliveries again from the first attempt (an admin's "Send again"), whatever their status."""
    with transaction.atomic():
        ids = list(deliveries.values_list("pk", flat=True))
        WebhookDelivery.objects.filter(pk__in=ids).update(status=WebhookDelivery.PENDING, attempts=0,
                                                         next_attempt_at=timezone.now())
        transaction.on_commit(lambda: [webhook_enqueue(delivery_id=pk) for pk in ids])
    return len(ids)
