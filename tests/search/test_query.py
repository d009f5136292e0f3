"""search.query: every construct of the language parses to the AST it means, malformed input says what is wrong."""
import calendar
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# --- Input that used to give a 500, and the round trip of canonical text.

@pytest.mark.parametrize("text, expected", [
    ("date:9999-12", DateRange(date(9999, 12, 1), date(9999, 12, 31))),  # no "1st of next month" after it
    ("date:0999-01", DateRange(date(999, 1, 1), date(999, 1, 31))),
    ("date:0001", DateRange(date(1, 1, 1), date(1, 12, 31))),
    ("dog>=1e-05", Tag("dog", confidence=Confidence(">=", 0.00001))),
])
def test_parses_edge_values(text, expected):
    assert parse(text) == expected
    assert parse(unparse(expected)) == expected


@pytest.mark.parametrize("node, text", [
    (DateRange(date(999, 1, 1), date(999, 1, 31)), "date:0999-01"),
    (DateRange(date(1, 1, 1), date(9999, 12, 31)), "date:0001-01-01..9999-12-31"),
    (DateRange(date(5, 1, 1), date(5, 12, 31)), "date:0005"),
    (Tag("dog", confidence=Confidence(">=", 0.1234567)), "dog>=0.1234567"),
    (Tag("dog", confidence=Confidence("<", 1.0)), "dog<1"),
])
def test_unparse_writes_what_parse_reads(node, text):
    assert unparse(node) == text
    assert parse(text) == node


def test_nots_inside_nots_are_limited_with_a_message():
    # 240 of them overflowed SQLite's parser stack (a 500); eight are fine.
    with pytest.raises(QueryError) as raised:
        parse("-" * 240 + "dog")
    assert "at most 8 inside one another" in raised.value.message
    assert parse("-" * 8 + "dog") is not None


def test_canonical_text_longer_than_typed_still_parses():
    # A group's source: is written on each of its tags, and each becomes a parenthesised group.
    typed = "(" + " ".join(f"tag{i:02d}" for i in range(23)) + " source:aws_rek_tagging)"
    for _ in range(7):
        typed = f"({typed})"
    node = parse(typed)
    canonical = unparse(node)
    assert len(canonical) > 500
    assert parse(canonical) == node
    with pytest.raises(QueryError, match="too long"):
        parse(canonical + " ")  # not canonical: the typed limit applies


# Names as the parser leaves them: no control characters, single spaces inside, none around.
_names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12).map(
    lambda name: " ".join(name.split())).filter(bool)
_words = st.sampled_from(["dog", "cat", "Été", "t-shirt", "16:9", "OR", "and", "confidence", "-x", "a\\b", 'say "hi"'])
_confidence = st.tuples(st.sampled_from([">=", ">", "<=", "<"]),
                        st.floats(min_value=0, max_value=1, allow_nan=False)).map(lambda t: Confidence(*t))
_day = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))


def _date_range(pair):
    first, second, kind = pair
    start, end = min(first, second), max(first, second)
    month = DateRange(start.replace(day=1), start.replace(day=calendar.monthrange(start.year, start.month)[1]))
    year = DateRange(start.replace(month=1, day=1), start.replace(month=12, day=31))
    return {"both": DateRange(start, end), "open-end": DateRange(start, None), "open-start": DateRange(None, end),
            "day": DateRange(start, start), "month": month, "year": year}[kind]


_leaves = st.one_of(
    st.builds(Tag, st.one_of(_words, _names), st.none() | st.sampled_from(["manual", "auto", "aws_rek_face"]),
              st.none() | _confidence),
    st.builds(AnyTag, st.sampled_from(["manual", "auto"]), st.none() | _confidence),
    st.builds(AnyTag, st.none(), _confidence),
    st.builds(Person, st.one_of(_words, _names)),
    st.builds(Uploader, st.one_of(_words, _names)),
    st.builds(Status, st.sampled_from(["pending", "failed"])),
    st.tuples(_day, _day, st.sampled_from(["both", "open-end", "open-start", "day", "month", "year"])).map(_date_range),
)
_nodes = st.recursive(_leaves, lambda inner: st.one_of(
    st.builds(Not, inner),
    st.lists(inner, min_size=2, max_size=3).map(lambda c: And(tuple(c))),
    st.lists(inner, min_size=2, max_size=3).map(lambda c: Or(tuple(c))),
), max_leaves=8)


@settings(max_examples=150)
@given(_nodes)
def test_canonical_text_round_trips(node):
    """parse(str(parse(x))) == parse(x) for x the text of any query, and that text is stable."""
    parsed = parse(unparse(node))
    assert parse(unparse(parsed)) == parsed
    assert unparse(parse(unparse(parsed))) == unparse(parsed)


_query_text = st.lists(st.one_of(
    st.sampled_from(["dog", "cat", "(", ")", "OR", "AND", "NOT", "-", '"', "\\", ":", ">=", "<", "=", "0.9", "1e-5",
                     "source:", "manual", "person:", "date:", "0999-01", "9999-12", "..", "status:", "pending",
                     "uploader:", "tag:", "confidence", " ", "²", "\x00", "\u2028"]),
    _names,
), max_size=20).map("".join)


@settings(max_examples=300)
@given(_query_text)
def test_any_text_parses_or_says_what_is_wrong(text):
    try:
        node = parse(text)
    except QueryError as exc:
        assert exc.message
        return
    assert parse(unparse(node)) == node
