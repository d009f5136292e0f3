"""tagging.services.tags with the fake detector: reviewing auto tags, managing the library's tags.

The fake detector labels an image by its dominant colour: "Red"/"Green"/"Blue" 0.9, "Colour" 0.75, "Thing" 0.5,
and finds one face (with an all-zero embedding, so every face matches every named face) in images wider than tall.
"""
import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError

from medialib import services as media_services
from medialib.models import AssetTag, Tag
from tagging import rules
from tagging.models import (
    Face,
    ModerationItem,
    Person,
    TagDecision,
    TagSynonym,
)
from tagging.services import people as people_services
from tagging.services import tags as tag_services
from tests.tagging.helpers import (
    BLUE,
    GREEN,
    RED,
    analysed,
    logged,
    reanalyse,
    tags_of,
    use,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fake_backend")]


# --- Permission and group --------------------------------------------------------------------------------------------


def test_the_moderators_group_holds_the_permission(moderator, viewer):
    assert Group.objects.get(name="Moderators").permissions.filter(codename="moderate_tags").exists()
    assert tag_services.user_can_moderate(moderator)
    assert not tag_services.user_can_moderate(viewer)


def test_services_refuse_who_is_not_a_moderator(user, viewer):
    asset = analysed(user)
    thing = Tag.objects.get(name="thing")
    person = Person.objects.create(name="Ann")
    calls = [
        lambda: tag_services.tag_uses_approve(uses=AssetTag.objects.all(), user=viewer),
        lambda: tag_services.tag_uses_reject(uses=AssetTag.objects.all(), user=viewer),
        lambda: tag_services.tag_rename(tag=thing, name="object", user=viewer),
        lambda: tag_services.tags_merge(tags=[thing], target=Tag.objects.get(name="red"), user=viewer),
        lambda: tag_services.tags_delete(tags=Tag.objects.all(), user=viewer),
        lambda: tag_services.tags_block(tags=Tag.objects.all(), user=viewer),
        lambda: tag_services.tags_auto_uses_remove(tags=Tag.objects.all(), user=viewer),
        lambda: tag_services.synonyms_apply(synonyms=TagSynonym.objects.all(), user=viewer),
        lambda: people_services.person_rename(person=person, name="Anna", user=viewer),
        lambda: people_services.people_merge(people=[person], target=person, user=viewer),
        lambda: people_services.people_hide(people=Person.objects.all(), user=viewer),
        lambda: people_services.faces_clear(faces=Face.objects.all(), user=viewer),
        lambda: people_services.faces_move(faces=Face.objects.all(), name="Bo", user=viewer),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()
    assert tags_of(asset) == {"red": ("aws_rek_tagging", 0.9), "colour": ("aws_rek_tagging", 0.75),
                              "thing": ("aws_rek_tagging", 0.5)}
    assert not LogEntry.objects.exists()


# --- The queue: approve and reject ----------------------------------------------------------------------------------


def test_approve_confirms_and_takes_tags_out_of_the_queue_and_reanalysis_keeps_it(user, moderator):
    asset = analysed(user, tags=["mine"])
    queue = ModerationItem.objects.exclude(source="manual").filter(reviewed_at__isnull=True)
    assert queue.count() == 3
    assert tag_services.tag_uses_approve(uses=AssetTag.objects.filter(tag__name__in=["thing", "mine"]),
                                     user=moderator) == 1  # a manual tag is not the queue's to approve
    thing = use(asset, "thing")
    assert thing.reviewed_by == moderator and thing.reviewed_at is not None
    assert queue.count() == 2
    assert logged(moderator, CHANGE) == [f"thing (aws_rek_tagging) on {asset.public_id}: Approved."]
    reanalyse(asset)
    assert use(asset, "thing").reviewed_by == moderator  # found again: still approved
    assert use(asset, "colour").reviewed_at is None


def test_a_rejected_tag_stays_away_after_reanalysis_with_the_same_output(user, moderator):
    asset = analysed(user)
    other = analysed(user)
    assert tag_services.tag_uses_reject(uses=AssetTag.objects.filter(content_object=asset, tag__name="thing"),
                                    user=moderator) == 1
    assert set(tags_of(asset)) == {"red", "colour"}
    decision = TagDecision.objects.get(asset=asset)
    assert (decision.tag.name, decision.decided_by) == ("thing", moderator)
    reanalyse(asset, auto_tagging=0.1)
    assert set(tags_of(asset)) == {"red", "colour"}
    assert "thing" in tags_of(other)  # only where it was rejected
    assert logged(moderator, DELETION) == [
        f"thing (aws_rek_tagging) on {asset.public_id}: Rejected: taken off the photo; analysis will not add it again."
    ]
    assert Tag.objects.get(name="thing").usage_count == 1


def test_bulk_reject_and_approve_are_a_fixed_number_of_queries(user, moderator, django_assert_max_num_queries):
    assets = [analysed(user, color) for color in (RED, GREEN, BLUE, RED, GREEN)]
    with django_assert_max_num_queries(12):
        assert tag_services.tag_uses_reject(uses=AssetTag.objects.filter(tag__name="thing"), user=moderator) == 5
    with django_assert_max_num_queries(8):
        assert tag_services.tag_uses_approve(uses=AssetTag.objects.all(), user=moderator) == 10
    assert TagDecision.objects.count() == 5
    assert all("thing" not in tags_of(a) for a in assets)


def test_tag_usage_refresh_is_one_statement(user, django_assert_num_queries):
    analysed(user)
    analysed(user, GREEN)
    Tag.objects.update(usage_count=0)
    ids = list(Tag.objects.values_list("pk", flat=True))
    with django_assert_num_queries(1):
        assert media_services.tag_usage_refresh(ids) == len(ids)
    assert dict(Tag.objects.values_list("name", "usage_count")) == {"red": 1, "green": 1, "colour": 2, "thing": 2}
    assert media_services.tag_usage_refresh([]) == 0


# --- Tag management ---------------------------------------------------------------------------------------------------


def test_rename_everywhere_and_for_new_analyses(user, moderator):
    asset = analysed(user, tags=["thing"])  # a manual "thing": the auto one is not added twice
    other = analysed(user, GREEN)
    thing = Tag.objects.get(name="thing")
    tag_services.tag_rename(tag=thing, name="Object", user=moderator)
    assert tags_of(asset)["Object"] == ("manual", None)
    assert tags_of(other)["Object"] == ("aws_rek_tagging", 0.5)
    assert "thing" not in tags_of(other)
    newer = analysed(user, BLUE)
    assert tags_of(newer)["Object"] == ("aws_rek_tagging", 0.5)  # the detector's "Thing" is written as Object
    assert not Tag.objects.filter(name="thing").exists()
    assert logged(moderator) == ["Object: Renamed from “thing” to “Object”."]
    with pytest.raises(ValidationError):
        tag_services.tag_rename(tag=Tag.objects.get(name="Object"), name="RED", user=moderator)  # merge instead


def test_merge_keeps_origin_and_confidence_without_duplicates(user, moderator):
    both = analysed(user)  # auto colour 0.75 and thing 0.5
    manual = analysed(user, GREEN, tags=["Thing"], auto_tagging=0.7)  # manual Thing, auto colour 0.75
    only_colour = analysed(user, BLUE, auto_tagging=0.7)  # auto colour 0.75, no thing
    rejected = analysed(user, GREEN)
    tag_services.tag_uses_reject(uses=AssetTag.objects.filter(content_object=rejected, tag__name="colour"),
                             user=moderator)
    tag_services.tag_uses_approve(uses=AssetTag.objects.filter(content_object=both, tag__name="thing"), user=moderator)
    thing = Tag.objects.get(name="thing")  # the manual "Thing" is the same tag, whatever the case

    result = tag_services.tags_merge(tags=[Tag.objects.get(name="colour")], target=thing, user=moderator)
    assert (result.moved, result.dropped) == (1, 2)
    assert tags_of(both)["thing"] == ("aws_rek_tagging", 0.5)  # the approved one is kept over the surer one
    assert use(both, "thing").reviewed_by == moderator
    assert tags_of(manual)["thing"] == ("manual", None)  # a person's tag is kept over an add-on's
    assert tags_of(only_colour)["thing"] == ("aws_rek_tagging", 0.75)  # moved, with its confidence
    assert not Tag.objects.filter(name="colour").exists()
    assert TagDecision.objects.get(asset=rejected).tag == thing  # the rejection follows the tag
    assert Tag.objects.get(name="thing").usage_count == 4
    # From now on: the detector's "Colour" is written as thing, and stays away where it was rejected.
    newer = analysed(user, RED, auto_tagging=0.7)
    assert tags_of(newer) == {"red": ("aws_rek_tagging", 0.9), "thing": ("aws_rek_tagging", 0.75)}
    reanalyse(rejected)
    assert set(tags_of(rejected)) == {"green"}
    assert logged(moderator)[-2:] == [
        "thing: Merged “colour” into this tag: 1 uses moved, 2 duplicates dropped.",
        "colour: Merged into “thing”.",
    ]


def test_delete_everywhere(user, moderator):
    asset = analysed(user, tags=["holiday"])
    assert tag_services.tags_delete(tags=Tag.objects.filter(name__in=["thing", "holiday"]), user=moderator) == 2
    assert set(tags_of(asset)) == {"red", "colour"}
    assert not Tag.objects.filter(name__in=["thing", "holiday"]).exists()
    assert sorted(logged(moderator, DELETION)) == ["holiday: Deleted everywhere (1 uses).",
                                                  "thing: Deleted everywhere (1 uses)."]


def test_block_list_stops_auto_tagging_and_clears_existing_auto_uses(user, moderator):
    existing = analysed(user)
    manual = analysed(user, GREEN, tags=["thing"])
    assert tag_services.tags_block(tags=Tag.objects.filter(name="thing"), user=moderator) == 1
    newer = analysed(user, BLUE)
    assert set(tags_of(newer)) == {"blue", "colour"}
    assert "thing" in tags_of(existing)  # until the moderator removes the existing ones
    assert tag_services.tags_auto_uses_remove(tags=Tag.objects.filter(name__in=["thing", "red"]), user=moderator) == 1
    assert set(tags_of(existing)) == {"red", "colour"}  # "red" is not blocked: left alone
    assert tags_of(manual)["thing"] == ("manual", None)  # people may still use a blocked tag
    reanalyse(existing)
    assert "thing" not in tags_of(existing)
    tag_services.tags_block(tags=Tag.objects.filter(name="thing"), blocked=False, user=moderator)
    reanalyse(existing)
    assert "thing" in tags_of(existing)
    assert logged(moderator) == ["thing: Blocked: auto-tagging never assigns it.",
                                 "thing: Removed its 1 auto uses (blocked).", "thing: Unblocked."]


def test_synonyms_for_new_analyses_and_applied_to_existing_tags(user, moderator):
    existing = analysed(user)
    both = analysed(user, GREEN, tags=["object"])
    manual = analysed(user, BLUE, tags=["thing"], auto_tagging=0.7)
    object_tag = Tag.objects.get(name="object")
    synonym = TagSynonym(label="  Thing ", tag=object_tag)
    synonym.full_clean()
    synonym.save()
    assert synonym.label == "thing"

    newer = analysed(user, BLUE)
    assert tags_of(newer)["object"] == ("aws_rek_tagging", 0.5)
    assert "thing" not in tags_of(newer)
    assert "thing" in tags_of(existing)  # until applied

    moved, dropped = tag_services.synonyms_apply(synonyms=TagSynonym.objects.all(), user=moderator)
    assert (moved, dropped) == (1, 1)
    assert tags_of(existing)["object"] == ("aws_rek_tagging", 0.5) and "thing" not in tags_of(existing)
    assert tags_of(both) == {"green": ("aws_rek_tagging", 0.9), "colour": ("aws_rek_tagging", 0.75),
                             "object": ("manual", None)}
    assert tags_of(manual)["thing"] == ("manual", None)  # a synonym speaks for detectors, not for people
    assert Tag.objects.get(name="object").usage_count == 3
    assert logged(moderator) == ["thing -> object: Applied to existing tags: 1 uses moved, 1 duplicates dropped."]


def test_a_rejection_holds_under_a_synonym(user, moderator):
    asset = analysed(user)
    tag_services.tag_uses_reject(uses=AssetTag.objects.filter(content_object=asset, tag__name="thing"), user=moderator)
    TagSynonym.objects.create(label="thing", tag=media_services.tag_get_or_create("object"))
    reanalyse(asset)
    assert set(tags_of(asset)) == {"red", "colour"}


def test_candidates_moderate_rules():
    candidates = [("Puppy", 0.8), ("dog", 0.7), ("cat", 0.9), ("Ann", 0.95), ("thing", 0.5)]
    allowed = rules.candidates_moderate(candidates, synonyms={"puppy": "Dog"}, blocked={"cat"},
                                        rejected={"thing"}, hidden={"ann"})
    assert allowed == [("Dog", 0.8)]


def test_tags_are_found_whatever_their_case_in_one_query_and_new_ones_made(django_assert_num_queries):
    dog = media_services.tag_get_or_create("Dog")
    cat = media_services.tag_get_or_create("cat")
    with django_assert_num_queries(1):
        found = media_services.tags_get_or_create(["dog", "CAT", "Dog"])
    assert found == {"dog": dog, "cat": cat}
    found = media_services.tags_get_or_create(["Kite", "kite", "dog"])
    assert found["dog"] == dog and found["kite"].name == "Kite"  # made once, with the first spelling
    assert Tag.objects.filter(name__iexact="kite").count() == 1


def test_an_addon_with_nothing_to_tag_removes_only_its_own_old_tags_in_one_query(user, django_assert_num_queries):
    asset = analysed(user, RED, tags=["holiday"], addons=("aws_rek_face",))
    tag_services.auto_tags_apply(asset=asset, addon="aws_rek_face", candidates=[("Alice Smith", 0.9)])
    tag_services.auto_tags_apply(asset=asset, addon="aws_rek_tagging", candidates=[("Red", 0.9)])
    assert set(tags_of(asset)) == {"holiday", "Alice Smith", "Red"}
    with django_assert_num_queries(1):
        assert tag_services.auto_tags_apply(asset=asset, addon="aws_rek_face", candidates=[]) == []
    assert tags_of(asset) == {"holiday": ("manual", None), "Red": ("aws_rek_tagging", 0.9)}
