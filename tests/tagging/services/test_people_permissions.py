"""tagging.services.people across users: naming a face on your own photo never changes another user's photos
(their faces, their tags) until a moderator approves that person.

The fake detector finds one face, with an all-zero embedding, in every image wider than tall: every face matches
every example face, so whatever keeps a face unrecognised here is the owner rule, not the distance.
"""
import pytest

from tagging.models import Face, Person
from tagging.services import people as people_services
from tests.tagging.helpers import BLUE, GREEN, besides_regrouping, face_photo, logged, reanalyse, tags_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fake_backend")]


def _untouched(asset):
    face = Face.objects.get(asset=asset)
    assert face.person_id is None and face.person_source == ""
    assert not any(source == "aws_rek_face" for source, _ in tags_of(asset).values())


def _recognised(asset, name):
    face = Face.objects.get(asset=asset)
    assert face.person.name == name and face.person_source == "auto"
    assert tags_of(asset)[name][0] == "aws_rek_face"


def _name(user, asset, name):
    people_services.face_name(face=asset.faces.get(), user=user, name=name)
    return Person.objects.get(name=name)


def test_a_users_naming_is_recognised_on_their_photos_only_until_approved(user, other_user, moderator):
    _name(user, face_photo(user), "Mal <b>")
    mine, theirs = face_photo(user, GREEN), face_photo(other_user, BLUE)  # analysis: faces_store
    _recognised(mine, "Mal <b>")
    _untouched(theirs)
    assert not Person.objects.get(name="Mal <b>").approved

    people_services.people_approve(people=Person.objects.filter(name="Mal <b>"), user=moderator)
    reanalyse(theirs, auto_tagging=0.6, addons=("aws_rek_face",))
    _recognised(theirs, "Mal <b>")
    assert logged(moderator) == ["Mal <b>: Approved: recognised on everyone's photos."]


def test_the_recheck_after_naming_leaves_other_users_photos_until_approved(user, other_user, moderator):
    theirs, mine = face_photo(other_user, BLUE), face_photo(user, GREEN)
    person = _name(user, face_photo(user), "Mal")
    assert people_services.faces_recheck(person_id=person.pk) == [mine.pk]
    _recognised(mine, "Mal")
    _untouched(theirs)

    people_services.people_approve(people=Person.objects.filter(pk=person.pk), user=moderator)
    assert people_services.faces_recheck(person_id=person.pk) == [theirs.pk]
    _recognised(theirs, "Mal")


def test_naming_someone_approved_on_your_photo_does_not_reach_other_photos(user, other_user, moderator):
    """Approval vouches for the example faces a moderator saw; a face named later by a user counts for them only."""
    approved = Person.objects.create(name="Ann", approved=True)
    theirs = face_photo(other_user, BLUE)
    _name(user, face_photo(user), "Ann")
    assert people_services.faces_recheck(person_id=approved.pk) == []
    reanalyse(theirs, auto_tagging=0.6, addons=("aws_rek_face",))
    _untouched(theirs)
    _recognised(face_photo(user, GREEN), "Ann")

    people_services.people_approve(people=Person.objects.filter(pk=approved.pk), user=moderator)  # again
    assert people_services.faces_recheck(person_id=approved.pk) == [theirs.pk]
    _recognised(theirs, "Ann")


def test_merging_a_users_person_into_an_approved_one_keeps_their_faces_theirs(user, other_user, moderator):
    target = Person.objects.create(name="Ann", approved=True)
    mal = _name(user, face_photo(user), "Mal")
    people_services.people_merge(people=[mal], target=target, user=moderator)
    theirs = face_photo(other_user, BLUE)
    _untouched(theirs)
    assert people_services.faces_recheck(person_id=target.pk) == []
    _untouched(theirs)
    _recognised(face_photo(user, GREEN), "Ann")

    people_services.people_approve(people=Person.objects.filter(pk=target.pk), user=moderator)
    assert people_services.faces_recheck(person_id=target.pk) == [theirs.pk]
    _recognised(theirs, "Ann")


