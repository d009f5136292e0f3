"""PostgreSQL only: the query shapes SEARCH.md measured (index walks, fenced NOT), and the time limit."""
import pytest
from django.db import connection

from search import query as q
from search import selectors, sql

pytestmark = [pytest.mark.django_db, pytest.mark.skipif("connection.vendor != 'postgresql'")]


def plan(text, compiler=None, sort=True, **kwargs) -> str:
    node, _ = selectors.resolve(q.parse(text))
    part = (compiler or sql.Compiler()).stream(node, **{"limit": 49, **kwargs})
    with connection.cursor() as cursor:
        # Statistics of this library, not those that autovacuum took of an earlier test's rows in the same database
        # (or none at all): the plans must not depend on which tests ran before (pytest-xdist changes that).
        cursor.execute("ANALYZE")
        # The test library is tiny, so a sequential scan would win; ask what the indexes allow.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        if not sort:  # and for a tiny table a sort wins over an ordered walk: is one possible?
            cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("EXPLAIN (COSTS OFF) " + part.sql, part.params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_a_tag_walks_its_index_newest_first_from_the_cursor(library):
    cursor = sql.Cursor(created_at=library["dog-cat"].created_at, id=library["dog-cat"].pk)
    text = plan("dog", cursor=cursor)
    assert "Index Only Scan using assettag_tag_newest" in text
    assert "Sort" not in text  # the index gives the order
    assert "ROW(asset_created_at, content_object_id) < ROW(" in text  # the keyset is an index condition


def test_and_is_driven_by_the_rarest_tag(library):
    node, _ = selectors.resolve(q.parse("dog park"))  # park (1 asset) is rarer than dog (3)
    part = sql.Compiler().stream(node, limit=49)
    assert part.sql.startswith("SELECT t1.content_object_id AS id, t1.asset_created_at AS created_at"
                               " FROM medialib_assettag t1 WHERE t1.tag_id = %s AND EXISTS (")
    assert part.params[0] == node.children[1].ids[0]


def test_a_person_s_photos_are_collected_then_sorted(library):
    text = plan('person:"Barack Obama"')
    assert "Sort" in text and "Index Cond: (id = f2.asset_id)" in text  # the fence holds: probes by id, no walk
    assert "search_asset_newest" not in text


def test_not_is_a_fenced_probe_never_an_anti_join(library):
    text = plan("dog -cat")
    assert "Anti Join" not in text
    assert "SubPlan" in text
    assert "assettag_unique_per_asset" in text


def test_and_probes_each_candidate_of_the_rarest_tag_never_hashes_the_other(library):
    text = plan("park dog")  # park drives; dog is checked per candidate
    assert "Hash" not in text
    assert "SubPlan" in text and "assettag_unique_per_asset" in text


def test_one_source_walks_its_own_index_newest_first(library):
    text = plan("source:aws_rek_face")
    assert "assettag_source_newest" in text and "Unique" in text  # each asset once, in the index's order
    assert "Sort" not in text


def test_or_is_a_union_of_each_branch_s_first_page(library):
    text = plan("dog OR cat")
    assert text.count("Limit") == 3  # each branch's and the union's
    assert "Sort" in text  # of at most 2 x 49 rows


def test_the_asset_walk_uses_the_created_at_index(library):
    assert "search_asset_newest" in plan("-dog", sort=False)


def test_a_sample_reads_only_the_sampled_range_of_each_tag(library):
    # the unordered walk that counts and finds facets: no date needed, so the bucket index alone answers
    text = plan("dog -cat", compiler=sql.Compiler(sample_buckets=32), ordered=False, limit=None)
    assert text.count("search_assettag_tag_bucket") == 2  # the driver's and the excluded tag's sampled rows
    assert text.count("/ 4194304)) < ") >= 2 and "Index Cond: ((tag_id = " in text
    assert "OFFSET" not in text and "assettag_tag_newest" not in text


def test_in_a_sample_only_tag_checks_are_left_free_to_hash(library):
    node, _ = selectors.resolve(q.parse("dog -cat -source:aws_rek_face"))
    part = sql.Compiler(sample_buckets=32).stream(node, ordered=False)
    cat, source = part.sql.split("NOT (EXISTS")[1:]
    assert "/ 4194304) < %s" in cat and "OFFSET 0" not in cat  # the tag's sampled range, free to hash
    assert "OFFSET 0" in source  # a source on its own has no such range: still probed


def test_search_statements_run_without_parallel_workers(library):
    with selectors._time_limit():
        with connection.cursor() as cursor:
            cursor.execute("SHOW max_parallel_workers_per_gather")
            assert cursor.fetchone()[0] == "0"
            cursor.execute("SHOW statement_timeout")
            assert cursor.fetchone()[0] == "5s"


def test_a_search_that_runs_too_long_is_stopped_with_a_message(library, settings, monkeypatch):
    settings.SEARCH_STATEMENT_TIMEOUT_MS = 50
    original = sql.fetch

    def slow(statement, params):
        original("SELECT pg_sleep(0.5)", [])
        return original(statement, params)

    monkeypatch.setattr(sql, "fetch", slow)
    page = selectors.search(text="dog")
    assert page.error == "This search took too long. Add a tag or a date to narrow it."
    monkeypatch.setattr(sql, "fetch", original)
    assert len(selectors.search(text="dog").assets) == 3  # the connection is fine afterwards
