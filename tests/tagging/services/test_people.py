"""tagging.services.people on real photos with the local backend: enrol, recognise, name, correct, re-check."""
import shutil
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command

from medialib.models import Asset
from tagging.models import AnalysisResult, Face, FaceRejection, Person
from tagging.services import analysis as analysis_services
from tagging.services import people as people_services
from tests import images
from tests.tagging.helpers import analyse_photo, besides_regrouping

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_backend")]


def _analyse(user, name, auto_tagging=0.7):
    return analyse_photo(user, name, auto_tagging=auto_tagging)


def _data(asset):
    return AnalysisResult.objects.get(asset=asset, addon="aws_rek_face").data


def _enrol(user, name, photo):
    asset = _analyse(user, photo, auto_tagging=None)
    face = asset.faces.get()
    people_services.face_name(face=face, user=user, name=name)
    return asset




def test_a_named_person_is_recognised_in_another_photo_and_tagged(user):
    _enrol(user, "Barack Obama", "obama.jpg")
    asset = _analyse(user, "obama2.jpg")
    data = _data(asset)
    assert data["unrecognized_faces"] == []
    (celebrity,) = data["celebrity_faces"]
    assert celebrity["name"] == "Barack Obama"
    assert celebrity["id"] == str(Person.objects.get(name="Barack Obama").pk)
    assert 70 < celebrity["match_confidence"] < 100
    assert set(celebrity["face"]) >= {"bounding_box", "confidence", "landmarks", "pose", "quality"}
    assert "Barack Obama" in asset.tags.names()
    assert asset.faces.get().person_source == "auto"


def test_two_people_recognised_as_who_they_are(user):
    _enrol(user, "Barack Obama", "obama.jpg")
    _enrol(user, "Joe Biden", "biden.jpg")
    asset = _analyse(user, "two_people.jpg", auto_tagging=0.5)
    names = sorted(c["name"] for c in _data(asset)["celebrity_faces"])
    assert names == ["Barack Obama", "Joe Biden"]
    assert {"Barack Obama", "Joe Biden"} <= set(asset.tags.names())


def test_a_photo_of_dogs_has_no_faces(user):
    asset = _analyse(user, "dogs.jpg")
    assert _data(asset) == {"celebrity_faces": [], "unrecognized_faces": []}


def test_naming_rechecks_older_photos(user, django_capture_on_commit_callbacks):
    older = _analyse(user, "obama-240p.jpg")
    assert len(_data(older)["unrecognized_faces"]) == 1
    newer = _analyse(user, "obama.jpg")
    with django_capture_on_commit_callbacks() as callbacks:
        people_services.face_name(face=newer.faces.get(), user=user, name="Barack Obama")
    assert len(besides_regrouping(callbacks)) == 1  # the re-check is queued, not run in the request
    assert people_services.faces_recheck(person_id=Person.objects.get().pk) == [older.pk]
    assert [c["name"] for c in _data(older)["celebrity_faces"]] == ["Barack Obama"]
    assert "Barack Obama" in older.tags.names()  # its analysis asked for auto-tagging


def test_a_correction_is_remembered(user):
    _enrol(user, "Barack Obama", "obama.jpg")
    asset = _analyse(user, "obama2.jpg")
    face = asset.faces.get()
    assert face.person.name == "Barack Obama"
    people_services.face_name(face=face, user=user, name="Someone Else")
    assert FaceRejection.objects.filter(face=face, person__name="Barack Obama").exists()
    assert [c["name"] for c in _data(asset)["celebrity_faces"]] == ["Someone Else"]
    assert "Barack Obama" not in asset.tags.names() and "Someone Else" in asset.tags.names()
    people_services.face_clear(face=Face.objects.get(pk=face.pk), user=user)
    assert _data(asset)["celebrity_faces"] == []
    # Analysed again, and re-checked: never Barack Obama again, nor the other name it was cleared of.
    analysis_services.analysis_request(asset=asset, addons=["aws_rek_face"], auto_tagging=0.7)
    analysis_services.analysis_run(asset_id=asset.pk)
    people_services.faces_recheck(person_id=Person.objects.get(name="Barack Obama").pk)
    assert _data(asset)["celebrity_faces"] == []
    assert len(_data(asset)["unrecognized_faces"]) == 1


