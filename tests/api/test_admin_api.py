"""The Admin API through the official SDK (cloudinary.api) against the live server: listing, reading, updating,
deleting, tags, ping and usage, and who may do what."""
import base64
import io

import cloudinary.api
import pytest
from cloudinary import exceptions
from django.urls import reverse
from PIL import Image

from medialib.api import admin_params
from medialib.api.services import api_key_create
from medialib.models import Asset, AssetTag, DeliveredRendition
from tagging.models import Face
from tests import images
from tests.conftest import asset_upload, stored_files, upload_file

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def key(user):
    return api_key_create(name="admin-api", user=user)


@pytest.fixture
def other_key(other_user):
    return api_key_create(name="bob's", user=other_user)


def _upload(user, public_id, *, tags=(), color=(200, 30, 30), data=None, **kwargs):
    return asset_upload(file=upload_file(data or images.jpeg(40, 30, color=color)), uploaded_by=user,
                        public_id=public_id, tags=list(tags), **kwargs)


def _walk(call, **options):
    """Every resource of a listing, page by page through next_cursor, and how many pages it took."""
    seen, cursor, pages = [], options.pop("next_cursor", None), 0
    while True:
        page = call(**options, **({"next_cursor": cursor} if cursor else {}))
        pages += 1
        seen += [resource["public_id"] for resource in page["resources"]]
        cursor = page.get("next_cursor")
        if not cursor:
            return seen, pages


def test_listing_pages_through_every_image_once_in_order_both_directions(cloudinary_sdk, key, user):
    names = [f"img{i:02d}" for i in range(23)]
    for name in names:
        _upload(user, name)
    cloudinary_sdk(key)

    newest_first, pages = _walk(cloudinary.api.resources, type="upload", max_results=5)
    assert (newest_first, pages) == (names[::-1], 5)
    oldest_first, _ = _walk(cloudinary.api.resources, type="upload", max_results=5, direction="asc")
    assert oldest_first == names
    assert _walk(cloudinary.api.resources, max_results=500)[0] == names[::-1]  # resources/image, no type

    # Stable under inserts: an image uploaded while a client pages does not shift what it has not seen yet.
    first = cloudinary.api.resources(type="upload", max_results=5)
    _upload(user, "late")
    rest, _ = _walk(cloudinary.api.resources, type="upload", max_results=5, next_cursor=first["next_cursor"])
    assert [r["public_id"] for r in first["resources"]] + rest == names[::-1]

    resource = first["resources"][0]
    asset = Asset.objects.get(public_id=resource["public_id"])
    assert resource["asset_id"] == asset.asset_id and len(asset.asset_id) == 32
    assert (resource["width"], resource["height"], resource["format"], resource["bytes"]) == (40, 30, "jpg", asset.bytes)
    assert resource["secure_url"].endswith(f"/image/upload/v{asset.version}/{asset.public_id}.jpg")
    assert "tags" not in resource and "context" not in resource
    assert first.request_id  # X-Request-Id, as Cloudinary sends on every answer


def test_listing_by_prefix_with_tags_context_and_default_page_size(cloudinary_sdk, key, user):
    for name in ["trips/b", "trips/a", "trips/c", "work/x"]:
        _upload(user, name, tags=["Holiday", "sea"] if name == "trips/a" else ())
    for i in range(12):
        _upload(user, f"many{i:02d}")
    Asset.objects.filter(public_id="trips/a").update(context={"alt": "A <b>beach</b>"})
    cloudinary_sdk(key)

    page = cloudinary.api.resources(type="upload", prefix="trips/", tags=True, context=True, max_results=2)
    assert [r["public_id"] for r in page["resources"]] == ["trips/a", "trips/b"]  # by public_id, as Cloudinary
    assert page["resources"][0]["tags"] == ["Holiday", "sea"]
    assert page["resources"][0]["context"] == {"custom": {"alt": "A <b>beach</b>"}}
    assert page["resources"][1]["context"] == {"custom": {}} and page["resources"][1]["tags"] == []
    rest = cloudinary.api.resources(type="upload", prefix="trips/", next_cursor=page["next_cursor"])
    assert [r["public_id"] for r in rest["resources"]] == ["trips/c"] and "next_cursor" not in rest

    assert len(cloudinary.api.resources(type="upload")["resources"]) == 10  # Cloudinary's default max_results
    with pytest.raises(exceptions.BadRequest, match="max_results must be a whole number from 1 to 500"):
        cloudinary.api.resources(type="upload", max_results=501)
    with pytest.raises(exceptions.BadRequest, match="Invalid next_cursor"):
        cloudinary.api.resources(type="upload", next_cursor="garbage")
    with pytest.raises(exceptions.BadRequest, match="type 'private' is not supported"):
        cloudinary.api.resources(type="private")
    # A cursor of one listing is not taken by another.
    with pytest.raises(exceptions.BadRequest, match="Invalid next_cursor"):
        cloudinary.api.resources(type="upload", direction="asc", next_cursor=page["next_cursor"])


