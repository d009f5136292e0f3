"""Merging Lite0, YOLOv3-tiny and the faces into one calibrated label list; fitting and checking the calibration."""
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps

from tagging.backends.base import BoundingBox, Label
from tagging.backends.local.calibration import (
    THRESHOLDS,
    evaluate,
    fit,
    load_truth,
    photo_evidence,
    pool_adjacent_violators,
    score,
)
from tagging.backends.local.merge import (
    CALIBRATION_PATH,
    Calibration,
    LabelSource,
    calibration,
    combine_boxes,
    merged_labels,
    yolo_sources,
)
from tagging.backends.local.objects import Detection, coco_classes

PHOTOS = Path(__file__).resolve().parents[3] / "photos"  # tests/photos/
IDENTITY = Calibration({"lite0": ((0.0, 1.0), (0.0, 1.0)), "yolo": ((0.0, 1.0), (0.0, 1.0))})
BOX = BoundingBox(0.1, 0.1, 0.2, 0.2)


def coco(name: str) -> int:
    return next(i for i, c in enumerate(coco_classes()) if c.name == name)


# --- several boxes, one label ----------------------------------------------------------------------------------


def test_one_box_is_its_own_score_and_later_boxes_count_half():
    assert combine_boxes([0.6]) == pytest.approx(0.6)
    assert combine_boxes([]) == 0.0
    four_dogs = [0.5784, 0.4089, 0.3820, 0.2528]
    assert combine_boxes(four_dogs) == pytest.approx(1 - (1 - 0.5784) * (1 - 0.4089 / 2) * (1 - 0.3820 / 2))
    assert combine_boxes(four_dogs) == combine_boxes(four_dogs[:3])  # a fourth box adds nothing


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=8), st.floats(0, 1))
def test_boxes_raise_the_score_within_bounds(scores, extra):
    combined = combine_boxes(scores)
    assert max(scores) - 1e-12 <= combined <= 1 - math.prod(1 - s for s in scores) + 1e-12
    assert combine_boxes(scores + [extra]) >= combined - 1e-12  # another sighting never lowers it


def test_boxes_of_one_class_are_one_label_with_parents():
    dog = coco("Dog")
    found = {s.name: s for s in yolo_sources([Detection(dog, 0.5, BOX), Detection(dog, 0.4, BOX)], coco_classes())}
    assert found["Dog"].instances == 2 and found["Dog"].raw == pytest.approx(combine_boxes([0.5, 0.4]))
    assert found["Canine"].raw == found["Dog"].raw and found["Animal"].raw == found["Dog"].raw
    assert list(found).count("Dog") == 1


def test_a_parent_that_is_also_a_class_keeps_its_boxes_and_takes_the_surer_child():
    detections = [Detection(coco("Sandwich"), 0.3, BOX), Detection(coco("Hot Dog"), 0.8, BOX)]
    found = {s.name: s for s in yolo_sources(detections, coco_classes())}
    assert found["Sandwich"].raw == pytest.approx(0.8) and found["Sandwich"].instances == 1
    assert found["Food"].raw == pytest.approx(0.8)


# --- the merge -------------------------------------------------------------------------------------------------


def test_the_toy_and_the_bird_are_two_labels():
    labels = merged_labels(lite0=[LabelSource("Kite (Bird)", "lite0", 0.6)],
                           yolo=yolo_sources([Detection(coco("Kite"), 0.9, BOX)], coco_classes()), cal=IDENTITY)
    names = [label.name for label in labels]
    assert "Kite" in names and "Kite (Bird)" in names and "Toy" in names


def test_one_name_from_two_sources_keeps_the_surer_case_insensitively():
    labels = merged_labels(lite0=[LabelSource("Dog", "lite0", 0.46)], yolo=[LabelSource("dog", "yolo", 0.73)],
                           faces=[Label("Person", 0.93)], cal=IDENTITY)
    assert [(label.name.casefold(), label.confidence) for label in labels] == [("person", 0.93), ("dog", 0.73)]


def test_calibration_is_applied_per_source_and_faces_are_left_alone():
    cal = Calibration({"lite0": ((0.0, 0.5, 1.0), (0.0, 0.9, 1.0)), "yolo": ((0.0, 1.0), (0.0, 0.5))})
    labels = {label.name: label.confidence for label in merged_labels(
        lite0=[LabelSource("Espresso", "lite0", 0.25)], yolo=[LabelSource("Cup", "yolo", 0.8)],
        faces=[Label("Face", 0.88)], cal=cal)}
    assert labels == {"Espresso": 0.45, "Cup": 0.4, "Face": 0.88}


def test_threshold_order_and_cap():
    sources = [LabelSource(n, "lite0", c) for n, c in (("B", 0.5), ("A", 0.5), ("C", 0.9), ("D", 0.04))]
    labels = merged_labels(lite0=sources, cal=IDENTITY, min_confidence=0.05, max_labels=2)
    assert [(label.name, label.confidence) for label in labels] == [("C", 0.9), ("A", 0.5)]


