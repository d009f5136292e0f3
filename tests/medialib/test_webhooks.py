"""medialib/webhooks.py and medialib/notifications.py: which URLs may be reached (SSRF), signing as the SDK verifies
it, one attempt against a real loopback receiver, and the deliveries' retries, sweep and "send again"."""
import ipaddress
import json
import time
from datetime import timedelta

import cloudinary
import pytest
from cloudinary.utils import verify_notification_signature
from django.core import checks
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from medialib import notifications, webhooks
from medialib.api.models import ApiKey, NotificationSettings, WebhookAttempt, WebhookDelivery
from medialib.api.services import api_key_create
from medialib.models import Asset
from medialib.webhooks import WebhookUrlError, notification_sign, notification_url_check, webhook_post
from tests.webhook_receiver import Receiver

FAST = hypothesis_settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def fake_dns(monkeypatch):
    """Names this test decides the addresses of; anything else resolves as usual."""
    table: dict[str, list[str]] = {}
    real = webhooks.resolve

    def resolve(host, port):
        if host in table:
            return list(table[host])
        return real(host, port)

    monkeypatch.setattr(webhooks, "resolve", resolve)
    return table


@pytest.fixture
def loopback_allowed(settings):
    settings.MEDIALIB_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]


# --- which URLs may be reached ---------------------------------------------------------------------------------

@pytest.mark.parametrize("url, reason", [
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("http://10.0.0.1/", "10.0.0.1 is a private address"),
    ("http://192.168.1.20:8080/hook", "private address"),
    ("http://127.0.0.1:9000/", "127.0.0.1 is a loopback address"),
    ("http://[::1]/", "::1 is a loopback address"),
    ("http://[::ffff:127.0.0.1]/", "127.0.0.1 is a loopback address (inside the IPv6 address ::ffff:7f00:1)"),
    ("http://[::ffff:10.0.0.1]/", "private address (inside the IPv6"),
    ("http://[fe80::1]/", "link-local"),
    ("http://[fd00::1]/", "private address"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://224.0.0.1/", "multicast"),
    ("http://240.0.0.1/", "reserved"),
    ("http://100.64.0.1/", "not a public address"),
    ("http://localhost:8000/hook", "127.0.0.1 is a loopback address"),
])
def test_urls_reaching_the_servers_own_network_are_refused(url, reason):
    with pytest.raises(WebhookUrlError, match="may not be reached") as refused:
        notification_url_check(url)
    assert reason in str(refused.value)
    assert "MEDIALIB_WEBHOOK_ALLOWED_HOSTS" in str(refused.value)


@pytest.mark.parametrize("url, reason", [
    ("file:///etc/passwd", "must be an http or https URL, not file:"),
    ("gopher://example.com/", "not gopher:"),
    ("ftp://example.com/x", "not ftp:"),
    ("//example.com/x", "one without a scheme"),
    ("example.com/hook", "one without a scheme"),
    ("http:///nohost", "names no host"),
    ("http://user:pw@example.com/", "user name or password"),
    ("http://exa mple.com/", "spaces or control characters"),
    ("http://example.com:99999/", "not a valid URL"),
    ("", "empty"),
    ("http://" + "a" * 2000 + ".com/", "longer than 2000"),
])
def test_urls_that_are_not_http_or_malformed_are_refused(url, reason):
    with pytest.raises(WebhookUrlError, match=reason.replace("(", r"\(")):
        notification_url_check(url)


def test_a_name_that_resolves_to_a_private_address_is_refused_even_if_another_is_public(fake_dns):
    fake_dns["hooks.example.com"] = ["93.184.216.34", "10.1.2.3"]
    with pytest.raises(WebhookUrlError, match="hooks.example.com resolves to 10.1.2.3 is a private address"):
        notification_url_check("https://hooks.example.com/cld")
    fake_dns["rebind.example.com"] = ["127.0.0.1"]
    with pytest.raises(WebhookUrlError, match="loopback"):
        notification_url_check("http://rebind.example.com/")


def test_a_public_name_is_accepted_and_pinned_to_the_address_checked(fake_dns):
    fake_dns["hooks.example.com"] = ["93.184.216.34"]
    target = notification_url_check("https://Hooks.Example.com./cld?x=1")
    assert (target.scheme, target.host, target.port, target.path, target.address) == (
        "https", "hooks.example.com", 443, "/cld?x=1", "93.184.216.34")


def test_a_name_that_does_not_resolve_is_refused(fake_dns):
    with pytest.raises(WebhookUrlError, match="does not resolve"):
        notification_url_check("http://no-such-host.invalid/")


def test_allowed_hosts_and_networks_may_be_reached(settings, fake_dns):
    fake_dns["hooks.internal"] = ["10.1.0.5"]
    fake_dns["other.internal"] = ["10.2.0.5"]
    settings.MEDIALIB_WEBHOOK_ALLOWED_HOSTS = ["hooks.internal", "127.0.0.1", "192.168.0.0/16", "::1"]
    assert notification_url_check("http://hooks.internal/x").address == "10.1.0.5"
    assert notification_url_check("http://127.0.0.1:8000/").address == "127.0.0.1"
    assert notification_url_check("http://192.168.44.1/").address == "192.168.44.1"
    assert notification_url_check("http://[::1]:81/").address == "::1"
    for url in ("http://other.internal/", "http://10.0.0.1/", "http://169.254.169.254/", "http://127.0.0.2/"):
        with pytest.raises(WebhookUrlError):
            notification_url_check(url)


def test_a_malformed_allowed_hosts_setting_stops_the_start(settings):
    settings.MEDIALIB_WEBHOOK_ALLOWED_HOSTS = ["10.0.0.0/8", "bad host!"]
    errors = [e for e in checks.run_checks() if e.id == "medialib.E016"]
    assert len(errors) == 1 and "'bad host!'" in errors[0].msg
    settings.MEDIALIB_WEBHOOK_ALLOWED_HOSTS = ["10.0.0.0/8", "hooks.internal", "::1", "[::1]"]
    settings.MEDIALIB_WEBHOOK_RETRY_DELAYS = "10,soon"
    found = [e for e in checks.run_checks() if e.id in ("medialib.E016", "medialib.E017")]
    assert [e.id for e in found] == ["medialib.E017"] and "10,soon" in found[0].msg


IPV4 = st.integers(min_value=0, max_value=2**32 - 1).map(ipaddress.IPv4Address)
NOT_PUBLIC = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16",
    "224.0.0.0/4", "240.0.0.0/4")]


