"""A synthetic library shaped like a real one, for benchmarks and for trying the pages (`manage.py seed_library`).

- assets spread over `years`, newest last, each pointing at a placeholder file (no image is stored): their
  public_id starts with "seed/", their file is "seed/placeholder.jpg", their sha256 is all zeros;
- tags Zipf-like: the top one on 40% of assets, a long tail down to a handful, about `tags_per_asset` each;
  some are "bursty" events (all their assets inside one 90-day window); ~10% of uses are manual, the rest come
  from aws_rek_tagging with a confidence;
- people: a share of assets has a recognised face (Face with a person) and the person's name as a tag;
- one aws_rek_tagging AnalysisResult per asset, a few pending or failed.

On PostgreSQL the tag uses go in with binary COPY into a staging table, then one INSERT ... SELECT with the
tag table's secondary indexes and constraints dropped and rebuilt (much faster than maintaining them row by
row); elsewhere, plain executemany.
"""
from __future__ import annotations

import json
import logging
import struct
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone as dt_timezone

import numpy as np
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils.text import slugify

from medialib.models import Asset, AssetTag, Tag, asset_id_new
from tagging.models import AnalysisResult, Face, Person

from . import sql

logger = logging.getLogger(__name__)

PREFIX = "seed/"
PLACEHOLDER = "seed/placeholder.jpg"
SOURCE_CODES = {0: "manual", 1: "aws_rek_tagging", 2: "aws_rek_face"}
TOP_LABELS = [
    "person", "outdoors", "nature", "people", "sky", "plant", "tree", "building", "architecture", "city",
    "water", "grass", "urban", "landscape", "text", "face", "portrait", "vehicle", "food", "indoors", "road",
    "cloud", "furniture", "animal", "clothing", "sea", "car", "flower", "mountain", "beach", "night", "street",
    "art", "sunset", "snow", "window", "table", "child", "crowd", "sport",
]
EVENTS = ["wedding", "offsite", "conference", "launch", "festival", "hackathon", "retreat", "summit", "fair",
          "trip", "workshop", "gala", "marathon", "exhibition", "open day"]
FIRST_NAMES = ["Ada", "Alan", "Grace", "Linus", "Margaret", "Tim", "Hedy", "Dennis", "Katherine", "Edsger",
               "Barbara", "Ken", "Frances", "John", "Radia", "Guido", "Sophie", "Yukihiro", "Anita", "Donald"]
LAST_NAMES = ["Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Berners-Lee", "Lamarr", "Ritchie",
              "Johnson", "Dijkstra", "Liskov", "Thompson", "Allen", "McCarthy", "Perlman", "van Rossum", "Wilson",
              "Matsumoto", "Borg", "Knuth"]


@dataclass
class SeedReport:
    assets: int
    tag_uses: int
    tags: int
    people: int
    faces: int
    seconds: dict


def _label_names() -> list[str]:
    from tagging.backends.local.labels import TABLE_PATH

    classes = json.loads(TABLE_PATH.read_text(encoding="utf-8"))["classes"]
    parents: dict[str, int] = {}
    for _, _, ancestors in classes:
        for name in ancestors:
            parents[name.lower()] = parents.get(name.lower(), 0) + 1
    ordered = list(TOP_LABELS)
    ordered += [name for name, _ in sorted(parents.items(), key=lambda item: -item[1])]
    ordered += [name.lower() for name, _, _ in classes]
    seen, names = set(), []
    for name in ordered:
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def _pseudo_word(rng: np.random.Generator) -> str:
    syllables = ["ka", "lo", "mi", "ru", "te", "sa", "no", "vi", "de", "ba", "po", "li", "ze", "gu", "fa", "ro",
                 "ne", "ti", "mo", "shi", "ya", "ke", "lu", "da", "qua", "ver", "ston", "mar", "pel", "dor"]
    return "".join(rng.choice(syllables, size=int(rng.integers(2, 4))))


def tag_names(count: int, rng: np.random.Generator) -> list[str]:
    names = _label_names()[:count]
    seen = set(names)
    while len(names) < count:
        word = _pseudo_word(rng)
        if rng.random() < 0.3:
            word += " " + _pseudo_word(rng)
        if word not in seen:
            seen.add(word)
            names.append(word)
    return names


