"""Webhooks through the official Python SDK against the live server and a real worker: a loopback receiver (let in by
MEDIALIB_WEBHOOK_ALLOWED_HOSTS) gets Cloudinary's notifications, signed so that the SDK's
verify_notification_signature accepts them; a failing receiver gets the retries; a hanging one does not hold the
worker past the timeout; and URLs reaching the server's own network are refused with a 400 that says why."""
import base64
import json
import time
import urllib.request

import cloudinary
import cloudinary.api
import cloudinary.uploader
import pytest
from cloudinary import exceptions
from cloudinary.utils import verify_notification_signature

from medialib.api.models import ApiKey, NotificationSettings, WebhookAttempt, WebhookDelivery
from medialib.api.services import api_key_create
from medialib.models import Asset
from tests import images
from tests.conftest import wait_for
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)
TIMEOUT = 2


@pytest.fixture
def celery_worker_env():
    return {"TAGGING_BACKEND": "fake", "MEDIALIB_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
            "MEDIALIB_WEBHOOK_RETRY_DELAYS": "1,1,1", "MEDIALIB_WEBHOOK_TIMEOUT_SECONDS": str(TIMEOUT)}


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    settings.MEDIALIB_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]  # the live server checks at request time, in this process


@pytest.fixture
def key(user):
    return api_key_create(name="hooks", user=user)


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "dogs.jpg"
    path.write_bytes(images.photo_bytes("dogs.jpg"))
    return path


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


def verified(got, secret: str, algorithm: str = "sha1") -> dict:
    """The notification's JSON, once the SDK has verified its signature with the secret."""
    calls_secret = cloudinary.config().api_secret
    cloudinary.config(api_secret=secret)
    try:
        assert verify_notification_signature(got.body, got.headers["X-Cld-Timestamp"], got.headers["X-Cld-Signature"],
                                             valid_for=60, algorithm=algorithm), got.headers
    finally:
        cloudinary.config(api_secret=calls_secret)  # the SDK's calls go on signing with the key they were given
    return json.loads(got.body)


def test_an_upload_with_add_ons_notifies_the_upload_and_then_each_result(
        cloudinary_sdk, key, photo, receiver, celery_worker_process):
    cloudinary_sdk(key)
    result = cloudinary.uploader.upload(str(photo), public_id="pets/dogs", categorization="aws_rek_tagging",
                                        auto_tagging=0.5, notification_url=receiver.url)
    first, second = receiver.wait_for(2, timeout=60)
    upload, info = verified(first, key.secret), verified(second, key.secret)
    assert upload["notification_type"] == "upload" and upload["signature_key"] == key.key
    assert {k: upload[k] for k in ("public_id", "asset_id", "version", "secure_url", "etag")} == {
        k: result[k] for k in ("public_id", "asset_id", "version", "secure_url", "etag")}
    assert upload["info"]["categorization"]["aws_rek_tagging"]["status"] == "pending"
    assert info["notification_type"] == "info"
    assert (info["info_kind"], info["info_status"], info["public_id"]) == ("aws_rek_tagging", "complete", "pets/dogs")
    resource = cloudinary.api.resource("pets/dogs")
    assert info["info_data"] == resource["info"]["categorization"]["aws_rek_tagging"]["data"]
    assert info["tags"] == resource["tags"] and info["tags"]  # the auto tags, applied before the notification
    assert info["secure_url"] == result["secure_url"]
    deliveries = WebhookDelivery.objects.order_by("pk")
    assert [(d.notification_type, d.status, d.attempts, d.last_status) for d in deliveries] == [
        ("upload", "sent", 1, 200), ("info", "sent", 1, 200)]
    time.sleep(1)
    assert len(receiver.received) == 2  # each sent once


def test_a_key_set_to_sha256_signs_with_sha256(cloudinary_sdk, key, photo, receiver, celery_worker_process):
    ApiKey.objects.filter(pk=key.pk).update(signature_algorithm="sha256")
    cloudinary_sdk(key)
    cloudinary.uploader.upload(str(photo), public_id="sha", notification_url=receiver.url)
    (got,) = receiver.wait_for(1, timeout=30)
    assert verified(got, key.secret, "sha256")["public_id"] == "sha"
    assert not verify_notification_signature(got.body, got.headers["X-Cld-Timestamp"],
                                             got.headers["X-Cld-Signature"], algorithm="sha1")