@FAST
@given(address=IPV4)
def test_hypothesis_an_ipv4_address_is_reached_only_when_public(address):
    refusal = webhooks.address_refusal(address)
    if any(address in network for network in NOT_PUBLIC):
        assert refusal
    if not refusal:
        assert address.is_global and not address.is_multicast
    # The same address inside IPv6 (mapped, NAT64) is judged the same.
    mapped = ipaddress.IPv6Address(f"::ffff:{address}")
    nat64 = ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | int(address))
    assert bool(webhooks.address_refusal(mapped)) == bool(refusal)
    assert bool(webhooks.address_refusal(nat64)) == bool(refusal)


@FAST
@given(network=st.sampled_from(NOT_PUBLIC), offset=st.integers(min_value=0, max_value=2**24), port=st.integers(1, 65535))
def test_hypothesis_any_url_naming_a_private_address_is_refused_unless_its_network_is_allowed(network, offset, port):
    address = network[offset % network.num_addresses]
    url = f"http://{address}:{port}/hook"
    with pytest.raises(WebhookUrlError):
        notification_url_check(url, allowed=(set(), []))
    assert notification_url_check(url, allowed=(set(), [network])).address == str(address)


@FAST
@given(text=st.text(max_size=300) | st.builds(lambda s, rest: f"{s}://{rest}",
                                                st.sampled_from(["http", "https", "file", "HTTP", "ftp", ""]),
                                                st.text(max_size=80)))
def test_hypothesis_any_text_is_either_a_checked_target_or_a_clear_refusal(text):
    def resolve(host, port):
        if len(host) % 2:
            raise OSError("no such name")
        return ["127.0.0.1"]

    original = webhooks.resolve
    webhooks.resolve = resolve
    try:
        try:
            target = notification_url_check(text, allowed=({"a", "ab"}, []))
        except WebhookUrlError as exc:
            assert str(exc)
        else:
            assert target.scheme in ("http", "https") and target.host.lower() in ("a", "ab")
            assert 0 < target.port < 65536 and target.path.startswith("/")
    finally:
        webhooks.resolve = original


