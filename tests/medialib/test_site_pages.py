"""The site's own error pages, the admin's sign-in through ours, and `make run` serving like production."""
import subprocess
from pathlib import Path

import pytest
from django.test import RequestFactory
from django.views.defaults import server_error

from medialib.models import Asset

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def test_404_under_production_settings_is_ours_without_the_url_list(client, user, settings):
    settings.DEBUG = False
    client.force_login(user)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "There is no page at this address" in html and 'class="site-header"' in html
    assert "URLconf" not in html and "urlpatterns" not in html and "admin/" not in html


def test_404_for_an_unknown_photo_is_ours(client, user, settings):
    settings.DEBUG = False
    client.force_login(user)
    response = client.get("/asset/not-there")
    assert response.status_code == 404 and "There is no page at this address" in response.content.decode()


def test_500_page_is_ours_and_needs_no_request_context():
    response = server_error(RequestFactory().get("/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in html and "Skip to content" in html and "Traceback" not in html


def test_anonymous_admin_goes_to_our_login(client):
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/login/?next=%2Fadmin%2F"
    html = response.content.decode()
    assert "Django administration" not in html and 'class="site-header"' in html


def test_non_staff_admin_gets_our_403(client, user):
    client.force_login(user)
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    html = response.content.decode()
    assert "Django administration" not in html and "staff accounts only" in html
    assert client.get("/admin/login/?next=/admin/").status_code == 403


def test_staff_pass_through_and_next_stays_on_the_site(client, django_user_model):
    staff = django_user_model.objects.create_user("staff", password="x", is_staff=True, is_superuser=True)
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/login/?next=/admin/medialib/").headers["Location"] == "/admin/medialib/"
    assert client.get("/admin/login/?next=https://evil.example/").headers["Location"] == "/admin/"


def test_tab_title_and_alt_text_say_what_the_photo_is(client, user, settings):
    from tests.tagging.helpers import face_photo

    settings.TAGGING_BACKEND, settings.TAGGING_ADDON_BACKENDS = "fake", {}

    asset = face_photo(user)
    Asset.objects.filter(pk=asset.pk).update(original_filename="beach.jpg")
    client.force_login(user)
    html = client.get(f"/asset/{asset.public_id}").content.decode()
    assert "<title>beach.jpg · Media library</title>" in html
    assert 'alt="Photo uploaded ' in html and 'alt="beach.jpg"' not in html


def test_every_page_has_a_skip_link_first_and_a_favicon(client, user):
    client.force_login(user)
    html = client.get("/").content.decode()
    body = html.split("<body>", 1)[1]
    assert body.lstrip().startswith('<a class="skip-link" href="#content">Skip to content</a>')
    assert 'id="content"' in html and 'rel="icon"' in html and "favicon.svg" in html
    assert (ROOT / "static/img/favicon.svg").read_text().startswith("<svg")


def _make_run_commands(**env):
    out = subprocess.run(["make", "-n", "run", *[f"{k}={v}" for k, v in env.items()]], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if "honcho" in line]


def test_make_run_serves_with_debug_off_unless_asked(tmp_path):
    (web,) = _make_run_commands()
    assert "DEBUG=${DEBUG:-false}" in web
    assert 'SECRET_KEY="${SECRET_KEY:-$(cat var/secret_key)}"' in web
    assert "SECURE_SSL_REDIRECT=${SECURE_SSL_REDIRECT:-false}" in web
    # The same shell words, evaluated: off by default, on when asked.
    for given, expected in (({}, "false"), ({"DEBUG": "true"}, "true")):
        shown = subprocess.run(["sh", "-c", 'echo "${DEBUG:-false}"'], capture_output=True, text=True,
                               env={"PATH": "/usr/bin:/bin", **given}).stdout.strip()
        assert shown == expected


@pytest.mark.parametrize("count, word, plural, expected", [
    (0, "tag", None, "0 tags"), (1, "tag", None, "1 tag"), (6, "face", None, "6 faces"),
    (1, "person", "people", "1 person"), (2, "person", "people", "2 people"),
])
def test_admin_messages_say_counts_in_the_right_number(count, word, plural, expected):
    from tagging.admin import _n

    assert _n(count, word, plural) == expected
