"""Cloudinary's search expressions (the Search API's `expression`) parsed to the search page's query model.

    tags=dog, tags:dog, tag:dog     a tag (any case, as on the page); tags:dog* every tag starting so
    public_id=a/b, public_id:a/*    exact, or a prefix (a trailing *; \\* is a literal star)
    folder:a/b, folder:a/*          the folder of the public_id (a/b/x is in folder a/b); with * its subfolders too;
                                    folder="" the root
    asset_folder:a/b, asset_folder:a/*   the same on the asset_folder field
    filename=x                      the public_id's last part
    format:png, resource_type:image, type:upload   (only images uploaded here exist: other values find nothing)
    created_at / uploaded_at        > >= < <= : = against 2024-05-01, 2024-05-01T10:00:00Z, or 3d 2w 1m 1y ago (hours:
                                    12h); ranges [a TO b] (inclusive) and {a TO b} (exclusive), * for an open end
    bytes>1mb, bytes:[10kb TO 2mb]  k/kb, m/mb, g/gb are powers of 1024
    width>100, height<=300, aspect_ratio>1.5, aspect_ratio="4:3"
    context.alt=dog, context.alt:do*, context.alt:*   a context value, exact, by prefix, or the key being there
    person="Barack Obama"           a recognised person's photos (their faces, as the page's person:)
    uploader=alice                  photos uploaded by that user (the page's uploader:)
    label_confidence>=0.8           an add-on's tag that sure: qualifies the tags ANDed beside it
                                    (tags=dog AND label_confidence>=0.8), else any tag (the page's confidence>=)
    AND (or a space, or &&), OR (||), NOT / - / !, parentheses; AND binds tighter than OR
    "quoted terms" with \\" and \\\\ and \\* escapes; outside quotes a backslash escapes the next character

A bare term (dog, "mobile phone") is Cloudinary's search of every field; here it is the tag of that name or the
public_id of exactly that (a filename alone is filename=); we chose those two because both are index lookups,
while "any field contains" would read every asset.

`parse` returns the same AST as search.query (q.Tag, q.Person, q.And...) with search.sql's resolved leaves for
the asset's own columns (sql.AssetColumn, sql.Created, sql.Everything, sql.Nothing) and TagPrefix, which
search.selectors expands. A malformed expression raises ExpressionError (a q.QueryError) saying what and where.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from . import query as q
from . import sql

MAX_LENGTH = 2_000
MAX_TERMS = 48
MAX_DEPTH = 8
MAX_NOT_DEPTH = 8
MAX_PREFIX_TAGS = 100  # tags:do* stands for at most this many tags

NUMERIC = {"bytes": "bytes", "width": "width", "height": "height"}
DATES = ("created_at", "uploaded_at")
FIELDS = ("tags", "tag", "public_id", "folder", "asset_folder", "filename", "format", "resource_type", "type",
          *DATES, *NUMERIC, "aspect_ratio", "context.<key>", "person", "uploader", "label_confidence")
_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3}
_CONTEXT_KEY = re.compile(r"[A-Za-z0-9_\-]{1,100}")
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_RESERVED = set("{}[]^~?&|!")  # Lucene's; a literal one is escaped (\~) or quoted
_OPS = (">=", "<=", "!=", ":", "=", ">", "<")


class ExpressionError(q.QueryError):
    """A malformed expression; `position` is the character (from 0) where it goes wrong."""

    def __init__(self, message: str, position: int | None = None, *, limit: bool = False):
        where = f" (at character {position + 1})" if position is not None else ""
        super().__init__(message + where, position, limit=limit)


@dataclass(frozen=True)
class TagPrefix:
    """Every tag whose name starts with this (any case); search.selectors makes it an OR of those tags."""

    prefix: str


@dataclass(frozen=True)
class _Confidence:
    confidence: q.Confidence
    pos: int


@dataclass
class _Value:
    """A value as typed: its text, whether it ends in an unescaped * (a prefix), whether it was quoted."""

    text: str
    wildcard: bool
    quoted: bool
    pos: int


@dataclass
class _Range:
    low: _Value | None  # None: * (open)
    high: _Value | None
    low_inclusive: bool
    high_inclusive: bool
    pos: int


@dataclass
class _Token:
    kind: str  # "(", ")", "AND", "OR", "NOT", "term"
    pos: int
    term: object = None


class _Scanner:
    def __init__(self, text: str, now: datetime):
        self.text = text
        self.pos = 0
        self.now = now

    def error(self, message: str, pos: int | None = None):
        raise ExpressionError(message, self.pos if pos is None else pos)

    def tokens(self) -> list[_Token]:
        tokens: list[_Token] = []
        text, n = self.text, len(self.text)
        while self.pos < n:
            char = text[self.pos]
            start = self.pos
            if char.isspace():
                self.pos += 1
            elif char in "()":
                tokens.append(_Token(char, start))
                self.pos += 1
            elif text.startswith("&&", start):
                tokens.append(_Token("AND", start))
                self.pos += 2
            elif text.startswith("||", start):
                tokens.append(_Token("OR", start))
                self.pos += 2
            elif char in "-!" and not text.startswith("!=", start):
                if start + 1 >= n or text[start + 1].isspace() or text[start + 1] == ")":
                    self.error(f"A “{char}” must be followed by what to leave out, like -tags=cat.")
                tokens.append(_Token("NOT", start))
                self.pos += 1
            elif char == '"':
                value = self.quoted()
                tokens.append(_Token("term", start, _bare(value)))
            elif char in ":=<>":
                self.error(f"“{char}” needs a field before it, like tags{char}dog.")
            else:
                word, wildcard = self.word(stop=":=<>!")
                if self.pos < n and text[self.pos] in ":=<>!" and not (text[self.pos] == "!" and
                                                                         not text.startswith("!=", self.pos)):
                    tokens.append(_Token("term", start, self.field_term(word, start)))
                    continue
                if not wildcard and word in ("AND", "OR", "NOT"):
                    tokens.append(_Token(word, start))
                    continue
                tokens.append(_Token("term", start, _bare(_Value(word, wildcard, False, start))))
        return tokens

    def word(self, *, stop: str = "", end: str = "") -> tuple[str, bool]:
        """An unquoted word, backslash escapes resolved; and whether it ends in an unescaped *."""
        text, n = self.text, len(self.text)
        chars: list[str] = []
        wildcard = False
        while self.pos < n:
            char = text[self.pos]
            if char.isspace() or char in "()" or char in stop or char in end:
                break
            if wildcard:
                self.error("A * goes only at the end of a term (a prefix); write \\* for a literal star.",
                           self.pos - 1)
            if char == "\\":
                if self.pos + 1 >= n:
                    self.error("A backslash at the end escapes nothing.")
                chars.append(text[self.pos + 1])
                self.pos += 2
                continue
            if char == "*":
                wildcard = True
            elif char == '"':
                self.error("A quote inside a word: put the whole term in quotes, or escape it as \\\".")
            elif char in _RESERVED:
                self.error(f"“{char}” is a reserved character; escape it (\\{char}) or put the term in quotes.")
            else:
                chars.append(char)
            self.pos += 1
        return "".join(chars), wildcard

    def quoted(self) -> _Value:
        text, n, start = self.text, len(self.text), self.pos
        chars: list[str] = []
        self.pos += 1
        wildcard = False
        while self.pos < n:
            char = text[self.pos]
            if char == "\\" and self.pos + 1 < n:
                chars.append(text[self.pos + 1])
                self.pos += 2
                wildcard = False
                continue
            if char == '"':
                self.pos += 1
                if wildcard:
                    chars.pop()
                if self.pos < n and not text[self.pos].isspace() and text[self.pos] not in ")]}":
                    self.error("Put a space after a closing quote.")
                return _Value("".join(chars), wildcard, True, start)
            wildcard = char == "*"
            chars.append(char)
            self.pos += 1
        self.error(f"The quote opened at character {start + 1} is not closed.", start)

    def value(self, *, end: str = "") -> _Value:
        start = self.pos
        if self.pos < len(self.text) and self.text[self.pos] == '"':
            return self.quoted()
        word, wildcard = self.word(end=end)
        return _Value(word, wildcard, False, start)

    def field_term(self, field: str, start: int):
        text, n = self.text, len(self.text)
        op = next(op for op in _OPS if text.startswith(op, self.pos))
        self.pos += len(op)
        if self.pos >= n or text[self.pos].isspace() or text[self.pos] in "()":
            self.error(f"Say what {field}{op} is, like {_example(field, op)}.", start)
        if text[self.pos] in "[{":
            if op not in (":", "="):
                self.error(f"A range goes after “:”, like {field}:[a TO b].", start)
            value = self.range()
        else:
            value = self.value()
        return _field(field, op, value, start, self.now)

    def range(self) -> _Range:
        text, n, start = self.text, len(self.text), self.pos
        low_inclusive = text[self.pos] == "["
        self.pos += 1
        bounds = []
        for which in ("low", "high"):
            while self.pos < n and text[self.pos].isspace():
                self.pos += 1
            if self.pos >= n:
                self.error(f"The range opened at character {start + 1} is not closed (write [a TO b]).", start)
            value = self.value(end="]}")
            bounds.append(None if (value.wildcard and not value.text and not value.quoted) else value)
            if not value.text and not value.wildcard:
                self.error("A range needs two ends, like [10 TO 20]; * leaves one open.", start)
            while self.pos < n and text[self.pos].isspace():
                self.pos += 1
            if which == "low":
                if not text.startswith("TO", self.pos):
                    self.error("Write a range as [low TO high].", self.pos)
                self.pos += 2
        if self.pos >= n or text[self.pos] not in "]}":
            self.error(f"The range opened at character {start + 1} is not closed (write [a TO b]).", start)
        high_inclusive = text[self.pos] == "]"
        self.pos += 1
        return _Range(bounds[0], bounds[1], low_inclusive, high_inclusive, start)


def _example(field: str, op: str) -> str:
    if field in DATES:
        return f"{field}>1w"
    if field in NUMERIC or field in ("aspect_ratio", "label_confidence"):
        return f"{field}>=100" if field != "label_confidence" else "label_confidence>=0.8"
    return f"{field}{op}dog"


def _bare(value: _Value):
    """A term without a field: the tag of that name, or the public_id of exactly that."""
    name = " ".join(value.text.split())
    if not name:
        raise ExpressionError("An empty term (\"\") finds nothing; remove it.", value.pos)
    if value.wildcard:
        return q.any_of(TagPrefix(name), sql.AssetColumn("public_id", "prefix", value.text))
    return q.any_of(q.Tag(name), sql.AssetColumn("public_id", "=", value.text))


def _field(field: str, op: str, value, pos: int, now: datetime):
    if field in ("tags", "tag"):
        value = _plain(field, op, value, pos)
        name = " ".join(value.text.split())
        if not name:
            raise ExpressionError("An empty tag finds nothing.", pos)
        return TagPrefix(name) if value.wildcard else q.Tag(name)
    if field == "public_id":
        value = _plain(field, op, value, pos)
        return sql.AssetColumn("public_id", "prefix" if value.wildcard else "=", value.text)
    if field in ("folder", "asset_folder"):
        value = _plain(field, op, value, pos)
        return _folder(field, value)
    if field == "filename":
        value = _plain(field, op, value, pos)
        if value.wildcard:
            raise ExpressionError("filename takes an exact name; for a prefix use public_id:folder/name*.", pos)
        return sql.AssetColumn("public_id", "filename", value.text)
    if field == "format":
        value = _plain(field, op, value, pos)
        return sql.AssetColumn("format", "prefix" if value.wildcard else "=", value.text.lower())
    if field in ("resource_type", "type"):
        value = _plain(field, op, value, pos)
        have = "image" if field == "resource_type" else "upload"
        if value.wildcard:
            return sql.Everything() if have.startswith(value.text) else sql.Nothing()
        return sql.Everything() if value.text == have else sql.Nothing()
    if field in ("person", "uploader"):
        value = _plain(field, op, value, pos)
        name = " ".join(value.text.split())
        if not name or value.wildcard:
            raise ExpressionError(f"{field} takes a whole name, like {field}=\"Barack Obama\".", pos)
        return q.Person(name) if field == "person" else q.Uploader(name)
    if field in DATES:
        return _dates(field, op, value, pos, now)
    if field in NUMERIC:
        return _compare(field, op, value, pos, lambda v: _bytes(v) if field == "bytes" else _integer(field, v))
    if field == "aspect_ratio":
        return _compare(field, op, value, pos, _ratio)
    if field == "label_confidence":
        if isinstance(value, _Range) or op not in (">=", "<=", ">", "<"):
            raise ExpressionError("Compare label_confidence with >=, >, <= or <, like label_confidence>=0.8.", pos)
        number = _number(field, value)
        if not 0 <= number <= 1:
            raise ExpressionError("label_confidence is a number from 0 to 1, like 0.8.", value.pos)
        return _Confidence(q.Confidence(op, number), pos)
    if field.startswith("context."):
        key = field[len("context."):]
        if not _CONTEXT_KEY.fullmatch(key):
            raise ExpressionError("A context key is letters, digits, _ and -, like context.alt=dog.", pos)
        value = _plain(field, op, value, pos)
        if value.wildcard:
            return sql.AssetColumn("context", "exists" if not value.text else "prefix", value.text, key=key)
        return sql.AssetColumn("context", "=", value.text, key=key)
    if not _FIELD_NAME.fullmatch(field):
        raise ExpressionError(f"“{field}” is not a field; to search for it, put it in quotes.", pos)
    raise ExpressionError(f"The field “{field}” is not supported here. Fields: {', '.join(FIELDS)}.", pos)


def _plain(field: str, op: str, value, pos: int) -> _Value:
    if op not in (":", "="):
        raise ExpressionError(f"{field} is compared with : or =, not {op}.", pos)
    if isinstance(value, _Range):
        raise ExpressionError(f"{field} takes a value, not a range.", pos)
    return value


def _folder(field: str, value: _Value):
    column = "public_id" if field == "folder" else "asset_folder"
    path = value.text.strip("/") if not value.wildcard else value.text.rstrip("*").strip("/")
    if value.wildcard:
        if field == "folder":
            return sql.AssetColumn(column, "prefix", path + "/" if path else "")
        if not path:
            return sql.Everything()
        return q.any_of(sql.AssetColumn(column, "=", path), sql.AssetColumn(column, "prefix", path + "/"))
    if field == "folder":
        return sql.AssetColumn(column, "folder", path + "/" if path else "")
    return sql.AssetColumn(column, "=", path)


def _number(field: str, value: _Value) -> float:
    try:
        number = float(value.text)
    except ValueError:
        number = None
    if number is None or value.wildcard or number != number or number in (float("inf"), float("-inf")):
        raise ExpressionError(f"{field} takes a number, not “{value.text}”.", value.pos)
    return number


def _integer(field: str, value: _Value) -> int:
    number = _number(field, value)
    if number != int(number) or abs(number) > 2**53:
        raise ExpressionError(f"{field} takes a whole number, not “{value.text}”.", value.pos)
    return int(number)


def _bytes(value: _Value) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([a-zA-Z]*)", value.text)
    unit = match.group(2).lower() if match else None
    if not match or unit not in _UNITS or value.wildcard:
        raise ExpressionError(f"bytes takes a size like 500, 10kb, 2mb or 1gb, not “{value.text}”.", value.pos)
    number = float(match.group(1)) * _UNITS[unit]
    if number > 2**62:
        raise ExpressionError(f"{value.text} is too large a size.", value.pos)
    return int(number)


def _ratio(value: _Value) -> tuple[float, float]:
    """aspect_ratio as (width part, height part): "4:3" -> (4, 3), 1.5 -> (1.5, 1)."""
    text = value.text
    try:
        if ":" in text:
            width, _, height = text.partition(":")
            parts = (float(width), float(height))
        else:
            parts = (float(text), 1.0)
        if value.wildcard or not all(0 < part < 1e9 for part in parts):
            raise ValueError
    except ValueError:
        raise ExpressionError(f"aspect_ratio takes a ratio like 1.5 or \"4:3\", not “{text}”.", value.pos) from None
    return parts


def _compare(field: str, op: str, value, pos: int, convert):
    column = "aspect_ratio" if field == "aspect_ratio" else NUMERIC[field]
    if isinstance(value, _Range):
        parts = []
        if value.low is not None:
            parts.append(sql.AssetColumn(column, ">=" if value.low_inclusive else ">", convert(value.low)))
        if value.high is not None:
            parts.append(sql.AssetColumn(column, "<=" if value.high_inclusive else "<", convert(value.high)))
        return q.all_of(*parts) or sql.Everything()
    if op == "!=":
        return q.Not(sql.AssetColumn(column, "=", convert(value)))
    return sql.AssetColumn(column, "=" if op == ":" else op, convert(value))


# --- Dates

_RELATIVE = re.compile(r"(\d{1,6})([hdwmy])")


def _instant(value: _Value, now: datetime) -> tuple[datetime, datetime]:
    """The span a date value names, [start, end): a day for 2024-05-01, a moment for a time, and for a relative
    value (3d: three days ago) that moment."""
    text = value.text
    match = _RELATIVE.fullmatch(text)
    if match and not value.wildcard:
        count, unit = int(match.group(1)), match.group(2)
        if unit == "m" or unit == "y":
            months = count * (12 if unit == "y" else 1)
            year, month = divmod(now.year * 12 + now.month - 1 - months, 12)
            if year < 1:
                raise ExpressionError(f"{text} ago is before the year 1.", value.pos)
            day = min(now.day, 28)  # 31 March minus a month is 28 February (clamped), never an error
            moment = now.replace(year=year, month=month + 1, day=day)
        else:
            hours = count * {"h": 1, "d": 24, "w": 24 * 7}[unit]
            if hours > 24 * 365 * 5000:
                raise ExpressionError(f"{text} ago is before the year 1.", value.pos)
            moment = now - timedelta(hours=hours)
        return moment, moment + timedelta(microseconds=1)
    try:
        if value.wildcard:
            raise ValueError
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            day = datetime.fromisoformat(text).replace(tzinfo=dt_timezone.utc)
            return day, day + timedelta(days=1)
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?", text):
            raise ValueError
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt_timezone.utc)
        moment = moment.astimezone(dt_timezone.utc)
        return moment, moment + timedelta(microseconds=1)
    except (ValueError, OverflowError):
        raise ExpressionError(
            f"“{text}” is not a date: write 2024-05-01, 2024-05-01T10:00:00Z, or a time ago like 12h, 3d, 2w, 1m, 1y.",
            value.pos,
        ) from None


def _dates(field: str, op: str, value, pos: int, now: datetime):
    if isinstance(value, _Range):
        start = end = None
        if value.low is not None:
            low = _instant(value.low, now)
            start = low[0] if value.low_inclusive else low[1]
        if value.high is not None:
            high = _instant(value.high, now)
            end = high[1] if value.high_inclusive else high[0]
        if start is not None and end is not None and start >= end:
            raise ExpressionError(
                f"The range of {field} ends before it starts (for times ago, the longer one comes first:"
                f" [2w TO 1w]).", value.pos)
        return sql.Created(start, end)
    first, after = _instant(value, now)
    relative = _RELATIVE.fullmatch(value.text) is not None
    if op in (":", "="):
        if relative:  # uploaded_at:1w is "within the last week", as Cloudinary reads it
            return sql.Created(first, None)
        return sql.Created(first, after)
    if op == "!=":
        return q.Not(sql.Created(first, after))
    # > 1w: newer than a week ago; > 2024-05-01: after that day
    return {">": sql.Created(after, None), ">=": sql.Created(first, None),
            "<": sql.Created(None, first), "<=": sql.Created(None, after)}[op]


# --- The parser: OR of ANDs of (negated) terms and groups, as search.query's.

class _Parser(q.BooleanParser):
    error = ExpressionError
    negations = ("NOT",)
    or_example, and_example, not_example = "tags=dog OR tags=cat", "tags=dog AND format=jpg", "NOT tags=cat"
    depth_shown = MAX_DEPTH

    def node(self, item):
        return _as_node(item)

    def bind(self, items: list):
        return _bind_confidence(items)


def _as_node(item):
    """label_confidence alone, or under NOT or OR, is the page's `confidence>=`: some tag that sure."""
    return q.AnyTag(confidence=item.confidence) if isinstance(item, _Confidence) else item


