"""Benchmark: the Search API (POST /v1_1/<cloud>/resources/search) on PostgreSQL with a seeded library, beside
the search page's own results SQL for the same queries (bench/search.py's measure).

Run (a separate database, never the test one):
    createdb -h 127.0.0.1 -U postgres medialib_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/medialib_bench
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py seed_library --assets 1000000
    .venv/bin/python bench/search_api.py [--runs 100] [--only "tag,NOT"] [--explain]

Requests go through Django's test client in this process (URL routing, middleware, HTTP Basic auth, the rate
limit's cache, JSON in and out), as the SDK sends them (a JSON body), with max_results 50. Per query class,
several tags of the same frequency class in turn, warm cache, one client:
- "API": the server time of the whole request (parse, resolve, the page of ids, the assets, total_count, JSON);
- "API results SQL": the one statement that finds the page's ids, as expression_search runs it;
- "page results SQL": the search page's statement for the same query in its own language (bench/search.py's
  "results SQL"), where the page can say it;
- "total_count": the statements that count (exact up to SEARCH_EXACT_COUNT_MAX, then sampled).
"""
import argparse
import base64
import importlib.util
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("MEDIALIB_API_KEY_RATE_LIMIT", "1000000")
_spec = importlib.util.spec_from_file_location("bench_search", ROOT / "bench" / "search.py")
bench_search = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_search)  # sets up Django on the DATABASE_URL (PostgreSQL only)

import django  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from medialib.api.services import api_key_create  # noqa: E402
from medialib.models import Asset  # noqa: E402
from search import expressions, selectors, sql  # noqa: E402
from search import query as q  # noqa: E402

Timer, percentiles = bench_search.Timer, bench_search.percentiles
URL = f"/v1_1/{settings.MEDIALIB_CLOUD_NAME}/resources/search"
SIZE = 50


def quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def work(total: int) -> dict:
    """{class: [(API params, the page's query text or None, page number)]}."""
    tags = bench_search.classes(total)
    common = [t.strip('"') for t in tags["common tag"]]
    mid = [t.strip('"') for t in tags["mid tag"]]
    span = Asset.objects.aggregate(first=django.db.models.Min("created_at"), last=django.db.models.Max("created_at"))
    middle = span["first"] + (span["last"] - span["first"]) / 2
    months = [(middle + django.utils.timezone.timedelta(days=31 * i)) for i in (-2, 0, 2)]
    runs = Asset.objects.filter(public_id__startswith="seed/").values_list("public_id", flat=True)[:1]
    run = runs[0].split("/")[1] if runs else "1"
    # 11,111, 1,111, 111 and 111,111 public_ids at a million (seed/<run>/<n>: n from 1 up, in upload order)
    prefixes = [f"seed/{run}/{n}" for n in (12, 345, 6789, 5)]
    pairs = list(zip(common, common[1:] + common[:1]))
    return {
        "tag": [({"expression": f"tags={quoted(t)}"}, q.quote(t), 1) for t in common],
        "tag AND a date range": [
            ({"expression": f"tags={quoted(t)} AND uploaded_at:[{m:%Y-%m-%d} TO {m + django.utils.timezone.timedelta(days=30):%Y-%m-%d}]"},
             f"{q.quote(t)} date:{m:%Y-%m-%d}..{m + django.utils.timezone.timedelta(days=30):%Y-%m-%d}", 1)
            for t, m in zip(common, months * 4)],
        "OR": [({"expression": f"tags={quoted(a)} OR tags={quoted(b)}"}, f"{q.quote(a)} OR {q.quote(b)}", 1)
               for a, b in zip(mid, mid[1:] + mid[:1])],
        "NOT": [({"expression": f"tags={quoted(a)} AND NOT tags={quoted(b)}"}, f"{q.quote(a)} -{q.quote(b)}", 1)
                for a, b in pairs],
        "prefix": [({"expression": f"public_id:{p}*"}, None, 1) for p in prefixes],
        "bytes range": [({"expression": f"bytes:[{low}mb TO {low + 1}mb]"}, None, 1) for low in (1, 2, 3)],
        "tag, sorted by created_at asc": [({"expression": f"tags={quoted(t)}", "sort_by": [{"created_at": "asc"}]},
                                           None, 1) for t in common],
        "tag, sorted by public_id": [({"expression": f"tags={quoted(t)}", "sort_by": [{"public_id": "asc"}]},
                                      None, 1) for t in common],
        "tag, page 10 (next_cursor)": [({"expression": f"tags={quoted(t)}"}, q.quote(t), 10) for t in common],
        "tag, sorted by public_id, page 10": [
            ({"expression": f"tags={quoted(t)}", "sort_by": [{"public_id": "asc"}]}, None, 10) for t in common],
    }


def basic(key) -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{key.key}:{key.secret}".encode()).decode()}


def post(client, key, params) -> dict:
    response = client.post(URL, json.dumps(params), content_type="application/json", secure=True, **basic(key))
    assert response.status_code == 200, (params, response.content[:300])
    return response.json()


def cursor_for(client, key, params, page: int) -> str | None:
    """The next_cursor that opens page `page` (walked once, untimed)."""
    cursor = None
    for _ in range(page - 1):
        data = post(client, key, {**params, "max_results": SIZE, **({"next_cursor": cursor} if cursor else {})})
        cursor = data.get("next_cursor")
        if not cursor:
            return None
    return cursor


