"""MEDIALIB_VISIBILITY through the pages: "shared" (the default) shows every user the whole library, "private" shows
users their own photos only (staff see all); another's photo is then not found on every page that reads photos."""
import pytest
from django.urls import reverse

from medialib import selectors, services
from tests import images
from tests.conftest import upload_file

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["shared", "private"])
def mode(request, settings):
    settings.MEDIALIB_VISIBILITY = request.param
    return request.param


@pytest.fixture
def photos(user, other_user):
    """Alice's (user's) photo and Bob's (other_user's), with renditions."""
    made = {}
    for who, name in ((user, "alices"), (other_user, "bobs")):
        asset = services.asset_upload(file=upload_file(images.jpeg(), f"{name}.jpg"), uploaded_by=who,
                                      public_id=name, tags=[f"{name}-tag"])
        services.renditions_generate(asset_id=asset.pk)
        made[name] = asset
    return made


def _status_for_other(mode):
    return 200 if mode == "shared" else 404


def test_the_default_is_shared():
    from django.conf import settings

    assert settings.MEDIALIB_VISIBILITY == "shared"


def test_the_gallery(client, user, mode, photos):
    client.force_login(user)
    html = client.get(reverse("medialib:gallery")).content.decode()
    assert "alices" in html
    assert ("bobs" in html) is (mode == "shared")
    filtered = client.get(reverse("medialib:gallery"), {"tag": "bobs-tag"}).content.decode()  # through search
    assert (reverse("medialib:asset_detail", args=["bobs"]) in filtered) is (mode == "shared")


def test_the_asset_page_and_status_json(client, user, mode, photos):
    client.force_login(user)
    bobs, alices = photos["bobs"], photos["alices"]
    assert client.get(reverse("medialib:asset_detail", args=["alices"])).status_code == 200
    assert client.get(reverse("medialib:asset_detail", args=["bobs"])).status_code == _status_for_other(mode)
    assert client.get(reverse("medialib:asset_analysis", args=[bobs.pk])).status_code == _status_for_other(mode)
    listed = client.get(reverse("medialib:assets_analysis"), {"ids": f"{bobs.pk},{alices.pk}"}).json()["assets"]
    assert [a["public_id"] for a in listed] == (["bobs", "alices"] if mode == "shared" else ["alices"])


def test_files_and_renditions(client, user, mode, photos):
    client.force_login(user)
    bobs = photos["bobs"]
    assert client.get(reverse("medialib:asset_original", args=[bobs.pk, bobs.version])).status_code == \
        _status_for_other(mode)
    for spec in ("thumb", "preview"):
        response = client.get(reverse("medialib:asset_rendition", args=[bobs.pk, spec, bobs.version]))
        assert response.status_code == _status_for_other(mode), spec
    mine = photos["alices"]
    assert client.get(reverse("medialib:asset_rendition", args=[mine.pk, "thumb", mine.version])).status_code == 200


def test_staff_see_everything_in_private_mode(client, staff_user, settings, photos):
    settings.MEDIALIB_VISIBILITY = "private"
    client.force_login(staff_user)
    bobs = photos["bobs"]
    assert "bobs" in client.get(reverse("medialib:gallery")).content.decode()
    assert client.get(reverse("medialib:asset_detail", args=["bobs"])).status_code == 200
    assert client.get(reverse("medialib:asset_original", args=[bobs.pk, bobs.version])).status_code == 200


def test_writes_on_an_unseen_photo_are_not_found(client, user, settings, photos):
    settings.MEDIALIB_VISIBILITY = "private"
    client.force_login(user)
    bobs = photos["bobs"]
    for name, data in (("asset_tags_add", {"name": "x"}), ("asset_tag_remove", {"name": "bobs-tag"}),
                       ("asset_delete", {}), ("asset_analysis_rerun", {"addons": ["aws_rek_tagging"]})):
        assert client.post(reverse(f"medialib:{name}", args=[bobs.pk]), data).status_code == 404, name
    assert sorted(bobs.tags.names()) == ["bobs-tag"]


def test_the_gallery_pages_through_visible_photos_only(user, other_user, settings):
    settings.MEDIALIB_VISIBILITY = "private"
    mine = [services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=user) for _ in range(2)]
    services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=other_user)  # newest, and in between
    mine.append(services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=user))
    first = selectors.gallery_page(limit=2, user=user)
    assert [a.pk for a in first.assets] == [mine[2].pk, mine[1].pk] and first.next_before == mine[1].pk
    second = selectors.gallery_page(before=first.next_before, limit=2, user=user)
    assert [a.pk for a in second.assets] == [mine[0].pk] and second.next_before is None
    assert len(selectors.gallery_page(limit=10).assets) == 4  # the library itself sees everything
