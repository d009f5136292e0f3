"""tagging.rules: which findings become tags (ARCHITECTURE.md, "Auto-tagging rules")."""
import pytest

from tagging.rules import auto_tag_candidates

STEVE_JOBS_LABELS = [
    {"tag": "People", "confidence": 0.9925}, {"tag": "Person", "confidence": 0.9925},
    {"tag": "Human", "confidence": 0.9924}, {"tag": "Electronics", "confidence": 0.7918},
    {"tag": "Iphone", "confidence": 0.7918}, {"tag": "Mobile Phone", "confidence": 0.7918},
    {"tag": "Phone", "confidence": 0.7918}, {"tag": "Computer", "confidence": 0.6756},
    {"tag": "Tablet Computer", "confidence": 0.6756}, {"tag": "Face", "confidence": 0.5396},
    {"tag": "Selfie", "confidence": 0.5396}, {"tag": "Cell Phone", "confidence": 0.5067},
]
STEVE_JOBS_FACES = {
    "celebrity_faces": [{"name": "Steve Jobs", "id": "1x", "urls": [], "match_confidence": 99.99, "face": {}}],
    "unrecognized_faces": [],
}


def test_the_steve_jobs_example_from_cloudinarys_announcement():
    labels = auto_tag_candidates("aws_rek_tagging", STEVE_JOBS_LABELS, 0.7)
    people = auto_tag_candidates("aws_rek_face", STEVE_JOBS_FACES, 0.7)
    names = [name for name, _ in labels + people]
    assert sorted(names) == sorted(
        ["people", "person", "human", "electronics", "iphone", "mobile phone", "phone", "Steve Jobs"]
    )
    assert dict(people) == {"Steve Jobs": 0.9999}


def test_threshold_is_inclusive():
    data = [{"tag": "Dog", "confidence": 0.7}, {"tag": "Cat", "confidence": 0.6999}]
    assert auto_tag_candidates("aws_rek_tagging", data, 0.7) == [("dog", 0.7)]
    faces = {"celebrity_faces": [{"name": "Ada Lovelace", "match_confidence": 70.0}]}
    assert auto_tag_candidates("aws_rek_face", faces, 0.7) == [("Ada Lovelace", 0.7)]


def test_labels_are_lower_cased_and_people_keep_their_case():
    assert auto_tag_candidates("aws_rek_tagging", [{"tag": "Mobile Phone", "confidence": 0.9}], 0.5) == [
        ("mobile phone", 0.9)
    ]
    faces = {"celebrity_faces": [{"name": "Barack Obama", "match_confidence": 99.2}]}
    assert auto_tag_candidates("aws_rek_face", faces, 0.5) == [("Barack Obama", 0.992)]


def test_no_threshold_no_tags():
    assert auto_tag_candidates("aws_rek_tagging", STEVE_JOBS_LABELS, None) == []


def test_duplicates_keep_the_best_confidence():
    data = [{"tag": "Dog", "confidence": 0.8}, {"tag": "dog", "confidence": 0.9}]
    assert auto_tag_candidates("aws_rek_tagging", data, 0.5) == [("dog", 0.9)]


@pytest.mark.parametrize("threshold, count", [(0.0, 12), (0.5, 12), (0.6, 9), (0.99, 3), (1.0, 0)])
def test_thresholds(threshold, count):
    assert len(auto_tag_candidates("aws_rek_tagging", STEVE_JOBS_LABELS, threshold)) == count