def test_explicit_and_update_notify_their_results_rename_and_destroy_notify_too(
        cloudinary_sdk, key, photo, receiver, celery_worker_process, live_server):
    cloudinary_sdk(key)
    cloudinary.uploader.upload(str(photo), public_id="cat")
    cloudinary.uploader.explicit("cat", type="upload", detection="aws_rek_face", notification_url=receiver.url)
    cloudinary.api.update("cat", categorization="aws_rek_tagging", notification_url=receiver.url)
    got = receiver.wait_for(2, timeout=60)
    kinds = sorted((n["notification_type"], n["info_kind"], n["info_status"])
                   for n in (verified(g, key.secret) for g in got))
    assert kinds == [("info", "aws_rek_face", "complete"), ("info", "aws_rek_tagging", "complete")]
    cloudinary.uploader.rename("cat", "animals/cat", notification_url=receiver.url)
    rename = verified(receiver.wait_for(3, timeout=30)[2], key.secret)
    asset = Asset.objects.get()
    assert {k: rename[k] for k in ("notification_type", "from_public_id", "to_public_id", "asset_id")} == {
        "notification_type": "rename", "from_public_id": "cat", "to_public_id": "animals/cat",
        "asset_id": asset.asset_id}
    assert cloudinary.uploader.destroy("animals/cat", notification_url=receiver.url)["result"] == "ok"
    delete = verified(receiver.wait_for(4, timeout=30)[3], key.secret)
    assert delete["notification_type"] == "delete"
    assert delete["resources"] == [{"resource_type": "image", "type": "upload", "asset_id": asset.asset_id,
                                    "public_id": "animals/cat", "version": asset.version, "asset_folder": ""}]
    # The Admin API's delete (the Python SDK does not pass notification_url there; curl and others do).
    cloudinary.uploader.upload(str(photo), public_id="gone/1")
    request = urllib.request.Request(
        f"{live_server.url}/v1_1/{cloudinary.config().cloud_name}/resources/image/upload", method="DELETE",
        data=json.dumps({"public_ids": ["gone/1"], "notification_url": receiver.url}).encode(),
        headers={"Content-Type": "application/json",
                 "Authorization": "Basic " + base64.b64encode(f"{key.key}:{key.secret}".encode()).decode()})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert json.load(response)["deleted"] == {"gone/1": "deleted"}
    bulk = verified(receiver.wait_for(5, timeout=30)[4], key.secret)
    assert bulk["notification_type"] == "delete" and [r["public_id"] for r in bulk["resources"]] == ["gone/1"]


def test_the_library_wide_url_hears_every_event_signed_by_its_key(
        cloudinary_sdk, key, user, photo, receiver, celery_worker_process):
    signer = api_key_create(name="webhooks", user=user)
    NotificationSettings.objects.create(url=receiver.url, api_key=signer)
    cloudinary_sdk(key)
    cloudinary.uploader.upload(str(photo), public_id="lib", categorization="aws_rek_tagging")
    cloudinary.uploader.rename("lib", "lib2")
    got = receiver.wait_for(3, timeout=60)
    types = sorted(verified(g, signer.secret)["notification_type"] for g in got)
    assert types == ["info", "rename", "upload"]
    cloudinary.uploader.add_tag("Blue", ["lib2", "nobody"])
    cloudinary.uploader.remove_tag("blue", ["lib2"])
    added, removed = (verified(g, signer.secret) for g in receiver.wait_for(5, timeout=30)[3:])
    asset = Asset.objects.get()
    assert added["notification_type"] == removed["notification_type"] == "resource_tags_changed"
    assert added["resources"] == [{"asset_id": asset.asset_id, "public_id": "lib2", "resource_type": "image",
                                   "type": "upload", "added": ["Blue"], "removed": []}]
    assert removed["resources"][0]["removed"] == ["Blue"] and removed["resources"][0]["added"] == []
    cloudinary.uploader.add_tag("Blue", ["nobody"])  # nothing changed: nothing sent
    time.sleep(2)
    assert len(receiver.received) == 5
    cloudinary.uploader.add_context({"alt": "A dog", "caption": "Hi"}, ["lib2"])
    (context,) = (verified(g, signer.secret) for g in receiver.wait_for(6, timeout=30)[5:])
    assert context["notification_type"] == "resource_context_changed" and context["source"] == "api"
    assert context["resources"] == {"lib2": {"added": {"alt": "A dog", "caption": "Hi"}, "updated": {},
                                             "removed": [], "asset_id": asset.asset_id, "resource_type": "image",
                                             "type": "upload"}}
    # The Admin API's update: its tags and its context changes, each told in Cloudinary's shape.
    cloudinary.api.update("lib2", context="alt=A cat", tags=["pets"])
    both = {g["notification_type"]: g for g in (verified(g, signer.secret)
                                                 for g in receiver.wait_for(8, timeout=30)[6:])}
    assert both["resource_context_changed"]["resources"]["lib2"] | {"asset_id": None} == {
        "added": {}, "updated": {"alt": "A cat"}, "removed": ["caption"], "asset_id": None,
        "resource_type": "image", "type": "upload"}
    assert both["resource_tags_changed"]["resources"][0]["added"] == ["pets"]


