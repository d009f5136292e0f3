"""The Upload API's write calls (tags, context, rename, destroy, explicit's tags) and the upload parameters, through
the official Python SDK against the live server."""
import time
import urllib.error
import urllib.request
from pathlib import Path

import cloudinary.api
import cloudinary.uploader
import cloudinary.utils
import pytest
from cloudinary import exceptions

from medialib import services as media_services
from medialib.api.services import api_key_create
from medialib.models import Asset, AssetTag, DeliveredRendition, Rendition
from tagging.models import AnalysisResult, Face
from tests import images
from tests.conftest import stored_files
from tests.medialib.test_services import s3_server, s3_storage  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)



def _plain(result: dict) -> dict:
    """An answer without the request_id the SDK adds from X-Request-Id (it differs on every call)."""
    return {key: value for key, value in result.items() if key != "request_id"}

@pytest.fixture
def key(user):
    return api_key_create(name="upload-api", user=user)


@pytest.fixture
def other_key(other_user):
    return api_key_create(name="bob's", user=other_user)


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "red car.jpg"
    path.write_bytes(images.jpeg(80, 40, color=(200, 10, 10)))
    return path


@pytest.fixture
def blue_photo(tmp_path):
    path = tmp_path / "blue.png"
    path.write_bytes(images.png(30, 60, color=(0, 0, 200)))
    return path


@pytest.fixture
def public_delivery(settings):
    settings.MEDIALIB_DELIVERY_ACCESS = "public"


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _tags(public_id):
    return cloudinary.api.resource(public_id)["tags"]


def test_the_four_tag_commands(cloudinary_sdk, key, photo):
    cloudinary_sdk(key)
    for public_id in ("a", "b"):
        cloudinary.uploader.upload(str(photo), public_id=public_id, tags=["old"])
    asset_a = Asset.objects.get(public_id="a")
    # An add-on's tag: the analysis owns it, so replace and remove_all leave it.
    AssetTag.objects.create(content_object=asset_a, tag=media_services.tag_get_or_create("dog"),
                            source="aws_rek_tagging", confidence=0.9)

    assert _plain(cloudinary.uploader.add_tag("trip", ["a", "b", "missing"])) == {"public_ids": ["a", "b"]}
    assert _tags("a") == ["dog", "old", "trip"] and _tags("b") == ["old", "trip"]
    assert _plain(cloudinary.uploader.remove_tag("old", ["a"])) == {"public_ids": ["a"]}
    assert _tags("a") == ["dog", "trip"] and _tags("b") == ["old", "trip"]
    assert _plain(cloudinary.uploader.replace_tag("beach", ["a", "b"])) == {"public_ids": ["a", "b"]}
    assert _tags("a") == ["beach", "dog"] and _tags("b") == ["beach"]
    assert _plain(cloudinary.uploader.remove_all_tags(["a", "b"])) == {"public_ids": ["a", "b"]}
    assert _tags("a") == ["dog"] and _tags("b") == []
    # Cloudinary's add_tag takes several tags in one comma-separated string.
    cloudinary.uploader.add_tag("sea,sun", ["b"])
    assert _tags("b") == ["sea", "sun"]
    with pytest.raises(exceptions.BadRequest, match="set_exclusive"):
        cloudinary.uploader.add_tag("only", ["b"], exclusive=True)
    with pytest.raises(exceptions.BadRequest, match="notification_url"):
        cloudinary.uploader.add_tag("x", ["b"], notification_url="https://example.com/hook")
    assert _tags("b") == ["sea", "sun"]


def test_explicit_replaces_the_manual_tags(cloudinary_sdk, key, photo):
    cloudinary_sdk(key)
    cloudinary.uploader.upload(str(photo), public_id="a", tags=["old", "keep"])
    AssetTag.objects.create(content_object=Asset.objects.get(), tag=media_services.tag_get_or_create("dog"),
                            source="aws_rek_tagging", confidence=0.9)
    result = cloudinary.uploader.explicit("a", type="upload", tags=["keep", "new"])
    assert result["tags"] == ["dog", "keep", "new"]
    assert _tags("a") == ["dog", "keep", "new"]