def test_listing_start_at(cloudinary_sdk, key, user):
    from datetime import timedelta

    old, new = _upload(user, "old"), _upload(user, "new")
    Asset.objects.filter(pk=old.pk).update(created_at=new.created_at - timedelta(days=3))
    cloudinary_sdk(key)
    since = (new.created_at - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [r["public_id"] for r in cloudinary.api.resources(type="upload", start_at=since)["resources"]] == ["new"]


def _basic(key) -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{key.key}:{key.secret}".encode()).decode()}


@pytest.mark.parametrize("count", [5, 40])
def test_a_listing_page_costs_the_same_queries_whatever_its_size(client, key, user, count, django_assert_max_num_queries):
    for i in range(count):
        _upload(user, f"q{i:02d}", tags=[f"t{i}", "all"])
    url = "/v1_1/{}/resources/image/upload".format(cloudinary_sdk_cloud())
    with django_assert_max_num_queries(4):  # the key, its last_used_at, the page, the page's tags
        response = client.get(url, {"max_results": 500, "tags": "true"}, **_basic(key))
    assert response.status_code == 200, response.content
    body = response.json()
    assert len(body["resources"]) == count and all("all" in r["tags"] for r in body["resources"])
    with django_assert_max_num_queries(5):
        response = client.get(f"/v1_1/{cloudinary_sdk_cloud()}/resources/image/tags/all",
                              {"max_results": 500, "tags": "true"}, **_basic(key))
    assert len(response.json()["resources"]) == count
    assert response["X-Request-Id"]


def cloudinary_sdk_cloud():
    from django.conf import settings

    return settings.MEDIALIB_CLOUD_NAME


def test_by_tag_ids_and_asset_ids(cloudinary_sdk, key, user):
    for i in range(7):
        _upload(user, f"cat{i}", tags=["cats"] if i % 2 == 0 else ["dogs"])
    cloudinary_sdk(key)
    tagged, pages = _walk(cloudinary.api.resources_by_tag, tag="cats", max_results=3)
    assert (tagged, pages) == (["cat6", "cat4", "cat2", "cat0"], 2)
    tagged_asc, _ = _walk(cloudinary.api.resources_by_tag, tag="cats", max_results=3, direction="asc")
    assert tagged_asc == ["cat0", "cat2", "cat4", "cat6"]
    assert cloudinary.api.resources_by_tag("nothing")["resources"] == []

    by_ids = cloudinary.api.resources_by_ids(["cat3", "nope", "cat1"], tags=True)
    assert [(r["public_id"], r["tags"]) for r in by_ids["resources"]] == [("cat3", ["dogs"]), ("cat1", ["dogs"])]
    asset_ids = [Asset.objects.get(public_id=p).asset_id for p in ("cat5", "cat0")]
    by_asset_ids = cloudinary.api.resources_by_asset_ids(asset_ids + ["0" * 32])
    assert [r["public_id"] for r in by_asset_ids["resources"]] == ["cat5", "cat0"]


def _exif_jpeg() -> bytes:
    image = Image.new("RGB", (60, 40), (10, 20, 200))
    exif = Image.Exif()
    exif[0x010F] = "Medialib Camera Co"  # Make
    exif[0x0110] = "Model 7"  # Model
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=95)
    return out.getvalue()