def test_reanalysis_keeps_the_names_people_gave(user):
    asset = _analyse(user, "two_people.jpg")
    first, second = asset.faces.order_by("index")
    people_services.face_name(face=first, user=user, name="Person A")
    analysis_services.analysis_request(asset=asset, addons=["aws_rek_face"], auto_tagging=0.7)
    analysis_services.analysis_run(asset_id=asset.pk)
    faces = list(asset.faces.order_by("index"))
    assert faces[0].person.name == "Person A" and faces[0].person_source == "user"
    assert faces[1].person_id is None


def test_only_the_owner_or_staff_may_name(user, other_user, staff_user):
    asset = _analyse(user, "obama.jpg")
    with pytest.raises(PermissionDenied):
        people_services.face_name(face=asset.faces.get(), user=other_user, name="X")
    people_services.face_name(face=asset.faces.get(), user=staff_user, name="Barack Obama")
    assert Person.objects.filter(name="Barack Obama").exists()


def test_names_are_one_person_whatever_the_case(user):
    assert people_services.person_get_or_create("Ada  Lovelace") == people_services.person_get_or_create("ada lovelace")
    assert Person.objects.count() == 1


def test_enroll_people_command(tmp_path, user):
    folder = tmp_path / "people"
    (folder / "Barack_Obama").mkdir(parents=True)
    (folder / "Joe_Biden").mkdir()
    shutil.copy(images.PHOTOS / "obama.jpg", folder / "Barack_Obama" / "obama.jpg")
    shutil.copy(images.PHOTOS / "two_people.jpg", folder / "Barack_Obama" / "group.jpg")
    shutil.copy(images.PHOTOS / "dogs.jpg", folder / "Barack_Obama" / "dogs.jpg")
    (folder / "Barack_Obama" / "notes.txt").write_text("not a photo")
    shutil.copy(images.PHOTOS / "biden.jpg", folder / "Joe_Biden" / "biden.jpg")
    older = _analyse(user, "obama2.jpg")  # already in the library, not yet recognised

    out = StringIO()
    call_command("enroll_people", str(folder), stdout=out)
    text = out.getvalue()
    assert "enrolled  Barack Obama: obama.jpg" in text
    assert "skipped   Barack Obama: group.jpg (2 faces found, not one)" in text
    assert "skipped   Barack Obama: dogs.jpg (no face found)" in text
    assert "skipped   Barack Obama: notes.txt (notes.txt is not an image" in text
    assert "enrolled  Joe Biden: biden.jpg" in text
    assert "recognised Barack Obama in 1 more photo(s)" in text
    assert "2 photo(s) enrolled for 2 person(s); 3 skipped." in text
    assert sorted(Person.objects.values_list("name", flat=True)) == ["Barack Obama", "Joe Biden"]
    assert all(Person.objects.values_list("approved", flat=True))  # enrolled by the library: recognised everywhere
    assert [c["name"] for c in _data(older)["celebrity_faces"]] == ["Barack Obama"]
    assert not Asset.objects.filter(public_id__in=["people/barack_obama/group", "people/barack_obama/dogs"]).exists()

    again = StringIO()
    call_command("enroll_people", str(folder), stdout=again)
    assert "0 photo(s) enrolled" in again.getvalue() and "(already enrolled)" in again.getvalue()
    assert Person.objects.count() == 2
    assert Face.objects.filter(person_source="user").count() == 2


PEOPLE = {
    "Barack Obama": ("obama.jpg", "obama2.jpg"),
    "Joe Biden": ("biden.jpg", "biden2.jpg"),
    "Kit Harington": ("kit_harington1.jpg", "kit_harington2.jpg"),
    "Rose Leslie": ("rose_leslie1.jpg", "rose_leslie2.jpg"),
}


def test_everyone_enrolled_from_one_photo_is_recognised_in_another(user):
    for name, (first, _) in PEOPLE.items():
        _enrol(user, name, first)
    _enrol(user, "Alex Lacamoire", "alex_lacamoire.jpg")  # someone else in the gallery of known faces
    for name, (_, second) in PEOPLE.items():
        asset = _analyse(user, second)
        assert [c["name"] for c in _data(asset)["celebrity_faces"]] == [name], second


