"""Group the unnamed faces again for the people page (the worker does it as faces change, and periodically)."""
from django.core.management.base import BaseCommand

from tagging.services import face_groups


class Command(BaseCommand):
    help = ("Regroup the look-alike unnamed faces of every owner now (or of --owner ids only): after changing "
            "TAGGING_FACE_GROUPS_WINDOW, or to catch up without waiting for the worker.")

    def add_arguments(self, parser):
        parser.add_argument("--owner", type=int, action="append", default=None,
                            help="a user id whose faces to regroup (-1: photos nobody owns); repeatable")

    def handle(self, *args, owner, **options):
        keys = owner or face_groups.owner_keys_all()
        changed = face_groups.face_groups_rebuild(owner_keys=keys)
        self.stdout.write(f"Regrouped the faces of {len(keys)} owner(s); the groups of {changed} changed.")
