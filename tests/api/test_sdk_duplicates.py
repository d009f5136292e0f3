"""The Upload API keeps Cloudinary's behaviour for the same bytes under a new public_id (a new image) and names the
image already there in `duplicate_of`; through the official SDK against the live server."""
import cloudinary.uploader
import pytest

from medialib import services
from medialib.api.services import api_key_create
from medialib.models import Asset
from tests import images
from tests.conftest import upload_file

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_duplicate_is_stored_and_names_the_first(cloudinary_sdk, user, tmp_path):
    cloudinary_sdk(api_key_create(name="sdk", user=user))
    photo = tmp_path / "p.jpg"
    photo.write_bytes(images.jpeg(60, 40, color=(1, 2, 3)))
    first = cloudinary.uploader.upload(str(photo), public_id="first")
    assert "duplicate_of" not in first
    second = cloudinary.uploader.upload(str(photo), public_id="second")
    assert second["public_id"] == "second" and second["duplicate_of"] == "first"
    third = cloudinary.uploader.upload(str(photo))  # a generated public_id: the oldest is named
    assert third["duplicate_of"] == "first"
    assert Asset.objects.count() == 3


def test_another_users_private_photo_is_not_named(cloudinary_sdk, user, other_user, tmp_path, settings):
    settings.MEDIALIB_VISIBILITY = "private"
    services.asset_upload(file=upload_file(images.jpeg(60, 40, color=(4, 5, 6)), "bob.jpg"), uploaded_by=other_user,
                          public_id="bobs-secret")
    cloudinary_sdk(api_key_create(name="sdk", user=user))
    photo = tmp_path / "p.jpg"
    photo.write_bytes(images.jpeg(60, 40, color=(4, 5, 6)))
    result = cloudinary.uploader.upload(str(photo), public_id="mine")
    assert "duplicate_of" not in result