def zipf_exponent(tags: int, target: float, top: float) -> float:
    """The s for which sum(min(top, top / r**s)) over ranks 1..tags is `target` tags per asset."""
    ranks = np.arange(1, tags + 1, dtype=np.float64)
    low, high = 0.3, 3.0
    for _ in range(60):
        middle = (low + high) / 2
        if np.minimum(top, top / ranks ** middle).sum() > target:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def tag_uses(*, assets: int, tags: int, per_asset: float, rng: np.random.Generator, top: float = 0.4,
             bursty_share: float = 0.03, burst_days: int = 90, years: float = 3.0):
    """(asset index, tag index) arrays: tag r on about assets * min(top, top / r**s) assets; the bursty tags'
    assets all inside one window of burst_days. Also returns {tag index: window start as a fraction of time}."""
    exponent = zipf_exponent(tags, per_asset, top)
    shares = np.minimum(top, top / np.arange(1, tags + 1, dtype=np.float64) ** exponent)
    window = max(1, int(assets * burst_days / (365.25 * years)))
    bursty = set()
    if tags > 200 and bursty_share > 0:
        candidates = np.arange(100, tags)
        bursty = set(rng.choice(candidates, size=int(len(candidates) * bursty_share), replace=False).tolist())
    asset_parts, tag_parts, bursts = [], [], {}
    for index in range(tags):
        expected = assets * shares[index]
        count = int(expected) + (1 if rng.random() < expected - int(expected) else 0)
        if count == 0:
            continue
        if index in bursty and window < assets:
            start = int(rng.integers(0, assets - window))
            span = window
            bursts[index] = start / assets
        else:
            start, span = 0, assets
        count = min(count, span)
        if count > span // 20:
            chosen = np.flatnonzero(rng.random(span) < count / span)
        else:
            chosen = rng.choice(span, size=count, replace=False)
        asset_parts.append((chosen + start).astype(np.int32))
        tag_parts.append(np.full(len(chosen), index, dtype=np.int32))
    return np.concatenate(asset_parts), np.concatenate(tag_parts), bursts


def _copy_binary(cursor, table: str, columns: list[tuple[str, str]], arrays: list[np.ndarray]) -> None:
    """COPY rows of fixed-size numbers into a table in PostgreSQL's binary format, built by numpy."""
    fields = [("count", ">i2")]
    for name, kind in columns:
        fields += [(f"{name}_length", ">i4"), (name, kind)]
    records = np.empty(len(arrays[0]), dtype=np.dtype(fields))
    records["count"] = len(columns)
    for (name, kind), values in zip(columns, arrays):
        records[f"{name}_length"] = np.dtype(kind).itemsize
        records[name] = values
    header = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
    with cursor.copy(f"COPY {table} ({', '.join(n for n, _ in columns)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(header)
        step = 1_000_000
        for start in range(0, len(records), step):
            copy.write(records[start:start + step].tobytes())
        copy.write(struct.pack(">h", -1))


def _secondary_schema(cursor, table: str) -> tuple[list[str], list[str]]:
    """DDL that recreates the table's constraints (but its primary key) and its other indexes."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype <> 'p'",
        [table],
    )
    constraints = [(name, f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
                   for name, definition in cursor.fetchall()]
    cursor.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
        " WHERE x.indrelid = %s::regclass AND NOT x.indisprimary"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
        [table],
    )
    indexes = cursor.fetchall()
    drops = [f'ALTER TABLE {table} DROP CONSTRAINT "{name}"' for name, _ in constraints]
    drops += [f'DROP INDEX "{name}"' for name, _ in indexes]
    creates = [definition for _, definition in indexes] + [ddl for _, ddl in constraints]
    return drops, creates


@contextmanager
def _indexes_rebuilt_after(table: str, rows: int):
    """On PostgreSQL, for a load bigger than the table: drop its secondary indexes and constraints, load, and
    build them again once (maintaining them row by row is what makes a big load slow)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT %s) s", [rows + 1])
        bulk = rows >= 50_000 and cursor.fetchone()[0] <= rows
        drops, creates = _secondary_schema(cursor.cursor, table) if bulk else ([], [])
        if drops:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # checks pending on rows just inserted, first
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        for statement in drops:
            cursor.execute(statement)
    yield
    with connection.cursor() as cursor:
        for statement in creates:
            cursor.execute(statement)


