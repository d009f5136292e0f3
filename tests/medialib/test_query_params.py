"""medialib.query_params: ids in request parameters are ASCII digits within 64 bits, or a 400 that says so."""
import pytest
from django.core.exceptions import BadRequest
from hypothesis import given
from hypothesis import strategies as st

from medialib.query_params import MAX_ID, id_or_none, id_parse, ids_parse


@pytest.mark.parametrize("value, expected", [(None, None), ("", None), ("1", 1), ("007", 7), (str(MAX_ID), MAX_ID)])
def test_ids_are_read(value, expected):
    assert id_parse(value, name="before") == expected


@pytest.mark.parametrize("value", ["²", "①", "٣", "abc", "-1", "0", "1.5", " 1", "9" * 30, str(MAX_ID + 1)])
def test_anything_else_is_a_bad_request_naming_the_parameter(value):
    with pytest.raises(BadRequest, match="before must be the id"):
        id_parse(value, name="before")


@pytest.mark.parametrize("value", ["²", "abc", "0", "9" * 30, None, ""])
def test_id_or_none_is_none_for_what_is_not_an_id(value):
    assert id_or_none(value) is None
    assert id_or_none("12") == 12


def test_lists_leave_out_empty_values():
    assert ids_parse(["3", "", " 2 "], name="ids") == [3, 2]
    with pytest.raises(BadRequest, match="ids must be"):
        ids_parse(["3", "²"], name="ids")


@given(st.text(max_size=25))
def test_any_text_is_an_id_or_a_bad_request(value):
    try:
        parsed = id_parse(value, name="x")
    except BadRequest:
        return
    assert parsed is None or 0 < parsed <= MAX_ID
    assert id_or_none(value) == parsed
