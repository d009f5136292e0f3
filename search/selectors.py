"""Reads of search: a page of results for a query (typed or built) with its count and facets; autocomplete; the
Search API's pages (expression_search: Cloudinary's orders, keyset cursors, total_count, aggregations)."""
from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db import OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from medialib.models import Asset
from medialib.selectors import tiles_by_ids, visible_uploader_ids
from tagging.selectors import analyses_prefetch

from . import conf, sql
from . import query as q
from .models import TagCooccurrence


class SearchTooSlow(Exception):
    pass


@dataclass
class Count:
    value: int
    kind: str  # "exact"; "estimate" (from a sample or the co-occurrence table)

    @property
    def approximate(self) -> bool:
        return self.kind != "exact"


@dataclass
class Facet:
    tag_id: int
    name: str
    count: int
    approximate: bool
    narrow: str  # the query with this tag added
    exclude: str  # the query with this tag left out


@dataclass
class SearchPage:
    text: str = ""
    node: object = None
    error: str = ""
    error_position: int | None = None
    notes: list[str] = field(default_factory=list)
    assets: list[Asset] = field(default_factory=list)
    next_cursor: str | None = None
    prev_cursor: str | None = None
    count: Count | None = None
    facets: list[Facet] = field(default_factory=list)
    facets_kind: str = ""  # "exact", "sample", "precomputed"
    facets_computed_at: datetime | None = None
    sample_every: int = 1  # the facets were counted on about one match in this many

    @property
    def query(self) -> str:
        """The query in canonical form (what the links carry)."""
        return q.unparse(self.node)


def search(*, text: str, cursor: str | None = None, newer: bool = False, limit: int = 48,
           facets: bool = True, user=None) -> SearchPage:
    """The page of results for a typed query; a malformed one comes back with `error` set, never raised."""
    try:
        node = q.parse(text)
    except q.QueryError as exc:
        return SearchPage(text=text, error=exc.message, error_position=exc.position)
    return query_page(node=node, text=text, cursor=cursor, newer=newer, limit=limit, facets=facets, user=user)


def query_page(*, node, text: str = "", cursor: str | None = None, newer: bool = False, limit: int = 48,
               facets: bool = True, user=None) -> SearchPage:
    """The page of results for a query AST (the search page, the gallery's filters, later the API), among the
    assets the user may see (medialib.selectors.visible_uploader_ids; None: all)."""
    page = SearchPage(text=text, node=node)
    try:
        with _time_limit():
            uploaders = visible_uploader_ids(user)
            resolved, page.notes = resolve(node, uploaders=uploaders)
            resolved = _visible_only(resolved, uploaders)
            compiler = sql.Compiler(estimate_cap=conf.get("SEARCH_EXACT_COUNT_MAX"))
            start = sql.Cursor.from_token(cursor) if cursor else None
            rows = compiler.page(resolved, cursor=start, newer=newer and start is not None, limit=limit + 1)
            more = len(rows) > limit
            rows = rows[:limit]
            if newer and start is not None:
                rows.reverse()
                page.prev_cursor = _token(rows[0]) if rows and more else None
                page.next_cursor = _token(rows[-1]) if rows else None
            else:
                page.next_cursor = _token(rows[-1]) if rows and more else None
                page.prev_cursor = _token(rows[0]) if rows and start is not None else None
            tiles = tiles_by_ids(ids=[row[0] for row in rows], prefetch=[analyses_prefetch(for_tiles=True)],
                                 user=user)
            by_id = {asset.pk: asset for asset in tiles}
            page.assets = [by_id[row[0]] for row in rows if row[0] in by_id]
            if facets:
                complete = start is None and not more  # the first page holds every match
                _count_and_facets(page, compiler, resolved, known=len(rows) if complete else None)
    except SearchTooSlow:
        page.error = "This search took too long. Add a tag or a date to narrow it."
    return page


def _visible_only(resolved, uploaders):
    """The query narrowed to those uploaders' assets: a term like `uploader:`, so counts and facets follow."""
    if uploaders is None or isinstance(resolved, sql.Nothing):
        return resolved
    if not uploaders:
        return sql.Nothing()
    mine = sql.AssetsWhere("uploader", tuple(sorted(uploaders)))
    return mine if isinstance(resolved, sql.Everything) else q.all_of(resolved, mine)


