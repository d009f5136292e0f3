"""Benchmark: the moderation admin's bulk actions over 10,000 selected tag uses, on SQLite and on PostgreSQL.

Run: .venv/bin/python bench/moderation.py [--uses 10000] [--repeat 3] [--db sqlite,postgres]
     [--postgres postgres://postgres@127.0.0.1:5432/postgres]
Each database is a throw-away one: SQLite in a temporary folder; on PostgreSQL the database
`medialib_bench_moderation` is created, migrated and dropped again. Each database runs in its own process.

For every measurement the data is made afresh: N assets, each with an unreviewed auto tag "puppy" (or "pup" for the
synonym), and 30% of them also with "dog" (so merging makes N * 0.3 duplicates to resolve). A moderator then runs
the admin action through Django's test client on the whole selection ("select all N", select_across), as in the
browser: the time is the POST until the admin's redirect, everything included (services, log entries, usage
counts). Also the service call alone, the number of SQL statements, and the queue's first page over N items.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_NAME = "medialib_bench_moderation"


def child(args) -> None:
    """Runs in a process of its own, with DATABASE_URL (or none, for SQLite) set by the parent."""
    os.environ.update({"DJANGO_SETTINGS_MODULE": "medialib.settings", "ALLOWED_HOSTS": "testserver"})
    import django

    django.setup()
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
    from django.contrib.admin.models import LogEntry
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from django.utils import timezone

    from medialib.models import Asset, AssetTag, Tag
    from medialib.services import tag_usage_refresh
    from tagging.models import TagDecision, TagSynonym
    from tagging.services import tags as services

    call_command("migrate", verbosity=0)
    moderator = User.objects.create_user("bench-moderator", password="x", is_staff=True)
    moderator.groups.add(Group.objects.get(name="Moderators"))
    client = Client()
    client.force_login(moderator)
    n = args.uses

    def fresh(label="puppy"):
        LogEntry.objects.all().delete()
        TagDecision.objects.all().delete()
        TagSynonym.objects.all().delete()
        AssetTag.objects.all().delete()
        Asset.objects.all().delete()
        Tag.objects.all().delete()
        now = timezone.now()
        Asset.objects.bulk_create(
            [Asset(public_id=f"bench/{i}", file=f"bench/{i}.jpg", format="jpg", width=640, height=480, bytes=1000,
                   sha256="0" * 64, version=1) for i in range(n)], batch_size=2000)
        label_tag, dog = Tag.objects.create(name=label, slug=label), Tag.objects.create(name="dog", slug="dog")
        assets = list(Asset.objects.values_list("pk", "created_at"))
        rows = [AssetTag(content_object_id=pk, tag=label_tag, source="aws_rek_tagging",
                         confidence=round(0.5 + (i % 50) / 100, 4), asset_created_at=created)
                for i, (pk, created) in enumerate(assets)]
        rows += [AssetTag(content_object_id=pk, tag=dog, source="aws_rek_tagging" if i % 2 else "manual",
                          confidence=0.8 if i % 2 else None, asset_created_at=created)
                 for i, (pk, created) in enumerate(assets) if i % 10 < 3]
        AssetTag.objects.bulk_create(rows, batch_size=2000)
        tag_usage_refresh(Tag.objects.values("pk"))
        reset_queries()  # DEBUG keeps a log of statements; the setup's are not what is measured
        return label_tag, dog, now

    def post(url, action, first_pk, **extra):
        data = {"action": action, ACTION_CHECKBOX_NAME: [str(first_pk)], "index": "0", "select_across": "1",
                **extra}
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            response = client.post(url, data)
            elapsed = time.perf_counter() - start
        assert response.status_code == 302, response.status_code
        return elapsed, len(queries)

    queue = reverse("admin:tagging_moderationitem_changelist")
    tags = reverse("admin:medialib_tag_changelist")
    synonyms = reverse("admin:tagging_tagsynonym_changelist")
    results: dict[str, list[tuple[float, int]]] = {}

    def record(name, value):
        results.setdefault(name, []).append(value)

    for _ in range(args.repeat):
        puppy, dog, _ = fresh()
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            response = client.get(f"{queue}?tag={puppy.pk}")
            record("queue page (100 of N)", (time.perf_counter() - start, len(queries)))
        assert response.status_code == 200
        record("approve (admin)", post(f"{queue}?tag={puppy.pk}", "approve", puppy.uses.first().pk))
        assert AssetTag.objects.filter(tag=puppy, reviewed_at__isnull=False).count() == n

        puppy, dog, _ = fresh()
        record("reject (admin)", post(f"{queue}?tag={puppy.pk}", "reject", puppy.uses.first().pk))
        assert TagDecision.objects.count() == n and not AssetTag.objects.filter(tag=puppy).exists()

        puppy, dog, _ = fresh()
        record("merge puppy into dog (admin)", post(tags, "merge", puppy.pk, target="dog"))
        assert AssetTag.objects.filter(tag=dog).count() == n and not Tag.objects.filter(name="puppy").exists()

        _, dog, _ = fresh("pup")
        synonym = TagSynonym.objects.create(label="pup", tag=dog)
        record("synonym apply pup -> dog (admin)", post(synonyms, "apply", synonym.pk))
        assert AssetTag.objects.filter(tag=dog).count() == n

        # The services alone, without the admin around them.
        puppy, dog, _ = fresh()
        start = time.perf_counter()
        services.tag_uses_approve(uses=AssetTag.objects.filter(tag=puppy), user=moderator)
        record("approve (service)", (time.perf_counter() - start, 0))
        puppy, dog, _ = fresh()
        start = time.perf_counter()
        services.tag_uses_reject(uses=AssetTag.objects.filter(tag=puppy), user=moderator)
        record("reject (service)", (time.perf_counter() - start, 0))
        puppy, dog, _ = fresh()
        start = time.perf_counter()
        services.tags_merge(tags=[puppy], target=dog, user=moderator)
        record("merge (service)", (time.perf_counter() - start, 0))

    engine = connection.vendor
    print(f"\n{engine}: {n} tag uses selected, median of {args.repeat}")
    for name, values in results.items():
        seconds = statistics.median(v[0] for v in values)
        queries = values[0][1]
        print(f"  {name:36s} {seconds:7.2f} s" + (f"   {queries} SQL statements" if queries else ""))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--uses", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        return child(args)
    argv = [sys.executable, __file__, "--child", "--uses", str(args.uses), "--repeat", str(args.repeat)]
    for db in args.db.split(","):
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
        env["MEDIALIB_VAR_DIR"] = tempfile.mkdtemp(prefix="medialib-bench-moderation-")
        if db == "postgres":
            import psycopg

            with psycopg.connect(args.postgres, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {PG_NAME}")
                admin.execute(f"CREATE DATABASE {PG_NAME}")
            env["DATABASE_URL"] = args.postgres.rsplit("/", 1)[0] + "/" + PG_NAME
            try:
                subprocess.run(argv, env=env, check=True)
            finally:
                with psycopg.connect(args.postgres, autocommit=True) as admin:
                    admin.execute(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)")
        else:
            subprocess.run(argv, env=env, check=True)


if __name__ == "__main__":
    main()
