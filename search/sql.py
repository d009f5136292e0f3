"""Every raw SQL statement of search: the query compiler, counts, samples, facets, autocomplete and upkeep.

The shapes follow ../shared/design/SEARCH.md, measured on PostgreSQL at a million photos:
- names are resolved to ids first, so the planner sees real ids;
- an AND walks its rarest term's index newest first and checks the others with EXISTS (never a join from
  `asset` ordered by date, which gambles that a tag is spread evenly in time, nor INTERSECT);
- an OR is a UNION of each branch's own first page, then the first page of that;
- a NOT is NOT EXISTS fenced with OFFSET 0, so PostgreSQL cannot turn it into a hash anti-join;
- every page is a keyset on (created_at, id), newest first.
The same SQL runs on SQLite (the one-machine default); where the two differ, `vendor` picks.
The Search API adds conditions on the asset's own columns (AssetColumn), other orders (sorted_page) and its
aggregations, on the same compiled streams.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from datetime import timezone as dt_timezone

from django.db import connection
from django.utils.dateparse import parse_datetime

from medialib.models import Asset, AssetTag, Tag
from tagging.models import AnalysisResult, Face, Person

from . import query as q

ASSET = Asset._meta.db_table
ASSET_TAG = AssetTag._meta.db_table
TAG = Tag._meta.db_table
FACE = Face._meta.db_table
PERSON = Person._meta.db_table
ANALYSIS = AnalysisResult._meta.db_table

INFINITE = math.inf

# The sample. Every asset falls in one of SAMPLE_BUCKETS buckets by a hash of its id (Knuth's multiplicative
# hash: the top 10 bits of id * 2654435761 mod 2^32; the product stays inside 64 bits for ids below 3e9), and a
# sample of k buckets is the assets whose bucket is below k: about k / 1024 of any set of assets, spread evenly
# over upload time (bursty tags included). It is a function of the id, so the AND, OR and NOT of samples is the
# sample of the result, and a tag's sampled uses are one range of an index (search migration 0003), however
# common the tag. The expression must be written exactly so for PostgreSQL to match it with the index.
SAMPLE_BUCKETS = 1024


def bucket(asset_id: int) -> int:
    """The bucket of an asset id, as bucket_sql computes it in the database."""
    return (asset_id * 2654435761) % 4294967296 // 4194304


def bucket_sql(id_col: str) -> str:
    """The bucket of an id column, for raw SQL with parameters (% doubled)."""
    return f"((({id_col} * 2654435761) %% 4294967296) / 4194304)"


# --- Resolved leaves: what the compiler works on once names are ids.

@dataclass(frozen=True)
class TagIds:
    """Assets with one of these tags (one id unless names differ only in case), from a source, that sure."""

    ids: tuple
    estimate: int
    source: str | None = None
    confidence: q.Confidence | None = None


@dataclass(frozen=True)
class AssetsWhere:
    """Assets with a face of these people ("person"), an add-on in this status ("status"), or by these users."""

    kind: str  # "person", "status", "uploader"
    values: tuple
    estimate: float = INFINITE


@dataclass(frozen=True)
class AnyTagWhere:
    source: str | None
    confidence: q.Confidence | None


@dataclass(frozen=True)
class Created:
    """Created in [start, end): aware datetimes or None."""

    start: datetime | None
    end: datetime | None


@dataclass(frozen=True)
class AssetColumn:
    """A condition on the asset's own row (the Search API's fields): `column` one of ASSET_COLUMNS, `op` one of
    = < <= > >= (compared), prefix, folder (a prefix ending in / with no further /), filename (the last part of the
    public_id), exists (a context key); `key` the context key."""

    column: str
    op: str
    value: object
    key: str | None = None


# The columns AssetColumn may name, as the SQL writes them ("aspect_ratio" is computed from width and height).
ASSET_COLUMNS = ("public_id", "asset_folder", "format", "bytes", "width", "height", "aspect_ratio", "context")


@dataclass(frozen=True)
class Everything:
    pass


@dataclass(frozen=True)
class Nothing:
    pass


def _vendor() -> str:
    return connection.vendor


def _lower_sql() -> str:
    # SQLite's own lower() folds ASCII only; search.apps registers a Unicode one.
    return "search_lower" if _vendor() == "sqlite" else "lower"


def _placeholders(values) -> str:
    return ", ".join(["%s"] * len(values))


def _db_datetime(value: datetime):
    return connection.ops.adapt_datetimefield_value(value)


def to_datetime(value) -> datetime:
    """A created_at as read by raw SQL (SQLite gives text) as an aware datetime."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt_timezone.utc)
    return value