def seed_library(*, assets: int, tags: int = 20_000, per_asset: float = 10.0, people: int = 200,
                 person_share: float = 0.02, users: int = 5, years: float = 3.0, seed: int = 1,
                 progress=lambda message: None) -> SeedReport:
    """Add a synthetic library of `assets` assets (see the module's docstring); returns what it made."""
    rng = np.random.default_rng(seed)
    timings: dict[str, float] = {}
    clock = time.monotonic()

    def lap(name):
        nonlocal clock
        now = time.monotonic()
        timings[name] = round(now - clock, 1)
        clock = now
        progress(f"{name}: {timings[name]} s")

    run = datetime.now(dt_timezone.utc).strftime("%Y%m%d%H%M%S")
    end = datetime.now(dt_timezone.utc).replace(microsecond=0)
    start = end - timedelta(days=365.25 * years)
    postgres = connection.vendor == "postgresql"

    with transaction.atomic():
        uploaders = []
        for index in range(users):
            user, created = get_user_model().objects.get_or_create(username=f"seed-uploader-{index + 1}")
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
            uploaders.append(user.pk)

        # Tags: label names first (the most used), then made-up words; reuse any the library already has.
        names = tag_names(tags, rng)
        person_names = []
        for index in range(people):
            first, last = FIRST_NAMES[index % len(FIRST_NAMES)], LAST_NAMES[index // len(FIRST_NAMES) % len(LAST_NAMES)]
            name = f"{first} {last}"
            if index >= len(FIRST_NAMES) * len(LAST_NAMES):
                name += f" {index}"
            person_names.append(name)
        tag_ids = _tags_ensure(names + person_names)
        label_tag_ids = np.array(tag_ids[:len(names)], dtype=np.int64)
        person_tag_ids = tag_ids[len(names):]
        lap("tags")

        # Assets, oldest first (ids follow time, as uploads do).
        with _indexes_rebuilt_after(Asset._meta.db_table, assets):
            asset_ids, created = _assets_insert(assets, run, start, end, uploaders, rng, postgres)
        lap("assets")

        # Tag uses.
        asset_index, tag_index, bursts = tag_uses(assets=assets, tags=len(names), per_asset=per_asset, rng=rng,
                                                  years=years)
        _rename_bursty(names, bursts, label_tag_ids, start, end, rng)
        uses = len(asset_index)
        manual = rng.random(uses) < 0.1
        source = np.where(manual, 0, 1).astype(np.int16)
        confidence = np.where(manual, -1.0, 0.5 + 0.5 * rng.beta(2.0, 1.2, size=uses)).astype(np.float32)

        # People: a share of assets shows one person (Zipf-like over people), as a face and as a tag.
        person_assets = rng.choice(assets, size=int(assets * person_share), replace=False) if people else []
        person_weights = 1 / np.arange(1, people + 1) ** 1.1 if people else None
        who = rng.choice(people, size=len(person_assets), p=person_weights / person_weights.sum()) if people else []
        lap("generated")

        person_ids = _people_ensure(person_names)
        face_rows = [
            (int(asset_ids[a]), int(person_ids[p]), float(0.9 + 0.1 * rng.random()), created[a])
            for a, p in zip(person_assets, who)
        ]
        _faces_insert(face_rows)
        all_assets, all_tags = asset_ids[asset_index], label_tag_ids[tag_index]
        all_sources, all_confidence = source, confidence
        if people:
            all_assets = np.concatenate([all_assets, asset_ids[person_assets]])
            all_tags = np.concatenate([all_tags, np.array(person_tag_ids, dtype=np.int64)[who]])
            all_sources = np.concatenate([all_sources, np.full(len(person_assets), 2, dtype=np.int16)])
            all_confidence = np.concatenate([all_confidence, np.array([row[2] for row in face_rows], dtype=np.float32)])
        lap("faces")

        with _indexes_rebuilt_after(AssetTag._meta.db_table, len(all_assets)):
            _tag_uses_insert(all_assets, all_tags, all_sources, all_confidence, postgres, progress)
        lap("tag uses")

        with _indexes_rebuilt_after(AnalysisResult._meta.db_table, assets):
            _analyses_insert(asset_ids, created, rng, postgres, f"{PREFIX}{run}/")
        lap("analyses")

    if postgres:
        with connection.cursor() as cursor:
            for table in (Asset._meta.db_table, AssetTag._meta.db_table, Tag._meta.db_table, Face._meta.db_table,
                          AnalysisResult._meta.db_table):
                # VACUUM sets the visibility map that index-only scans need; inside a transaction, ANALYZE only.
                cursor.execute(f"{'ANALYZE' if connection.in_atomic_block else 'VACUUM ANALYZE'} {table}")
        lap("vacuum analyze")
    return SeedReport(assets=assets, tag_uses=len(all_assets), tags=len(names) + len(person_names),
                      people=people, faces=len(face_rows), seconds=timings)


def _tags_ensure(names: list[str]) -> list[int]:
    existing = {}
    for start in range(0, len(names), 900):
        chunk = [name.lower() for name in names[start:start + 900]]
        for tag_id, name, _ in [row for rows in sql.tags_by_names(chunk).values() for row in rows]:
            existing.setdefault(name.lower(), tag_id)
    slugs = set(Tag.objects.values_list("slug", flat=True)) if existing else set()
    new = []
    for name in names:
        if name.lower() in existing:
            continue
        slug = base = slugify(name, allow_unicode=True) or "tag"
        suffix = 1
        while slug in slugs:
            suffix += 1
            slug = f"{base}-{suffix}"
        slugs.add(slug)
        new.append(Tag(name=name, slug=slug))
    Tag.objects.bulk_create(new, batch_size=2000)
    ids = {}
    for start in range(0, len(names), 900):
        chunk = [name.lower() for name in names[start:start + 900]]
        for rows in sql.tags_by_names(chunk).values():
            for tag_id, name, _ in rows:
                ids.setdefault(name.lower(), tag_id)
    return [ids[name.lower()] for name in names]


def _rename_bursty(names, bursts, tag_ids, start, end, rng) -> None:
    """Bursty tags are events: name them after what and when ("offsite 2024-05")."""
    span = (end - start).total_seconds()
    renamed = []
    taken = {name.lower() for name in Tag.objects.filter(pk__in=[int(tag_ids[i]) for i in bursts])
             .values_list("name", flat=True)}
    for index, fraction in bursts.items():
        when = start + timedelta(seconds=span * fraction + 45 * 86400)
        name = f"{EVENTS[index % len(EVENTS)]} {when:%Y-%m} {names[index]}"
        if name.lower() in taken:
            continue
        renamed.append(Tag(pk=int(tag_ids[index]), name=name[:100]))
    Tag.objects.bulk_update(renamed, ["name"], batch_size=1000)


def _people_ensure(names: list[str]) -> list[int]:
    existing = {p.name.lower(): p.pk for p in Person.objects.all()}
    Person.objects.bulk_create([Person(name=name) for name in names if name.lower() not in existing])
    existing = {p.name.lower(): p.pk for p in Person.objects.all()}
    return [existing[name.lower()] for name in names]


def _assets_insert(count, run, start, end, uploaders, rng, postgres):
    table = Asset._meta.db_table
    span = (end - start).total_seconds()
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (public_id, file, original_filename, format, width, height, bytes, sha256,"
                f" version, frames, uploaded_by_id, created_at, updated_at, asset_id, context, asset_folder)"
                f" SELECT %s || g, %s, 'seed-' || g || '.jpg', 'jpg', 4000, 3000, 1500000 + (g * 7919) %% 3000000,"
                f" repeat('0', 64), 1, 1, (%s::bigint[])[1 + (g * 31) %% %s], ts, ts,"
                f" md5(random()::text || clock_timestamp()::text || g), '{{}}'::jsonb, 'folder' || (g %% 50)"
                f" FROM (SELECT g, %s::timestamptz + make_interval(secs => %s * (g - 1 + random() * 0.5) / %s) AS ts"
                f"  FROM generate_series(1::bigint, %s::bigint) g) s",
                [f"{PREFIX}{run}/", PLACEHOLDER, uploaders, len(uploaders), start, span, count, count],
            )
            cursor.execute(f"SELECT id, created_at FROM {table} WHERE public_id LIKE %s ORDER BY id",
                           [f"{PREFIX}{run}/%"])
            rows = cursor.fetchall()
    else:
        offsets = np.sort(rng.random(count)) * span
        rows_in = []
        for i in range(count):
            when = connection.ops.adapt_datetimefield_value(start + timedelta(seconds=float(offsets[i])))
            rows_in.append((f"{PREFIX}{run}/{i + 1}", PLACEHOLDER, f"seed-{i + 1}.jpg", "jpg", 4000, 3000, 1_500_000,
                            "0" * 64, 1, 1, uploaders[i % len(uploaders)], when, when, asset_id_new(), "{}",
                            f"folder{(i + 1) % 50}"))
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table} (public_id, file, original_filename, format, width, height, bytes, sha256,"
                f" version, frames, uploaded_by_id, created_at, updated_at, asset_id, context, asset_folder) VALUES"
                f" (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                rows_in,
            )
            cursor.execute(f"SELECT id, created_at FROM {table} WHERE public_id LIKE %s ORDER BY id",
                           [f"{PREFIX}{run}/%"])
            rows = cursor.fetchall()
    ids = np.array([row[0] for row in rows], dtype=np.int64)
    created = [sql.to_datetime(row[1]) for row in rows]
    return ids, created