def test_resource_details_with_faces_colors_metadata_and_pages(cloudinary_sdk, key, user):
    asset = _upload(user, "portrait", data=_exif_jpeg())
    Face.objects.create(asset=asset, index=0, left=0.25, top=0.5, width=0.5, height=0.25, confidence=99.0)
    Asset.objects.filter(pk=asset.pk).update(context={"caption": "blue"}, asset_folder="people")
    cloudinary_sdk(key)

    plain = cloudinary.api.resource("portrait")
    assert "faces" not in plain and "colors" not in plain
    assert (plain["asset_id"], plain["context"], plain["asset_folder"]) == (
        asset.asset_id, {"custom": {"caption": "blue"}}, "people")
    details = cloudinary.api.resource("portrait", faces=True, colors=True, image_metadata=True, pages=True)
    assert details["faces"] == [[15, 20, 30, 10]]  # pixels of 60x40
    colour, share = details["colors"][0]
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    assert blue > 180 and red < 40 and green < 50 and share > 90
    assert details["image_metadata"]["Make"] == "Medialib Camera Co"
    assert details["image_metadata"]["Model"] == "Model 7"
    assert details["pages"] == 1
    with pytest.raises(exceptions.BadRequest, match="does not support the parameter\\(s\\): phash"):
        cloudinary.api.resource("portrait", phash=True)
    with pytest.raises(exceptions.NotFound, match="Resource not found - nope"):
        cloudinary.api.resource("nope")


def test_update_replaces_manual_tags_and_context_and_sets_the_folder(cloudinary_sdk, key, user, client):
    asset = _upload(user, "beach", tags=["old", "keep"])
    auto = AssetTag.objects.get(content_object=asset, tag__name="keep")
    AssetTag.objects.filter(pk=auto.pk).update(source="aws_rek_tagging", confidence=0.9)
    cloudinary_sdk(key)

    result = cloudinary.api.update("beach", tags=["New", "second"], context={"alt": "<script>x</script>", "k": "a=b|c"},
                                   asset_folder="trips/2024")
    assert result["tags"] == ["keep", "New", "second"]  # the add-on's tag stays; the manual ones are replaced
    assert result["context"] == {"custom": {"alt": "<script>x</script>", "k": "a=b|c"}}
    asset.refresh_from_db()
    assert asset.context == {"alt": "<script>x</script>", "k": "a=b|c"} and asset.asset_folder == "trips/2024"
    assert cloudinary.api.update("beach", tags=[])["tags"] == ["keep"]

    # The pages show what the API wrote, escaped.
    client.force_login(user)
    page = client.get(reverse("medialib:asset_detail", args=["beach"])).content.decode()
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>x</script>" not in page and "a=b|c" in page
    gallery = client.get(reverse("medialib:gallery"), {"folder": "trips/2024"}).content.decode()
    assert 'value="trips/2024" selected' in gallery and "beach" in gallery
    _upload(user, "elsewhere")
    assert "elsewhere" not in client.get(reverse("medialib:gallery"), {"folder": "trips/2024"}).content.decode()
    assert "elsewhere" in client.get(reverse("medialib:gallery")).content.decode()

    with pytest.raises(exceptions.BadRequest, match="does not support the parameter\\(s\\): moderation_status"):
        cloudinary.api.update("beach", moderation_status="approved")
    with pytest.raises(exceptions.BadRequest, match="not a valid folder path"):
        cloudinary.api.update("beach", asset_folder="../up")
    with pytest.raises(exceptions.NotFound, match="Resource not found - gone"):
        cloudinary.api.update("gone", tags=["x"])


def test_another_users_key_changes_nothing(cloudinary_sdk, key, other_key, user, settings, media_root):
    _upload(user, "mine", tags=["a"])
    files = stored_files(media_root)
    cloudinary_sdk(other_key)
    with pytest.raises(exceptions.NotAllowed, match="Only the person who uploaded this image"):
        cloudinary.api.update("mine", tags=["bob"], context={"x": "y"})
    with pytest.raises(exceptions.NotAllowed, match="Nothing was deleted"):
        cloudinary.api.delete_resources(["mine"])
    # Bulk deletes act on the key user's own images only.
    assert cloudinary.api.delete_all_resources()["deleted"] == {}
    assert cloudinary.api.delete_resources_by_prefix("mi")["deleted"] == {}
    assert cloudinary.api.delete_resources_by_tag("a")["deleted"] == {}
    asset = Asset.objects.get(public_id="mine")
    assert (sorted(asset.tags.names()), asset.context) == (["a"], {})
    assert stored_files(media_root) == files

    settings.MEDIALIB_VISIBILITY = "private"
    with pytest.raises(exceptions.NotFound, match="Resource not found - mine"):
        cloudinary.api.resource("mine")
    assert cloudinary.api.resources(type="upload")["resources"] == []
    assert cloudinary.api.tags()["tags"] == []
    assert cloudinary.api.delete_resources(["mine"])["deleted"] == {"mine": "not_found"}
    assert Asset.objects.filter(public_id="mine").exists()


