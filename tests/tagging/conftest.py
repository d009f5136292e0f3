"""Fixtures the tagging tests share: which detector backend runs, and the people who moderate."""
import pytest


@pytest.fixture
def local_backend(settings):
    """The embedded models (real photos in, real labels and faces out)."""
    settings.TAGGING_BACKEND = "local"
    settings.TAGGING_ADDON_BACKENDS = {}


@pytest.fixture
def fake_backend(settings):
    """The deterministic double (tagging.backends.fake): colours in, known labels and faces out."""
    settings.TAGGING_BACKEND = "fake"
    settings.TAGGING_ADDON_BACKENDS = {}


@pytest.fixture
def moderator(django_user_model):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user(username="mo", password="mo-password-1", is_staff=True)
    user.groups.add(Group.objects.get(name="Moderators"))
    return user


@pytest.fixture
def viewer(django_user_model):
    """Staff, but not a moderator."""
    return django_user_model.objects.create_user(username="vic", password="vic-password-1", is_staff=True)
