"""Analyse existing assets in bulk: all, by tag, or by ids; queued for the worker unless --now."""
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

from medialib.models import Asset
from tagging.addons import ADDONS, AddonError, auto_tagging_parse
from tagging.models import AnalysisResult
from tagging.services import analysis


class Command(BaseCommand):
    help = (
        "Ask for analysis add-ons on existing assets. Assets whose add-ons are already complete or pending are "
        "skipped unless --force, so an interrupted run resumes where it stopped when started again."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--all", action="store_true", help="Every asset.")
        which.add_argument("--tag", action="append", help="Assets with this tag (repeatable).")
        which.add_argument("--ids", nargs="+", help="Assets by public_id.")
        parser.add_argument("--addons", default="aws_rek_tagging,aws_rek_face",
                            help="Comma-separated add-ons (default: both).")
        parser.add_argument("--auto-tagging", default=None, help="Threshold 0-1 for auto tags (default: none).")
        parser.add_argument("--force", action="store_true", help="Analyse again even where already done.")
        parser.add_argument("--now", action="store_true", help="Run in this process instead of queueing.")

    def handle(self, *args, **options):
        addons = [a.strip() for a in options["addons"].split(",") if a.strip()]
        unknown = [a for a in addons if a not in ADDONS]
        if unknown or not addons:
            raise CommandError(f"Unknown add-on(s): {', '.join(unknown) or '(none given)'}; known: {', '.join(ADDONS)}")
        try:
            threshold = auto_tagging_parse(options["auto_tagging"])
        except AddonError as exc:
            raise CommandError(str(exc)) from None

        assets = Asset.objects.order_by("pk")
        if options["tag"]:
            assets = assets.filter(tags__name__in=options["tag"]).distinct()
        elif options["ids"]:
            assets = assets.filter(public_id__in=options["ids"])
            missing = set(options["ids"]) - set(assets.values_list("public_id", flat=True))
            if missing:
                raise CommandError(f"No asset with public_id {', '.join(sorted(missing))}.")
        if not options["force"]:
            # Skip an asset only when every requested add-on is complete or already on its way.
            done = (
                AnalysisResult.objects.filter(
                    addon__in=addons, status__in=[AnalysisResult.COMPLETE, AnalysisResult.PENDING]
                )
                .values("asset_id")
                .annotate(n=Count("id"))
                .filter(n=len(addons))
                .values("asset_id")
            )
            assets = assets.exclude(pk__in=done)

        total = assets.count()
        failed = 0
        for n, asset in enumerate(assets.iterator(chunk_size=500), start=1):
            analysis.analysis_request(asset=asset, addons=addons, auto_tagging=threshold)
            if options["now"]:
                statuses = analysis.analysis_run(asset_id=asset.pk)
                failed += sum(1 for s in statuses.values() if s == AnalysisResult.FAILED)
            self._progress(n, total)
        if total:
            self.stderr.write("")
        verb = "Analysed" if options["now"] else "Queued"
        self.stdout.write(f"{verb} {total} asset(s) for {', '.join(addons)}." + (f" {failed} failed." if failed else ""))

    def _progress(self, n, total, width=30):
        filled = int(width * n / total) if total else width
        self.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {n}/{total}", ending="")
        self.stderr.flush()
