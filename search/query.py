"""The search query model: a small AST, the page's query language that parses to it, and back to text.

    dog beach                 both tags (AND is implied; `AND` may be written)
    "mobile phone"            a tag with a space; tag:OR is the tag named "OR"
    dog OR cat                either; AND binds tighter than OR; parentheses group
    -cat, NOT cat             without
    person:"Barack Obama"     a recognised person (their faces, not a tag of that name)
    source:auto|manual|<add-on>, confidence>=0.9, dog>=0.9
    status:pending|failed     an add-on's analysis is not done
    uploader:alice, date:2024, date:2024-05, date:2024-05-01..2024-06-30 (inclusive; either end may be left out)

`source:` and `confidence` qualify the tags of their own group (`dog cat source:manual` is both tags, each put on
by a person; `(dog OR cat) confidence>=0.9` is either, found that surely); in a group without tags they stand for
"any tag" (`source:manual` alone: photos with a manual tag). Other search front ends (the Cloudinary search API)
can build the same AST; `search.selectors` resolves and runs it.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, replace
from datetime import date

MAX_LENGTH = 500
MAX_TERMS = 24
MAX_DEPTH = 8
# NOTs inside NOTs: each is a NOT EXISTS inside the last, and SQLite's parser overflows its stack at about 36.
MAX_NOT_DEPTH = 8
# The canonical text of a query (unparse) may be longer than what was typed (quotes, a group's source: written
# on each of its tags) and one parenthesis deeper ("(dog source:manual)"); the page's own links carry it, so it is
# accepted up to these limits when it is exactly canonical (and its names would fit in MAX_LENGTH).
CANONICAL_MAX_LENGTH = 4 * MAX_LENGTH + 64 * MAX_TERMS
STATUSES = ("pending", "failed")
FIELDS = ("tag", "person", "source", "status", "uploader", "date")
KEYWORDS = ("AND", "OR", "NOT")
OPERATORS = (">=", "<=", ">", "<")


class QueryError(ValueError):
    """A query that does not parse; the message says what is wrong in words a person can act on."""

    def __init__(self, message: str, position: int | None = None, *, limit: bool = False):
        super().__init__(message)
        self.message = message
        self.position = position
        self.limit = limit  # over a size limit (length, depth) rather than malformed


# --- The AST. Leaves name things (tags, people, users) by name; search.selectors resolves them to ids.

@dataclass(frozen=True)
class Confidence:
    op: str  # one of OPERATORS
    value: float


@dataclass(frozen=True)
class Tag:
    name: str
    source: str | None = None  # "auto", "manual" or an add-on's name
    confidence: Confidence | None = None


@dataclass(frozen=True)
class AnyTag:
    """Some tag of the asset has this source and/or confidence."""

    source: str | None = None
    confidence: Confidence | None = None


@dataclass(frozen=True)
class Person:
    name: str


@dataclass(frozen=True)
class Status:
    value: str  # one of STATUSES


@dataclass(frozen=True)
class Uploader:
    name: str


@dataclass(frozen=True)
class DateRange:
    """Assets created from `start` to `end`, both days included; either may be open."""

    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class And:
    children: tuple


@dataclass(frozen=True)
class Or:
    children: tuple


@dataclass(frozen=True)
class Not:
    child: object


Node = Tag | AnyTag | Person | Status | Uploader | DateRange | And | Or | Not


def all_of(*nodes) -> Node | None:
    """And of the nodes given (None ones left out), flattened; None when there are none."""
    children: list = []
    for node in nodes:
        if node is None:
            continue
        children.extend(node.children if isinstance(node, And) else [node])
    if not children:
        return None
    return children[0] if len(children) == 1 else And(tuple(children))


def any_of(*nodes) -> Node | None:
    children: list = []
    for node in nodes:
        if node is None:
            continue
        children.extend(node.children if isinstance(node, Or) else [node])
    if not children:
        return None
    return children[0] if len(children) == 1 else Or(tuple(children))


def leaves(node) -> list:
    if node is None:
        return []
    if isinstance(node, (And, Or)):
        return [leaf for child in node.children for leaf in leaves(child)]
    if isinstance(node, Not):
        return leaves(node.child)
    return [node]


def positive_tags(node) -> list[Tag]:
    """The tags an asset must (or may, under OR) have, not those it must not."""
    if isinstance(node, Tag):
        return [node]
    if isinstance(node, (And, Or)):
        return [tag for child in node.children for tag in positive_tags(child)]
    return []


# --- Tokens

@dataclass
class _Token:
    kind: str  # "(", ")", "AND", "OR", "NOT", "-", "term"
    pos: int
    term: object = None


@dataclass
class _SourceQualifier:
    value: str
    pos: int


@dataclass
class _ConfidenceQualifier:
    confidence: Confidence
    pos: int


_WORD_END = set(" \t\r\n\f\v()\"<>=")
_NUMBER_RE = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")  # 1e-05 too: how unparse writes it


def _addon_names() -> list[str]:
    from tagging.addons import ADDONS

    return list(ADDONS)


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos, n = 0, len(text)
    while pos < n:
        char = text[pos]
        if char.isspace():
            pos += 1
        elif char in "()":
            tokens.append(_Token(char, pos))
            pos += 1
        elif char == "-":  # words take their inner hyphens (t-shirt), so this one starts a term
            if pos + 1 >= n or text[pos + 1].isspace() or text[pos + 1] == ")":
                raise QueryError("A “-” must be followed by what to leave out, like -cat.", pos)
            tokens.append(_Token("-", pos))
            pos += 1
        elif char in "<>=":
            raise QueryError(
                "Write a comparison right after its tag, without spaces: dog>=0.9 or confidence>=0.9.", pos
            )
        elif char == '"':
            start = pos
            name, pos = _quoted(text, pos)
            term, pos = _after_name(text, start, pos, name, quoted=True)
            tokens.append(_Token("term", start, term))
        else:
            start = pos
            while pos < n and text[pos] not in _WORD_END:
                pos += 1
            word = text[start:pos]
            if word in KEYWORDS:
                tokens.append(_Token(word, start))
                continue
            colon = word.find(":")
            if colon > 0 and (word[:colon].lower() in FIELDS or word[:colon].isalpha()):
                field = word[:colon].lower()
                if field not in FIELDS:
                    raise QueryError(
                        f"There is no “{word[:colon]}:” filter. Filters are tag:, person:, source:, status:, uploader:"
                        f" and date:; to find a tag with a colon in it, put it in quotes: \"{word}\".", start,
                    )
                value = word[colon + 1:]
                if not value and pos < n and text[pos] == '"':
                    value, pos = _quoted(text, pos)
                    _check_end(text, pos)
                tokens.append(_Token("term", start, _field_term(field, value, start)))
                continue
            term, pos = _after_name(text, start, pos, word, quoted=False)
            tokens.append(_Token("term", start, term))
    return tokens


def _quoted(text: str, start: int) -> tuple[str, int]:
    """The text of a quoted name starting at text[start] == '"', and the position after its closing quote."""
    chars, pos = [], start + 1
    while pos < len(text):
        char = text[pos]
        if char == "\\" and pos + 1 < len(text) and text[pos + 1] in '"\\':
            chars.append(text[pos + 1])
            pos += 2
            continue
        if char == '"':
            return "".join(chars), pos + 1
        chars.append(char)
        pos += 1
    raise QueryError(f"The quote opened at character {start + 1} is not closed.", start)


def _check_end(text: str, pos: int) -> None:
    if pos < len(text) and not text[pos].isspace() and text[pos] not in "()":
        raise QueryError("Put a space after a closing quote.", pos)


def _after_name(text: str, start: int, pos: int, name: str, *, quoted: bool):
    """A tag name just read, maybe followed by a comparison (dog>=0.9); returns the term and the position after it."""
    if pos < len(text) and text[pos] in "<>=":
        op = text[pos:pos + 2] if text[pos:pos + 2] in (">=", "<=") else text[pos]
        if op not in OPERATORS:
            raise QueryError(f"Compare confidence with >=, >, <= or <, like {_quote(name) or 'dog'}>=0.9.", pos)
        match = _NUMBER_RE.match(text, pos + len(op))
        end = match.end() if match else pos + len(op)
        if not match or (end < len(text) and not text[end].isspace() and text[end] not in "()"):
            raise QueryError("Confidence is a number from 0 to 1, like 0.9.", pos + len(op))
        value = float(match.group())
        if value > 1:
            raise QueryError(f"Confidence is a number from 0 to 1, like 0.9 (not {match.group()}).", pos + len(op))
        confidence = Confidence(op, value)
        if not quoted and name.lower() == "confidence":
            return _ConfidenceQualifier(confidence, start), end
        tag = _tag(name, start)
        return replace(tag, confidence=confidence), end
    if quoted:
        _check_end(text, pos)
    elif name.lower() == "confidence":
        raise QueryError("Give confidence a bound, like confidence>=0.9.", start)
    return _tag(name, start), pos


def _tag(name: str, pos: int) -> Tag:
    name = " ".join(name.split())
    if not name:
        raise QueryError("An empty tag name (\"\") finds nothing; remove it.", pos)
    return Tag(name)


def _day(value: str, pos: int, *, last: bool) -> date:
    """2024 -> 1 Jan (or 31 Dec when `last`), 2024-05 -> 1 May (31 May), 2024-05-03 -> that day."""
    match = re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", value)
    try:
        if not match:
            raise ValueError
        year, month, day = int(match.group(1)), match.group(2), match.group(3)
        if day is not None:
            return date(year, int(month), int(day))
        if month is not None:
            first = date(year, int(month), 1)
            # monthrange, not "the 1st of next month minus a day": there is no next month after 9999-12.
            return first.replace(day=calendar.monthrange(year, first.month)[1]) if last else first
        return date(year, 12, 31) if last else date(year, 1, 1)
    except ValueError:
        raise QueryError(
            f"“{value}” is not a date: write date:2024, date:2024-05, date:2024-05-31 or a range like"
            " date:2024-01..2024-03.", pos,
        ) from None


def _field_term(field: str, value: str, pos: int):
    value = " ".join(value.split())
    if not value:
        raise QueryError(f"Say what {field}: is, like {_FIELD_EXAMPLES[field]}.", pos)
    if field == "tag":
        return _tag(value, pos)
    if field == "person":
        return Person(value)
    if field == "uploader":
        return Uploader(value)
    if field == "status":
        if value.lower() not in STATUSES:
            raise QueryError(f"status: is pending or failed, not “{value}”.", pos)
        return Status(value.lower())
    if field == "source":
        choices = ["auto", "manual", *_addon_names()]
        if value.lower() not in choices:
            raise QueryError(f"source: is one of {', '.join(choices)}; not “{value}”.", pos)
        return _SourceQualifier(value.lower(), pos)
    # date
    if ".." in value:
        first, _, second = value.partition("..")
        start = _day(first, pos, last=False) if first else None
        end = _day(second, pos, last=True) if second else None
        if start is None and end is None:
            raise QueryError("A date range needs at least one end, like date:2024-01.. or date:..2024-06.", pos)
        if start and end and start > end:
            raise QueryError(f"The date range {value} ends before it starts.", pos)
        return DateRange(start, end)
    return DateRange(_day(value, pos, last=False), _day(value, pos, last=True))


_FIELD_EXAMPLES = {
    "tag": 'tag:"mobile phone"', "person": 'person:"Barack Obama"', "source": "source:manual",
    "status": "status:failed", "uploader": "uploader:alice", "date": "date:2024-05",
}


# --- The parser: OR of ANDs of (negated) terms and groups.

class TokenCursor:
    """Where a recursive-descent parser is in its tokens (anything with `kind` and `pos`): this parser's and
    search.expressions' (Cloudinary's expression language)."""

    def __init__(self, tokens: list, length: int):
        self.tokens = tokens
        self.index = 0
        self.length = length
        self.depth = 0

    def peek(self) -> str | None:
        return self.tokens[self.index].kind if self.index < len(self.tokens) else None

    def pos(self) -> int:
        return self.tokens[self.index].pos if self.index < len(self.tokens) else self.length

    def take(self):
        token = self.tokens[self.index]
        self.index += 1
        return token


class BooleanParser(TokenCursor):
    """OR of ANDs of (negated) items and parenthesised groups: the grammar of this language and of search.expressions
    (Cloudinary's). A subclass names its error, its examples, its NOT words and what its items become."""

    error = QueryError
    negations: tuple[str, ...] = ("-", "NOT")
    or_example, and_example, not_example = "dog OR cat", "dog AND beach", "NOT cat"
    depth_shown = MAX_DEPTH  # the limit a person may type (a canonical text may go one deeper: see parse)

    def __init__(self, tokens: list, length: int, max_depth: int = MAX_DEPTH):
        super().__init__(tokens, length)
        self.max_depth = max_depth

    def node(self, item):
        """What an item becomes where it stands alone: the whole, a branch of OR, a group."""
        return item

    def bind(self, items: list):
        """One AND group's items as one node."""
        raise NotImplementedError

    def negate(self, operand):
        return Not(self.node(operand))

    def parse(self):
        node = self.parse_or()
        if self.peek() == ")":
            raise self.error("There is a “)” without a “(” before it.", self.pos())
        return self.node(node)

    def parse_or(self):
        if self.peek() == "OR":
            raise self.error(f"OR needs something on both sides, like {self.or_example}.", self.pos())
        branches = [self.node(self.parse_and())]
        while self.peek() == "OR":
            at = self.take().pos
            if self.peek() in (None, ")", "OR", "AND"):
                raise self.error(f"OR needs something on both sides, like {self.or_example}.", at)
            branches.append(self.node(self.parse_and()))
        return any_of(*branches)

    def parse_and(self):
        items: list = []
        while self.peek() not in (None, ")", "OR"):
            if self.peek() == "AND":
                at = self.take().pos
                if not items or self.peek() in (None, ")", "OR", "AND"):
                    raise self.error(f"AND needs something on both sides, like {self.and_example}.", at)
                continue
            items.append(self.parse_unary())
        if not items:
            raise self.error("Something is missing here.", self.pos())
        return self.bind(items)

    def parse_unary(self):
        kind = self.peek()
        if kind in self.negations:
            at = self.take().pos
            if self.peek() in (None, ")", "OR", "AND"):
                raise self.error(f"NOT needs something to leave out, like {self.not_example}.", at)
            return self.negate(self.parse_unary())
        if kind == "(":
            opened = self.take().pos
            if self.peek() == ")":
                raise self.error("There is nothing between these parentheses.", opened)
            self.depth += 1
            if self.depth > self.max_depth:
                raise self.error(f"Parentheses go at most {self.depth_shown} deep.", opened, limit=True)
            node = self.parse_or()
            self.depth -= 1
            if self.peek() != ")":
                raise self.error(f"The “(” at character {opened + 1} is not closed.", opened)
            self.take()
            return self.node(node)
        if kind == ")":
            raise self.error("There is a “)” without a “(” before it.", self.pos())
        return self.take().term


class _Parser(BooleanParser):
    def bind(self, items: list):
        return _bind_qualifiers(items)

    def negate(self, operand):
        if isinstance(operand, (_SourceQualifier, _ConfidenceQualifier)):
            operand = AnyTag(source=getattr(operand, "value", None), confidence=getattr(operand, "confidence", None))
        return Not(operand)


def _bind_qualifiers(items: list):
    """Give the group's source:/confidence qualifiers to its tags (not those under NOT), or make them a term."""
    sources = [item for item in items if isinstance(item, _SourceQualifier)]
    confidences = [item for item in items if isinstance(item, _ConfidenceQualifier)]
    if len(sources) > 1:
        raise QueryError("Give one source: per group; use OR between groups for more.", sources[1].pos)
    if len(confidences) > 1:
        raise QueryError("Give one confidence bound per group.", confidences[1].pos)
    rest = [item for item in items if not isinstance(item, (_SourceQualifier, _ConfidenceQualifier))]
    if not sources and not confidences:
        return all_of(*rest)
    source = sources[0].value if sources else None
    confidence = confidences[0].confidence if confidences else None
    found = []

    def qualify(node):
        if isinstance(node, Tag):
            found.append(node)
            return replace(node, source=node.source or source, confidence=node.confidence or confidence)
        if isinstance(node, And):
            return And(tuple(qualify(child) for child in node.children))
        if isinstance(node, Or):
            return Or(tuple(qualify(child) for child in node.children))
        return node

    rest = [qualify(item) for item in rest]
    if not found:
        rest.append(AnyTag(source=source, confidence=confidence))
    return all_of(*rest)


def parse(text: str):
    """The AST of a query, or None for an empty one (everything). Raises QueryError."""
    text = text or ""
    if any(ord(char) < 32 and not char.isspace() for char in text):
        raise QueryError("The search contains a control character; type it again without it.")
    try:
        return _parse(text, max_length=MAX_LENGTH, max_depth=MAX_DEPTH)
    except QueryError as exc:
        if not exc.limit:
            raise
        # Canonical text (a facet's link, "Open in search") may exceed what a person may type; see
        # CANONICAL_MAX_LENGTH. Anything else over the limits is refused as typed.
        try:
            node = _parse(text, max_length=CANONICAL_MAX_LENGTH, max_depth=MAX_DEPTH + 1)
        except QueryError:
            raise exc from None
        # ...but only what a typed query could have become: its names fit in MAX_LENGTH ("x" * 501 does not).
        if unparse(node) != text or sum(len(getattr(leaf, "name", "")) for leaf in leaves(node)) > MAX_LENGTH:
            raise exc from None
        return node


def _parse(text: str, *, max_length: int, max_depth: int):
    if len(text) > max_length:
        raise QueryError(f"The search is too long: at most {MAX_LENGTH} characters.", limit=True)
    tokens = _tokens(text)
    if not tokens:
        return None
    node = _Parser(tokens, len(text), max_depth).parse()
    if len(leaves(node)) > MAX_TERMS:
        raise QueryError(f"The search has too many terms: at most {MAX_TERMS}.")
    if not_depth(node) > MAX_NOT_DEPTH:
        raise QueryError(f"The search puts NOT (or -) inside NOT too often: at most {MAX_NOT_DEPTH} inside one"
                         " another. NOT NOT dog is dog.")
    return node


def not_depth(node) -> int:
    """How many NOTs stand inside one another at the deepest (this language's and search.expressions')."""
    if isinstance(node, Not):
        return 1 + not_depth(node.child)
    if isinstance(node, (And, Or)):
        return max(not_depth(child) for child in node.children)
    return 0


# --- Back to text (canonical form: parse(unparse(node)) == node).

_NEEDS_QUOTES = re.compile(r'[\s()"<>=:\\]')


def _quote(name: str) -> str:
    if (not name or _NEEDS_QUOTES.search(name) or name.startswith("-") or name in KEYWORDS
            or name.lower() == "confidence"):
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return name


def _number(value: float) -> str:
    # repr is the shortest text that reads back as the same float (":g" kept 6 digits: 0.1234567 came back
    # as 0.123457).
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def _date_text(start: date | None, end: date | None) -> str:
    # Years are written with four digits, as _day reads them (0999, not 999).
    if start and end:
        if start == end:
            return start.isoformat()
        if start.day == 1 and end == start.replace(day=calendar.monthrange(start.year, start.month)[1]):
            return f"{start.year:04d}-{start.month:02d}"
        if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31) and start.year == end.year:
            return f"{start.year:04d}"
    return f"{start.isoformat() if start else ''}..{end.isoformat() if end else ''}"


