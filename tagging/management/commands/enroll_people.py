"""Enrol people in bulk from FOLDER/<person name>/<photos>, so the library recognises them."""
import re
from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from tagging.services import people

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".tif", ".tiff", ".heic", ".heif"}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.") or "x"


class Command(BaseCommand):
    help = (
        "Enrol each person from FOLDER/<person name>/<photos> (underscores read as spaces) using the photos "
        "that show exactly one face. Safe to run again: nobody and no photo is added twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path)

    def handle(self, *args, folder: Path, **options):
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder.")
        enrolled_people, enrolled, skipped = set(), 0, 0
        for person_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
            name = " ".join(person_dir.name.replace("_", " ").split())
            for photo in sorted(p for p in person_dir.iterdir() if p.is_file()):
                public_id = f"people/{_slug(person_dir.name.lower())}/{_slug(photo.stem)}"
                with photo.open("rb") as handle:
                    ok, what = people.person_enroll_photo(
                        name=name, file=File(handle, name=photo.name), public_id=public_id
                    )
                if ok:
                    enrolled += 1
                    enrolled_people.add(name)
                    self.stdout.write(f"enrolled  {name}: {photo.name}")
                else:
                    skipped += 1
                    self.stdout.write(f"skipped   {name}: {photo.name} ({what})")
        for name in sorted(enrolled_people):
            person = people.person_get_or_create(name, approved=True)
            found = people.faces_recheck(person_id=person.pk)
            if found:
                self.stdout.write(f"recognised {name} in {len(found)} more photo(s)")
        self.stdout.write(f"{enrolled} photo(s) enrolled for {len(enrolled_people)} person(s); {skipped} skipped.")