def test_a_receiver_answering_500_gets_the_retries_each_recorded(cloudinary_sdk, key, photo, celery_worker_process):
    with Receiver(statuses=[500, 503, 200]) as receiver:
        cloudinary_sdk(key)
        cloudinary.uploader.upload(str(photo), public_id="retry", notification_url=receiver.url)
        got = receiver.wait_for(3, timeout=30)
        assert len({g.body for g in got}) == 1  # the same notification each time
        for g in got:
            verified(g, key.secret)
        delivery = wait_for(lambda: WebhookDelivery.objects.filter(status="sent").first(), timeout=10)
    assert delivery.attempts == 3
    assert list(WebhookAttempt.objects.filter(delivery=delivery).values_list("response_status", flat=True)) == [
        500, 503, 200]
    assert got[1].at - got[0].at >= 0.9  # the backoff (1 s here)


def test_a_redirect_to_a_private_address_is_not_followed_and_is_given_up(
        cloudinary_sdk, key, photo, celery_worker_process):
    with Receiver(statuses=[307], location="http://169.254.169.254/latest/meta-data/") as receiver:
        cloudinary_sdk(key)
        cloudinary.uploader.upload(str(photo), public_id="redirected", notification_url=receiver.url)
        delivery = wait_for(lambda: WebhookDelivery.objects.filter(status="given_up").first(), timeout=40,
                            message=f"given up\n{celery_worker_process.output()[-3000:]}")
        assert len(receiver.received) == 4  # 1 + 3 retries, every one to the receiver itself
    assert delivery.attempts == 4 and delivery.last_status == 307
    assert "never followed" in delivery.last_error and "169.254.169.254" in delivery.last_error


def test_a_receiver_that_hangs_does_not_hold_the_worker_longer_than_the_timeout(
        cloudinary_sdk, key, photo, celery_worker_process):
    with Receiver(hang=True) as hanging, Receiver() as healthy:
        cloudinary_sdk(key)
        cloudinary.uploader.upload(str(photo), public_id="hang", notification_url=hanging.url)
        hanging.wait_for(1, timeout=30)
        started = time.monotonic()
        cloudinary.uploader.upload(str(photo), public_id="after", notification_url=healthy.url)
        healthy.wait_for(1, timeout=30)
        waited = time.monotonic() - started
        attempt = wait_for(lambda: WebhookAttempt.objects.filter(delivery__url=hanging.url).first(), timeout=10)
    # The worker (one process here) was stuck at most the timeout on the hanging receiver.
    assert attempt.response_status is None and attempt.error == f"No answer within {TIMEOUT} s."
    assert TIMEOUT * 1000 * 0.9 <= attempt.duration_ms < TIMEOUT * 1000 + 1000
    assert waited < TIMEOUT + 3