# --- signing ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
def test_the_signature_is_what_the_sdk_verifies(algorithm):
    body = json.dumps({"notification_type": "upload", "public_id": "dogs/é"}, ensure_ascii=False)
    timestamp = int(time.time())
    signature = notification_sign(body, timestamp, "the-secret", algorithm)
    cloudinary.config(api_secret="the-secret")
    try:
        assert verify_notification_signature(body, timestamp, signature, algorithm=algorithm)
        assert verify_notification_signature(body, str(timestamp), signature, algorithm=algorithm)
        assert not verify_notification_signature(body + " ", timestamp, signature, algorithm=algorithm)
        assert not verify_notification_signature(body, timestamp + 1, signature, algorithm=algorithm)
        cloudinary.config(api_secret="another")
        assert not verify_notification_signature(body, timestamp, signature, algorithm=algorithm)
    finally:
        cloudinary.reset_config()


# --- one attempt, against a real receiver ------------------------------------------------------------------------

def test_an_attempt_posts_the_body_with_its_headers_and_reads_at_most_1_kb(loopback_allowed):
    with Receiver() as receiver:
        answer = webhook_post(receiver.url + "?k=v", body='{"a":1}', headers={"X-Cld-Timestamp": "1"})
        (got,) = receiver.wait_for(1)
    assert (answer.status, answer.error) == (200, "")
    assert len(answer.body) == webhooks.RESPONSE_READ_LIMIT  # the receiver sent 5000 bytes
    assert got.body == '{"a":1}' and got.path == "/hooks/cloudinary?k=v"
    assert got.headers["Content-Type"] == "application/json" and got.headers["X-Cld-Timestamp"] == "1"
    assert got.headers["Host"] == f"127.0.0.1:{receiver.server.server_port}"


def test_an_attempt_connects_to_the_address_checked_with_the_urls_host(settings, fake_dns):
    fake_dns["hooks.example.com"] = ["127.0.0.1"]
    settings.MEDIALIB_WEBHOOK_ALLOWED_HOSTS = ["hooks.example.com"]
    with Receiver() as receiver:
        port = receiver.server.server_port
        answer = webhook_post(f"http://hooks.example.com:{port}/x", body="{}", headers={})
        (got,) = receiver.wait_for(1)
    assert answer.status == 200 and got.headers["Host"] == f"hooks.example.com:{port}"


def test_an_address_that_turned_private_since_the_request_is_not_sent(fake_dns):
    fake_dns["hooks.example.com"] = ["93.184.216.34"]
    notification_url_check("http://hooks.example.com/")  # at request time
    fake_dns["hooks.example.com"] = ["127.0.0.1"]  # DNS rebinding
    with Receiver() as receiver:
        answer = webhook_post(f"http://hooks.example.com:{receiver.server.server_port}/", body="{}", headers={})
        assert receiver.received == []
    assert answer.status is None and answer.error.startswith("Not sent:") and "loopback" in answer.error


def test_a_redirect_is_never_followed(loopback_allowed):
    with Receiver(statuses=[302], location="http://10.0.0.1/internal") as receiver:
        answer = webhook_post(receiver.url, body="{}", headers={})
        time.sleep(0.2)
        assert len(receiver.received) == 1
    assert answer.status == 302 and "redirect (to http://10.0.0.1/internal), which is never followed" in answer.error


def test_a_failing_receiver_and_a_closed_port_are_failed_attempts(loopback_allowed):
    with Receiver(statuses=[500]) as receiver:
        answer = webhook_post(receiver.url, body="{}", headers={})
        url = receiver.url
    assert (answer.status, answer.error) == (500, "Answered 500 Internal Server Error")
    closed = webhook_post(url, body="{}", headers={})  # the receiver has stopped
    assert closed.status is None and "ConnectionRefusedError" in closed.error


def test_a_receiver_that_hangs_holds_the_attempt_no_longer_than_the_timeout(loopback_allowed):
    with Receiver(hang=True) as receiver:
        started = time.monotonic()
        answer = webhook_post(receiver.url, body="{}", headers={}, timeout=1.0)
        elapsed = time.monotonic() - started
    assert answer.status is None and answer.error == "No answer within 1 s."
    assert 0.9 < elapsed < 2.0 and 900 <= answer.duration_ms < 2000


def _certificate(tmp_path, name: str):
    """A self-signed certificate for `name`, and a server context holding it."""
    import ssl
    import subprocess

    cert, key = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={name}",
                    "-addext", f"subjectAltName=DNS:{name}", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    return cert, server


