"""Queue again the analyses stuck in pending (the periodic task does this every minute)."""
from datetime import timedelta

from django.core.management.base import BaseCommand

from tagging.services import analysis


class Command(BaseCommand):
    help = "Queue again every analysis pending for longer than --older-than seconds (default: the setting)."

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=int, default=None, help="Seconds (default TAGGING_SWEEP_AFTER_SECONDS).")

    def handle(self, *args, older_than, **options):
        queued = analysis.analysis_sweep(older_than=None if older_than is None else timedelta(seconds=older_than))
        self.stdout.write(f"Queued {len(queued)} asset(s) again.")