def fetch(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# --- Resolution: names to ids, before the main query.

def tags_by_names(names: list[str]) -> dict[str, list[tuple[int, str, int]]]:
    """{lower-case name: [(id, name, usage_count)]} for the names given, compared without case."""
    keys = sorted({name.lower() for name in names})
    if not keys:
        return {}
    rows = fetch(
        f"SELECT id, name, usage_count FROM {TAG} WHERE {_lower_sql()}(name) IN ({_placeholders(keys)})", keys
    )
    found: dict[str, list] = {}
    for tag_id, name, usage in rows:
        found.setdefault(name.lower(), []).append((tag_id, name, usage))
    return found


def people_by_names(names: list[str]) -> dict[str, list[tuple[int, str]]]:
    keys = sorted({name.lower() for name in names})
    if not keys:
        return {}
    # A hidden person (moderation) is not searchable by name.
    rows = fetch(
        f"SELECT id, name FROM {PERSON} WHERE NOT hidden AND {_lower_sql()}(name) IN ({_placeholders(keys)})", keys
    )
    found: dict[str, list] = {}
    for person_id, name in rows:
        found.setdefault(name.lower(), []).append((person_id, name))
    return found


def capped_count(kind: str, values: tuple, cap: int) -> int:
    """How many assets a person/status/uploader term matches, counting no further than cap + 1 (more than cap)."""
    if kind == "person":
        inner = f"SELECT DISTINCT asset_id FROM {FACE} WHERE person_id IN ({_placeholders(values)})"
    elif kind == "status":
        inner = f"SELECT DISTINCT asset_id FROM {ANALYSIS} WHERE status IN ({_placeholders(values)})"
    elif kind == "source":
        inner = f"SELECT 1 FROM {ASSET_TAG} WHERE source IN ({_placeholders(values)})"  # uses, not assets
    else:
        inner = f"SELECT id FROM {ASSET} WHERE uploaded_by_id IN ({_placeholders(values)})"
    return fetch(f"SELECT count(*) FROM ({inner} LIMIT %s) s", [*values, cap + 1])[0][0]


# --- The compiler.

@dataclass
class Cursor:
    """A keyset position: the (created_at, id) of the last asset shown."""

    created_at: datetime
    id: int

    def token(self) -> str:
        delta = self.created_at - datetime(1970, 1, 1, tzinfo=dt_timezone.utc)
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        return f"{micros}_{self.id}"

    @classmethod
    def from_token(cls, token: str | None) -> Cursor | None:
        from datetime import timedelta

        try:
            micros, _, pk = (token or "").partition("_")
            if not 0 < int(pk) < 2**63:
                return None
            return cls(datetime(1970, 1, 1, tzinfo=dt_timezone.utc) + timedelta(microseconds=int(micros)), int(pk))
        except (ValueError, OverflowError):
            return None


@dataclass
class _Sql:
    sql: str
    params: list = field(default_factory=list)


class Compiler:
    """Turns a resolved query into SQL that yields (id, created_at) rows, newest first.

    `estimate(node)` says how many assets a term may match (usage_count for tags, capped counts for the rest),
    so that an AND is driven by its rarest term.
    """

    def __init__(self, *, estimate_cap: int = 20_000, sample_buckets: int = SAMPLE_BUCKETS):
        self.vendor = _vendor()
        self.estimate_cap = estimate_cap
        # Below SAMPLE_BUCKETS, only the assets of the first sample_buckets buckets (see SAMPLE_BUCKETS).
        self.sample_buckets = sample_buckets
        self._estimates: dict = {}
        self._alias = 0

    def sampling(self, sample_buckets: int) -> Compiler:
        """A compiler of the same query on a sample of buckets, sharing the estimates already counted."""
        sampler = Compiler(estimate_cap=self.estimate_cap, sample_buckets=sample_buckets)
        sampler._estimates = self._estimates
        return sampler

    def alias(self, prefix: str) -> str:
        self._alias += 1
        return f"{prefix}{self._alias}"

    # Estimates

    def estimate(self, node, *, unknown_above_cap: bool = False) -> float:
        """How many assets the term may match. A person, status or uploader is counted up to estimate_cap + 1;
        with unknown_above_cap, more than estimate_cap is taken as no bound at all (INFINITE)."""
        if isinstance(node, TagIds):
            return node.estimate
        if isinstance(node, AssetsWhere):
            return self._capped(node.kind, node.values, unknown_above_cap)
        if isinstance(node, AnyTagWhere) and node.source and node.source != "auto":
            # One add-on's or people's tags (source:aws_rek_face): walkable by assettag_source_newest. Not in a
            # sample when there are many: reading all their index entries to keep one in N is the slow way.
            return self._capped("source", (node.source,), unknown_above_cap or self.sampled)
        if isinstance(node, Nothing):
            return 0
        if isinstance(node, AssetColumn) and node.column == "public_id" and node.op == "=":
            return 1  # the unique index
        if isinstance(node, AssetColumn) and node.column == "public_id" and node.op in ("prefix", "folder"):
            return self.estimate_prefix(node)
        if isinstance(node, q.Or):
            return sum(self.estimate(child, unknown_above_cap=unknown_above_cap) for child in node.children)
        if isinstance(node, q.And):
            return min((self.estimate(child, unknown_above_cap=unknown_above_cap) for child in node.children),
                       default=INFINITE)
        return INFINITE  # NOT, other AnyTagWhere, Created, Everything: only checked, never walked

    def estimate_dated(self, node) -> float:
        """For dates, alone or ANDed with a tag (`date:2024-05`, `dog date:2024-05`): how many photos, or how
        many of the tag's uses, fall in them, counted on an index up to ten times estimate_cap; INFINITE when
        more, or when the query has no dates. A tag's usage_count, or the whole library, would size a sample
        for all its photos, most of them outside the dates."""
        children = node.children if isinstance(node, q.And) else (node,)
        spans = [child for child in children if isinstance(child, Created)]
        if not spans:
            return INFINITE
        span = spans[0]
        for other in spans[1:]:
            span = _intersect(span, other)
        tags = [child for child in children if isinstance(child, TagIds) and len(child.ids) == 1]
        if tags:
            tag = min(tags, key=lambda child: child.estimate)
            table, created_col, where, params = ASSET_TAG, "asset_created_at", ["tag_id = %s"], [tag.ids[0]]
        else:
            table, created_col, where, params = ASSET, "created_at", [], []
        bounds, bound_params = self._bounds(created_col, "id", span, None, False)
        where += bounds
        cap = 10 * self.estimate_cap
        condition = f" WHERE {' AND '.join(where)}" if where else ""
        found = fetch(f"SELECT count(*) FROM (SELECT 1 FROM {table}{condition} LIMIT %s) s",
                      [*params, *bound_params, cap + 1])[0][0]
        return found if found <= cap else INFINITE

    def estimate_prefix(self, node: AssetColumn) -> float:
        """How many public_ids start with the prefix, counted on its index up to ten times estimate_cap (then
        INFINITE). Up to there its assets are collected and sorted (prefix_fenced); beyond, the walk newest first
        that checks each asset is cheaper when they are spread in time (and dear when they came in one burst)."""
        key = ("prefix", node.op, node.value)
        if key not in self._estimates:
            a = self.alias("a")
            condition, params = self.column_condition(AssetColumn("public_id", "prefix", node.value), a)
            cap = 10 * self.estimate_cap
            found = fetch(f"SELECT count(*) FROM (SELECT 1 FROM {ASSET} {a} WHERE {condition} LIMIT %s) s",
                          [*params, cap + 1])[0][0]
            self._estimates[key] = found if found <= cap else INFINITE
        return self._estimates[key]

    def _capped(self, kind: str, values: tuple, unknown_above_cap: bool) -> float:
        key = (kind, values)
        if key not in self._estimates:
            self._estimates[key] = capped_count(kind, values, self.estimate_cap)
        value = self._estimates[key]
        return INFINITE if unknown_above_cap and value > self.estimate_cap else value

    def driver(self, node):
        """The term an AND walks: its rarest walkable one, or None (walk all assets newest first)."""
        children = node.children if isinstance(node, q.And) else (node,)
        best, best_estimate = None, INFINITE
        for child in children:
            estimate = self.estimate(child)
            if estimate < best_estimate:
                best, best_estimate = child, estimate
        return best

    # Streams: SELECT id, created_at ... ORDER BY created_at DESC, id DESC LIMIT n

    def stream(self, node, *, preds=(), created=None, cursor: Cursor | None = None, newer: bool = False,
               limit: int | None = None, ordered: bool = True) -> _Sql:
        created = created or Created(None, None)
        if node is None or isinstance(node, Everything):
            return self._asset_stream(None, preds, created, cursor, newer, limit, ordered)
        if isinstance(node, Nothing):
            return _Sql(f"SELECT a.id AS id, a.created_at AS created_at FROM {ASSET} a WHERE 1 = 0")
        if isinstance(node, q.And):
            rest = []
            for child in node.children:
                if isinstance(child, Created):
                    created = _intersect(created, child)
                else:
                    rest.append(child)
            driver = self.driver(q.And(tuple(rest))) if rest else None
            if driver is None:
                return self._asset_stream(None, (*preds, *rest), created, cursor, newer, limit, ordered)
            others = tuple(child for child in rest if child is not driver)
            return self.stream(driver, preds=(*preds, *others), created=created, cursor=cursor, newer=newer,
                               limit=limit, ordered=ordered)
        if isinstance(node, q.Or):
            return self._union([self.stream(child, preds=preds, created=created, cursor=cursor, newer=newer,
                                            limit=limit, ordered=ordered) for child in node.children],
                               newer, limit, ordered)
        if isinstance(node, TagIds):
            if len(node.ids) > 1:
                parts = [TagIds((tag_id,), node.estimate, node.source, node.confidence) for tag_id in node.ids]
                return self.stream(q.Or(tuple(parts)), preds=preds, created=created, cursor=cursor, newer=newer,
                                   limit=limit, ordered=ordered)
            return self._tag_stream(node, preds, created, cursor, newer, limit, ordered)
        if isinstance(node, AssetsWhere):
            return self._asset_stream(node, preds, created, cursor, newer, limit, ordered)
        if isinstance(node, Created):
            return self._asset_stream(None, preds, _intersect(created, node), cursor, newer, limit, ordered)
        if isinstance(node, AnyTagWhere) and self.estimate(node) < INFINITE:
            return self._source_stream(node, preds, created, cursor, newer, limit, ordered)
        if isinstance(node, AssetColumn):
            # A condition on the asset row itself, walked newest first; a public_id, or a prefix of few enough,
            # found by its index, then sorted.
            fence = node.column == "public_id" and self.estimate(node) < INFINITE
            return self._asset_stream(None, (node, *preds), created, cursor, newer, limit, ordered, fence=fence)
        # NOT, other AnyTagWhere: walk every asset and check.
        return self._asset_stream(None, (*preds, node), created, cursor, newer, limit, ordered)

    @staticmethod
    def _bounds(created_col, id_col, created, cursor, newer) -> tuple[list, list]:
        """The date range and the keyset, as conditions on those columns."""
        where, params = [], []
        if created.start is not None:
            where.append(f"{created_col} >= %s")
            params.append(_db_datetime(created.start))
        if created.end is not None:
            where.append(f"{created_col} < %s")
            params.append(_db_datetime(created.end))
        if cursor is not None:
            where.append(f"({created_col}, {id_col}) {'>' if newer else '<'} (%s, %s)")
            params += [_db_datetime(cursor.created_at), cursor.id]
        return where, params

    @staticmethod
    def _order(created_col, id_col, newer, limit, ordered) -> str:
        tail = ""
        if ordered:
            direction = "ASC" if newer else "DESC"
            tail += f" ORDER BY {created_col} {direction}, {id_col} {direction}"
        if limit is not None:
            tail += " LIMIT %s"
        return tail

    def _tag_stream(self, node: TagIds, preds, created, cursor, newer, limit, ordered) -> _Sql:
        return self._tag_rows_stream(node, "tag", preds, created, cursor, newer, limit, ordered)

    def _source_stream(self, node: AnyTagWhere, preds, created, cursor, newer, limit, ordered) -> _Sql:
        """The assets with a tag from this source: assettag_source_newest walked, each asset once (it may have
        several such tags, side by side in the index)."""
        return self._tag_rows_stream(node, "source", preds, created, cursor, newer, limit, ordered)

    def _tag_rows_stream(self, node, by: str, preds, created, cursor, newer, limit, ordered) -> _Sql:
        """A walk of asset_tag rows newest first: one tag's (by="tag", its index assettag_tag_newest) or one
        source's (by="source", assettag_source_newest), qualified, bounded, sampled and checked."""
        t = self.alias("t")
        where: list = []
        params: list = []
        if by == "tag":
            where.append(f"{t}.tag_id = %s")
            params.append(node.ids[0])
        self._tag_qualifiers(t, node.source, node.confidence, where, params)
        more, more_params = self._bounds(f"{t}.asset_created_at", f"{t}.content_object_id", created, cursor, newer)
        where += more
        params += more_params
        if self.sampled:
            where.append(f"{bucket_sql(f'{t}.content_object_id')} < %s")
            params.append(self.sample_buckets)
        for pred in preds:
            sql, pred_params = self.predicate(pred, f"{t}.content_object_id")
            where.append(sql)
            params += pred_params
        if limit is not None:
            params.append(limit)
        # Unordered (counts, facets), the date is not needed, and leaving it out lets a sample be read from
        # the bucket index alone.
        created_col = f"{t}.asset_created_at" if ordered else "NULL"
        distinct = "DISTINCT " if by == "source" else ""  # a tag is on an asset once
        return _Sql(
            f"SELECT {distinct}{t}.content_object_id AS id, {created_col} AS created_at FROM {ASSET_TAG} {t}"
            f" WHERE {' AND '.join(where)}"
            + self._order(f"{t}.asset_created_at", f"{t}.content_object_id", newer, limit, ordered), params,
        )

    def _asset_stream(self, node: AssetsWhere | None, preds, created, cursor, newer, limit, ordered, *,
                      fence: bool = False) -> _Sql:
        a = self.alias("a")
        source, where, params = f"{ASSET} {a}", [], []
        # A person's photos, an add-on status: collect their assets first, then sort those. Left to itself the
        # planner may walk every asset newest first and probe each one (for a person on 0.4% of a million
        # photos, 23,000 probes and 40-120 ms); the OFFSET 0 fence below keeps it from that gamble.
        fenced = node is not None and node.kind in ("person", "status")
        # Counting needs no dates: then the faces or analyses alone give the asset ids.
        ids_only = fenced and not ordered and created == Created(None, None) and cursor is None
        if fenced:
            f = self.alias("f")
            table, column = (FACE, "person_id") if node.kind == "person" else (ANALYSIS, "status")
            if ids_only:
                a, source = f, f"{table} {f}"
            else:
                source = f"{table} {f} JOIN {ASSET} {a} ON {a}.id = {f}.asset_id"
            where.append(f"{f}.{column} IN ({_placeholders(node.values)})")
            params += list(node.values)
        elif node is not None:
            where.append(f"{a}.uploaded_by_id IN ({_placeholders(node.values)})")
            params += list(node.values)
        id_col = f"{a}.asset_id" if ids_only else f"{a}.id"
        more, more_params = self._bounds(f"{a}.created_at", id_col, created, cursor, newer)
        where += more
        params += more_params
        if self.sampled:
            where.append(f"{bucket_sql(id_col)} < %s")
            params.append(self.sample_buckets)
        for pred in preds:
            if isinstance(pred, AssetColumn) and not ids_only:
                sql, pred_params = self.column_condition(pred, a)  # on the row walked, not a probe of it
            else:
                sql, pred_params = self.predicate(pred, id_col)
            where.append(sql)
            params += pred_params
        condition = f" WHERE {' AND '.join(where)}" if where else ""
        if ids_only:
            sql = f"SELECT DISTINCT {id_col} AS id, NULL AS created_at FROM {source}{condition}"
            if limit is not None:  # count(cap=...): the limit's parameter is appended below
                sql += " LIMIT %s"
        elif fenced or (fence and ordered):
            fence = " OFFSET 0" if self.vendor == "postgresql" else ""
            distinct = "DISTINCT " if fenced else ""  # a join to faces or analyses may repeat an asset
            inner = f"SELECT {distinct}{a}.id AS id, {a}.created_at AS created_at FROM {source}{condition}{fence}"
            sql = f"SELECT id, created_at FROM ({inner}) {self.alias('s')}" + self._order(
                "created_at", "id", newer, limit, ordered)
        else:
            sql = f"SELECT {a}.id AS id, {a}.created_at AS created_at FROM {source}{condition}" + self._order(
                f"{a}.created_at", f"{a}.id", newer, limit, ordered)
        if limit is not None:
            params.append(limit)
        return _Sql(sql, params)

    @property
    def sampled(self) -> bool:
        return self.sample_buckets < SAMPLE_BUCKETS

    def _union(self, parts: list[_Sql], newer, limit, ordered) -> _Sql:
        params: list = []
        selects = []
        # Unordered, the branches may leave the date out (NULL), so the union is of ids alone.
        columns = "id, created_at" if ordered else "id"
        for part in parts:
            selects.append(f"SELECT {columns} FROM ({part.sql}) {self.alias('u')}")
            params += part.params
        outer = columns if ordered else "id, NULL AS created_at"
        sql = f"SELECT {outer} FROM ({' UNION '.join(selects)}) {self.alias('o')}"
        if ordered:
            direction = "ASC" if newer else "DESC"
            sql += f" ORDER BY created_at {direction}, id {direction}"
        if limit is not None:
            sql += " LIMIT %s"
            params.append(limit)
        return _Sql(sql, params)

    @staticmethod
    def _tag_qualifiers(alias, source, confidence, where, params) -> None:
        if source == "auto":
            where.append(f"{alias}.source <> %s")
            params.append(AssetTag.SOURCE_MANUAL)
        elif source:
            where.append(f"{alias}.source = %s")
            params.append(source)
        if confidence is not None:
            where.append(f"{alias}.confidence {confidence.op} %s")
            params.append(confidence.value)

    # Predicates: a condition on an asset id column.

    def predicate(self, node, id_col: str) -> tuple[str, list]:
        # The walk's driver is its rarest term, so checking each candidate with a probe of the unique (asset,
        # tag) index is the cheap way. Left free, PostgreSQL may hash the whole of a common tag instead: inside
        # NOT a hash anti-join (173 ms p95 in SEARCH.md), and for AND a hash semi-join (a rare tag AND a tag on
        # 64,000 photos: 241 probes would take 0.3 ms, the hash took 8 ms). OFFSET 0 keeps the probe.
        fence = " OFFSET 0" if self.vendor == "postgresql" else ""
        if self.sampled and isinstance(node, TagIds):
            # In a sample, a tag's rows are one short range of the bucket index (a tenth of a common tag's are
            # thousands): the planner may hash-join them rather than probe per candidate (3 µs each), so the
            # tag's own condition repeats the bucket and the fence goes. Other terms have no such range: a
            # source left free was hashed whole (100,000 rows at 100k photos, 17 ms).
            fence = ""
        if isinstance(node, q.Not):
            sql, params = self.predicate(node.child, id_col)
            return f"NOT ({sql})", params
        if isinstance(node, (q.And, q.Or)):
            joiner = " AND " if isinstance(node, q.And) else " OR "
            parts, params = [], []
            for child in node.children:
                sql, child_params = self.predicate(child, id_col)
                parts.append(sql)
                params += child_params
            return "(" + joiner.join(parts) + ")", params
        if isinstance(node, Everything):
            return "1 = 1", []
        if isinstance(node, Nothing):
            return "1 = 0", []
        if isinstance(node, (TagIds, AnyTagWhere)):
            p = self.alias("p")
            where, params = [f"{p}.content_object_id = {id_col}"], []
            if isinstance(node, TagIds):
                where.append(f"{p}.tag_id IN ({_placeholders(node.ids)})")
                params += list(node.ids)
                if self.sampled:
                    where.append(f"{bucket_sql(f'{p}.content_object_id')} < %s")
                    params.append(self.sample_buckets)
            self._tag_qualifiers(p, node.source, node.confidence, where, params)
            return f"EXISTS (SELECT 1 FROM {ASSET_TAG} {p} WHERE {' AND '.join(where)}{fence})", params
        if isinstance(node, AssetsWhere):
            values = list(node.values)
            p = self.alias("p")
            if node.kind == "person":
                return (f"EXISTS (SELECT 1 FROM {FACE} {p} WHERE {p}.asset_id = {id_col}"
                        f" AND {p}.person_id IN ({_placeholders(values)}){fence})", values)
            if node.kind == "status":
                return (f"EXISTS (SELECT 1 FROM {ANALYSIS} {p} WHERE {p}.asset_id = {id_col}"
                        f" AND {p}.status IN ({_placeholders(values)}){fence})", values)
            return (f"EXISTS (SELECT 1 FROM {ASSET} {p} WHERE {p}.id = {id_col}"
                    f" AND {p}.uploaded_by_id IN ({_placeholders(values)}){fence})", values)
        if isinstance(node, AssetColumn):
            p = self.alias("p")
            sql, params = self.column_condition(node, p)
            return f"EXISTS (SELECT 1 FROM {ASSET} {p} WHERE {p}.id = {id_col} AND {sql}{fence})", params
        if isinstance(node, Created):
            p = self.alias("p")
            where, params = [f"{p}.id = {id_col}"], []
            if node.start is not None:
                where.append(f"{p}.created_at >= %s")
                params.append(_db_datetime(node.start))
            if node.end is not None:
                where.append(f"{p}.created_at < %s")
                params.append(_db_datetime(node.end))
            return f"EXISTS (SELECT 1 FROM {ASSET} {p} WHERE {' AND '.join(where)}{fence})", params
        raise TypeError(f"Cannot compile {node!r}")

    def column_condition(self, node: AssetColumn, alias: str) -> tuple[str, list]:
        """An AssetColumn as a condition on the asset row `alias`. Column names come from ASSET_COLUMNS only;
        every value is a parameter."""
        if node.column not in ASSET_COLUMNS:
            raise TypeError(f"Not an asset column: {node.column!r}")
        sqlite = self.vendor == "sqlite"
        if node.column == "context":
            if sqlite:
                column, key = f"json_extract({alias}.context, %s)", [f'$."{node.key}"']
            else:
                column, key = f"({alias}.context ->> CAST(%s AS TEXT))", [node.key]
        else:
            column, key = f"{alias}.{node.column}", []
        op, value = node.op, node.value
        if node.column == "aspect_ratio":  # width / height op w / h, multiplied out (heights are positive)
            width, height = value
            return f"{alias}.width * %s {op} {alias}.height * %s", [float(height), float(width)]
        if op in ("=", "<", "<=", ">", ">="):
            return f"{column} {op} %s", [*key, value]
        if op == "exists":
            return f"{column} IS NOT NULL", key
        length = len(value)
        # PostgreSQL: LIKE with the prefix, which the column's varchar_pattern_ops index (Django makes one beside
        # every unique or indexed CharField) answers. SQLite: substr, since its LIKE ignores case.
        prefix_sql, prefix_params = (f"substr({column}, 1, CAST(%s AS INTEGER)) = %s", [*key, length, value]) \
            if sqlite or key else (f"{column} LIKE %s ESCAPE '\\'", [_like_prefix(value)])
        if op == "prefix":
            if not value:
                return f"{column} IS NOT NULL", key
            return prefix_sql, prefix_params
        find = "instr" if sqlite else "strpos"
        if op == "folder":  # value "" is the root, else "a/b/"
            if not value:
                return f"{find}({column}, '/') = 0", []
            return (f"{prefix_sql} AND {find}(substr({column}, CAST(%s AS INTEGER)), '/') = 0",
                    [*prefix_params, length + 1])
        if op == "filename":
            tail = f"substr({column}, -%s)" if sqlite else f"right({column}, CAST(%s AS INTEGER))"
            return f"({column} = %s OR {tail} = %s)", [value, length + 1, "/" + value]
        raise TypeError(f"Not a column operator: {op!r}")

    # Whole statements.

    def page(self, node, *, cursor: Cursor | None, newer: bool, limit: int) -> list[tuple[int, datetime]]:
        part = self.stream(node, cursor=cursor, newer=newer, limit=limit)
        return [(row[0], to_datetime(row[1])) for row in fetch(part.sql, part.params)]

    def count(self, node, *, cap: int | None = None) -> int:
        """How many assets match; with `cap`, counting stops after cap + 1."""
        part = self.stream(node, ordered=False, limit=None if cap is None else cap + 1)
        sql = f"SELECT count(*) FROM ({part.sql}) c"
        params = list(part.params)
        if cap is not None:
            sql = f"SELECT count(*) FROM (SELECT 1 FROM ({part.sql}) c LIMIT %s) c2"
            params.append(cap + 1)
        return fetch(sql, params)[0][0]

    def count_and_facets(self, node, *, exclude: list[int], limit: int, target: int) -> tuple[int, int, list]:
        """In one statement: how many assets of the sample match, and their most common tags counted on a
        smaller sample of about `target` of them (every one when they are fewer). Returns (matches, how many
        buckets the facets saw, [(tag_id, count in that sample)] most common first)."""
        part = self.stream(node, ordered=False)
        k = self.sample_buckets
        params = list(part.params) + [target, k, target, k]
        not_in = ""
        if exclude:
            not_in = f" AND t.tag_id NOT IN ({_placeholders(exclude)})"
            params += exclude
        params.append(limit)
        rows = fetch(
            f"WITH m AS ({part.sql}),"
            f" n AS (SELECT count(*) AS total FROM m),"
            # the first buckets of the sample that hold about `target` matches
            f" e AS (SELECT CASE WHEN total > %s THEN (CAST(%s AS BIGINT) * %s + total - 1) / total ELSE %s END AS k FROM n)"
            f" SELECT -1 AS tag_id, (SELECT total FROM n) AS n"
            f" UNION ALL SELECT -2, (SELECT k FROM e)"
            f" UNION ALL SELECT tag_id, n FROM (SELECT t.tag_id, count(*) AS n FROM {ASSET_TAG} t"
            f"  WHERE t.content_object_id IN (SELECT m.id FROM m, e WHERE {bucket_sql('m.id')} < e.k){not_in}"
            f"  GROUP BY t.tag_id ORDER BY n DESC, t.tag_id LIMIT %s) f",
            params,
        )
        total = next(n for tag_id, n in rows if tag_id == -1)
        buckets = next(n for tag_id, n in rows if tag_id == -2)
        found = sorted(((tag_id, n) for tag_id, n in rows if tag_id >= 0), key=lambda row: (-row[1], row[0]))
        return total, buckets, found


def _intersect(a: Created, b: Created) -> Created:
    starts = [d for d in (a.start, b.start) if d is not None]
    ends = [d for d in (a.end, b.end) if d is not None]
    return Created(max(starts) if starts else None, min(ends) if ends else None)


def asset_count_bound() -> int:
    """At least as many as there are assets: the span of their ids (two primary-key probes)."""
    low, high = fetch(f"SELECT min(id), max(id) FROM {ASSET}", [])[0]
    return 0 if low is None else high - low + 1


def live_tag_counts(tag_ids: list[int]) -> dict[int, int]:
    if not tag_ids:
        return {}
    return dict(fetch(
        f"SELECT tag_id, count(*) FROM {ASSET_TAG} WHERE tag_id IN ({_placeholders(tag_ids)}) GROUP BY tag_id",
        tag_ids,
    ))


# --- Autocomplete.

def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def tags_starting(prefix: str, limit: int) -> list[tuple[int, str, int]]:
    """Tags whose name starts with the prefix (any case), most used first. PostgreSQL walks an index on
    lower(name) text_pattern_ops (search migration 0001)."""
    return fetch(
        f"SELECT id, name, usage_count FROM {TAG} WHERE {_lower_sql()}(name) LIKE %s ESCAPE '\\'"
        f" ORDER BY usage_count DESC, name LIMIT %s",
        [_like_prefix(prefix.lower()), limit],
    )


def people_matching(prefix: str, limit: int) -> list[tuple[int, str, int]]:
    """People whose name, or a word of it, starts with the prefix; with how many photos they are in."""
    lower = _lower_sql()
    like = _like_prefix(prefix.lower())
    return fetch(
        f"SELECT p.id, p.name, (SELECT count(DISTINCT f.asset_id) FROM {FACE} f WHERE f.person_id = p.id) AS n"
        f" FROM {PERSON} p WHERE NOT p.hidden AND ({lower}(p.name) LIKE %s ESCAPE '\\' OR {lower}(p.name) LIKE %s ESCAPE '\\')"
        f" ORDER BY n DESC, p.name LIMIT %s",
        [like, "% " + like, limit],
    )


# --- Upkeep: usage counts and the co-occurrence table.

def cooccurrence_rebuild(*, min_uses: int, per_tag: int, computed_at: datetime) -> int:
    """Replace the co-occurrence table: for each tag with at least min_uses uses, its per_tag most frequent
    companions and how many assets have both. Readers see the old rows until the caller's transaction commits."""
    from .models import TagCooccurrence

    table = TagCooccurrence._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")
        cursor.execute(
            f"INSERT INTO {table} (tag_id, other_id, assets, computed_at)"
            f" SELECT tag_id, other_id, n, %s FROM ("
            f"  SELECT a.tag_id, b.tag_id AS other_id, count(*) AS n,"
            f"   row_number() OVER (PARTITION BY a.tag_id ORDER BY count(*) DESC, b.tag_id) AS rank"
            f"  FROM {ASSET_TAG} a JOIN {ASSET_TAG} b ON b.content_object_id = a.content_object_id"
            f"   AND b.tag_id <> a.tag_id"
            f"  WHERE a.tag_id IN (SELECT id FROM {TAG} WHERE usage_count >= %s)"
            f"  GROUP BY a.tag_id, b.tag_id) ranked WHERE rank <= %s",
            [_db_datetime(computed_at), min_uses, per_tag],
        )
        return cursor.rowcount


# --- The Search API's other orders and its aggregations (search.selectors.expression_search).

def sorted_page(compiler: Compiler, node, *, keys: list[tuple[str, str]], after: list | None,
                limit: int) -> list[tuple]:
    """A page of the query's assets in another order than created_at alone: keys are (column, "asc"|"desc")
    with the id appended as the last key (in the last key's direction), and `after` the keyset values (keys then
    id) of the last asset shown. Returns rows of (id, *key values)."""
    if isinstance(node, Nothing):
        return []
    a = compiler.alias("a")
    for column, _ in keys:
        if column not in ("created_at", *ASSET_COLUMNS) or column in ("aspect_ratio", "context"):
            raise TypeError(f"Not a sort column: {column!r}")
    keys = [*keys, ("id", keys[-1][1])]
    where, params = [], []
    if node is not None and not isinstance(node, Everything):
        part = compiler.stream(node, ordered=False)
        # Unfenced: the planner may walk the order's index and probe the set, or read the set and sort it.
        where.append(f"{a}.id IN (SELECT id FROM ({part.sql}) {compiler.alias('m')})")
        params += part.params
    if after is not None and len({direction for _, direction in keys}) == 1:
        # One direction: a row comparison, which the first column's index bounds.
        sign = ">" if keys[0][1] == "asc" else "<"
        where.append(f"({', '.join(f'{a}.{c}' for c, _ in keys)}) {sign} ({', '.join(['%s'] * len(keys))})")
        params += [_keyset_param(c, v) for (c, _), v in zip(keys, after)]
        where.append(f"{a}.{keys[0][0]} {sign}= %s")
        params.append(_keyset_param(keys[0][0], after[0]))
    elif after is not None:
        branches = []
        for index, (column, direction) in enumerate(keys):
            terms = [f"{a}.{c} = %s" for c, _ in keys[:index]]
            terms.append(f"{a}.{column} {'>' if direction == 'asc' else '<'} %s")
            branches.append("(" + " AND ".join(terms) + ")")
            params += [_keyset_param(c, v) for (c, _), v in zip(keys[:index + 1], after)]
        where.append("(" + " OR ".join(branches) + ")")
    condition = f" WHERE {' AND '.join(where)}" if where else ""
    order = ", ".join(f"{a}.{column} {direction.upper()}" for column, direction in keys)
    columns = ", ".join(f"{a}.{column}" for column, _ in keys[:-1])
    rows = fetch(f"SELECT {a}.id, {columns} FROM {ASSET} {a}{condition} ORDER BY {order} LIMIT %s",
                 [*params, limit])
    return [(row[0], *(to_datetime(v) if c == "created_at" else v for (c, _), v in zip(keys, row[1:])))
            for row in rows]


def _keyset_param(column: str, value):
    return _db_datetime(value) if column == "created_at" else value


def aggregate_formats(compiler: Compiler, node) -> list[tuple[str, int]]:
    """(format, how many matches) for every format among the query's assets."""
    if isinstance(node, Nothing):
        return []
    a = compiler.alias("a")
    where, params = "", []
    if node is not None and not isinstance(node, Everything):
        part = compiler.stream(node, ordered=False)
        where, params = f" WHERE {a}.id IN (SELECT id FROM ({part.sql}) {compiler.alias('m')})", part.params
    return fetch(f"SELECT {a}.format, count(*) FROM {ASSET} {a}{where} GROUP BY {a}.format"
                 f" ORDER BY count(*) DESC, {a}.format", params)


def aggregate_tags(compiler: Compiler, node, *, limit: int) -> list[tuple[str, int]]:
    """The query's assets' `limit` most common tags, with how many of them have each."""
    if isinstance(node, Nothing):
        return []
    t, where, params = compiler.alias("t"), "", []
    if node is not None and not isinstance(node, Everything):
        part = compiler.stream(node, ordered=False)
        where, params = f" WHERE {t}.content_object_id IN (SELECT id FROM ({part.sql}) {compiler.alias('m')})", \
            part.params
    return fetch(f"SELECT g.name, n FROM (SELECT {t}.tag_id, count(*) AS n FROM {ASSET_TAG} {t}{where}"
                 f" GROUP BY {t}.tag_id ORDER BY n DESC, {t}.tag_id LIMIT %s) c JOIN {TAG} g ON g.id = c.tag_id"
                 f" ORDER BY n DESC, g.name", [*params, limit])
