"""search.forms: the gallery's filters are valid or say why, and what is valid is a query whose text parses back."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from search import query as q
from search.forms import GalleryFilterForm
from tests.fuzz import FUZZ, text


def test_the_widest_date_range_is_a_query_that_parses_back():
    form = GalleryFilterForm({"date_from": "0001-01-01", "date_to": "9999-12-31"})
    assert form.is_valid()
    node = form.node()
    assert q.parse(q.unparse(node)) == node  # 0001 was written as 1, which does not parse (a 500)


@pytest.mark.parametrize("data", [{"tag": "a\x00b"}, {"date_from": "9999-12-32"}, {"date_from": "²"},
                                  {"date_from": "2024-02-01", "date_to": "2024-01-01"}])
def test_bad_filters_say_why(data):
    form = GalleryFilterForm(data)
    assert not form.is_valid()
    assert form.errors


@FUZZ
@given(st.fixed_dictionaries({}, optional={name: text for name in (
    "tag", "person", "status", "uploader", "date_from", "date_to")}))
def test_any_filters_are_a_query_or_a_form_error(data):
    form = GalleryFilterForm(data)
    if not form.is_valid():
        assert form.errors
        return
    node = form.node()
    if node is not None:
        assert q.parse(q.unparse(node)) == node