def _token(row) -> str:
    return sql.Cursor(created_at=row[1], id=row[0]).token()


@contextmanager
def _time_limit():
    """On PostgreSQL, stop the search's statements after SEARCH_STATEMENT_TIMEOUT_MS, and run them without
    parallel workers."""
    if connection.vendor != "postgresql":
        yield
        return
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                # No parallel workers either: a search's statements take milliseconds, and starting workers for
                # them cost more than it saved (a sample at 100,000 photos: a parallel scan of every asset,
                # 10 ms, rather than the bucket index's range, 5 ms).
                cursor.execute("SELECT set_config('statement_timeout', %s, true),"
                               " set_config('max_parallel_workers_per_gather', '0', true)",
                               [str(conf.get("SEARCH_STATEMENT_TIMEOUT_MS"))])
            yield
    except OperationalError as exc:
        if type(exc.__cause__).__name__ == "QueryCanceled":
            raise SearchTooSlow() from exc
        raise


# --- Names to ids

def resolve(node, *, uploaders: tuple[int, ...] | None = None) -> tuple[object, list[str]]:
    """The query with names replaced by ids (sql.TagIds, ...), and notes on names that match nothing.

    With `uploaders` (MEDIALIB_VISIBILITY=private), a name only on other people's photos matches nothing, with
    the same note as a name nobody has: the notes never tell what others' photos hold.
    """
    if node is None:
        return sql.Everything(), []
    leaves = q.leaves(node)
    tags = sql.tags_by_names([leaf.name for leaf in leaves if isinstance(leaf, q.Tag)])
    people = sql.people_by_names([leaf.name for leaf in leaves if isinstance(leaf, q.Person)])
    uploader_names = {leaf.name.lower() for leaf in leaves if isinstance(leaf, q.Uploader)}
    users: dict[str, list[int]] = {}
    if uploader_names:
        condition = Q()
        for name in uploader_names:
            condition |= Q(username__iexact=name)
        for pk, username in get_user_model().objects.filter(condition).values_list("pk", "username"):
            users.setdefault(username.lower(), []).append(pk)
    if uploaders is not None:
        tags, people, users = _among_visible(tags, people, users, uploaders)
    notes: list[str] = []

    def note(text):
        if text not in notes:
            notes.append(text)

    def walk(n):
        if isinstance(n, q.Tag):
            found = tags.get(n.name.lower())
            if not found:
                note(f"No photo has the tag “{n.name}”.")
                return sql.Nothing()
            return sql.TagIds(tuple(sorted(row[0] for row in found)), sum(row[2] for row in found),
                              n.source, n.confidence)
        if isinstance(n, q.Person):
            found = people.get(n.name.lower())
            if not found:
                note(f"Nobody called “{n.name}” is known here; see People.")
                return sql.Nothing()
            return sql.AssetsWhere("person", tuple(sorted(row[0] for row in found)))
        if isinstance(n, q.Uploader):
            found = users.get(n.name.lower())
            if not found:
                note(f"There is no user “{n.name}”.")
                return sql.Nothing()
            return sql.AssetsWhere("uploader", tuple(sorted(found)))
        if isinstance(n, q.Status):
            return sql.AssetsWhere("status", (n.value,))
        if isinstance(n, q.AnyTag):
            return sql.AnyTagWhere(n.source, n.confidence)
        if isinstance(n, (sql.AssetColumn, sql.Created, sql.Everything, sql.Nothing)):
            return n  # already resolved: the Search API's conditions on the asset itself (search.expressions)
        if isinstance(n, q.DateRange):
            end = n.end + timedelta(days=1) if n.end and n.end < date.max else None
            return sql.Created(_day_start(n.start), _day_start(end))
        if isinstance(n, q.Not):
            child = walk(n.child)
            if isinstance(child, sql.Nothing):
                return sql.Everything()
            if isinstance(child, sql.Everything):
                return sql.Nothing()
            return q.Not(child)
        if isinstance(n, q.And):
            children = [walk(c) for c in n.children]
            if any(isinstance(c, sql.Nothing) for c in children):
                return sql.Nothing()
            children = [c for c in children if not isinstance(c, sql.Everything)]
            return q.all_of(*children) or sql.Everything()
        if isinstance(n, q.Or):
            children = [walk(c) for c in n.children]
            if any(isinstance(c, sql.Everything) for c in children):
                return sql.Everything()
            children = [c for c in children if not isinstance(c, sql.Nothing)]
            return q.any_of(*children) or sql.Nothing()
        raise TypeError(f"Not a query node: {n!r}")

    return walk(node), notes


