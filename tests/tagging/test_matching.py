"""tagging.matching: how an embedding distance becomes a match confidence, and which old face a new one is."""
from types import SimpleNamespace

import pytest

from tagging import matching


def test_match_confidence_is_monotonic_and_documented():
    values = [matching.match_confidence(d, 0.6) for d in (0.0, 0.15, 0.33, 0.42, 0.5, 0.59, 0.6, 0.9)]
    assert values[0] == 100.0 and values[-1] == 0.0 and values[-2] == 0.0
    assert values == sorted(values, reverse=True)
    assert values[2] == pytest.approx(84.9, abs=0.1)


def _box(left, top, width, height):
    return SimpleNamespace(left=left, top=top, width=width, height=height)


def test_a_new_face_carries_over_from_the_old_face_it_overlaps_most():
    old = [_box(0.1, 0.1, 0.2, 0.2), _box(0.6, 0.6, 0.2, 0.2)]
    assert matching.face_carried_over(old, _box(0.62, 0.6, 0.2, 0.2)) is old[1]
    assert matching.box_iou(old[0], old[0]) == pytest.approx(1.0)
    # Overlapping, but under CARRY_OVER_IOU: a different face.
    assert 0 < matching.box_iou(old[0], _box(0.2, 0.2, 0.2, 0.2)) < matching.CARRY_OVER_IOU
    assert matching.face_carried_over(old, _box(0.2, 0.2, 0.2, 0.2)) is None
    assert matching.face_carried_over([], _box(0.1, 0.1, 0.2, 0.2)) is None