def _faces_insert(rows) -> None:
    faces = [
        Face(asset_id=asset_id, index=0, left=0.35, top=0.2, width=0.2, height=0.3, confidence=99.0, landmarks=[],
             backend="seed", person_id=person_id, person_source=Face.SOURCE_AUTO,
             match_confidence=round(confidence * 100, 1))
        for asset_id, person_id, confidence, _ in rows
    ]
    Face.objects.bulk_create(faces, batch_size=5000)


def _tag_uses_insert(asset_ids, tag_ids, sources, confidences, postgres, progress) -> None:
    table = AssetTag._meta.db_table
    if not postgres:
        asset_created = dict(Asset.objects.filter(pk__in=set(asset_ids.tolist())).values_list("pk", "created_at"))
        rows = []
        for asset_id, tag_id, source, confidence in zip(asset_ids.tolist(), tag_ids.tolist(), sources.tolist(),
                                                        confidences.tolist()):
            created = connection.ops.adapt_datetimefield_value(asset_created[asset_id])
            rows.append((tag_id, asset_id, SOURCE_CODES[source], None if confidence < 0 else round(confidence, 4),
                         created, created))
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table} (tag_id, content_object_id, source, confidence, created_at, asset_created_at)"
                f" VALUES (%s, %s, %s, %s, %s, %s)", rows,
            )
        return
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        cursor.execute("CREATE TEMP TABLE seed_tag_use (asset_id int8, tag_id int8, source int2, confidence float4)"
                       " ON COMMIT DROP")
        _copy_binary(raw, "seed_tag_use",
                     [("asset_id", ">i8"), ("tag_id", ">i8"), ("source", ">i2"), ("confidence", ">f4")],
                     [asset_ids, tag_ids, sources, confidences])
        progress(f"copied {len(asset_ids):,} tag uses")
        cursor.execute(
            f"INSERT INTO {table} (tag_id, content_object_id, source, confidence, created_at, asset_created_at)"
            f" SELECT s.tag_id, s.asset_id, CASE s.source WHEN 0 THEN 'manual' WHEN 1 THEN 'aws_rek_tagging'"
            f"  ELSE 'aws_rek_face' END, CASE WHEN s.confidence < 0 THEN NULL ELSE round(s.confidence::numeric, 4) END,"
            f"  a.created_at, a.created_at"
            f" FROM seed_tag_use s JOIN {Asset._meta.db_table} a ON a.id = s.asset_id"
        )