def _among_visible(tags: dict, people: dict, users: dict, uploaders: tuple[int, ...]) -> tuple[dict, dict, dict]:
    """The resolved names, keeping only tags and people on those uploaders' photos, and those uploaders."""
    from medialib.models import AssetTag
    from tagging.models import Face

    tag_ids = [row[0] for rows in tags.values() for row in rows]
    on_visible = set(AssetTag.objects.filter(tag_id__in=tag_ids, content_object__uploaded_by__in=uploaders)
                     .values_list("tag_id", flat=True).distinct()) if tag_ids else set()
    person_ids = [row[0] for rows in people.values() for row in rows]
    seen = set(Face.objects.filter(person_id__in=person_ids, asset__uploaded_by__in=uploaders)
               .values_list("person_id", flat=True).distinct()) if person_ids else set()

    def keep(found: dict, allowed) -> dict:
        kept = {name: [row for row in rows if allowed(row)] for name, rows in found.items()}
        return {name: rows for name, rows in kept.items() if rows}

    return (keep(tags, lambda row: row[0] in on_visible), keep(people, lambda row: row[0] in seen),
            keep(users, lambda pk: pk in uploaders))


def _day_start(day) -> datetime | None:
    if day is None:
        return None
    return timezone.make_aware(datetime.combine(day, time.min))


def _positive_tag_ids(node) -> list[int]:
    if isinstance(node, sql.TagIds):
        return list(node.ids)
    if isinstance(node, (q.And, q.Or)):
        return [i for child in node.children for i in _positive_tag_ids(child)]
    return []


def _checks_any_tag(node) -> bool:
    if isinstance(node, sql.AnyTagWhere):
        return True
    if isinstance(node, q.Not):
        return _checks_any_tag(node.child)
    if isinstance(node, (q.And, q.Or)):
        return any(_checks_any_tag(child) for child in node.children)
    return False


def _plain_tag(node) -> bool:
    return isinstance(node, sql.TagIds) and len(node.ids) == 1 and not node.source and not node.confidence


# --- Counts and facets: exact where cheap, precomputed for popular tags, sampled (and said so) otherwise.