def test_delete_resources_removes_the_files(cloudinary_sdk, key, user, media_root):
    _upload(user, "keep")
    before = set(stored_files(media_root))
    for name in ("a", "b"):
        _upload(user, name)
    asset = Asset.objects.get(public_id="a")
    DeliveredRendition.objects.create(asset=asset, version=asset.version, key="k" * 64, transformation="w_10",
                                      format="jpg", file="delivered/a.jpg", bytes=3)
    (media_root / "delivered").mkdir()
    (media_root / "delivered" / "a.jpg").write_bytes(b"abc")
    cloudinary_sdk(key)

    result = cloudinary.api.delete_resources(["a", "b", "nope"])
    assert result["deleted"] == {"a": "deleted", "b": "deleted", "nope": "not_found"}
    assert result["partial"] is False
    assert result["deleted_counts"] == {"a": {"original": 1, "derived": 1}, "b": {"original": 1, "derived": 0}}
    assert set(Asset.objects.values_list("public_id", flat=True)) == {"keep"}
    assert set(stored_files(media_root)) == before
    with pytest.raises(exceptions.BadRequest, match="At most 100 public_ids"):
        cloudinary.api.delete_resources([f"x{i}" for i in range(101)])


def test_delete_by_prefix_tag_asset_ids_and_all(cloudinary_sdk, key, user, other_user, media_root, monkeypatch):
    for name in ("trip/1", "trip/2", "home/1"):
        _upload(user, name, tags=["tagged"] if name == "home/1" else ())
    _upload(other_user, "trip/bob")
    cloudinary_sdk(key)

    assert cloudinary.api.delete_resources_by_prefix("trip/")["deleted"] == {"trip/1": "deleted", "trip/2": "deleted"}
    assert cloudinary.api.delete_resources_by_tag("tagged")["deleted"] == {"home/1": "deleted"}
    assert set(Asset.objects.values_list("public_id", flat=True)) == {"trip/bob"}

    for i in range(5):
        _upload(user, f"n{i}")
    target = Asset.objects.get(public_id="n4")
    result = cloudinary.api.delete_resources_by_asset_ids([target.asset_id, "f" * 32])
    assert result["deleted"] == {target.asset_id: "deleted", "f" * 32: "not_found"}

    # delete_all needs its confirmation; the SDK always sends all=true.
    with pytest.raises(exceptions.BadRequest, match="Missing required parameter - public_ids"):
        cloudinary.api.delete_resources_by_prefix("")
    monkeypatch.setattr(admin_params, "DELETE_LIMIT", 3)  # the live server runs in this process
    first = cloudinary.api.delete_all_resources()
    assert (len(first["deleted"]), first["partial"]) == (3, True)
    second = cloudinary.api.delete_all_resources(next_cursor=first["next_cursor"])
    assert (len(second["deleted"]), second["partial"]) == (1, False) and "next_cursor" not in second
    assert set(Asset.objects.values_list("public_id", flat=True)) == {"trip/bob"}
    owned = [name for name in stored_files(media_root) if name.startswith("originals/")]
    assert owned == [Asset.objects.get().file.name]


def test_delete_all_without_the_confirmation_is_refused(client, key, user):
    _upload(user, "safe")
    response = client.delete(f"/v1_1/{cloudinary_sdk_cloud()}/resources/image/upload", "{}",
                             content_type="application/json", **_basic(key))
    assert response.status_code == 400
    assert "all=true" in response.json()["error"]["message"]
    assert Asset.objects.filter(public_id="safe").exists()


