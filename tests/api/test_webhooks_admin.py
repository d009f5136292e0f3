"""Webhooks in the admin: each delivery with its URL, status, attempts, last answer, response time and next attempt;
its attempts inline; "Send again" (a real worker sends it); the library-wide notification URL, checked as the API
checks one; the key's signature algorithm."""
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from medialib.api.models import ApiKey, NotificationSettings, WebhookAttempt, WebhookDelivery
from medialib.api.services import api_key_create
from tests.webhook_receiver import Receiver

URL = "/admin/medialib_api/webhookdelivery/"


@pytest.fixture
def admin_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser(username="root", password="root-password-1")
    client.force_login(admin)
    return client


@pytest.fixture
def key(user):
    return api_key_create(name="hooks", user=user)


def _delivery(key, url="http://hooks.example.com/cld", **fields) -> WebhookDelivery:
    values = {"notification_type": "upload", "payload": {"public_id": "dogs", "notification_type": "upload"},
              "api_key": key, "status": "pending", "next_attempt_at": timezone.now() + timedelta(minutes=2), **fields}
    return WebhookDelivery.objects.create(url=url, **values)


@pytest.mark.django_db
def test_the_list_shows_each_deliverys_url_status_attempts_answer_time_and_next_attempt(admin_client, key):
    failing = _delivery(key, attempts=2, last_status=500, last_error="Answered 500 Internal Server Error")
    WebhookAttempt.objects.create(delivery=failing, started_at=timezone.now() - timedelta(seconds=30),
                                  response_status=503, duration_ms=40)
    WebhookAttempt.objects.create(delivery=failing, started_at=timezone.now(), response_status=500, duration_ms=1234)
    _delivery(key, url="http://other.example.com/<b>x</b>", status="sent", attempts=1, last_status=200,
              next_attempt_at=None)
    page = admin_client.get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert "http://hooks.example.com/cld" in html and "1234 ms" in html and "40 ms" not in html  # the last attempt
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html  # escaped
    rows = admin_client.get(URL, {"status__exact": "pending"}).context["cl"].result_list
    assert [(d.url, d.attempts, d.last_status) for d in rows] == [("http://hooks.example.com/cld", 2, 500)]
    for column in ("Url", "Status", "Attempts", "Last status", "Response time", "Next attempt at"):
        assert column.lower() in html.lower()


@pytest.mark.django_db
def test_a_delivery_shows_its_attempts_and_cannot_be_edited(admin_client, key):
    delivery = _delivery(key, attempts=1, last_status=None, last_error="No answer within 5 s.")
    WebhookAttempt.objects.create(delivery=delivery, started_at=timezone.now(), error="No answer within 5 s.",
                                  duration_ms=5001)
    page = admin_client.get(f"{URL}{delivery.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200 and "No answer within 5 s." in html and "5001" in html and "public_id" in html
    admin_client.post(f"{URL}{delivery.pk}/change/", {"url": "http://evil.example/", "status": "sent"})
    delivery.refresh_from_db()
    assert (delivery.url, delivery.status) == ("http://hooks.example.com/cld", "pending")
    assert admin_client.get(f"{URL}add/").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_send_again_has_a_given_up_delivery_sent_by_the_worker(admin_client, key, celery_worker_process,
                                                             celery_worker_env):
    with Receiver() as receiver:
        delivery = _delivery(key, url=receiver.url, status="given_up", attempts=7, last_status=500,
                             next_attempt_at=None)
        response = admin_client.post(URL, {"action": "send_again", "_selected_action": [delivery.pk]}, follow=True)
        assert "1 webhook(s) queued to be sent again." in response.content.decode()
        (got,) = receiver.wait_for(1, timeout=30)
    assert got.body == '{"public_id":"dogs","notification_type":"upload"}'
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status) == ("sent", 1, 200)


@pytest.fixture
def celery_worker_env():
    return {"MEDIALIB_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"}


@pytest.mark.django_db
def test_only_staff_allowed_to_change_deliveries_may_send_again(client, django_user_model, key):
    delivery = _delivery(key, status="given_up", attempts=7, next_attempt_at=None)
    viewer = django_user_model.objects.create_user(username="viewer", password="viewer-password-1", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_webhookdelivery"))
    client.force_login(viewer)
    page = client.get(URL)
    assert page.status_code == 200 and "send_again" not in page.content.decode()
    client.post(URL, {"action": "send_again", "_selected_action": [delivery.pk]})
    delivery.refresh_from_db()
    assert delivery.status == "given_up"
    client.force_login(django_user_model.objects.create_user(username="plain", password="plain-password-1"))
    assert client.get(URL).status_code == 302  # to the sign-in


@pytest.mark.django_db
def test_send_again_needs_the_csrf_token(django_user_model, key):
    delivery = _delivery(key, status="given_up", attempts=7, next_attempt_at=None)
    client = Client(enforce_csrf_checks=True)
    client.force_login(django_user_model.objects.create_superuser(username="root", password="root-password-1"))
    assert client.post(URL, {"action": "send_again", "_selected_action": [delivery.pk]}).status_code == 403
    delivery.refresh_from_db()
    assert delivery.status == "given_up"


@pytest.mark.django_db
def test_the_library_wide_url_is_checked_as_a_calls_url_and_is_one(admin_client, key, settings):
    add = "/admin/medialib_api/notificationsettings/add/"
    for url, reason in [("http://169.254.169.254/", "link-local"), ("file:///etc/passwd", "http or https"),
                        ("http://127.0.0.1:9000/hook", "loopback")]:
        page = admin_client.post(add, {"url": url, "api_key": key.pk})
        assert page.status_code == 200 and reason in page.content.decode()
    assert not NotificationSettings.objects.exists()
    settings.MEDIALIB_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    page = admin_client.post(add, {"url": "http://127.0.0.1:9000/hook", "api_key": key.pk})
    assert page.status_code == 302
    assert NotificationSettings.objects.get().url == "http://127.0.0.1:9000/hook"
    assert admin_client.get(add).status_code == 403  # one row only


@pytest.mark.django_db
def test_a_keys_signature_algorithm_is_chosen_in_the_admin(admin_client, key, user):
    page = admin_client.get(f"/admin/medialib_api/apikey/{key.pk}/change/")
    assert "signature_algorithm" in page.content.decode()
    admin_client.post(f"/admin/medialib_api/apikey/{key.pk}/change/",
                      {"name": key.name, "user": user.pk, "is_active": "on", "signature_algorithm": "sha256"})
    assert ApiKey.objects.get(pk=key.pk).signature_algorithm == "sha256"