@pytest.mark.parametrize("url, message", [
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("http://10.0.0.1/", "10.0.0.1 is a private address"),
    ("http://[::1]/", "::1 is a loopback address"),
    ("file:///etc/passwd", "must be an http or https URL, not file:"),
    ("http://localhost:8000/", "localhost resolves to"),
])
def test_notification_urls_reaching_the_servers_network_are_refused_with_why(
        cloudinary_sdk, key, photo, settings, url, message):
    settings.MEDIALIB_WEBHOOK_ALLOWED_HOSTS = []
    cloudinary_sdk(key)
    with pytest.raises(exceptions.BadRequest, match=message.replace("(", r"\(")):
        cloudinary.uploader.upload(str(photo), notification_url=url)
    assert not Asset.objects.exists() and not WebhookDelivery.objects.exists()
    cloudinary.uploader.upload(str(photo), public_id="kept")
    with pytest.raises(exceptions.BadRequest, match=message.replace("(", r"\(")):
        cloudinary.uploader.explicit("kept", type="upload", categorization="aws_rek_tagging", notification_url=url)
    with pytest.raises(exceptions.BadRequest, match=message.replace("(", r"\(")):
        cloudinary.api.update("kept", categorization="aws_rek_tagging", notification_url=url)
    with pytest.raises(exceptions.BadRequest, match=message.replace("(", r"\(")):
        cloudinary.uploader.rename("kept", "renamed", notification_url=url)
    with pytest.raises(exceptions.BadRequest, match=message.replace("(", r"\(")):
        cloudinary.uploader.destroy("kept", notification_url=url)
    assert list(Asset.objects.values_list("public_id", flat=True)) == ["kept"]
    assert not WebhookDelivery.objects.exists()


def test_loopback_is_refused_unless_allowed(cloudinary_sdk, key, photo, settings, receiver):
    settings.MEDIALIB_WEBHOOK_ALLOWED_HOSTS = []
    cloudinary_sdk(key)
    with pytest.raises(exceptions.BadRequest, match="127.0.0.1 is a loopback address"):
        cloudinary.uploader.upload(str(photo), notification_url=receiver.url)
    settings.MEDIALIB_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.0/8"]
    assert cloudinary.uploader.upload(str(photo), notification_url=receiver.url)["public_id"]
    assert WebhookDelivery.objects.get().url == receiver.url


def test_eager_notification_url_hears_the_renditions_made_by_the_worker_and_in_the_call(
        cloudinary_sdk, key, photo, receiver, celery_worker_process, settings):
    settings.MEDIALIB_DELIVERY_ACCESS = "public"
    cloudinary_sdk(key)
    answer = cloudinary.uploader.upload(str(photo), public_id="eager", eager="c_fill,w_40,h_30|c_scale,w_6000,h_6000",
                                        eager_async=True, eager_notification_url=receiver.url)
    assert [e["status"] for e in answer["eager"]] == ["processing", "processing"]
    (got,) = receiver.wait_for(1, timeout=60)
    eager = verified(got, key.secret)
    asset = Asset.objects.get()
    assert eager["notification_type"] == "eager" and eager["public_id"] == "eager"
    assert eager["asset_id"] == asset.asset_id and eager["batch_id"] == answer["eager"][0]["batch_id"]
    made, failed = eager["eager"]
    assert (made["transformation"], made["width"], made["height"], made["format"]) == ("c_fill,h_30,w_40", 40, 30,
                                                                                         "jpg")
    assert made["bytes"] > 0 and made["url"] == answer["eager"][0]["url"] and "status" not in made
    assert failed["status"] == "failed" and "pixels" in failed["reason"]  # over MEDIALIB_MAX_OUTPUT_PIXELS
    # Made in the call (no eager_async): the notification tells the same as the answer.
    answer = cloudinary.uploader.explicit("eager", type="upload", eager="c_scale,w_20",
                                          eager_notification_url=receiver.url)
    (entry,) = verified(receiver.wait_for(2, timeout=30)[1], key.secret)["eager"]
    assert entry == {k: v for k, v in answer["eager"][0].items()}
    assert entry["width"] == 20


def test_what_is_not_implemented_is_refused_with_a_reason(cloudinary_sdk, key, photo, receiver):
    cloudinary_sdk(key)
    with pytest.raises(exceptions.BadRequest, match="eager_notification_url tells when eager transformations"):
        cloudinary.uploader.upload(str(photo), eager_notification_url=receiver.url)
    with pytest.raises(exceptions.BadRequest, match="notification_url on explicit tells of the add-ons"):
        cloudinary.uploader.upload(str(photo), public_id="x")
        cloudinary.uploader.explicit("x", type="upload", eager="w_10", notification_url=receiver.url)
    with pytest.raises(exceptions.BadRequest, match="tag and context calls send no per-call notification"):
        cloudinary.uploader.add_tag("t", ["x"], notification_url=receiver.url)
