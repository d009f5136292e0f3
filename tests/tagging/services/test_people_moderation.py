"""tagging.services.people, the moderators' side, with the fake detector: rename, merge, split off and hide people.

The fake detector labels an image by its dominant colour: "Red"/"Green"/"Blue" 0.9, "Colour" 0.75, "Thing" 0.5,
and finds one face (with an all-zero embedding, so every face matches every named face) in images wider than tall.
"""
import pytest
from django.core.exceptions import ValidationError

from medialib import services as media_services
from tagging.models import (
    Face,
    FaceRejection,
    Person,
)
from tagging.selectors import people_list
from tagging.services import people as people_services
from tests.tagging.helpers import (
    BLUE,
    GREEN,
    face_photo,
    logged,
    names_in,
    reanalyse,
    tags_of,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fake_backend")]


# --- People -----------------------------------------------------------------------------------------------------------


@pytest.fixture
def ann_photos(user):
    """Ann named on one photo, recognised on another."""
    named = face_photo(user)
    people_services.face_name(face=named.faces.get(), user=user, name="Ann")
    recognised = face_photo(user, GREEN)
    assert recognised.faces.get().person.name == "Ann"
    return named, recognised


def test_rename_a_person(user, moderator, ann_photos):
    people_services.person_rename(person=Person.objects.get(name="Ann"), name="Anna Karenina", user=moderator)
    for asset in ann_photos:
        assert names_in(asset) == ["Anna Karenina"]
        assert "Anna Karenina" in tags_of(asset) and "Ann" not in tags_of(asset)
    assert logged(moderator) == ["Anna Karenina: Renamed from “Ann” to “Anna Karenina”."]
    Person.objects.create(name="Bo")
    with pytest.raises(ValidationError):
        people_services.person_rename(person=Person.objects.get(name="Bo"), name="anna karenina", user=moderator)


def test_merge_people_moves_faces_corrections_and_tags(user, moderator, ann_photos):
    bob_photo = face_photo(user, BLUE)
    people_services.face_name(face=bob_photo.faces.get(), user=user, name="Bob")
    media_services.asset_tags_add(asset=bob_photo, names=["Bob"], user=user)  # already there: stays auto
    stranger = face_photo(user)
    people_services.face_clear(face=stranger.faces.get(), user=user)  # "not Ann"
    FaceRejection.objects.create(face=stranger.faces.get(), person=Person.objects.get(name="Bob"))
    ann, bob = Person.objects.get(name="Ann"), Person.objects.get(name="Bob")

    assert people_services.people_merge(people=[ann, bob], target=ann, user=moderator) == 1
    assert not Person.objects.filter(name="Bob").exists()
    assert bob_photo.faces.get().person == ann
    assert names_in(bob_photo) == ["Ann"]
    assert "Ann" in tags_of(bob_photo) and "Bob" not in tags_of(bob_photo)
    assert list(FaceRejection.objects.filter(face__asset=stranger).values_list("person__name", flat=True)) == ["Ann"]
    assert logged(moderator) == ["Ann: Merged “Bob” into this person: 1 faces moved.", "Bob: Merged into “Ann”."]


def test_split_off_faces_clear_or_move(user, moderator, ann_photos):
    _, recognised = ann_photos
    third = face_photo(user, BLUE)
    assert third.faces.get().person.name == "Ann"
    assert people_services.faces_clear(faces=Face.objects.filter(asset=recognised), user=moderator) == 1
    assert names_in(recognised) == [] and "Ann" not in tags_of(recognised)
    assert FaceRejection.objects.filter(face__asset=recognised, person__name="Ann").exists()
    reanalyse(recognised, auto_tagging=0.6, addons=("aws_rek_face",))
    assert names_in(recognised) == []  # never Ann again

    person, moved = people_services.faces_move(faces=Face.objects.filter(asset=third), name="Cid", user=moderator)
    assert (person.name, moved) == ("Cid", 1)
    assert names_in(third) == ["Cid"] and "Cid" in tags_of(third) and "Ann" not in tags_of(third)
    assert FaceRejection.objects.filter(face__asset=third, person__name="Ann").exists()
    assert third.faces.get().person_source == "user"
    assert [e.split(":")[1].strip() for e in logged(moderator)] == [
        "Not Ann", "Moved from Ann to Cid."]


def test_a_hidden_person_is_not_listed_nor_auto_tagged(user, moderator, ann_photos):
    assert [p.name for p in people_list()] == ["Ann"]
    assert people_services.people_hide(people=Person.objects.filter(name="Ann"), user=moderator) == 1
    assert list(people_list()) == []
    assert all("Ann" not in tags_of(a) for a in ann_photos)
    later = face_photo(user, BLUE)
    assert later.faces.get().person.name == "Ann"  # still recognised, only not tagged
    assert "Ann" not in tags_of(later)
    people_services.people_hide(people=Person.objects.filter(name="Ann"), hidden=False, user=moderator)
    assert all("Ann" in tags_of(a) for a in ann_photos)
    assert logged(moderator) == ["Ann: Hidden: not listed, not auto-tagged.", "Ann: Shown again."]