def test_https_connects_to_the_checked_address_and_verifies_the_urls_host(tmp_path, settings, fake_dns, monkeypatch):
    import ssl

    cert, server_context = _certificate(tmp_path, "hooks.example.com")
    fake_dns["hooks.example.com"] = ["127.0.0.1"]
    fake_dns["other.example.com"] = ["127.0.0.1"]
    settings.MEDIALIB_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    with Receiver(tls=server_context) as receiver:
        port = receiver.server.server_port
        untrusted = webhook_post(f"https://hooks.example.com:{port}/x", body="{}", headers={})
        assert untrusted.status is None and "CERTIFICATE_VERIFY_FAILED" in untrusted.error
        real = ssl.create_default_context
        monkeypatch.setattr(ssl, "create_default_context", lambda *a, **k: real(cafile=str(cert)))
        answer = webhook_post(f"https://hooks.example.com:{port}/x", body="{}", headers={})
        (got,) = receiver.wait_for(1)
        mismatch = webhook_post(f"https://other.example.com:{port}/x", body="{}", headers={})
    assert answer.status == 200 and got.headers["Host"] == f"hooks.example.com:{port}"
    assert mismatch.status is None and "other.example.com" in mismatch.error  # the name the certificate must carry


# --- deliveries ---------------------------------------------------------------------------------------------------



@pytest.fixture
def key(user):
    return api_key_create(name="hooks", user=user)


@pytest.fixture
def no_broker(monkeypatch):
    """Deliveries are run here by hand: what would be queued is recorded instead."""
    queued = []
    monkeypatch.setattr(notifications, "webhook_enqueue",
                        lambda *, delivery_id, countdown=None: queued.append((delivery_id, countdown)) or True)
    return queued


def _due(delivery):
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


@pytest.mark.django_db(transaction=True)
def test_a_delivery_is_queued_only_when_its_change_commits(key, no_broker):
    with transaction.atomic():
        (delivery,) = notifications.notifications_queue(notification_type="upload", payload={"public_id": "a"},
                                                        url="http://127.0.0.1:1/", api_key=key)
        assert no_broker == []
    assert no_broker == [(delivery.pk, None)]
    try:
        with transaction.atomic():
            notifications.notifications_queue(notification_type="upload", payload={}, url="http://x/", api_key=key)
            raise RuntimeError("the upload failed")
    except RuntimeError:
        pass
    assert WebhookDelivery.objects.count() == 1 and len(no_broker) == 1
    payload = WebhookDelivery.objects.get().payload
    assert payload["notification_type"] == "upload" and payload["signature_key"] == key.key and payload["timestamp"]


@pytest.mark.django_db
def test_the_library_wide_url_gets_every_event_signed_by_its_key(key, user, no_broker):
    assert notifications.notifications_queue(notification_type="delete", payload={}) == []
    older = key
    newer = api_key_create(name="newer", user=user)
    NotificationSettings.objects.create(url="http://library.example/hook")
    (call, library) = notifications.notifications_queue(notification_type="rename", payload={"x": 1},
                                                        url="http://call.example/", api_key=newer)
    assert (call.url, call.api_key, library.url, library.api_key) == (
        "http://call.example/", newer, "http://library.example/hook", older)  # the oldest active key by default
    NotificationSettings.objects.update(api_key=newer)
    (only,) = notifications.notifications_queue(notification_type="delete", payload={})
    assert only.api_key == newer and only.payload["signature_key"] == newer.key
    ApiKey.objects.update(is_active=False)
    assert notifications.notifications_queue(notification_type="delete", payload={}) == []  # nobody to sign


@pytest.mark.django_db
@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
def test_a_delivery_is_signed_with_its_keys_secret_and_algorithm(key, no_broker, loopback_allowed, algorithm):
    ApiKey.objects.filter(pk=key.pk).update(signature_algorithm=algorithm)
    with Receiver() as receiver:
        (delivery,) = notifications.notifications_queue(notification_type="upload", payload={"public_id": "é"},
                                                        url=receiver.url, api_key=key)
        assert notifications.webhook_deliver(delivery_id=delivery.pk) == WebhookDelivery.SENT
        (got,) = receiver.wait_for(1)
    cloudinary.config(api_secret=key.secret)
    try:
        assert verify_notification_signature(got.body, got.headers["X-Cld-Timestamp"], got.headers["X-Cld-Signature"],
                                             algorithm=algorithm)
    finally:
        cloudinary.reset_config()
    assert json.loads(got.body)["public_id"] == "é"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status, delivery.next_attempt_at) == ("sent", 1, 200, None)
    (attempt,) = WebhookAttempt.objects.filter(delivery=delivery)
    assert attempt.response_status == 200 and attempt.error == "" and attempt.duration_ms < 5000
    # Already sent: running the task again sends nothing.
    assert notifications.webhook_deliver(delivery_id=delivery.pk) == "skipped"


