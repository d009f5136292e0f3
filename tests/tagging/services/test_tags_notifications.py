"""Moderators' changes to tags reach the library-wide notification URL as Cloudinary's resource_tags_changed
(source "ui", as changes in Cloudinary's console do): renames, merges, deletions, rejections, removed auto uses,
applied synonyms, a person's rename carrying their name tag. With no URL nothing is read or made.

The fake detector labels an image by its colour: "Red"/"Green"/"Blue" 0.9, "Colour" 0.75, "Thing" 0.5.
"""
import pytest

from medialib import notifications
from medialib.api.models import NotificationSettings, WebhookDelivery
from medialib.api.services import api_key_create
from medialib.models import AssetTag, Tag
from tagging.models import TagSynonym
from tagging.services import people as people_services
from tagging.services import tags as tag_services
from tests.tagging.helpers import BLUE, GREEN, RED, analysed, face_photo

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fake_backend")]


@pytest.fixture
def library_url(user, monkeypatch):
    monkeypatch.setattr(notifications, "webhook_enqueue", lambda **kwargs: True)  # made, not sent
    api_key_create(name="hooks", user=user)
    NotificationSettings.objects.create(url="http://library.example/hook")


def _sent() -> list[dict]:
    """Each resource_tags_changed made, oldest first: {public_id: (added, removed)}, checking the envelope."""
    found = []
    for delivery in WebhookDelivery.objects.filter(notification_type="resource_tags_changed").order_by("pk"):
        assert delivery.payload["source"] == "ui" and delivery.url == "http://library.example/hook"
        found.append({r["public_id"]: (r["added"], r["removed"]) for r in delivery.payload["resources"]})
    WebhookDelivery.objects.all().delete()
    return found


def test_a_rename_and_a_merge_tell_each_image_what_it_lost_and_gained(user, moderator, library_url):
    red, green = analysed(user, RED, tags=["pet"]), analysed(user, GREEN, tags=["Animal"])
    blue = analysed(user, BLUE)
    WebhookDelivery.objects.all().delete()
    tag_services.tag_rename(tag=Tag.objects.get(name="pet"), name="Pets", user=moderator)
    assert _sent() == [{red.public_id: (["Pets"], ["pet"])}]
    tag_services.tags_merge(tags=Tag.objects.filter(name__in=["Pets", "colour"]), target=Tag.objects.get(name="Animal"),
                            user=moderator)
    assert _sent() == [{red.public_id: (["Animal"], ["colour", "Pets"]),
                        green.public_id: ([], ["colour"]),  # it had Animal already
                        blue.public_id: (["Animal"], ["colour"])}]


def test_deletions_rejections_auto_uses_and_synonyms_are_told(user, moderator, library_url):
    red, green = analysed(user, RED, tags=["holiday"]), analysed(user, GREEN, tags=["thing"])
    WebhookDelivery.objects.all().delete()
    tag_services.tags_delete(tags=Tag.objects.filter(name="holiday"), user=moderator)
    assert _sent() == [{red.public_id: ([], ["holiday"])}]
    tag_services.tag_uses_reject(uses=AssetTag.objects.filter(content_object=red, tag__name="red"), user=moderator)
    assert _sent() == [{red.public_id: ([], ["red"])}]
    tag_services.tags_block(tags=Tag.objects.filter(name="thing"), user=moderator)
    assert _sent() == []  # blocking changes no photo: removing the auto uses does
    tag_services.tags_auto_uses_remove(tags=Tag.objects.filter(name="thing"), user=moderator)
    assert _sent() == [{red.public_id: ([], ["thing"])}]  # green's own (manual) "thing" stays
    TagSynonym.objects.create(label="colour", tag=Tag.objects.create(name="Hue"))
    tag_services.synonyms_apply(synonyms=TagSynonym.objects.all(), user=moderator)
    assert _sent() == [{red.public_id: (["Hue"], ["colour"]), green.public_id: (["Hue"], ["colour"])}]


def test_a_person_renamed_carries_the_name_tag_and_tells(user, moderator, library_url):
    asset = face_photo(user)
    face = asset.faces.get()
    people_services.face_name(face=face, user=moderator, name="Ann Lee")
    assert "Ann Lee" in {t.tag.name for t in AssetTag.objects.filter(content_object=asset)}
    WebhookDelivery.objects.all().delete()
    people_services.person_rename(person=face.__class__.objects.get(pk=face.pk).person, name="Ann Smith",
                                  user=moderator)
    assert _sent() == [{asset.public_id: (["Ann Smith"], ["Ann Lee"])}]


def test_a_big_change_is_told_in_batches_and_without_a_url_nothing_is_read(user, moderator, library_url,
                                                                           monkeypatch, django_assert_num_queries):
    assets = [analysed(user, RED) for _ in range(5)]
    monkeypatch.setattr(notifications, "TAGS_CHANGED_BATCH", 2)
    WebhookDelivery.objects.all().delete()
    tag_services.tag_rename(tag=Tag.objects.get(name="red"), name="Crimson", user=moderator)
    batches = _sent()
    assert [len(batch) for batch in batches] == [2, 2, 1]
    assert {pid for batch in batches for pid in batch} == {a.public_id for a in assets}
    NotificationSettings.objects.all().delete()
    crimson = Tag.objects.get(name="Crimson")
    with django_assert_num_queries(1):  # is a URL set? no: nothing more
        watch = notifications.TagUsesWatch(tag_ids=[crimson.pk])
        assert watch.notify() == []