def api_results_statement(params, cursor):
    """The statement expression_search runs for the page of ids (sql.Compiler.page / sql.sorted_page)."""
    captured = []
    original = sql.fetch

    def capture(statement, values):
        captured.append((statement, values))
        return original(statement, values)

    node = expressions.parse(params["expression"])
    sort = [next(iter(item.items())) for item in params.get("sort_by", [])]
    sql.fetch = capture
    try:
        selectors.expression_search(node=node, sort=sort, limit=SIZE, cursor=cursor)
    finally:
        sql.fetch = original
    # the first statement ordered with a LIMIT is the page (the resolution reads names first, the counts follow)
    return next((s, v) for s, v in captured if " ORDER BY " in s and s.rstrip().endswith("LIMIT %s"))


def page_results_statement(text, cursor_token):
    node, _ = selectors.resolve(q.parse(text))
    start = sql.Cursor.from_token(cursor_token) if cursor_token else None
    part = sql.Compiler().stream(node, cursor=start, limit=SIZE + 1)
    return part.sql, part.params


def timed(statement, values) -> float:
    timer = Timer()
    with connection.execute_wrapper(timer):
        with connection.cursor() as cursor:
            cursor.execute(statement, values)
            cursor.fetchall()
    return timer.total


def page_cursor_token(text, page):
    """The page's own keyset cursor for page `page` (as bench/search.py's cursor_of_page)."""
    return bench_search.cursor_of_page(text, page, SIZE)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--only", default="")
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    total = Asset.objects.count()
    print(f"Library: {total:,} assets; max_results {SIZE}; {args.runs} runs per class; "
          f"PostgreSQL {connection.pg_version // 10000}")
    user, _ = get_user_model().objects.get_or_create(username="bench-search-api")
    key = api_key_create(name="bench", user=user)
    client = Client()
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    rows = []
    for name, queries in work(total).items():
        if only and name not in only:
            continue
        prepared = []
        for params, page_text, page in queries:
            cursor = cursor_for(client, key, params, page) if page > 1 else None
            if page > 1 and not cursor:
                continue
            api_statement = api_results_statement(params, cursor)
            page_statement = None
            if page_text is not None:
                token = page_cursor_token(page_text, page) if page > 1 else None
                page_statement = page_results_statement(page_text, token)
            prepared.append((params, cursor, api_statement, page_statement))
        if not prepared:
            print(f"{name}: nothing to run in this library")
            continue
        server, db, api_sql, page_sql, counts = [], [], [], [], []
        for run in range(args.runs + len(prepared)):  # the first round warms the cache, untimed
            params, cursor, api_statement, page_statement = prepared[run % len(prepared)]
            body = {**params, "max_results": SIZE, **({"next_cursor": cursor} if cursor else {})}
            timer = Timer()
            started = time.perf_counter()
            with connection.execute_wrapper(timer):
                data = post(client, key, body)
            elapsed = time.perf_counter() - started
            # After the request, Django has closed its connection (CONN_MAX_AGE=0, as in the default settings): a
            # first statement on the new one pays for cold catalog caches, so an untimed one goes first, and the
            # two statements take turns at going first.
            timed("SELECT 1 FROM medialib_asset LIMIT 1", [])
            if run % 2 and page_statement:
                page_seconds, api_seconds = timed(*page_statement), timed(*api_statement)
            else:
                api_seconds = timed(*api_statement)
                page_seconds = timed(*page_statement) if page_statement else None
            if run >= len(prepared):
                server.append(elapsed)
                db.append(timer.total)
                api_sql.append(api_seconds)
                if page_seconds is not None:
                    page_sql.append(page_seconds)
                counts.append(sum(seconds for seconds, statement in timer.statements if "count(*)" in statement))
        row = (name, percentiles(server), percentiles(db), percentiles(api_sql),
               percentiles(page_sql) if page_sql else None, percentiles(counts), prepared[0][0])
        rows.append(row)
        page_text = f"{row[4][0]:.1f}/{row[4][1]:.1f} ms" if row[4] else "–"
        print(f"{name}: API {row[1][0]:.1f}/{row[1][1]:.1f} ms (db {row[2][0]:.1f}/{row[2][1]:.1f}), API results SQL "
              f"{row[3][0]:.1f}/{row[3][1]:.1f} ms, page results SQL {page_text}, total_count "
              f"{row[5][0]:.1f}/{row[5][1]:.1f} ms; e.g. {json.dumps(row[6])[:120]}")
        if args.explain:
            statement, values = prepared[0][2]
            print(f"\n-- {name}\n{statement}\n{bench_search.explain(statement, values)}\n")

    print("\n| query | API p50 / p95 | of which db | API results SQL | page results SQL | total_count |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, server, db, api_sql, page_sql, counts, _ in rows:
        page_text = f"{page_sql[0]:.1f} / {page_sql[1]:.1f} ms" if page_sql else "–"
        print(f"| {name} | {server[0]:.1f} / {server[1]:.1f} ms | {db[0]:.1f} / {db[1]:.1f} ms | "
              f"{api_sql[0]:.1f} / {api_sql[1]:.1f} ms | {page_text} | {counts[0]:.1f} / {counts[1]:.1f} ms |")


if __name__ == "__main__":
    main()
