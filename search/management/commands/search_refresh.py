"""manage.py search_refresh: recount tag usage and rebuild the co-occurrence table now (after bulk changes)."""
from django.core.management.base import BaseCommand

from medialib.services import tag_usage_refresh
from search import services


class Command(BaseCommand):
    help = "Recount every tag's usage_count in one batch and rebuild the popular tags' co-occurrence table."

    def add_arguments(self, parser):
        parser.add_argument("--usage-only", action="store_true", help="only recount usage_count")

    def handle(self, *args, **options):
        changed = tag_usage_refresh()
        self.stdout.write(f"usage_count changed on {changed:,} tags.")
        if not options["usage_only"]:
            rows = services.cooccurrence_rebuild()
            if rows is None:
                self.stdout.write("Another co-occurrence rebuild is running; left to it.")
            else:
                self.stdout.write(f"Co-occurrence table rebuilt: {rows:,} rows.")