def _analyses_insert(asset_ids, created, rng, postgres, prefix) -> None:
    """One aws_rek_tagging result per asset: 0.3% pending, 0.2% failed, the rest complete."""
    table = AnalysisResult._meta.db_table
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (asset_id, addon, status, data, error, backend, attempts, auto_tagging,"
                f" request_id, requested_at, queued_at, started_at, completed_at)"
                f" SELECT id, 'aws_rek_tagging', status, NULL,"
                f"  CASE WHEN status = 'failed' THEN 'The detector could not read this (synthetic) image.' ELSE '' END,"
                f"  'seed', 1, 0.6, md5(id::text)::uuid, created_at, created_at, created_at,"
                f"  CASE WHEN status = 'pending' THEN NULL ELSE created_at END"
                f" FROM (SELECT id, created_at, CASE WHEN r < 0.003 THEN 'pending' WHEN r < 0.005 THEN 'failed'"
                f"  ELSE 'complete' END AS status FROM (SELECT id, created_at, random() AS r"
                f"  FROM {Asset._meta.db_table} WHERE id BETWEEN %s AND %s AND public_id LIKE %s) drawn) s",
                [int(asset_ids[0]), int(asset_ids[-1]), prefix + "%"],
            )
        return
    import uuid

    draws = rng.random(len(asset_ids))
    results = []
    for asset_id, when, r in zip(asset_ids.tolist(), created, draws):
        status = "pending" if r < 0.003 else "failed" if r < 0.005 else "complete"
        results.append(AnalysisResult(
            asset_id=asset_id, addon="aws_rek_tagging", status=status, backend="seed", attempts=1,
            auto_tagging=0.6, request_id=uuid.uuid4(), requested_at=when, queued_at=when,
            completed_at=None if status == "pending" else when,
            error="The detector could not read this (synthetic) image." if status == "failed" else "",
        ))
    AnalysisResult.objects.bulk_create(results, batch_size=5000)
