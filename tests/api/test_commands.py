"""create_api_key: prints the CLOUDINARY_URL the SDK reads, once."""
from io import StringIO

import cloudinary
import pytest
from django.core.management import CommandError, call_command

from medialib.api.models import ApiKey

pytestmark = pytest.mark.django_db


def _create(*args):
    out, err = StringIO(), StringIO()
    call_command("create_api_key", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_prints_a_cloudinary_url_the_sdk_reads(user, settings, monkeypatch):
    out, err = _create("backup script", "--user", "alice", "--host", "photos.example", "--port", "8443",
                       "--scheme", "https")
    key = ApiKey.objects.get()
    assert (key.name, key.user) == ("backup script", user)
    assert out == (
        f"CLOUDINARY_URL=cloudinary://{key.key}:{key.secret}@{settings.MEDIALIB_CLOUD_NAME}"
        "?upload_prefix=https://photos.example:8443\n"
    )
    assert key.secret not in err and "shown only this once" in err

    monkeypatch.delenv("CLOUDINARY_CLOUD_NAME", raising=False)
    monkeypatch.setenv("CLOUDINARY_URL", out.strip().split("=", 1)[1])
    cloudinary.reset_config()
    try:
        config = cloudinary.config()
        assert (config.cloud_name, config.api_key, config.api_secret, config.upload_prefix) == (
            settings.MEDIALIB_CLOUD_NAME, key.key, key.secret, "https://photos.example:8443"
        )
    finally:
        monkeypatch.delenv("CLOUDINARY_URL")
        cloudinary.reset_config()


def test_defaults_to_the_first_superuser_and_this_machine(django_user_model):
    admin = django_user_model.objects.create_superuser(username="admin", password="admin-password-1")
    out, _ = _create("laptop")
    assert ApiKey.objects.get().user == admin
    assert out.strip().endswith("?upload_prefix=http://127.0.0.1:8000")


def test_refuses_an_unknown_or_deactivated_user(user):
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        _create("k", "--user", "nobody")
    with pytest.raises(CommandError, match="No superuser yet"):
        _create("k")
    user.is_active = False
    user.save()
    with pytest.raises(CommandError, match="deactivated"):
        _create("k", "--user", "alice")
    assert not ApiKey.objects.exists()