def test_context_add_and_remove_all(cloudinary_sdk, key, photo):
    cloudinary_sdk(key)
    uploaded = cloudinary.uploader.upload(str(photo), public_id="a", context={"alt": "A red car", "n": "1"})
    assert uploaded["context"] == {"custom": {"alt": "A red car", "n": "1"}}
    cloudinary.uploader.upload(str(photo), public_id="b")

    # "=" and "|" inside values travel escaped, as the SDK escapes them.
    tricky = {"caption": "x=1|y=2", "alt": "Another"}
    assert _plain(cloudinary.uploader.add_context(tricky, ["a", "b"])) == {"public_ids": ["a", "b"]}
    assert cloudinary.api.resource("a")["context"] == {"custom": {"alt": "Another", "n": "1", "caption": "x=1|y=2"}}
    assert Asset.objects.get(public_id="b").context == tricky
    assert _plain(cloudinary.uploader.remove_all_context(["a"])) == {"public_ids": ["a"]}
    assert "context" not in cloudinary.api.resource("a")
    assert Asset.objects.get(public_id="a").context == {}
    assert Asset.objects.get(public_id="b").context == tricky


def test_rename_keeps_the_asset_and_its_renditions(cloudinary_sdk, key, photo, blue_photo, media_root,
                                                   public_delivery):
    cloudinary_sdk(key)
    uploaded = cloudinary.uploader.upload(str(photo), public_id="trips/red", eager=[{"width": 20, "crop": "scale"}])
    asset = Asset.objects.get()
    kept = list(DeliveredRendition.objects.values_list("pk", "file"))
    old_url, old_eager_url = uploaded["url"], uploaded["eager"][0]["url"]
    assert _status(old_url) == _status(old_eager_url) == 200

    renamed = cloudinary.uploader.rename("trips/red", "trips/car", invalidate=True)
    assert renamed["public_id"] == "trips/car"
    assert renamed["version"] == uploaded["version"]
    assert Asset.objects.get().asset_id == asset.asset_id and Asset.objects.get().pk == asset.pk
    with pytest.raises(exceptions.NotFound):
        cloudinary.api.resource("trips/red")
    assert cloudinary.api.resource("trips/car")["public_id"] == "trips/car"
    assert _status(old_url) == _status(old_eager_url) == 404
    assert _status(renamed["url"]) == 200
    assert _status(old_eager_url.replace("trips/red", "trips/car")) == 200
    assert list(DeliveredRendition.objects.values_list("pk", "file")) == kept  # served from the kept one

    cloudinary.uploader.upload(str(blue_photo), public_id="other")
    target = Asset.objects.get(public_id="other")
    with pytest.raises(exceptions.AlreadyExists, match="already taken"):
        cloudinary.uploader.rename("trips/car", "other")
    with pytest.raises(exceptions.BadRequest, match="to_type 'private' is not supported"):
        cloudinary.uploader.rename("trips/car", "new", to_type="private")
    with pytest.raises(exceptions.NotFound):
        cloudinary.uploader.rename("nope", "new")
    files_before = stored_files(media_root)
    assert target.file.name in files_before
    cloudinary.uploader.rename("trips/car", "other", overwrite=True)
    assert list(Asset.objects.values_list("public_id", "pk")) == [("other", asset.pk)]
    assert target.file.name not in stored_files(media_root)  # the overwritten target went with its files


def _delivery_files(asset):
    return [asset.file.name, *Rendition.objects.filter(asset=asset).values_list("file", flat=True),
            *DeliveredRendition.objects.filter(asset=asset).values_list("file", flat=True)]


