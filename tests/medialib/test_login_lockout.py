"""Sign-in lockout (django-axes): wrong passwords for one username from one address lock that pair out."""
import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _login(client, password, *, username="alice", ip="203.0.113.7"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_after_the_failure_limit_even_the_right_password_is_refused(client, user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, "wrong").status_code == 200  # the form again, with its error
    response = _login(client, "wrong")
    assert response.status_code == 429
    assert b"Too many failed logins" in response.content
    assert b"Try again in 15 minutes" in response.content

    response = _login(client, "alice-password-1")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lockout_is_per_username_and_address(client, user, django_user_model, settings):
    django_user_model.objects.create_user("bob", password="bob-password-1")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "wrong")
    # Another address for the same user, or another user from the same address, still gets in.
    assert _login(client, "alice-password-1", ip="198.51.100.2").status_code == 302
    client.post(reverse("logout"))
    assert _login(client, "bob-password-1", username="bob").status_code == 302


def test_the_lockout_ends_after_the_cool_off(client, user, settings, time_machine_free_cooloff):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "wrong")
    assert _login(client, "alice-password-1").status_code == 429
    time_machine_free_cooloff()
    assert _login(client, "alice-password-1").status_code == 302


def test_a_success_before_the_limit_resets_the_count(client, user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, "wrong")
    assert _login(client, "alice-password-1").status_code == 302
    client.post(reverse("logout"))
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, "wrong")
    assert _login(client, "alice-password-1").status_code == 302


def test_the_admin_login_is_counted_too(client, django_user_model, settings):
    """The admin has no login form of its own any more: it sends to ours, where every failure counts."""
    django_user_model.objects.create_superuser("root", password="root-password-1")
    response = client.post(reverse("admin:login"), {"username": "root", "password": "root-password-1"},
                           REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in client.session  # the admin's form does not sign anyone in
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "root", "password": "wrong"}, REMOTE_ADDR="203.0.113.7")
    response = client.post(reverse("login"), {"username": "root", "password": "root-password-1"},
                           REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 429


@pytest.fixture
def time_machine_free_cooloff():
    """Ages the recorded failures past the cool-off, as if the attacker had waited."""
    from axes.models import AccessAttempt
    from django.conf import settings

    def age():
        for attempt in AccessAttempt.objects.all():
            attempt.attempt_time -= settings.AXES_COOLOFF_TIME
            attempt.save(update_fields=["attempt_time"])

    return age
