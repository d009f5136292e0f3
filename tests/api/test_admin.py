"""API keys in the admin: the secret is shown once after creation and never again; keys can be revoked."""
import pytest

from medialib.api.models import ApiKey
from medialib.api.services import api_key_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser(username="root", password="root-password-1")
    client.force_login(admin)
    return client


def test_the_secret_is_shown_once_on_creation_and_never_again(admin_client, user):
    response = admin_client.post("/admin/medialib_api/apikey/add/", {"name": "backup script", "user": user.pk})
    assert response.status_code == 200
    key = ApiKey.objects.get()
    page = response.content.decode()
    assert key.secret in page
    assert f"cloudinary://{key.key}:{key.secret}@" in page
    assert "no-store" in response["Cache-Control"]
    assert (key.name, key.user, key.is_active) == ("backup script", user, True)

    for url in ("/admin/medialib_api/apikey/", f"/admin/medialib_api/apikey/{key.pk}/change/"):
        response = admin_client.get(url)
        assert response.status_code == 200
        assert key.key in response.content.decode()
        assert key.secret not in response.content.decode()


def test_the_secret_cannot_be_set_or_changed_through_the_admin(admin_client, user):
    key = api_key_create(name="k", user=user)
    admin_client.post(f"/admin/medialib_api/apikey/{key.pk}/change/",
                      {"name": "renamed", "user": user.pk, "is_active": "on", "signature_algorithm": "sha1",
                       "secret": "mine", "key": "1"})
    key.refresh_from_db()
    assert key.name == "renamed"
    assert key.secret != "mine" and key.key != "1"


def test_revoke_action(admin_client, user):
    keys = [api_key_create(name=f"k{i}", user=user) for i in range(3)]
    response = admin_client.post(
        "/admin/medialib_api/apikey/",
        {"action": "revoke", "_selected_action": [keys[0].pk, keys[1].pk]},
        follow=True,
    )
    assert "Revoked 2 key(s)" in response.content.decode()
    assert [k.is_active for k in ApiKey.objects.order_by("name")] == [False, False, True]


def test_keys_are_random_and_shaped_like_cloudinarys(user):
    keys = [api_key_create(name="k", user=user) for _ in range(5)]
    assert len({k.key for k in keys}) == len({k.secret for k in keys}) == 5
    for key in keys:
        assert key.key.isdigit() and len(key.key) == 15
        assert len(key.secret) >= 40 and all(c.isalnum() or c in "-_" for c in key.secret)