def _destroy_removes_everything(photo, exists):
    uploaded = cloudinary.uploader.upload(str(photo), public_id="gone", eager=["c_scale,w_20", "c_scale,w_30/png"])
    asset = Asset.objects.get()
    media_services.renditions_generate(asset_id=asset.pk)  # the worker's thumbnails
    names = _delivery_files(asset)
    # The original, two thumbnails, two eager renditions and the pages' four (tile, preview; 1x, 2x).
    assert len(names) == 9 and all(exists(name) for name in names)

    assert _plain(cloudinary.uploader.destroy("gone", invalidate=True)) == {"result": "ok"}
    assert not Asset.objects.exists() and not DeliveredRendition.objects.exists() and not Rendition.objects.exists()
    assert not any(exists(name) for name in names)
    assert _plain(cloudinary.uploader.destroy("gone")) == {"result": "not found"}
    return uploaded


def test_destroy_removes_the_files_locally(cloudinary_sdk, key, photo, media_root):
    cloudinary_sdk(key)
    _destroy_removes_everything(photo, lambda name: (Path(media_root) / name).exists())
    assert stored_files(media_root) == []


def test_destroy_removes_the_files_on_s3(cloudinary_sdk, key, photo, s3_storage):  # noqa: F811
    client, bucket = s3_storage
    cloudinary_sdk(key)

    def exists(name):
        return "Contents" in client.list_objects_v2(Bucket=bucket, Prefix=name)

    _destroy_removes_everything(photo, exists)
    assert client.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_nobody_changes_another_users_images(cloudinary_sdk, key, other_key, photo, blue_photo, media_root,
                                           settings):
    cloudinary_sdk(key)
    cloudinary.uploader.upload(str(photo), public_id="alices", tags=["mine"], context={"alt": "Alice's"})
    asset = Asset.objects.get()
    before = (asset.public_id, asset.version, asset.sha256, asset.context, sorted(asset.tags.names()))
    files = stored_files(media_root)

    cloudinary_sdk(other_key)
    cloudinary.uploader.upload(str(blue_photo), public_id="bobs")
    calls = [
        lambda: cloudinary.uploader.add_tag("bob", ["bobs", "alices"]),  # one not theirs: the whole call is refused
        lambda: cloudinary.uploader.remove_tag("mine", ["alices"]),
        lambda: cloudinary.uploader.replace_tag("bob", ["alices"]),
        lambda: cloudinary.uploader.remove_all_tags(["alices"]),
        lambda: cloudinary.uploader.add_context({"alt": "Bob's"}, ["alices"]),
        lambda: cloudinary.uploader.remove_all_context(["alices"]),
        lambda: cloudinary.uploader.rename("alices", "stolen"),
        lambda: cloudinary.uploader.rename("bobs", "alices", overwrite=True),
        lambda: cloudinary.uploader.destroy("alices"),
        lambda: cloudinary.uploader.explicit("alices", type="upload", tags=["bob"]),
        lambda: cloudinary.uploader.upload(str(blue_photo), public_id="alices"),  # overwrite
    ]
    for call in calls:
        with pytest.raises(exceptions.NotAllowed):
            call()
    asset = Asset.objects.get(public_id="alices")
    assert (asset.public_id, asset.version, asset.sha256, asset.context, sorted(asset.tags.names())) == before
    assert list(Asset.objects.get(public_id="bobs").tags.names()) == []  # nothing of the refused bulk call was written
    assert set(files) <= set(stored_files(media_root))

    # Where they may not even see it (private), it is "not found" or just taken, never changed.
    settings.MEDIALIB_VISIBILITY = "private"
    assert _plain(cloudinary.uploader.add_tag("bob", ["alices"])) == {"public_ids": []}
    assert _plain(cloudinary.uploader.destroy("alices")) == {"result": "not found"}
    with pytest.raises(exceptions.NotFound):
        cloudinary.uploader.rename("alices", "stolen")
    with pytest.raises(exceptions.AlreadyExists):
        cloudinary.uploader.upload(str(blue_photo), public_id="alices")
    with pytest.raises(exceptions.AlreadyExists):
        cloudinary.uploader.upload(str(blue_photo), public_id="alices", overwrite=False)
    asset = Asset.objects.get(public_id="alices")
    assert (asset.public_id, asset.version, asset.sha256, asset.context, sorted(asset.tags.names())) == before