def test_a_bad_calibration_file_is_refused():
    with pytest.raises(ValueError, match="not monotone"):
        Calibration.from_json({"sources": {"yolo": {"raw": [0, 0.5, 1], "calibrated": [0, 0.8, 0.6]}}})
    with pytest.raises(ValueError, match="same length"):
        Calibration.from_json({"sources": {"yolo": {"raw": [0, 1], "calibrated": [0]}}})
    with pytest.raises(ValueError, match="outside 0-1"):
        Calibration.from_json({"sources": {"yolo": {"raw": [0, 2], "calibrated": [0, 1]}}})


def test_the_committed_calibration_is_monotone_and_covers_both_sources():
    data = json.loads(CALIBRATION_PATH.read_text())
    assert set(data["sources"]) == {"lite0", "yolo"}
    cal = calibration()
    for source in ("lite0", "yolo"):
        values = [cal.apply(source, x) for x in np.linspace(0, 1, 101)]
        assert values == sorted(values) and 0 <= values[0] and values[-1] <= 1
        assert data["sources"][source]["labels"] > data["sources"][source]["right"] > 20


# --- fitting ---------------------------------------------------------------------------------------------------

pairs_strategy = st.lists(st.tuples(st.floats(0, 1), st.booleans()), max_size=200)


@settings(max_examples=200, deadline=None)
@given(pairs_strategy)
def test_a_fit_is_a_monotone_map_of_0_1_onto_0_1(pairs):
    xs, ys = fit(pairs)
    assert xs[0] == 0.0 and xs[-1] == 1.0
    assert all(b > a for a, b in zip(xs, xs[1:]))
    assert all(b >= a for a, b in zip(ys, ys[1:]))
    assert all(0.0 <= y <= 1.0 for y in ys)
    Calibration.from_json({"sources": {"x": {"raw": xs, "calibrated": ys}}})  # loads as the app would


def test_a_fit_follows_the_fraction_right():
    # 40 labels at raw 0.85, 3 in 4 right; 40 at raw 0.15, 1 in 4 right
    pairs = [(0.85, i % 4 != 0) for i in range(40)] + [(0.15, i % 4 == 0) for i in range(40)]
    cal = Calibration({"s": tuple(map(tuple, fit(pairs)))})
    assert cal.apply("s", 0.85) == pytest.approx((30 + 2 * 0.85) / 42, abs=1e-3)
    assert cal.apply("s", 0.15) == pytest.approx((10 + 2 * 0.15) / 42, abs=1e-3)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0.1, 10)), min_size=1, max_size=30))
def test_pool_adjacent_violators_is_monotone_and_keeps_the_weighted_mean(rows):
    values, weights = [r[0] for r in rows], [r[1] for r in rows]
    out = pool_adjacent_violators(values, weights)
    assert len(out) == len(values)
    assert all(b >= a - 1e-12 for a, b in zip(out, out[1:]))
    assert np.dot(out, weights) == pytest.approx(np.dot(values, weights))


def test_truth_counts_parents_and_face_as_right():
    truth = load_truth()
    assert {"dog", "canine", "mammal", "animal"} <= truth["dog.jpg"].right
    assert "person" in truth["obama.jpg"].present and "face" in truth["obama.jpg"].right
    assert "dog" not in truth["horse.jpg"].right and "horse" in truth["horse.jpg"].present
    for photo in truth:
        assert (PHOTOS / photo).is_file()


def test_scores_count_right_tagged_found_and_present():
    truth = load_truth()
    tags = {"dog.jpg": {"Dog": 0.9, "Cat": 0.8, "Animal": 0.6}, "cat.jpg": {"Cat": 0.95}}
    s5, s7, s9 = score(tags, {p: truth[p] for p in tags})
    assert (s5.right, s5.tagged, s5.found, s5.present) == (3, 4, 2, 3)
    assert (s7.right, s7.tagged) == (2, 3) and (s9.right, s9.tagged, s9.found) == (2, 2, 2)


# --- on the hand-labelled photos -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def evidence():
    out = {}
    for photo in load_truth():
        with Image.open(PHOTOS / photo) as im:
            out[photo] = photo_evidence(ImageOps.exif_transpose(im).convert("RGB"))
    return out


def test_a_threshold_means_at_least_that_precision_leave_one_out(evidence):
    """Measured (see BENCHMARKS.md): merged, leave-one-out, 0.80 / 0.85 / 0.95 at 0.5 / 0.7 / 0.9."""
    results = evaluate(evidence, load_truth(), leave_one_out=True)
    for s in results["merged"]:
        assert s.precision >= s.threshold, s
    by = {which: {s.threshold: s for s in scores} for which, scores in results.items()}
    for t in THRESHOLDS:  # the merge finds more than either model and more than Lite0 alone did before
        assert by["merged"][t].found >= max(by["lite0"][t].found, by["yolo"][t].found)
        assert by["merged"][t].found > by["lite0-raw"][t].found
    assert by["merged"][0.7].recall >= 0.6
