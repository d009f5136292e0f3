"""search/expressions.py: Cloudinary's expressions to the query model; errors with their positions; Hypothesis."""
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search import expressions as e
from search import query as q
from search import selectors, sql
from tests.api.search_library import LIBRARY, NEWEST_FIRST, library_create

NOW = datetime(2026, 6, 15, 10, 30, tzinfo=timezone.utc)


def parse(text):
    return e.parse(text, now=NOW)


@pytest.mark.parametrize("text,node", [
    ("tags=dog", q.Tag("dog")),
    ("tags:dog AND format:JPG", q.And((q.Tag("dog"), sql.AssetColumn("format", "=", "jpg")))),
    ("tags:dog format:jpg", q.And((q.Tag("dog"), sql.AssetColumn("format", "=", "jpg")))),
    ("tags=dog OR -tags=cat", q.Or((q.Tag("dog"), q.Not(q.Tag("cat"))))),
    ("a OR b c", q.Or((q.Tag("a"), sql.AssetColumn("public_id", "=", "a"),
                       q.And((q.Or((q.Tag("b"), sql.AssetColumn("public_id", "=", "b"))),
                              q.Or((q.Tag("c"), sql.AssetColumn("public_id", "=", "c")))))))),
    ("public_id:a/b*", sql.AssetColumn("public_id", "prefix", "a/b")),
    (r"public_id:a\*b", sql.AssetColumn("public_id", "=", "a*b")),
    ('public_id:"a b\\*"', sql.AssetColumn("public_id", "=", "a b*")),
    ('public_id:"a b*"', sql.AssetColumn("public_id", "prefix", "a b")),
    ("folder:a/b", sql.AssetColumn("public_id", "folder", "a/b/")),
    ("folder:a/*", sql.AssetColumn("public_id", "prefix", "a/")),
    ("bytes>1kb", sql.AssetColumn("bytes", ">", 1024)),
    ("bytes>=1.5mb", sql.AssetColumn("bytes", ">=", 1572864)),
    ("width!=10", q.Not(sql.AssetColumn("width", "=", 10))),
    ("width:[1 TO *]", sql.AssetColumn("width", ">=", 1)),
    ("uploaded_at>1d", sql.Created(NOW - timedelta(days=1) + timedelta(microseconds=1), None)),
    ("uploaded_at>=2w", sql.Created(NOW - timedelta(weeks=2), None)),
    ("uploaded_at<12h", sql.Created(None, NOW - timedelta(hours=12))),
    ("uploaded_at:1y", sql.Created(NOW.replace(year=2025), None)),
    ("created_at>3m", sql.Created(NOW.replace(month=3) + timedelta(microseconds=1), None)),
    ("created_at:2024-05-01", sql.Created(datetime(2024, 5, 1, tzinfo=timezone.utc),
                                          datetime(2024, 5, 2, tzinfo=timezone.utc))),
    ("created_at<=2024-05-01", sql.Created(None, datetime(2024, 5, 2, tzinfo=timezone.utc))),
    ("created_at>2024-05-01T10:00:00+02:00",
     sql.Created(datetime(2024, 5, 1, 8, tzinfo=timezone.utc) + timedelta(microseconds=1), None)),
    ("created_at:[2024-05-01 TO 2024-05-03}", sql.Created(datetime(2024, 5, 1, tzinfo=timezone.utc),
                                                          datetime(2024, 5, 3, tzinfo=timezone.utc))),
    ('person="Barack Obama"', q.Person("Barack Obama")),
    ("label_confidence>0.5", q.AnyTag(confidence=q.Confidence(">", 0.5))),
    ("(tags=a OR tags=b) label_confidence>=0.8",
     q.Or((q.Tag("a", confidence=q.Confidence(">=", 0.8)), q.Tag("b", confidence=q.Confidence(">=", 0.8))))),
    ("tags=a -label_confidence<0.2", q.And((q.Tag("a"), q.Not(q.AnyTag(confidence=q.Confidence("<", 0.2)))))),
    ("context.alt:*", sql.AssetColumn("context", "exists", "", key="alt")),
    ("resource_type:image", sql.Everything()),
    ("type:private", sql.Nothing()),
    ("", None),
])
def test_parse(text, node):
    assert parse(text) == node


@pytest.mark.parametrize("text,message,position", [
    ("tags=dog AND", "AND needs something on both sides", 9),
    ("OR tags=dog", "OR needs something on both sides", 0),
    ("(tags=dog", "is not closed", 0),
    ("tags=dog)", "without a “(”", 8),
    ("tags=dog ()", "nothing between these parentheses", 9),
    ("colour:red", "The field “colour” is not supported", 0),
    ("tags:\"dog", "quote opened at character 6 is not closed", 5),
    ("tags:\"dog\"x", "space after a closing quote", 10),
    ("tags:d*g", "A * goes only at the end", 6),
    ("tags=a~", "reserved character", 6),
    ("width>wide", "width takes a number", 6),
    ("width>1.5", "whole number", 6),
    ("bytes>3tb", "bytes takes a size", 6),
    ("created_at>soon", "is not a date", 11),
    ("created_at:[1d TO 1w]", "ends before it starts", 11),
    ("created_at:[1d 1w]", "[low TO high]", 15),
    ("width:[1 TO 2", "is not closed", 6),
    ("label_confidence=0.5", "Compare label_confidence with", 0),
    ("label_confidence>2", "from 0 to 1", 17),
    ("tags=a label_confidence>0.1 label_confidence>0.2", "one label_confidence per group", 28),
    ("9tags:x", "is not a field", 0),
    ("context.a.b=c", "A context key is", 0),
    ("=dog", "needs a field before it", 0),
    ("- tags=dog", "must be followed by what to leave out", 0),
    ("NOT", "NOT needs something to leave out", 0),
    ("person:Bar*", "person takes a whole name", 0),
    ("filename:a*", "filename takes an exact name", 0),
    ("aspect_ratio=wide", "aspect_ratio takes a ratio", 13),
    ("tags=\x01", "control character", 5),
])
def test_errors_say_what_and_where(text, message, position):
    with pytest.raises(e.ExpressionError) as caught:
        parse(text)
    assert message in caught.value.message
    assert caught.value.position == position
    assert f"(at character {position + 1})" in caught.value.message