def test_staff_may_change_anyones_images(cloudinary_sdk, key, staff_user, photo):
    cloudinary_sdk(key)
    cloudinary.uploader.upload(str(photo), public_id="alices")
    cloudinary_sdk(api_key_create(name="staff", user=staff_user))
    assert _plain(cloudinary.uploader.add_tag("checked", ["alices"])) == {"public_ids": ["alices"]}
    assert cloudinary.uploader.rename("alices", "moved")["public_id"] == "moved"
    assert _plain(cloudinary.uploader.destroy("moved")) == {"result": "ok"}


def test_folder_and_filename_parameters(cloudinary_sdk, key, photo):
    cloudinary_sdk(key)
    result = cloudinary.uploader.upload(str(photo), folder="trips/2024", public_id="car")
    assert (result["public_id"], result["asset_folder"]) == ("trips/2024/car", "trips/2024")
    result = cloudinary.uploader.upload(str(photo), folder="trips")
    assert result["public_id"].startswith("trips/") and len(result["public_id"]) == len("trips/") + 20

    result = cloudinary.uploader.upload(str(photo), use_filename=True)
    assert result["public_id"][:-6] == "red_car_" and result["public_id"][-6:].isalnum()
    result = cloudinary.uploader.upload(str(photo), use_filename=True, unique_filename=False)
    assert result["public_id"] == "red_car"
    result = cloudinary.uploader.upload(str(photo), use_filename=True, unique_filename=False,
                                        filename_override="holiday.jpg", folder="f")
    assert (result["public_id"], result["original_filename"]) == ("f/holiday", "holiday")
    result = cloudinary.uploader.upload(str(photo), filename_override="other name.jpg")
    assert result["original_filename"] == "other name" and len(result["public_id"]) == 20
    assert Asset.objects.get(public_id=result["public_id"]).original_filename == "other name.jpg"

    result = cloudinary.uploader.upload(str(photo), public_id_prefix="shop", public_id="x")
    assert result["public_id"] == "shop/x" and result["asset_folder"] == ""  # folder is the public_id's
    result = cloudinary.uploader.upload(str(photo), asset_folder="Shop/Spring sale", public_id="y")
    assert (result["public_id"], result["asset_folder"]) == ("y", "Shop/Spring sale")
    result = cloudinary.uploader.upload(str(photo), asset_folder="shop", use_asset_folder_as_public_id_prefix=True)
    assert result["public_id"].startswith("shop/")
    with pytest.raises(exceptions.BadRequest, match="Give one of folder, public_id_prefix"):
        cloudinary.uploader.upload(str(photo), folder="a", public_id_prefix="b")
    result = cloudinary.uploader.upload(str(photo), discard_original_filename=True)
    assert Asset.objects.get(public_id=result["public_id"]).original_filename == ""


def test_allowed_formats_refuses_other_files(cloudinary_sdk, key, photo, media_root):
    cloudinary_sdk(key)
    files = stored_files(media_root)
    with pytest.raises(exceptions.BadRequest, match="allowed_formats accepts only png, gif"):
        cloudinary.uploader.upload(str(photo), allowed_formats=["png", "gif"])
    assert stored_files(media_root) == files and not Asset.objects.exists()
    assert cloudinary.uploader.upload(str(photo), allowed_formats=["png", "jpeg"])["format"] == "jpg"


