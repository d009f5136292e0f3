"""The local backend through the pipeline's run on real photos: labels with parents, Person/Face/People, faces."""
import pytest

from tagging.models import AnalysisResult
from tests.tagging.helpers import analyse_photo

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_backend")]


def _analyse(user, name, addons=("aws_rek_tagging", "aws_rek_face")):
    asset = analyse_photo(user, name, addons=addons, auto_tagging=0.5)
    return asset, {r.addon: r for r in AnalysisResult.objects.filter(asset=asset)}


def test_two_people_are_person_face_and_people(user):
    asset, results = _analyse(user, "two_people.jpg")
    labels = {item["tag"]: item["confidence"] for item in results["aws_rek_tagging"].data}
    assert {"Person", "Face", "People"} <= set(labels)
    assert labels["People"] >= 0.5
    faces = results["aws_rek_face"].data
    assert len(faces["unrecognized_faces"]) == 2
    for face in faces["unrecognized_faces"]:
        box = face["bounding_box"]
        assert 0 <= box["left"] < 1 and 0 <= box["top"] < 1 and 0 < box["width"] < 1
        assert {lm["type"] for lm in face["landmarks"]} >= {"eyeLeft", "eyeRight", "nose"}
        assert set(face["pose"]) == {"roll", "yaw", "pitch"} and set(face["quality"]) == {"brightness", "sharpness"}
    assert {"person", "people", "face"} <= set(asset.tags.names())


def test_labels_with_parents_and_no_person_on_dogs(user):
    asset, results = _analyse(user, "dogs.jpg", addons=["aws_rek_tagging"])
    labels = {item["tag"]: item["confidence"] for item in results["aws_rek_tagging"].data}
    assert {"Dog", "Canine", "Mammal", "Animal"} <= set(labels)
    assert labels["Animal"] >= labels["Dog"]  # a parent sums its children
    # YOLO sees a faint person (raw 0.05) among the dogs; calibrated, that is what it is worth, and no tag at 0.5
    assert labels.get("Person", 0) < 0.25
    assert "person" not in asset.tags.names()
    confidences = [item["confidence"] for item in results["aws_rek_tagging"].data]
    assert confidences == sorted(confidences, reverse=True)


def test_espresso(user):
    _, results = _analyse(user, "coffee.jpg", addons=["aws_rek_tagging"])
    labels = {item["tag"]: item["confidence"] for item in results["aws_rek_tagging"].data}
    assert labels["Espresso"] > 0.8 and labels["Coffee"] >= labels["Espresso"]
