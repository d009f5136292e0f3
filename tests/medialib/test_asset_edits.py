"""medialib.asset_edits and the overwrite of medialib.services.asset_upload: bulk tags and context, rename."""
import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from medialib import asset_edits, services
from medialib.models import Asset, AssetTag, DeliveredRendition, Rendition
from tests import images
from tests.conftest import stored_files, upload_file

pytestmark = pytest.mark.django_db


def _upload(user, public_id, **kwargs):
    return services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=user, public_id=public_id, **kwargs)


def test_a_bulk_tag_command_with_one_image_not_yours_writes_nothing(user, other_user):
    _upload(user, "mine")
    _upload(other_user, "theirs")
    with pytest.raises(PermissionDenied, match="not yours: theirs"):
        asset_edits.assets_tags_command(public_ids=["mine", "theirs"], command="add", tags=["x"], user=user)
    assert not AssetTag.objects.exists()
    assert asset_edits.assets_tags_command(public_ids=["mine", "nope"], command="add", tags=["x", "X", " y "],
                                           user=user) == ["mine"]
    assert sorted(Asset.objects.get(public_id="mine").tags.names()) == ["x", "y"]


def test_tag_commands_refuse_what_they_cannot_do(user):
    _upload(user, "mine")
    with pytest.raises(ValidationError, match="Unknown tags command"):
        asset_edits.assets_tags_command(public_ids=["mine"], command="set_exclusive", tags=["x"], user=user)
    with pytest.raises(ValidationError, match="Missing required parameter - tag"):
        asset_edits.assets_tags_command(public_ids=["mine"], command="add", tags=[" "], user=user)
    with pytest.raises(ValidationError, match="At most 1000"):
        asset_edits.assets_tags_command(public_ids=[f"p{i}" for i in range(1001)], command="remove_all", user=user)


def test_context_is_merged_checked_and_cleared(user):
    _upload(user, "mine", context={"a": "1"})
    asset_edits.assets_context_command(public_ids=["mine"], command="add", context={"b": "2"}, user=user)
    assert Asset.objects.get().context == {"a": "1", "b": "2"}
    with pytest.raises(ValidationError, match="longer than 1000"):
        asset_edits.assets_context_command(public_ids=["mine"], command="add", context={"c": "x" * 1001}, user=user)
    assert Asset.objects.get().context == {"a": "1", "b": "2"}
    asset_edits.assets_context_command(public_ids=["mine"], command="remove_all", user=user)
    assert Asset.objects.get().context == {}


def test_rename_onto_a_taken_public_id(user, other_user, media_root, django_capture_on_commit_callbacks):
    mine, target = _upload(user, "a"), _upload(user, "b")
    _upload(other_user, "c")
    with pytest.raises(services.UploadError, match="already taken"):
        asset_edits.asset_rename(asset=mine, to_public_id="b", user=user)
    with pytest.raises(PermissionDenied, match="belongs to someone else"):
        asset_edits.asset_rename(asset=mine, to_public_id="c", user=user, overwrite=True)
    with pytest.raises(services.UploadError, match="not valid"):
        asset_edits.asset_rename(asset=mine, to_public_id="../x", user=user)
    with django_capture_on_commit_callbacks(execute=True):
        renamed = asset_edits.asset_rename(asset=mine, to_public_id="b", user=user, overwrite=True)
    assert (renamed.pk, renamed.asset_id, renamed.public_id) == (mine.pk, mine.asset_id, "b")
    assert target.file.name not in stored_files(media_root)
    assert sorted(Asset.objects.values_list("public_id", flat=True)) == ["b", "c"]


def test_overwrite_replaces_the_file_as_a_new_version(user, other_user, media_root,
                                                      django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        old = _upload(user, "a", tags=["old"], context={"k": "v"})
    services.renditions_generate(asset_id=old.pk)
    DeliveredRendition.objects.create(asset=old, version=old.version, key="k" * 64, transformation="w_1", format="jpg",
                                      file="delivered/x.jpg")
    old_files = [old.file.name, *Rendition.objects.values_list("file", flat=True)]
    with pytest.raises(services.UploadError, match="already taken"):
        _upload(user, "a")  # the page's default: never replace
    with pytest.raises(PermissionDenied, match="can overwrite it"):
        _upload(other_user, "a", overwrite=True)
    with django_capture_on_commit_callbacks(execute=True):
        new = services.asset_upload(file=upload_file(images.png(30, 60), "new.png"), uploaded_by=user,
                                    public_id="a", overwrite=True, tags=["new"])
    assert (new.pk, new.asset_id, new.format, new.width) == (old.pk, old.asset_id, "png", 30)
    assert new.version > old.version and new.renditions_missing
    assert list(new.tags.names()) == ["new"] and new.context == {"k": "v"}  # context not given: kept
    assert not Rendition.objects.exists() and not DeliveredRendition.objects.exists()
    assert not any(name in stored_files(media_root) for name in old_files)
    assert new.file.name in stored_files(media_root)


def test_allowed_formats_is_checked_before_anything_is_stored(user, media_root):
    with pytest.raises(services.UploadError, match="allowed_formats accepts only png"):
        _upload(user, "a", allowed_formats=["png"])
    assert stored_files(media_root) == [] and not Asset.objects.exists()
