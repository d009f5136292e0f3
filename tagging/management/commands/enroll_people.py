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
        "that show exactly one face. A folder name matches an existing person without case, through a tag synonym, "
        "or as a whole word of one person's name (obama -> Barack Obama). Files it does not read are listed as "
        "ignored. The photos it uploads stay out of the gallery unless --gallery is given (search and the person's "
        "page still show them). Safe to run again: nobody and no photo is added twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path)
        parser.add_argument("--gallery", action="store_true",
                            help="show the enrolment photos in the gallery too (default: they stay out of it)")

    def handle(self, *args, folder: Path, gallery: bool = False, **options):
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder.")
        enrolled_people, enrolled, skipped, ignored = set(), 0, 0, 0
        for entry in sorted(p for p in folder.iterdir() if not p.is_dir()):
            ignored += 1
            self.stdout.write(f"ignored   {entry.name} (not in a person's folder)")
        for person_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
            folder_name = " ".join(person_dir.name.replace("_", " ").split())
            name, existing = people.person_for_folder(folder_name)
            if existing is not None and existing.name.lower() != folder_name.lower():
                self.stdout.write(f"folder    {person_dir.name}: {name}, who is already known")
            for entry in sorted(p for p in person_dir.iterdir() if not p.is_file()):
                ignored += 1
                self.stdout.write(f"ignored   {person_dir.name}/{entry.name}/ (folders inside a person's folder are not read)")
            for photo in sorted(p for p in person_dir.iterdir() if p.is_file()):
                public_id = f"people/{_slug(person_dir.name.lower())}/{_slug(photo.stem)}"
                with photo.open("rb") as handle:
                    ok, what = people.person_enroll_photo(
                        name=name, file=File(handle, name=photo.name), public_id=public_id, gallery=gallery
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
        self.stdout.write(f"{enrolled} photo(s) enrolled for {len(enrolled_people)} person(s); {skipped} skipped"
                          + (f"; {ignored} ignored." if ignored else "."))