def _count_and_facets(page: SearchPage, compiler: sql.Compiler, resolved, *, known: int | None) -> None:
    """Count exactly when the candidates are few (or the first page held them all), read usage_count or the
    co-occurrence table when they are many, otherwise estimate from a sample; same for the facets."""
    if isinstance(resolved, sql.Nothing):
        page.count = Count(0, "exact")
        return
    limit, target = conf.get("SEARCH_FACETS"), conf.get("SEARCH_SAMPLE_SIZE")
    exact_max = conf.get("SEARCH_EXACT_COUNT_MAX")
    estimate = compiler.estimate(resolved, unknown_above_cap=True)
    if known is None and estimate > exact_max:
        estimate = min(estimate, compiler.estimate_dated(resolved), sql.asset_count_bound())

    count = Count(known, "exact") if known is not None else None
    if count is None and _plain_tag(resolved) and resolved.estimate > exact_max:
        count = Count(resolved.estimate, "exact")  # usage_count, kept current in batches
    if count is None and estimate > exact_max and isinstance(resolved, q.And) and len(resolved.children) == 2 \
            and all(_plain_tag(child) for child in resolved.children):
        first, second = (child.ids[0] for child in resolved.children)
        pair = list(TagCooccurrence.objects.filter(Q(tag_id=first, other_id=second) | Q(tag_id=second, other_id=first))
                    .values_list("assets", flat=True)[:1])
        if pair:
            count = Count(pair[0], "estimate")

    if _plain_tag(resolved) and known is None:
        rows = list(TagCooccurrence.objects.filter(tag_id=resolved.ids[0]).select_related("other")
                    .order_by("-assets", "other_id")[:limit])
        if rows:
            page.count = count or Count(compiler.count(resolved), "exact")
            page.facets_kind = "precomputed"
            page.facets_computed_at = rows[0].computed_at
            page.facets = [_facet(page.node, row.other_id, row.other.name, row.assets, False) for row in rows]
            return

    exclude = _positive_tag_ids(resolved)
    # Few candidates: walk them all (an exact count) and sample only the facets. Many: walk a sample of about
    # SEARCH_EXACT_COUNT_MAX of them (sql.SAMPLE_BUCKETS), checking the other terms on that sample only. A
    # selective query then has fewer matches in its sample: its counts are rougher, and marked so, rather than
    # its page slower.
    buckets = sql.SAMPLE_BUCKETS
    if known is None and estimate > exact_max:
        # A term like source:manual on its own is checked by reading each candidate's tag rows from the table
        # (about 20 µs each, a tag's check is 3 µs): such a walk gets a smaller sample.
        budget = exact_max // 8 if _checks_any_tag(resolved) else exact_max
        buckets = max(1, min(sql.SAMPLE_BUCKETS, math.ceil(sql.SAMPLE_BUCKETS * budget / estimate)))
    sampler = compiler.sampling(buckets)
    total, facet_buckets, found = sampler.count_and_facets(resolved, exclude=exclude, limit=limit, target=target)
    page.sample_every = round(sql.SAMPLE_BUCKETS / facet_buckets)
    page.facets_kind = "sample" if facet_buckets < sql.SAMPLE_BUCKETS else "exact"
    page.facets = _facets(page.node, found, sql.SAMPLE_BUCKETS / facet_buckets)
    if count is None:
        sampled = buckets < sql.SAMPLE_BUCKETS
        count = Count(round(total * sql.SAMPLE_BUCKETS / buckets), "estimate" if sampled else "exact")
    page.count = count


def _facets(node, found, scale: float) -> list[Facet]:
    """Facets from counts in a sample of 1 / scale of the matches."""
    from medialib.models import Tag

    names = dict(Tag.objects.filter(pk__in=[tag_id for tag_id, _ in found]).values_list("pk", "name"))
    return [_facet(node, tag_id, names[tag_id], round(n * scale), scale > 1) for tag_id, n in found
            if tag_id in names]


def _facet(node, tag_id: int, name: str, count: int, approximate: bool) -> Facet:
    tag = q.Tag(name)
    return Facet(tag_id=tag_id, name=name, count=count, approximate=approximate,
                 narrow=q.unparse(q.all_of(node, tag)), exclude=q.unparse(q.all_of(node, q.Not(tag))))


def popular_tags(*, limit: int = 20, user=None) -> list[tuple[str, int]]:
    """The most used tags (on the assets the user may see): where the empty search page suggests to start."""
    from django.db.models import Count as Counted

    from medialib.models import AssetTag, Tag

    uploaders = visible_uploader_ids(user)
    if uploaders is not None:  # counted live on their own photos: usage_count is the whole library's
        return list(AssetTag.objects.filter(content_object__uploaded_by__in=uploaders).values("tag__name")
                    .annotate(n=Counted("pk")).order_by("-n", "tag__name").values_list("tag__name", "n")[:limit])
    return list(Tag.objects.filter(usage_count__gt=0).order_by("-usage_count", "name")
                .values_list("name", "usage_count")[:limit])


# --- Autocomplete

def suggestions(*, text: str, kind: str = "", user=None) -> list[dict]:
    """Tags and people whose name starts with what is being typed, most used first, with their counts (on the
    assets the user may see: a name only on others' photos is not suggested)."""
    prefix = " ".join((text or "").replace("\x00", "").split())[:100]
    if not prefix:
        return []
    limit = conf.get("SEARCH_SUGGESTIONS")
    uploaders = visible_uploader_ids(user)
    if uploaders is not None:
        return _suggestions_among(prefix, kind, limit, uploaders)
    found: list[dict] = []
    if kind in ("", "person"):
        for _, name, count in sql.people_matching(prefix, limit if kind else 3):
            found.append({"kind": "person", "name": name, "count": count, "insert": "person:" + q.quote(name)})
    if kind in ("", "tag"):
        tags = sql.tags_starting(prefix, limit)
        # usage_count is refreshed in batches: a tag that is new or rare is counted live (cheap, and exact).
        live = sql.live_tag_counts([tag_id for tag_id, _, usage in tags if usage < 1000])
        for tag_id, name, usage in tags:
            count = live.get(tag_id, 0) if usage < 1000 else usage
            if count:
                found.append({"kind": "tag", "name": name, "count": count, "insert": q.quote(name)})
    return found[:limit]


