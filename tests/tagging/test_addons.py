"""tagging.addons: parsing Cloudinary's categorization, detection and auto_tagging parameters."""
import pytest

from tagging.addons import AddonError, addons_parse, auto_tagging_parse


def test_known_addons():
    assert addons_parse(categorization="aws_rek_tagging") == ["aws_rek_tagging"]
    assert addons_parse(categorization="aws_rek_tagging", detection="aws_rek_face") == [
        "aws_rek_tagging", "aws_rek_face"
    ]
    assert addons_parse() == []
    assert addons_parse(categorization=" aws_rek_tagging , aws_rek_tagging") == ["aws_rek_tagging"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"categorization": "google_tagging"}, "categorization: unknown add-on 'google_tagging'"),
        ({"detection": "adv_face"}, "detection: unknown add-on 'adv_face'"),
        ({"categorization": "aws_rek_face"}, "aws_rek_face is asked for with detection="),
    ],
)
def test_unknown_or_misplaced_addons_are_errors(kwargs, message):
    with pytest.raises(AddonError, match=message):
        addons_parse(**kwargs)


@pytest.mark.parametrize("value, expected", [(None, None), ("", None), ("0.7", 0.7), (0, 0.0), ("1", 1.0)])
def test_auto_tagging(value, expected):
    assert auto_tagging_parse(value) == expected


@pytest.mark.parametrize("value", ["high", "1.5", "-0.1", "nan"])
def test_bad_auto_tagging(value):
    with pytest.raises(AddonError, match="auto_tagging must be"):
        auto_tagging_parse(value)
