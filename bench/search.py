"""Benchmark: tag search on PostgreSQL with a seeded library, against the database-only figures of SEARCH.md.

Run (a separate database, never the test one):
    createdb -h 127.0.0.1 -U postgres medialib_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/medialib_bench
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py seed_library --assets 100000
    .venv/bin/python bench/search.py [--runs 40] [--explain] [--only "common tag,person"]

For each query class, several tags of the same frequency class in turn (as SEARCH.md measured), warm cache,
one client, in this process through Django's test client (sessions, middleware, template included):
- "results SQL": the database time of the one statement that finds the page's ids (SEARCH.md's figure);
- "page": the server time of the whole response (resolving names, the results query, the assets with their
  tags and renditions, the count and facets, the template), and the share of it spent in the database;
- "count+facets": the part of the page that counts and finds the facets.
--explain prints EXPLAIN (ANALYZE, BUFFERS) of the results statement and the count+facets statement of each class.
"""
import argparse
import os
import random
import re
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medialib.settings")
os.environ.setdefault("MEDIALIB_VAR_DIR", "/tmp/medialib-bench-search")
os.environ.update({"DEBUG": "false", "ALLOWED_HOSTS": "testserver", "SECRET_KEY": "bench-only-" + "x" * 40})
if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    sys.exit("Set DATABASE_URL to a PostgreSQL database seeded with manage.py seed_library.")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from medialib.models import Asset, Tag  # noqa: E402
from search import selectors, sql  # noqa: E402
from search import query as q  # noqa: E402
from search.seed import EVENTS  # noqa: E402
from tagging.models import Person  # noqa: E402

# SEARCH.md, 1M assets, database only, first page of 50 (p50 / p95 ms); None where it has no such figure.
REFERENCE = {
    "common tag": (0.9, 1.5), "mid tag": (0.5, 0.7), "rare tag": (0.6, 0.8), "bursty mid tag": None,
    "common AND common": (2.0, 2.1), "common AND rare": (2.2, 2.5), "mid OR mid": (1.4, 3.2),
    "common AND NOT common": (0.9, 1.7), "person": (0.9, 1.3), "page 100 (common tag)": (0.6, 1.9),
    "page 100 (common AND common)": (0.6, 1.9),
}
FACET_REFERENCE = {
    "common tag": "0.3 ms (precomputed table)",
    "common AND common": "35 ms p95 (sample of ~2,000)",
    "rare tag": "84 ms p95 (exact, small result)",
}
BURSTY = re.compile(rf"^({'|'.join(EVENTS)}) \d{{4}}-\d{{2}} ")


class Timer:
    """Database time of every statement run while it is installed."""

    def __init__(self):
        self.statements = []

    def __call__(self, execute, sql_text, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql_text, params, many, context)
        finally:
            self.statements.append((time.perf_counter() - started, sql_text))

    @property
    def total(self):
        return sum(seconds for seconds, _ in self.statements)


def percentiles(values):
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return statistics.median(values) * 1000, p95 * 1000


def classes(total: int) -> dict:
    """Tags per frequency class, scaled to the library's size."""
    def tags(low, high, bursty=False, limit=10):
        found = list(Tag.objects.filter(usage_count__gte=low, usage_count__lt=high).order_by("-usage_count")
                     .values_list("name", flat=True)[:2000])
        found = [name for name in found if bool(BURSTY.match(name)) == bursty]
        random.Random(1).shuffle(found)
        return found[:limit]

    common = tags(0.05 * total, total + 1)
    mid = tags(0.003 * total, 0.01 * total)
    rare = tags(0.0001 * total, 0.0003 * total)
    bursty = tags(0.0002 * total, total, bursty=True)
    people = list(Person.objects.filter(faces__isnull=False).distinct().order_by("name")
                  .values_list("name", flat=True)[:40])
    random.Random(2).shuffle(people)
    pairs = [(a, b) for i, a in enumerate(common) for b in common[i + 1:]]
    uploaders = list(get_user_model().objects.filter(assets__isnull=False).distinct().order_by("username")
                     .values_list("username", flat=True)[:5])
    span = Asset.objects.aggregate(first=django.db.models.Min("created_at"), last=django.db.models.Max("created_at"))
    months = []
    if span["first"]:
        middle = span["first"] + (span["last"] - span["first"]) / 2
        months = [(middle + timedelta(days=31 * i)).strftime("%Y-%m") for i in (-2, 0, 2)]
    random.Random(3).shuffle(pairs)
    return {
        "common tag": [q.quote(t) for t in common],
        "mid tag": [q.quote(t) for t in mid],
        "rare tag": [q.quote(t) for t in rare],
        "bursty mid tag": [q.quote(t) for t in bursty],
        "common AND common": [f"{q.quote(a)} {q.quote(b)}" for a, b in pairs[:10]],
        "common AND rare": [f"{q.quote(c)} {q.quote(r)}" for c, r in zip(common, rare)],
        "mid OR mid": [f"{q.quote(a)} OR {q.quote(b)}" for a, b in zip(mid, mid[1:] + mid[:1])],
        "common AND NOT common": [f"{q.quote(a)} -{q.quote(b)}" for a, b in pairs[10:20] or pairs[:10]],
        "person": [f"person:{q.quote(p)}" for p in people[:10]],
        "page 100 (common tag)": [q.quote(t) for t in common],
        "page 100 (common AND common)": [f"{q.quote(a)} {q.quote(b)}" for a, b in pairs[:10]],
        # The rest of the language, which SEARCH.md did not measure.
        "common tag qualified": [f"{q.quote(t)} source:manual" for t in common[:5]]
                                 + [f"{q.quote(t)}>=0.9" for t in common[5:10]],
        "source or confidence alone": ["source:manual", "source:auto", "confidence>=0.9", "source:aws_rek_face"],
        "uploader": [f"uploader:{q.quote(name)}" for name in uploaders],
        "status": ["status:failed", "status:pending"],
        "a month": [f"date:{month}" for month in months],
        "common tag in a month": [f"{q.quote(t)} date:{month}" for t, month in zip(common, months * 4)],
    }