def test_limits():
    with pytest.raises(e.ExpressionError, match="too long"):
        parse("a " * 1001)
    with pytest.raises(e.ExpressionError, match="too many terms"):
        parse(" ".join(f"tags=t{i}" for i in range(e.MAX_TERMS + 1)))
    with pytest.raises(e.ExpressionError, match="at most 8 deep"):
        parse("(" * 9 + "tags=a" + ")" * 9)
    with pytest.raises(e.ExpressionError, match="NOT goes inside NOT"):
        parse("NOT " * 9 + "tags=a")
    assert parse("(" * 8 + "tags=a" + ")" * 8) == q.Tag("a")


# --- Hypothesis: random text is parsed or refused with an ExpressionError, never anything else.

ALPHABET = st.sampled_from(list('abcdeAT O()[]{}"\\*:=<>!-&|~^?.,/ 0123456789') + ["AND", "OR", "NOT", "TO", "tags",
                                                                                    "bytes", "created_at", "1d",
                                                                                    "context.", "width", "\x00"])


@given(st.lists(ALPHABET, max_size=30).map("".join) | st.text(max_size=60))
@settings(max_examples=400, deadline=None)
def test_random_text_parses_or_is_an_expression_error(text):
    try:
        parse(text)
    except e.ExpressionError as exc:
        assert exc.position is None or 0 <= exc.position <= len(text)


# --- Hypothesis: random well-formed trees, rendered as text, parse and find what a Python oracle finds.

def _leaf_text_and_oracle():
    tags = sorted({tag for spec in LIBRARY.values() for tag in spec[5]} | {"absent"})
    ops = st.sampled_from([">", ">=", "<", "<=", ":"])

    def quote(text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    def compare(op, a, b):
        return {">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b, ":": a == b}[op]

    tag = st.sampled_from(tags).map(lambda t: (f"tags={quote(t)}", lambda s, t=t: t.lower() in {x.lower() for x in s[5]}))
    fmt = st.sampled_from(["jpg", "png", "gif", "webp", "tiff", "bmp"]).map(
        lambda f: (f"format:{f}", lambda s, f=f: s[1] == f))
    size = st.tuples(ops, st.sampled_from([10_000, 50_000, 200_000, 1_500_000, 9_000_000])).map(
        lambda a: (f"bytes{a[0]}{a[1]}", lambda s, a=a: compare(a[0], s[4], a[1])))
    width = st.tuples(ops, st.integers(300, 2500)).map(
        lambda a: (f"width{a[0]}{a[1]}", lambda s, a=a: compare(a[0], s[2], a[1])))
    prefix = st.sampled_from(["animals/", "animals/cats/", "trips/", "t", "zzz"]).map(
        lambda p: (f"public_id:{p}*", lambda s, p=p: s[0].startswith(p)))
    folder = st.sampled_from(["animals", "trips", "docs", ""]).map(
        lambda f: (f"folder={quote(f)}", lambda s, f=f: s[0].rpartition("/")[0] == f))
    return st.one_of(tag, fmt, size, width, prefix, folder)


def _trees():
    def combine(children):
        return st.one_of(
            st.tuples(children, children).map(lambda p: (f"({p[0][0]} AND {p[1][0]})",
                                                         lambda s, p=p: p[0][1](s) and p[1][1](s))),
            st.tuples(children, children).map(lambda p: (f"({p[0][0]} OR {p[1][0]})",
                                                         lambda s, p=p: p[0][1](s) or p[1][1](s))),
            children.map(lambda c: (f"NOT {c[0]}", lambda s, c=c: not c[1](s))),
            children.map(lambda c: (f"-{c[0]}", lambda s, c=c: not c[1](s))),
        )

    return st.recursive(_leaf_text_and_oracle(), combine, max_leaves=8)


@pytest.fixture
def library(db, django_user_model):
    users = {name: django_user_model.objects.create_user(username=name, password=f"{name}-password-1")
             for name in ("alice", "bob")}
    return library_create(users)


@given(tree=_trees())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_well_formed_trees_find_what_the_oracle_finds(library, tree):
    text, oracle = tree
    node = e.parse(text)
    page = selectors.expression_search(node=node, sort=[], limit=500)
    expected = [name for name in NEWEST_FIRST if oracle(LIBRARY[name])]
    assert [asset.public_id for asset in page.assets] == [LIBRARY[name][0] for name in expected], text
    assert page.total_count == len(expected)
