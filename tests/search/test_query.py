"""search.query: every construct of the language parses to the AST it means, malformed input says what is wrong."""
from datetime import date

import pytest

from search.query import (
    And, AnyTag, Confidence, DateRange, Not, Or, Person, QueryError, Status, Tag, Uploader, parse, quote, unparse,
)

dog, cat, beach = Tag("dog"), Tag("cat"), Tag("beach")


@pytest.mark.parametrize("text, expected", [
    ("", None),
    ("   ", None),
    ("dog", dog),
    ("dog beach", And((dog, beach))),
    ("dog AND beach", And((dog, beach))),
    ("dog  \t beach", And((dog, beach))),
    ('"mobile phone"', Tag("mobile phone")),
    ('"mobile   phone"', Tag("mobile phone")),  # spaces as auto-tagging writes them
    ("tag:dog", dog),
    ('tag:"mobile phone"', Tag("mobile phone")),
    ("tag:OR", Tag("OR")),
    ('"OR"', Tag("OR")),
    ("dog OR cat", Or((dog, cat))),
    ("dog OR cat OR beach", Or((dog, cat, beach))),
    ("dog beach OR cat", Or((And((dog, beach)), cat))),  # AND binds tighter
    ("dog (beach OR cat)", And((dog, Or((beach, cat))))),
    ("(dog)", dog),
    ("((dog OR cat)) beach", And((Or((dog, cat)), beach))),
    ("-cat", Not(cat)),
    ("NOT cat", Not(cat)),
    ("dog -cat", And((dog, Not(cat)))),
    ("dog NOT cat", And((dog, Not(cat)))),
    ("-(dog OR cat)", Not(Or((dog, cat)))),
    ("NOT NOT dog", Not(Not(dog))),
    ("t-shirt", Tag("t-shirt")),
    ("16:9", Tag("16:9")),
    ('"16:9"', Tag("16:9")),
    ('"say \\"cheese\\""', Tag('say "cheese"')),
    ('"back\\\\slash"', Tag("back\\slash")),
    ("Été", Tag("Été")),
    ('"Café Crème"', Tag("Café Crème")),
    ("狗", Tag("狗")),
    ("or", Tag("or")),  # only upper-case OR is the operator
    ('person:"Barack Obama"', Person("Barack Obama")),
    ("person:Obama", Person("Obama")),
    ("PERSON:Obama", Person("Obama")),
    ("source:manual", AnyTag(source="manual")),
    ("source:auto", AnyTag(source="auto")),
    ("source:AWS_REK_FACE", AnyTag(source="aws_rek_face")),
    ("dog source:manual", Tag("dog", source="manual")),
    ("dog cat source:auto", And((Tag("dog", source="auto"), Tag("cat", source="auto")))),
    ("(dog OR cat) source:manual", Or((Tag("dog", source="manual"), Tag("cat", source="manual")))),
    ("(dog source:manual) cat", And((Tag("dog", source="manual"), cat))),
    ("-dog source:manual", And((Not(dog), AnyTag(source="manual")))),
    ("-source:manual", Not(AnyTag(source="manual"))),
    ("dog>=0.9", Tag("dog", confidence=Confidence(">=", 0.9))),
    ("dog>0.5", Tag("dog", confidence=Confidence(">", 0.5))),
    ("dog<=.5", Tag("dog", confidence=Confidence("<=", 0.5))),
    ("dog<1", Tag("dog", confidence=Confidence("<", 1.0))),
    ('"mobile phone">=0.8', Tag("mobile phone", confidence=Confidence(">=", 0.8))),
    ("confidence>=0.9", AnyTag(confidence=Confidence(">=", 0.9))),
    ("dog confidence>=0.9", Tag("dog", confidence=Confidence(">=", 0.9))),
    ("dog>=0.5 cat confidence>=0.9",
     And((Tag("dog", confidence=Confidence(">=", 0.5)), Tag("cat", confidence=Confidence(">=", 0.9))))),
    ('"confidence"', Tag("confidence")),
    ("dog source:manual confidence>=0.9", Tag("dog", source="manual", confidence=Confidence(">=", 0.9))),
    ("status:pending", Status("pending")),
    ("status:FAILED", Status("failed")),
    ("uploader:alice", Uploader("alice")),
    ('uploader:"alice"', Uploader("alice")),
    ("date:2024", DateRange(date(2024, 1, 1), date(2024, 12, 31))),
    ("date:2024-02", DateRange(date(2024, 2, 1), date(2024, 2, 29))),
    ("date:2024-5-3", DateRange(date(2024, 5, 3), date(2024, 5, 3))),
    ("date:2024-01..2024-03", DateRange(date(2024, 1, 1), date(2024, 3, 31))),
    ("date:2024-06..", DateRange(date(2024, 6, 1), None)),
    ("date:..2023", DateRange(None, date(2023, 12, 31))),
    ('dog person:"Ada Lovelace" status:failed -cat date:2024',
     And((dog, Person("Ada Lovelace"), Status("failed"), Not(cat), DateRange(date(2024, 1, 1), date(2024, 12, 31))))),
])
def test_parses(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize("text", [
    "dog beach", '"mobile phone" OR cat', "dog -cat", "-(dog OR cat) beach", 'person:"Barack Obama" dog',
    "dog cat source:manual", "(dog OR cat) confidence>=0.5", "source:auto", "-source:manual", "confidence>=0.95",
    "status:failed uploader:alice", "date:2024-05", "date:2024-01-02..2024-02-03", "date:..2024", "tag:OR",
    '"say \\"cheese\\""', "16:9", "Été", '"-dash"', "(dog source:manual) cat", "NOT NOT dog", "a OR (b c) OR d",
    '"<b>bold</b>"',
])
def test_unparse_gives_back_the_same_query(text):
    node = parse(text)
    assert parse(unparse(node)) == node


def test_quote_only_when_needed():
    assert quote("dog") == "dog"
    assert quote("mobile phone") == '"mobile phone"'
    assert quote('say "cheese"') == '"say \\"cheese\\""'
    assert quote("OR") == '"OR"'
    assert quote("-x") == '"-x"'
    assert quote("a:b") == '"a:b"'


@pytest.mark.parametrize("text, message, position", [
    ("(dog", "is not closed", 0),
    ("dog (cat OR beach", "is not closed", 4),
    ("dog)", "without a “(”", 3),
    ("()", "nothing between these parentheses", 0),
    ('"dog', "quote opened at character 1 is not closed", 0),
    ('dog "mobile phone', "quote opened at character 5", 4),
    ('"a"b', "space after a closing quote", 3),
    ("OR dog", "OR needs something on both sides", 0),
    ("dog OR", "OR needs something on both sides", 4),
    ("dog OR OR cat", "OR needs something on both sides", 4),
    ("dog OR ) cat", "OR needs something on both sides", 4),
    ("AND dog", "AND needs something on both sides", 0),
    ("dog AND", "AND needs something on both sides", 4),
    ("NOT", "NOT needs something to leave out", 0),
    ("dog NOT", "NOT needs something to leave out", 4),
    ("- dog", "must be followed by what to leave out", 0),
    ("dog -", "must be followed by what to leave out", 4),
    ("dog >= 0.9", "without spaces", 4),
    (">dog", "without spaces", 0),
    ("dog=0.9", "Compare confidence with >=", 3),
    ("dog>=", "number from 0 to 1", 5),
    ("dog>=high", "number from 0 to 1", 5),
    ("dog>=90", "not 90", 5),
    ("dog>=0.9x", "number from 0 to 1", 5),
    ("confidence", "Give confidence a bound", 0),
    ("persn:bob", "no “persn:” filter", 0),
    ("person:", "Say what person: is", 0),
    ('person:""', "Say what person: is", 0),
    ("source:robot", "source: is one of auto, manual", 0),
    ("status:done", "status: is pending or failed", 0),
    ("date:yesterday", "is not a date", 0),
    ("date:2024-13", "is not a date", 0),
    ("date:2024-02-30", "is not a date", 0),
    ("date:..", "needs at least one end", 0),
    ("date:2024-05..2024-01", "ends before it starts", 0),
    ('""', "empty tag name", 0),
    ("dog source:manual source:auto", "one source: per group", 18),
    ("confidence>=0.5 confidence>=0.9", "one confidence bound", 16),
    ("((((((((((dog))))))))))", "at most 8 deep", 8),
    ("x" * 501, "too long", None),
    ("dog\x00", "control character", None),
    (" ".join(f"t{i}" for i in range(25)), "too many terms", None),
])
def test_malformed_queries_say_what_is_wrong(text, message, position):
    with pytest.raises(QueryError) as raised:
        parse(text)
    assert message in raised.value.message
    assert raised.value.position == position