def test_staff_naming_counts_on_everyones_photos(user, staff_user):
    named = face_photo(user)
    people_services.face_name(face=named.faces.get(), user=staff_user, name="Ann")
    assert Person.objects.get(name="Ann").approved and named.faces.get().example_approved
    _recognised(face_photo(user, GREEN), "Ann")
    _recognised(face_photo(staff_user, BLUE), "Ann")


def test_a_group_named_by_a_user_is_theirs_only(user, other_user):
    faces = [face_photo(user).faces.get().pk, face_photo(user, GREEN).faces.get().pk]
    assert people_services.faces_name_group(face_ids=faces, user=user, name="Mal") == 2
    assert not Person.objects.get(name="Mal").approved
    _untouched(face_photo(other_user, BLUE))


def test_withdrawing_approval_takes_the_person_off_other_users_photos(user, other_user, moderator,
                                                                      django_capture_on_commit_callbacks):
    person = _name(user, face_photo(user), "Mal")
    people_services.people_approve(people=Person.objects.filter(pk=person.pk), user=moderator)
    theirs, mine = face_photo(other_user, BLUE), face_photo(user, GREEN)
    _recognised(theirs, "Mal")
    with django_capture_on_commit_callbacks() as callbacks:
        people_services.people_approve(people=Person.objects.filter(pk=person.pk), approved=False, user=moderator)
    assert len(besides_regrouping(callbacks)) == 1  # the re-check, which finds them again where the naming still counts
    _untouched(theirs)
    assert people_services.faces_recheck(person_id=person.pk) == [mine.pk]
    _recognised(mine, "Mal")
    _untouched(theirs)


def test_only_moderators_approve(user, viewer):
    person = _name(user, face_photo(user), "Mal")
    from django.core.exceptions import PermissionDenied

    for who in (user, viewer):
        with pytest.raises(PermissionDenied):
            people_services.people_approve(people=Person.objects.filter(pk=person.pk), user=who)
    assert not Person.objects.get(pk=person.pk).approved


def test_the_migration_approves_people_staff_vouched_for(user, staff_user):
    from importlib import import_module

    from django.apps import apps

    people_services.face_name(face=face_photo(user).faces.get(), user=user, name="Mal")
    people_services.face_name(face=face_photo(staff_user).faces.get(), user=staff_user, name="Ann")
    Person.objects.update(approved=False)
    Face.objects.update(example_approved=False)
    import_module("tagging.migrations.0004_person_approved").approve_trusted(apps, None)
    assert dict(Person.objects.values_list("name", "approved")) == {"Mal": False, "Ann": True}
    assert dict(Face.objects.values_list("person__name", "example_approved")) == {"Mal": False, "Ann": True}


# --- Every other write on faces, by another user: refused by the service, whatever page or script calls it.


def test_another_user_cannot_clear_or_name_a_face(user, other_user):
    from django.core.exceptions import PermissionDenied

    asset = face_photo(user)
    person = _name(user, asset, "Ann")
    with pytest.raises(PermissionDenied):
        people_services.face_clear(face=asset.faces.get(), user=other_user)
    with pytest.raises(PermissionDenied):
        people_services.face_name(face=asset.faces.get(), user=other_user, name="Mal")
    face = asset.faces.get()
    assert face.person == person and not face.rejections.exists()
    assert "Ann" in tags_of(asset) and not Person.objects.filter(name="Mal").exists()


def test_a_group_with_another_users_face_is_refused_whole(user, other_user):
    from django.core.exceptions import PermissionDenied

    mine, theirs = face_photo(user), face_photo(other_user, BLUE)
    with pytest.raises(PermissionDenied):
        people_services.faces_name_group(face_ids=[mine.faces.get().pk, theirs.faces.get().pk], user=user, name="Mal")
    _untouched(mine)
    _untouched(theirs)
    assert not Person.objects.exists()