def test_faces_are_answered_from_the_library(cloudinary_sdk, key, photo):
    cloudinary_sdk(key)
    assert cloudinary.uploader.upload(str(photo), public_id="a", faces=True)["faces"] == []
    Face.objects.create(asset=Asset.objects.get(), index=0, left=0.25, top=0.5, width=0.5, height=0.25, confidence=99)
    existing = cloudinary.uploader.upload(str(photo), public_id="a", faces=True, overwrite=False)
    assert existing["existing"] is True and existing["faces"] == [[20, 20, 40, 10]]


def test_overwrite_makes_a_new_version(cloudinary_sdk, key, photo, blue_photo, media_root, public_delivery):
    cloudinary_sdk(key)
    first = cloudinary.uploader.upload(str(photo), public_id="car", tags=["old"], eager=["c_scale,w_20"])
    asset = Asset.objects.get()
    media_services.renditions_generate(asset_id=asset.pk)
    old_files = _delivery_files(asset)
    assert _status(first["url"]) == _status(first["eager"][0]["url"]) == 200

    same = cloudinary.uploader.upload(str(blue_photo), public_id="car", overwrite=False)
    assert same["existing"] is True and same["version"] == first["version"] and same["etag"] == first["etag"]

    second = cloudinary.uploader.upload(str(blue_photo), public_id="car", tags=["new"])
    assert second["version"] > first["version"] and "existing" not in second
    assert (second["width"], second["height"]) == (30, 60) and second["etag"] != first["etag"]
    assert second["tags"] == ["new"]
    replaced = Asset.objects.get()
    assert (replaced.pk, replaced.asset_id) == (asset.pk, asset.asset_id)
    assert _status(first["url"]) == _status(first["eager"][0]["url"]) == 404
    assert _status(second["url"]) == 200
    assert not any((Path(media_root) / name).exists() for name in old_files)
    assert not Rendition.objects.exists() and not DeliveredRendition.objects.filter(version=first["version"]).exists()
    assert replaced.renditions_missing  # the worker makes the new version's thumbnails


def test_overwrite_runs_the_add_ons_again(cloudinary_sdk, key, photo, blue_photo, celery_worker_process):
    cloudinary_sdk(key)
    cloudinary.uploader.upload(str(photo), public_id="car", categorization="aws_rek_tagging", auto_tagging=0.5)
    from tests.api.sdk import poll_resource, statuses

    poll_resource("car", worker=celery_worker_process, until=lambda r: statuses(r) == {"aws_rek_tagging": "complete"})
    first = AnalysisResult.objects.get()
    # Not asked for again: still run again, since the results described the old file.
    result = cloudinary.uploader.upload(str(blue_photo), public_id="car", detection="aws_rek_face")
    assert result["info"]["detection"]["aws_rek_face"]["status"] == "pending"
    assert AnalysisResult.objects.get(addon="aws_rek_tagging").request_id != first.request_id
    poll_resource("car", worker=celery_worker_process,
                  until=lambda r: statuses(r) == {"aws_rek_tagging": "complete", "aws_rek_face": "complete"})
    assert AnalysisResult.objects.get(addon="aws_rek_tagging").auto_tagging == 0.5


@pytest.fixture
def celery_worker_env():
    return {"TAGGING_BACKEND": "fake"}


def test_a_replayed_overwrite_makes_one_new_version(cloudinary_sdk, key, photo, blue_photo, monkeypatch):
    cloudinary_sdk(key)
    first = cloudinary.uploader.upload(str(photo), public_id="car")
    # The same signed request twice (a client's retry within the same second): one overwrite, not two.
    timestamp = str(int(time.time()))
    monkeypatch.setattr(cloudinary.utils, "now", lambda: timestamp)
    second = cloudinary.uploader.upload(str(blue_photo), public_id="car")
    again = cloudinary.uploader.upload(str(blue_photo), public_id="car")
    assert second["version"] > first["version"]
    assert again["version"] == second["version"] == Asset.objects.get().version
