"""tagging.contract: one entry per name, the surest kept, best first, for every list of findings."""
from hypothesis import given
from hypothesis import strategies as st

from tagging.backends.base import Label
from tagging.backends.local import merge_labels
from tagging.contract import best_labels, best_per_name, labels_data


def test_one_label_per_name_whatever_its_case_the_surest_kept_first_of_equals():
    labels = [Label("Dog", 0.4), Label("dog", 0.9), Label("Cat", 0.9), Label("DOG", 0.9), Label("Ant", 0.1)]
    assert best_labels(labels) == [Label("Cat", 0.9), Label("dog", 0.9), Label("Ant", 0.1)]


def test_labels_data_clips_rounds_and_dedupes():
    data = labels_data([Label("Dog", 0.91174), Label("dog", 1.2), Label("Cat", -0.1)])
    assert data == [{"tag": "dog", "confidence": 1.0}, {"tag": "Cat", "confidence": 0.0}]


def test_the_local_backend_merges_its_two_label_sources_the_same_way():
    assert merge_labels([Label("Person", 0.5)], [Label("person", 0.8), Label("Face", 0.8)]) == [
        Label("Face", 0.8), Label("person", 0.8)]


@given(st.lists(st.tuples(st.sampled_from(["a", "A", "b", "B", "c"]), st.floats(0, 1))))
def test_best_per_name_keeps_each_names_maximum_in_order(items):
    kept = best_per_name(items, name=lambda item: item[0], confidence=lambda item: item[1])
    names = [name.lower() for name, _ in kept]
    assert sorted(names) == sorted({name.lower() for name, _ in items})
    for name, confidence in kept:
        assert confidence == max(c for n, c in items if n.lower() == name.lower())
    assert [c for _, c in kept] == sorted((c for _, c in kept), reverse=True)