@pytest.mark.django_db
def test_failures_are_retried_on_the_schedule_then_given_up(key, no_broker, loopback_allowed, settings):
    assert notifications.retry_delays() == [10, 30, 120, 600, 3600, 21600] and notifications.max_attempts() == 7
    with Receiver(statuses=[500]) as receiver:
        (delivery,) = notifications.notifications_queue(notification_type="info", payload={}, url=receiver.url,
                                                        api_key=key)
        no_broker.clear()
        waits = []
        for attempt in range(1, 8):
            before = timezone.now()
            status = notifications.webhook_deliver(delivery_id=delivery.pk)
            delivery.refresh_from_db()
            assert delivery.attempts == attempt and delivery.last_status == 500
            if attempt < 7:
                assert status == "pending"
                waits.append(round((delivery.next_attempt_at - before).total_seconds()))
                # Not due yet: a second task (a duplicate message) does nothing.
                assert notifications.webhook_deliver(delivery_id=delivery.pk) == "skipped"
                _due(delivery)
        assert status == WebhookDelivery.GIVEN_UP and delivery.next_attempt_at is None
        assert len(receiver.received) == 7
    assert waits == [10, 30, 120, 600, 3600, 21600]
    # Short waits ride on a countdown; the long ones are left to the sweep.
    assert [countdown for _, countdown in no_broker] == [10, 30, 120]
    assert WebhookAttempt.objects.filter(delivery=delivery, response_status=500).count() == 7


@pytest.mark.django_db
def test_the_sweep_queues_what_is_due_and_a_lapsed_claim(key, no_broker):
    (due,) = notifications.notifications_queue(notification_type="info", payload={}, url="http://a/", api_key=key)
    (later,) = notifications.notifications_queue(notification_type="info", payload={}, url="http://b/", api_key=key)
    (sent,) = notifications.notifications_queue(notification_type="info", payload={}, url="http://c/", api_key=key)
    WebhookDelivery.objects.filter(pk=later.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=5))
    WebhookDelivery.objects.filter(pk=sent.pk).update(status=WebhookDelivery.SENT, next_attempt_at=None)
    assert notifications.webhooks_sweep() == [due.pk]
    # A worker that died mid-attempt: its claim lapses and the sweep finds it.
    WebhookDelivery.objects.filter(pk=later.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert sorted(notifications.webhooks_sweep()) == sorted([due.pk, later.pk])


@pytest.mark.django_db
def test_send_again_starts_a_given_up_delivery_over(key, no_broker, django_capture_on_commit_callbacks):
    (delivery,) = notifications.notifications_queue(notification_type="info", payload={}, url="http://a/", api_key=key)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=WebhookDelivery.GIVEN_UP, attempts=7,
                                                         next_attempt_at=None)
    no_broker.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert notifications.webhooks_send_again(deliveries=WebhookDelivery.objects.all()) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 0) and delivery.next_attempt_at <= timezone.now()
    assert no_broker == [(delivery.pk, None)]


@pytest.mark.django_db
def test_a_refused_address_at_send_time_is_a_recorded_failed_attempt(key, no_broker):
    (delivery,) = notifications.notifications_queue(notification_type="info", payload={},
                                                    url="http://169.254.169.254/latest", api_key=key)
    assert notifications.webhook_deliver(delivery_id=delivery.pk) == "pending"
    (attempt,) = WebhookAttempt.objects.filter(delivery=delivery)
    assert attempt.response_status is None and "link-local" in attempt.error


@pytest.mark.django_db
def test_a_delivery_whose_key_was_deleted_is_given_up(key, no_broker):
    (delivery,) = notifications.notifications_queue(notification_type="info", payload={}, url="http://a/", api_key=key)
    key.delete()
    assert notifications.webhook_deliver(delivery_id=delivery.pk) == WebhookDelivery.GIVEN_UP
    delivery.refresh_from_db()
    assert "deleted" in delivery.last_error


# --- the pages and the sweep tell the library-wide URL too -----------------------------------------------------------

