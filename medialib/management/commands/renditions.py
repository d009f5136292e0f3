"""Queue (or make, with --now) the thumbnails that assets are missing."""
from django.core.management.base import BaseCommand
from django.db.models import Count, F, Q

from medialib import services
from medialib.models import Asset
from medialib.tasks import renditions_generate


class Command(BaseCommand):
    help = "Find assets whose renditions are missing and queue them for the worker."

    def add_arguments(self, parser):
        parser.add_argument("--now", action="store_true", help="Make them in this process instead of queueing.")

    def handle(self, *args, now, **options):
        wanted = len(services.RENDITION_SPECS)
        missing = Asset.objects.annotate(
            current=Count("renditions", filter=Q(renditions__version=F("version")))
        ).filter(current__lt=wanted)
        count = 0
        for asset_id in missing.values_list("pk", flat=True).iterator():
            if now:
                services.renditions_generate(asset_id=asset_id)
            else:
                renditions_generate.delay(asset_id)
            count += 1
        self.stdout.write(f"{'Made' if now else 'Queued'} renditions for {count} asset(s).")