def _bind_confidence(items: list):
    """label_confidence qualifies the tags ANDed beside it (as the page's confidence>= does its group's)."""
    bounds = [item for item in items if isinstance(item, _Confidence)]
    if len(bounds) > 1:
        raise ExpressionError("Give one label_confidence per group; use OR between groups for more.", bounds[1].pos)
    rest = [item for item in items if not isinstance(item, _Confidence)]
    if not bounds:
        return q.all_of(*rest)
    confidence = bounds[0].confidence
    found = []

    def qualify(node):
        if isinstance(node, q.Tag):
            found.append(node)
            return replace(node, confidence=node.confidence or confidence)
        if isinstance(node, q.And):
            return q.And(tuple(qualify(child) for child in node.children))
        if isinstance(node, q.Or):
            return q.Or(tuple(qualify(child) for child in node.children))
        return node

    rest = [qualify(item) for item in rest]
    if not found:
        rest.append(q.AnyTag(confidence=confidence))
    return q.all_of(*rest)


def parse(text: str, *, now: datetime | None = None):
    """The AST of an expression (None when empty: every asset). Raises ExpressionError."""
    text = text or ""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"The expression is too long: at most {MAX_LENGTH} characters.", limit=True)
    for index, char in enumerate(text):
        if ord(char) < 32 and not char.isspace():
            raise ExpressionError("The expression contains a control character.", index)
    now = now or datetime.now(dt_timezone.utc)
    tokens = _Scanner(text, now).tokens()
    if not tokens:
        return None
    node = _Parser(tokens, len(text), MAX_DEPTH).parse()
    if len(q.leaves(node)) > MAX_TERMS:
        raise ExpressionError(f"The expression has too many terms: at most {MAX_TERMS}.", limit=True)
    if q.not_depth(node) > MAX_NOT_DEPTH:
        raise ExpressionError(f"NOT goes inside NOT at most {MAX_NOT_DEPTH} times.", limit=True)
    return node