def unparse(node, *, top: bool = True) -> str:
    if node is None:
        return ""
    if isinstance(node, Tag):
        text = _quote(node.name)
        if node.confidence:
            text += node.confidence.op + _number(node.confidence.value)
        if node.source:
            text = f"({text} source:{node.source})"
        return text
    if isinstance(node, AnyTag):
        parts = ([f"source:{node.source}"] if node.source else []) + (
            [f"confidence{node.confidence.op}{_number(node.confidence.value)}"] if node.confidence else [])
        return "(" + " ".join(parts) + ")"
    if isinstance(node, Person):
        return "person:" + _quote(node.name)
    if isinstance(node, Status):
        return "status:" + node.value
    if isinstance(node, Uploader):
        return "uploader:" + _quote(node.name)
    if isinstance(node, DateRange):
        return "date:" + _date_text(node.start, node.end)
    if isinstance(node, Not):
        inner = unparse(node.child, top=False)
        if isinstance(node.child, (And, Or)):
            inner = f"({inner})"
        return "-" + inner
    if isinstance(node, And):
        return " ".join(f"({unparse(c, top=False)})" if isinstance(c, Or) else unparse(c, top=False)
                         for c in node.children)
    if isinstance(node, Or):
        return " OR ".join(unparse(c, top=False) for c in node.children)
    raise TypeError(f"Not a query node: {node!r}")


def quote(name: str) -> str:
    """A tag name as the query language writes it ("mobile phone" in quotes, dog as is)."""
    return _quote(name)