def test_tags_listing_with_prefix_and_paging(cloudinary_sdk, key, user):
    for i, tags in enumerate([["sea", "sand"], ["sun", "sea"], ["snow"], ["city"]]):
        _upload(user, f"t{i}", tags=tags)
    cloudinary_sdk(key)
    assert cloudinary.api.tags()["tags"] == ["city", "sand", "sea", "snow", "sun"]
    page = cloudinary.api.tags(prefix="s", max_results=2)
    assert page["tags"] == ["sand", "sea"]
    page = cloudinary.api.tags(prefix="s", max_results=2, next_cursor=page["next_cursor"])
    assert page["tags"] == ["snow", "sun"] and "next_cursor" not in page


def test_ping_and_usage(cloudinary_sdk, key, user):
    cloudinary_sdk(key)
    assert cloudinary.api.ping() == {"status": "ok"}
    a, b = _upload(user, "u1"), _upload(user, "u2")
    DeliveredRendition.objects.create(asset=a, version=a.version, key="k" * 64, transformation="w_10",
                                      format="jpg", file="delivered/u1.jpg", bytes=123)
    usage = cloudinary.api.usage()
    assert usage["resources"] == 2
    assert usage["storage"]["usage"] == a.bytes + b.bytes + 123
    assert usage["derived_resources"] >= 1
    cloudinary_sdk(key, api_secret="wrong")
    with pytest.raises(exceptions.AuthorizationRequired, match="Invalid API secret"):
        cloudinary.api.ping()


def test_admin_lists_what_each_key_may_do(client, key, other_key, staff_user):
    staff_key = api_key_create(name="staff's", user=staff_user)
    client.force_login(staff_user)
    staff_user.is_superuser = True
    staff_user.save()
    page = client.get(reverse("admin:medialib_api_apikey_changelist")).content.decode()
    assert "read, change and delete every image (staff)" in page
    assert page.count("change and delete only its user&#x27;s images") == 2
    assert staff_key.key in page


def _poll(public_id, until, worker):
    from tests.api.sdk import poll_resource

    return poll_resource(public_id, until=until, timeout=180, worker=worker)


@pytest.mark.worker
class TestUpdateWithAddOns:
    """update's add-ons re-run the analysis exactly as explicit does: a real worker runs them."""

    @pytest.fixture
    def celery_worker_env(self):
        return {"TAGGING_BACKEND": "fake"}

    def test_update_runs_the_add_ons_and_auto_tags(self, cloudinary_sdk, celery_worker_process, key, user):
        from tests.api.sdk import statuses

        _upload(user, "red", tags=["mine"])
        cloudinary_sdk(key)
        result = cloudinary.api.update("red", categorization="aws_rek_tagging", auto_tagging=0.6, tags=["mine", "car"])
        assert statuses(result) == {"aws_rek_tagging": "pending"}
        assert result["tags"] == ["car", "mine"]
        resource = _poll("red", lambda r: statuses(r) == {"aws_rek_tagging": "complete"}, celery_worker_process)
        assert resource["info"]["categorization"]["aws_rek_tagging"]["data"][0] == {"tag": "Red", "confidence": 0.9}
        assert {"car", "mine", "red"} <= set(resource["tags"])
        with pytest.raises(exceptions.BadRequest, match="auto_tagging needs an add-on"):
            cloudinary.api.update("red", auto_tagging=0.5)


@pytest.mark.worker
class TestUpdateWithTheLocalModels:
    """The issue's example: update with an add-on tags a photo of a cat as `cat` (the embedded classifier)."""

    @pytest.fixture
    def celery_worker_env(self):
        return {"TAGGING_BACKEND": "local", "TAGGING_BACKEND_AWS_REK_TAGGING": "", "TAGGING_BACKEND_AWS_REK_FACE": ""}

    def test_a_cat_photo_is_tagged_cat(self, cloudinary_sdk, celery_worker_process, key, user):
        from tests.api.sdk import statuses

        _upload(user, "chelsea", data=images.photo_bytes("cat.jpg"))
        cloudinary_sdk(key)
        result = cloudinary.api.update("chelsea", categorization="aws_rek_tagging", auto_tagging=0.5)
        assert statuses(result) == {"aws_rek_tagging": "pending"}
        resource = _poll("chelsea", lambda r: statuses(r)["aws_rek_tagging"] != "pending", celery_worker_process)
        tagging = resource["info"]["categorization"]["aws_rek_tagging"]
        assert tagging["status"] == "complete", tagging
        labels = {label["tag"]: label["confidence"] for label in tagging["data"]}
        # On this photo the embedded classifier says Cat 0.92 (Feline 0.94, Pet 0.93, Egyptian Mau 0.40).
        assert labels["Cat"] >= 0.5 and "cat" in resource["tags"], labels
        assert set(resource["tags"]) == {name.lower() for name, c in labels.items() if c >= 0.5}


