"""manage.py seed_library: a synthetic library for benchmarks and for trying the search (see search/seed.py)."""
from django.core.management.base import BaseCommand
from django.db import connection

from medialib.models import Tag
from search import seed, services


class Command(BaseCommand):
    help = ("Add a synthetic library: assets with placeholder files (public_id seed/...), Zipf-like tags with a "
            "long tail and bursty events, people with faces. COPY on PostgreSQL: 1M assets in a minute or two.")

    def add_arguments(self, parser):
        parser.add_argument("--assets", type=int, default=100_000)
        parser.add_argument("--tags", type=int, default=20_000, help="distinct label tags")
        parser.add_argument("--tags-per-asset", type=float, default=10.0)
        parser.add_argument("--people", type=int, default=200)
        parser.add_argument("--person-share", type=float, default=0.02, help="share of assets with a known face")
        parser.add_argument("--years", type=float, default=3.0, help="over how long the assets were uploaded")
        parser.add_argument("--seed", type=int, default=1, help="random seed (the same seed, the same library)")
        parser.add_argument("--no-refresh", action="store_true",
                            help="skip the usage counts and co-occurrence rebuild afterwards")

    def handle(self, *args, **options):
        report = seed.seed_library(
            assets=options["assets"], tags=options["tags"], per_asset=options["tags_per_asset"],
            people=options["people"], person_share=options["person_share"], years=options["years"],
            seed=options["seed"], progress=lambda message: self.stdout.write(f"  {message}"),
        )
        self.stdout.write(
            f"Seeded {report.assets:,} assets, {report.tag_uses:,} tag uses of {report.tags:,} tags, "
            f"{report.people} people on {report.faces:,} faces in {sum(report.seconds.values()):.1f} s."
        )
        if not options["no_refresh"]:
            import time

            started = time.monotonic()
            result = services.search_refresh()
            if connection.vendor == "postgresql" and not connection.in_atomic_block:
                with connection.cursor() as cursor:
                    # The refresh rewrote every tag's row; dead ones would slow the pages' lookups by id.
                    cursor.execute(f"VACUUM ANALYZE {Tag._meta.db_table}")
            self.stdout.write(f"Refreshed usage counts ({result['usage_counts_changed']:,} tags) and co-occurrence "
                              f"({result['cooccurrence_rows']:,} rows) in {time.monotonic() - started:.1f} s.")
