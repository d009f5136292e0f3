"""Run one image file through the configured detector backend(s) and print the add-ons' JSON; nothing is stored."""
import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from PIL import Image

from tagging import contract
from tagging.addons import ADDONS
from tagging.backends import backend_alias_for, backend_named
from tagging.backends.base import AnalysisImage
from tagging.images import analysis_image_from_bytes


class Command(BaseCommand):
    help = (
        "Run one image file through the detector backend configured for each add-on and print the add-ons' JSON, "
        "shaped like an asset's info (categorization / detection). Nothing is stored and no worker is needed, so "
        "it is the quickest way to check an Amazon Rekognition set-up, e.g. "
        "`TAGGING_BACKEND=rekognition AWS_REGION=eu-west-1 python manage.py analyze_file photo.jpg` "
        "(credentials from boto3's usual chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or a role). "
        "The file is always sent as bytes, never as an S3 object. Faces are printed as the detector found them, "
        "before this library's own recognition of the people it knows. An add-on that fails prints its error and "
        "the command exits with status 1."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="An image file (JPEG, PNG, WebP, GIF, TIFF or HEIC).")
        parser.add_argument("--addons", default=",".join(ADDONS),
                            help="Comma-separated add-ons (default: aws_rek_tagging,aws_rek_face).")
        parser.add_argument("--backend", default=None,
                            help="Use this backend (local, rekognition, fake) for every add-on, whatever "
                                 "TAGGING_BACKEND says.")

    def handle(self, *args, **options):
        addons = [a.strip() for a in options["addons"].split(",") if a.strip()]
        unknown = [a for a in addons if a not in ADDONS]
        if unknown or not addons:
            raise CommandError(f"Unknown add-on(s): {', '.join(unknown) or '(none given)'}; known: {', '.join(ADDONS)}")
        if options["backend"] is not None and options["backend"] not in settings.TAGGING_BACKENDS:
            raise CommandError(f"--backend must be one of {', '.join(settings.TAGGING_BACKENDS)}.")
        path = Path(options["path"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}") from None
        try:
            image = analysis_image_from_bytes(data)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise CommandError(f"{path} is not an image this library reads: {exc}") from None

        info = file_analyze(image=image, addons=addons, backend=options["backend"])
        self.stdout.write(json.dumps(info, indent=2, ensure_ascii=False))
        failed = [f"{name}: {entry['error']['message']}" for group in info.values() for name, entry in group.items()
                  if entry["status"] == "failed"]
        if failed:
            raise CommandError("; ".join(failed))


def file_analyze(*, image: AnalysisImage, addons: list[str], backend: str | None = None) -> dict:
    """{"categorization": {"aws_rek_tagging": {...}}, "detection": {...}} for one image, as the backends answer."""
    info: dict = {}
    for addon in addons:
        alias = backend or backend_alias_for(addon)
        entry: dict = {"backend": alias}
        try:
            detector = backend_named(alias)
            if addon == "aws_rek_tagging":
                entry["data"] = contract.labels_data(detector.labels(image))
            else:
                entry["data"] = contract.faces_result_data(detector.faces(image))
            entry["status"] = "complete"
        except Exception as exc:  # noqa: BLE001 - whatever failed is the answer the person came for
            entry = {"backend": alias, "status": "failed", "error": {"message": str(exc) or type(exc).__name__}}
        info.setdefault(ADDONS[addon].parameter, {})[addon] = entry
    return info