def _suggestions_among(prefix: str, kind: str, limit: int, uploaders: tuple[int, ...]) -> list[dict]:
    """suggestions() counted live on those uploaders' assets (MEDIALIB_VISIBILITY=private)."""
    from django.db.models import Count as Counted

    from medialib.models import AssetTag
    from tagging.models import Face

    found: list[dict] = []
    if kind in ("", "person"):
        people = (Face.objects.filter(asset__uploaded_by__in=uploaders, person__hidden=False)
                  .filter(Q(person__name__istartswith=prefix) | Q(person__name__icontains=" " + prefix))
                  .values("person__name").annotate(n=Counted("asset", distinct=True))
                  .order_by("-n", "person__name")[:limit if kind else 3])
        for row in people:
            name = row["person__name"]
            found.append({"kind": "person", "name": name, "count": row["n"], "insert": "person:" + q.quote(name)})
    if kind in ("", "tag"):
        tags = (AssetTag.objects.filter(content_object__uploaded_by__in=uploaders, tag__name__istartswith=prefix)
                .values("tag__name").annotate(n=Counted("pk")).order_by("-n", "tag__name")[:limit])
        for row in tags:
            found.append({"kind": "tag", "name": row["tag__name"], "count": row["n"], "insert": q.quote(row["tag__name"])})
    return found[:limit]


# --- The Search API (search.expressions): the same resolution and compiler, in Cloudinary's orders and shapes.

# sort_by fields and the column each orders by.
SORT_FIELDS = {"created_at": "created_at", "uploaded_at": "created_at", "public_id": "public_id",
               "bytes": "bytes", "width": "width", "height": "height", "format": "format",
               "asset_folder": "asset_folder"}
AGGREGATES = ("format", "tags", "resource_type", "type")
AGGREGATE_TAGS_MAX = 50


class ExpressionSearchError(ValueError):
    """A request the search cannot answer as asked (a stale or foreign next_cursor, too broad a prefix)."""


@dataclass
class ExpressionPage:
    assets: list = field(default_factory=list)
    total_count: int = 0
    next_cursor: str | None = None
    aggregations: dict = field(default_factory=dict)