def test_update_by_put_and_errors_as_cloudinary(client, key, user):
    _upload(user, "put-me")
    url = f"/v1_1/{cloudinary_sdk_cloud()}/resources/image/upload/put-me"
    response = client.put(url, '{"tags": "a,b", "context": {"alt": "x"}}', content_type="application/json",
                          **_basic(key))
    assert response.status_code == 200, response.content
    assert (response.json()["tags"], response.json()["context"]) == (["a", "b"], {"custom": {"alt": "x"}})
    response = client.delete(url, **_basic(key))
    assert response.status_code == 405 and response.json()["error"]["message"].startswith("DELETE is not allowed")
    response = client.get(f"/v1_1/{cloudinary_sdk_cloud()}/resources/image/upload", {"max_results": "x"})
    assert (response.status_code, response.json()) == (401, {"error": {"message": "Must supply api_key"}})
    for answer in (response, client.get(f"/v1_1/{cloudinary_sdk_cloud()}/nothing/here")):
        assert len(answer["X-Request-Id"]) == 32


def test_a_staff_key_may_change_and_delete_anyones_images(cloudinary_sdk, user, staff_user, media_root):
    _upload(user, "alice/1", tags=["x"])
    _upload(user, "alice/2")
    cloudinary_sdk(api_key_create(name="staff", user=staff_user))
    assert cloudinary.api.update("alice/1", tags=["checked"])["tags"] == ["checked"]
    assert cloudinary.api.delete_resources(["alice/1"])["deleted"] == {"alice/1": "deleted"}
    assert cloudinary.api.delete_resources_by_prefix("alice/")["deleted"] == {"alice/2": "deleted"}
    assert not Asset.objects.exists()
    assert not [name for name in stored_files(media_root) if name.startswith("originals/")]


def test_the_node_sdk_lists_updates_and_deletes(live_server, key, other_key, user):
    """The official Node SDK sends its writes as urlencoded forms (DELETE included), not JSON."""
    import json
    import subprocess
    from pathlib import Path

    for name in ("n/1", "n/2", "n/3"):
        _upload(user, name, tags=["node"])
    config = {"cloud_name": cloudinary_sdk_cloud(), "api_key": key.key, "api_secret": key.secret,
              "upload_prefix": live_server.url}
    calls = [
        ["resources", {"type": "upload", "max_results": 2, "tags": True}],
        ["update", "n/1", {"tags": "a,b", "context": "alt=x\\=y|caption=z"}],
        ["delete_resources", ["n/2", "nope"], {}],
        ["resources_by_tag", "node", {}],
        ["resource", "missing", {}],
    ]
    node_dir = Path(__file__).resolve().parents[1] / "node"
    out = subprocess.run(["node", str(node_dir / "admin_api.js")], input=json.dumps({"config": config, "calls": calls}),
                         capture_output=True, text=True, cwd=node_dir, timeout=60, check=True)
    answers = json.loads(out.stdout)
    listing, updated, deleted, by_tag, missing = answers
    assert [r["public_id"] for r in listing["resources"]] == ["n/3", "n/2"] and listing["next_cursor"], answers
    assert listing["resources"][0]["tags"] == ["node"]
    assert (updated["tags"], updated["context"]) == (["a", "b"], {"custom": {"alt": "x=y", "caption": "z"}})
    assert deleted["deleted"] == {"n/2": "deleted", "nope": "not_found"}
    assert [r["public_id"] for r in by_tag["resources"]] == ["n/3"]
    assert missing["error"]["message"] == "Resource not found - missing"
    assert set(Asset.objects.values_list("public_id", flat=True)) == {"n/1", "n/3"}