@pytest.mark.django_db
def test_page_uploads_and_deletes_and_the_sweeps_give_ups_reach_the_library_wide_url(client, user, key, no_broker,
                                                                                    settings):
    from django.urls import reverse

    from tagging.models import AnalysisResult
    from tagging.services.analysis import analysis_sweep
    from tests import images
    from tests.conftest import upload_file

    client.force_login(user)
    client.post(reverse("medialib:upload"), {"files": [upload_file(images.jpeg(), "quiet.jpg")]})
    assert not WebhookDelivery.objects.exists()  # no library-wide URL: nothing made
    NotificationSettings.objects.create(url="http://library.example/hook")
    files = [upload_file(images.jpeg(color=(1, 2, 3)), "ok.jpg")]
    response = client.post(reverse("medialib:upload"), {"files": files, "addons": ["aws_rek_tagging"]},
                           HTTP_ACCEPT="application/json")
    assert response.status_code == 200, response.content[:500]
    public_id = response.json()["results"][0]["public_id"]
    asset = Asset.objects.get(public_id=public_id)
    (upload,) = WebhookDelivery.objects.all()
    assert upload.notification_type == "upload" and upload.api_key == key
    assert {k: upload.payload[k] for k in ("public_id", "asset_id", "width", "format", "source")} == {
        "public_id": public_id, "asset_id": asset.asset_id, "width": asset.width, "format": asset.format,
        "source": "ui"}
    # The worker stopped while analysing it each time: the sweep gives up and says so.
    AnalysisResult.objects.update(status="pending", attempts=settings.TAGGING_MAX_ATTEMPTS, queued_at=None,
                                  started_at=None)
    analysis_sweep()
    infos = list(WebhookDelivery.objects.filter(notification_type="info"))
    assert infos and {d.payload["info_status"] for d in infos} == {"failed"}
    assert "Gave up after" in infos[0].payload["info_data"]["error"]["message"]
    client.post(reverse("medialib:asset_delete", args=[asset.pk]))
    (delete,) = WebhookDelivery.objects.filter(notification_type="delete")
    assert delete.payload["resources"][0]["public_id"] == public_id


@pytest.mark.django_db
def test_tags_added_and_removed_on_the_asset_page_reach_the_library_wide_url(client, user, key, no_broker):
    from django.urls import reverse

    from tests import images
    from tests.conftest import upload_file

    client.force_login(user)
    client.post(reverse("medialib:upload"), {"files": [upload_file(images.jpeg(), "tagged.jpg")]})
    asset = Asset.objects.get()
    client.post(reverse("medialib:asset_tags_add", args=[asset.pk]), {"name": "quiet"})
    assert not WebhookDelivery.objects.exists()  # no library-wide URL: nothing made
    NotificationSettings.objects.create(url="http://library.example/hook")
    client.post(reverse("medialib:asset_tags_add", args=[asset.pk]), {"name": "Beach, sunset"})
    client.post(reverse("medialib:asset_tags_add", args=[asset.pk]), {"name": "beach"})  # nothing changes
    client.post(reverse("medialib:asset_tag_remove", args=[asset.pk]), {"name": "quiet"})
    added, removed = WebhookDelivery.objects.order_by("pk")
    assert added.notification_type == removed.notification_type == "resource_tags_changed"
    assert added.api_key == key and added.payload["source"] == "ui"
    assert added.payload["resources"] == [{"asset_id": asset.asset_id, "public_id": asset.public_id,
                                           "resource_type": "image", "type": "upload",
                                           "added": ["Beach", "sunset"], "removed": []}]
    assert removed.payload["resources"][0]["added"] == [] and removed.payload["resources"][0]["removed"] == ["quiet"]


def test_the_webhook_tasks_run_on_the_default_queue_and_the_sweep_every_minute(settings):
    from medialib.celery import app

    for task in ("medialib.tasks.webhook_deliver", "medialib.tasks.webhooks_sweep"):
        assert app.amqp.router.route({}, task)["queue"].name == "default"  # the webhooks worker's queue
    (sweep,) = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "medialib.tasks.webhooks_sweep"]
    assert sweep["schedule"] == 60.0
    # A countdown retry is held unacknowledged by a worker: it must end before Redis hands it to another.
    assert notifications.COUNTDOWN_MAX_SECONDS <= settings.TASK_RETRY_MAX_SECONDS < settings.BROKER_VISIBILITY_TIMEOUT_SECONDS
    assert notifications.claim_lease().total_seconds() > settings.MEDIALIB_WEBHOOK_TIMEOUT_SECONDS