def expression_search(*, node, sort: list[tuple[str, str]], limit: int, cursor: str | None = None,
                      aggregate: tuple[str, ...] = (), with_tags: bool = False, user=None) -> ExpressionPage:
    """A page of the assets the user may see that match an expression's AST (search.expressions.parse), in the
    order `sort` gives ((field of SORT_FIELDS, "asc"|"desc"), ...; created_at desc when empty), after `cursor`
    (a next_cursor it returned), with total_count and the aggregations asked for.

    Sorted by created_at alone it is the search page's own walk (the compiler's keyset on (created_at, id));
    in other orders the same compiled set is paged by a keyset on those columns and the id."""
    import base64
    import json

    from medialib.models import Asset

    keys = [(SORT_FIELDS[name], direction) for name, direction in sort] or [("created_at", "desc")]
    deduped: list = []
    for column, direction in keys:  # created_at and uploaded_at are one column: the first says
        if column not in (c for c, _ in deduped):
            deduped.append((column, direction))
    keys = deduped
    after = None
    if cursor:
        try:
            data = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii") + b"=" * (-len(cursor) % 4)))
            if data["s"] != [list(key) for key in keys] or len(data["k"]) != len(keys) + 1:
                raise ExpressionSearchError("This next_cursor belongs to a search with another sort_by.")
            after = [_cursor_value(column, value) for (column, _), value in zip([*keys, ("id", "")], data["k"])]
        except ExpressionSearchError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeError, OverflowError):
            raise ExpressionSearchError("next_cursor is not one this search returned.") from None
    page = ExpressionPage()
    with _time_limit():
        uploaders = visible_uploader_ids(user)
        resolved, _ = resolve(_tag_prefixes_expanded(node), uploaders=uploaders)
        resolved = _visible_only(resolved, uploaders)
        compiler = sql.Compiler(estimate_cap=conf.get("SEARCH_EXACT_COUNT_MAX"))
        if keys[0][0] == "created_at" and len(keys) == 1:
            start = sql.Cursor(after[0], after[1]) if after else None
            rows = [(row[0], row[1]) for row in compiler.page(resolved, cursor=start, newer=keys[0][1] == "asc",
                                                              limit=limit + 1)]
        else:
            rows = sql.sorted_page(compiler, resolved, keys=keys, after=after, limit=limit + 1)
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            values = [_cursor_text(column, value) for (column, _), value in zip(keys, last[1:])] + [last[0]]
            token = json.dumps({"s": [list(key) for key in keys], "k": values}, separators=(",", ":"))
            page.next_cursor = base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")
        queryset = Asset.objects.filter(pk__in=[row[0] for row in rows])
        if with_tags:
            queryset = queryset.prefetch_related("tagged_items__tag")
        by_id = {asset.pk: asset for asset in queryset}
        page.assets = [by_id[row[0]] for row in rows if row[0] in by_id]
        page.total_count = _match_count(compiler, resolved)
        for name in aggregate:
            if name == "format":
                page.aggregations["format"] = dict(sql.aggregate_formats(compiler, resolved))
            elif name == "tags":
                page.aggregations["tags"] = dict(sql.aggregate_tags(compiler, resolved, limit=AGGREGATE_TAGS_MAX))
            elif name == "resource_type":
                page.aggregations["resource_type"] = {"image": page.total_count} if page.total_count else {}
            elif name == "type":
                page.aggregations["type"] = {"upload": page.total_count} if page.total_count else {}
    return page


def _cursor_text(column: str, value):
    if column == "created_at":
        return sql.Cursor(value, 0).token().partition("_")[0]
    return value


def _cursor_value(column: str, value):
    if column == "created_at":
        return sql.Cursor.from_token(f"{int(value)}_1").created_at
    if column in ("public_id", "format", "asset_folder"):
        if not isinstance(value, str):
            raise TypeError
        return value
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
        raise TypeError
    return value


def _tag_prefixes_expanded(node):
    """tags:do* as the OR of the tags starting with "do" (search.expressions.TagPrefix)."""
    from .expressions import MAX_PREFIX_TAGS, TagPrefix

    if isinstance(node, TagPrefix):
        found = sql.tags_starting(node.prefix, MAX_PREFIX_TAGS + 1)
        if len(found) > MAX_PREFIX_TAGS:
            raise ExpressionSearchError(f"tags:{node.prefix}* matches more than {MAX_PREFIX_TAGS} tags; give more"
                                        " of the name.")
        return q.any_of(*(q.Tag(name) for _, name, _ in found)) or sql.Nothing()
    if isinstance(node, q.Not):
        return q.Not(_tag_prefixes_expanded(node.child))
    if isinstance(node, q.And):
        return q.all_of(*(_tag_prefixes_expanded(child) for child in node.children))
    if isinstance(node, q.Or):
        return q.any_of(*(_tag_prefixes_expanded(child) for child in node.children))
    return node


def _match_count(compiler: sql.Compiler, resolved) -> int:
    """Exact up to SEARCH_EXACT_COUNT_MAX; beyond, as the page counts: a tag's usage_count, else from a sample."""
    if isinstance(resolved, sql.Nothing):
        return 0
    exact_max = conf.get("SEARCH_EXACT_COUNT_MAX")
    found = compiler.count(resolved, cap=exact_max)
    if found <= exact_max:
        return found
    if _plain_tag(resolved):
        return resolved.estimate
    estimate = min(compiler.estimate(resolved, unknown_above_cap=True), compiler.estimate_dated(resolved),
                   sql.asset_count_bound())
    buckets = max(1, min(sql.SAMPLE_BUCKETS, math.ceil(sql.SAMPLE_BUCKETS * exact_max / max(estimate, 1))))
    if buckets >= sql.SAMPLE_BUCKETS:
        return compiler.count(resolved)
    return round(compiler.sampling(buckets).count(resolved) * sql.SAMPLE_BUCKETS / buckets)