def test_a_nul_in_a_name_is_refused():
    # PostgreSQL cannot store text holding NUL; the page shows this message rather than a 500.
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="NUL character"):
        people_services.person_get_or_create("Ada\x00")
    assert not Person.objects.exists()


def test_an_enrol_folder_named_obama_next_to_barack_obama_is_him(tmp_path, user):
    """Issue 16: a folder `obama` next to a person "Barack Obama" created a second person; now it is him."""
    _enrol(user, "Barack Obama", "obama.jpg")
    folder = tmp_path / "people"
    (folder / "obama").mkdir(parents=True)
    (folder / "obama" / "more").mkdir()
    shutil.copy(images.PHOTOS / "obama2.jpg", folder / "obama" / "obama2.jpg")
    (folder / "README.txt").write_text("loose file")
    out = StringIO()
    call_command("enroll_people", str(folder), stdout=out)
    text = out.getvalue()
    assert "folder    obama: Barack Obama, who is already known" in text
    assert "enrolled  Barack Obama: obama2.jpg" in text
    assert "ignored   README.txt (not in a person's folder)" in text
    assert "ignored   obama/more/ (folders inside a person's folder are not read)" in text
    assert "1 photo(s) enrolled for 1 person(s); 0 skipped; 2 ignored." in text
    assert list(Person.objects.values_list("name", flat=True)) == ["Barack Obama"]


def test_a_word_shared_by_two_people_is_nobody_in_particular(tmp_path, user):
    people_services.person_get_or_create("Barack Obama")
    people_services.person_get_or_create("Michelle Obama")
    assert people_services.person_for_folder("obama") == ("obama", None)
    assert people_services.person_for_folder("BARACK OBAMA")[1].name == "Barack Obama"


def test_naming_through_a_tag_synonym_finds_the_person(user):
    from medialib.models import Tag
    from tagging.models import TagSynonym

    barack = people_services.person_get_or_create("Barack Obama")
    TagSynonym.objects.create(label="potus44", tag=Tag.objects.create(name="Barack Obama"))
    assert people_services.person_get_or_create("POTUS44") == barack
    asset = _analyse(user, "obama2.jpg", auto_tagging=None)
    face = people_services.face_name(face=asset.faces.get(), user=user, name="Potus44")
    assert face.person == barack and Person.objects.count() == 1


def test_enrolment_photos_stay_out_of_the_gallery_unless_asked(tmp_path, user, client):
    """Issue 16: enroll_people put every enrolment portrait in the gallery; now only with --gallery."""
    from medialib.selectors import gallery_page
    from search.selectors import search

    in_library = _analyse(user, "obama2.jpg")  # already in the gallery: enrolling it keeps it there
    folder = tmp_path / "people"
    (folder / "Barack_Obama").mkdir(parents=True)
    (folder / "Joe_Biden").mkdir()
    shutil.copy(images.PHOTOS / "obama.jpg", folder / "Barack_Obama" / "obama.jpg")
    shutil.copy(images.PHOTOS / "biden.jpg", folder / "Joe_Biden" / "biden.jpg")
    call_command("enroll_people", str(folder), stdout=StringIO())
    enrolled = Asset.objects.get(public_id="people/barack_obama/obama")
    assert not enrolled.in_gallery and Asset.objects.get(pk=in_library.pk).in_gallery
    shown = [a.pk for a in gallery_page(user=user).assets]
    assert in_library.pk in shown and enrolled.pk not in shown
    client.force_login(user)
    page = client.get("/")
    assert page.status_code == 200
    assert in_library.public_id in page.content.decode() and "people/barack_obama/obama" not in page.content.decode()
    # Looking for the person still finds their enrolment photo.
    assert enrolled.pk in [a.pk for a in search(text='person:"Barack Obama"', user=user).assets]

    more = tmp_path / "more"
    (more / "Joe_Biden").mkdir(parents=True)
    shutil.copy(images.PHOTOS / "biden2.jpg", more / "Joe_Biden" / "biden2.jpg")
    call_command("enroll_people", str(more), "--gallery", stdout=StringIO())
    shown_now = Asset.objects.get(public_id="people/joe_biden/biden2")
    assert shown_now.in_gallery and shown_now.pk in [a.pk for a in gallery_page(user=user).assets]
    assert not Asset.objects.get(public_id="people/joe_biden/biden").in_gallery
