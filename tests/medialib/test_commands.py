"""Management commands: ensure_admin and renditions."""
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command

from medialib import services
from medialib.models import Rendition
from tests import images
from tests.conftest import upload_file

pytestmark = pytest.mark.django_db


def test_ensure_admin_creates_once_and_shows_the_password_once():
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    text = out.getvalue()
    password = text.split("password: ")[1].split()[0]
    assert authenticate(username="admin", password=password) is not None

    again = StringIO()
    call_command("ensure_admin", stdout=again)
    assert password not in again.getvalue()
    assert "Log in as 'admin'" in again.getvalue()
    assert get_user_model().objects.filter(is_superuser=True).count() == 1


def test_renditions_command_makes_what_is_missing(user):
    asset = services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=user)
    out = StringIO()
    call_command("renditions", "--now", stdout=out)
    assert "Made renditions for 1 asset(s)." in out.getvalue()
    assert Rendition.objects.filter(asset=asset).count() == 2
    out = StringIO()
    call_command("renditions", "--now", stdout=out)
    assert "for 0 asset(s)" in out.getvalue()