def cursor_of_page(text: str, page_number: int, size: int) -> str | None:
    """The keyset cursor that opens page `page_number` (walked once, not timed)."""
    node, _ = selectors.resolve(q.parse(text))
    compiler = sql.Compiler()
    rows = compiler.page(node, cursor=None, newer=False, limit=(page_number - 1) * size)
    if len(rows) < (page_number - 1) * size:
        return None
    return sql.Cursor(created_at=rows[-1][1], id=rows[-1][0]).token()


def explain(statement: str, params) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def accuracy(name: str, queries: list[str]) -> None:
    """Sampled facets and counts against exact ones (slow: counts every match)."""
    overlaps, errors, count_errors = [], [], []
    for text in queries:
        page = selectors.search(text=text, limit=settings.MEDIALIB_GALLERY_PAGE_SIZE)
        if page.facets_kind != "sample":
            continue
        node, _ = selectors.resolve(q.parse(text))
        total, _, found = sql.Compiler().count_and_facets(
            node, exclude=selectors._positive_tag_ids(node), limit=len(page.facets), target=10**9)
        exact = {tag_id: n for tag_id, n in found}
        sampled = {facet.tag_id: facet.count for facet in page.facets}
        overlaps.append(len(set(exact) & set(sampled)))
        errors += [abs(sampled[t] - exact[t]) / exact[t] for t in set(exact) & set(sampled)]
        count_errors.append(abs(page.count.value - total) / total)
    if overlaps:
        print(f"  {name}, accuracy on {len(overlaps)} queries: top {len(page.facets)} facets in common with the exact"
              f" top {len(page.facets)}: {statistics.mean(overlaps):.1f} on average; median facet count error"
              f" {statistics.median(errors) * 100:.1f}%; median result count error"
              f" {statistics.median(count_errors) * 100:.1f}%")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--only", default="")
    parser.add_argument("--accuracy", type=int, default=0, metavar="N",
                        help="compare sampled facets and counts with exact ones on N queries of each sampled class")
    args = parser.parse_args()

    size = settings.MEDIALIB_GALLERY_PAGE_SIZE
    total = Asset.objects.count()
    uses = Tag.objects.aggregate(n=django.db.models.Sum("usage_count"))["n"]
    print(f"Library: {total:,} assets, {uses:,} tag uses; page size {size}; {args.runs} runs per class; "
          f"PostgreSQL {connection.pg_version // 10000}")
    user, _ = get_user_model().objects.get_or_create(username="bench-search")
    client = Client()
    client.force_login(user)

    # Time count+facets inside the page without changing it.
    facet_times = []
    pages = []
    original = selectors._count_and_facets

    def timed_count_and_facets(*a, **k):
        pages.append(a[0])
        started = time.perf_counter()
        try:
            return original(*a, **k)
        finally:
            facet_times.append(time.perf_counter() - started)

    selectors._count_and_facets = timed_count_and_facets

    work = classes(total)
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    rows = []
    for name, queries in work.items():
        if only and name not in only:
            continue
        if not queries:
            print(f"{name}: no tags of that class in this library")
            continue
        cursors = {}
        if name.startswith("page 100"):
            cursors = {text: cursor_of_page(text, 100, size) for text in queries}
            queries = [text for text in queries if cursors[text]]
            if not queries:
                print(f"{name}: no query has 100 pages here")
                continue
        sql_times, page_times, db_times, counts = [], [], [], []
        facet_times.clear()
        kinds, rates = set(), []
        for run in range(args.runs + len(queries)):  # the first round warms the cache, untimed
            text = queries[run % len(queries)]
            params = {"q": text}
            if cursors:
                params["before"] = cursors[text]
            # The results statement alone (what SEARCH.md measured).
            node, _ = selectors.resolve(q.parse(text))
            start = sql.Cursor.from_token(cursors.get(text)) if cursors else None
            part = sql.Compiler().stream(node, cursor=start, limit=size + 1)
            timer = Timer()
            with connection.execute_wrapper(timer):
                with connection.cursor() as cursor:
                    cursor.execute(part.sql, part.params)
                    cursor.fetchall()
            results_seconds = timer.total
            timer = Timer()
            started = time.perf_counter()
            with connection.execute_wrapper(timer):
                response = client.get(reverse("search:search"), params)
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, (text, response.status_code)
            if run >= len(queries):
                sql_times.append(results_seconds)
                page_times.append(elapsed)
                db_times.append(timer.total)
                counts.append(len(timer.statements))
                kinds.add(pages[-1].facets_kind or "none")
                if pages[-1].sample_every > 1:
                    rates.append(pages[-1].sample_every)
        labels = ", ".join(sorted(kinds)) + (f" (1 in {min(rates)}-{max(rates)})" if rates else "")
        facet_times[:] = facet_times[len(queries):]
        rows.append((name, percentiles(sql_times), percentiles(page_times), percentiles(db_times),
                     percentiles(facet_times), statistics.median(counts), labels))
        print(f"{name}: results SQL {rows[-1][1][0]:.1f}/{rows[-1][1][1]:.1f} ms, page {rows[-1][2][0]:.1f}/"
              f"{rows[-1][2][1]:.1f} ms (db {rows[-1][3][0]:.1f}/{rows[-1][3][1]:.1f}), count+facets "
              f"{rows[-1][4][0]:.1f}/{rows[-1][4][1]:.1f} ms, {rows[-1][5]:.0f} queries, facets: {rows[-1][6]}")
        if args.accuracy and any(p.facets_kind == "sample" for p in pages[-len(sql_times):]):
            accuracy(name, queries[:args.accuracy])
        if args.explain:
            text = queries[0]
            node, _ = selectors.resolve(q.parse(text))
            start = sql.Cursor.from_token(cursors.get(text)) if cursors else None
            part = sql.Compiler().stream(node, cursor=start, limit=size + 1)
            print(f"\n-- {name}: {text}\n{part.sql}\n{explain(part.sql, part.params)}\n")
            # ... and the statement that counts and finds the facets, as the page ran it.
            statements = []
            original_fetch = sql.fetch

            def capture(statement, params):
                statements.append((statement, params))
                return original_fetch(statement, params)

            sql.fetch = capture
            try:
                selectors.search(text=text, cursor=cursors.get(text), limit=size)
            finally:
                sql.fetch = original_fetch
            for statement, params in statements:
                if statement.startswith("WITH m AS"):
                    print(f"-- {name}, count and facets: {text}\n{statement}\n{explain(statement, params)}\n")

    # Autocomplete and the gallery.
    names = list(Tag.objects.filter(usage_count__gt=0).values_list("name", flat=True)[:5000])
    random.Random(4).shuffle(names)
    prefixes = [name[:length] for name, length in zip(names, [1, 2, 3] * 20) if name[:length].strip()][:30]
    extra = {
        "autocomplete": [(reverse("search:suggest"), {"q": prefix}) for prefix in prefixes],
        "gallery first page": [(reverse("medialib:gallery"), {})],
        "gallery, tag filter": [(reverse("medialib:gallery"), {"tag": t.strip('"')}) for t in work["mid tag"]],
        "gallery, person filter": [(reverse("medialib:gallery"), {"person": p[8:].strip('"')})
                                   for p in work["person"]],
    }
    for name, requests in extra.items():
        if only and name not in only:
            continue
        page_times, db_times, counts = [], [], []
        for run in range(args.runs + len(requests)):
            url, params = requests[run % len(requests)]
            timer = Timer()
            started = time.perf_counter()
            with connection.execute_wrapper(timer):
                response = client.get(url, params)
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, (url, params, response.status_code)
            if run >= len(requests):
                page_times.append(elapsed)
                db_times.append(timer.total)
                counts.append(len(timer.statements))
        rows.append((name, None, percentiles(page_times), percentiles(db_times), None, statistics.median(counts), ""))
        print(f"{name}: {rows[-1][2][0]:.1f}/{rows[-1][2][1]:.1f} ms (db {rows[-1][3][0]:.1f}/{rows[-1][3][1]:.1f}),"
              f" {rows[-1][5]:.0f} queries")

    print("\n| query | results SQL p50 / p95 | SEARCH.md (1M, db only) | page p50 / p95 | of which db | "
          "count + facets | queries | facets |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, results, page, db, facets, count, labels in rows:
        reference = REFERENCE.get(name)
        print(f"| {name} | {f'{results[0]:.1f} / {results[1]:.1f} ms' if results else '–'} | "
              f"{f'{reference[0]} / {reference[1]} ms' if reference else '–'} | {page[0]:.1f} / {page[1]:.1f} ms | "
              f"{db[0]:.1f} / {db[1]:.1f} ms | {f'{facets[0]:.1f} / {facets[1]:.1f} ms' if facets else '–'} | "
              f"{count:.0f} | {labels or '–'} |")


if __name__ == "__main__":
    main()
