"""Create an API key and print the CLOUDINARY_URL an SDK reads; the secret is shown this once."""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from medialib.api.services import api_key_cloudinary_url, api_key_create


class Command(BaseCommand):
    help = "Create an API key for the Cloudinary-compatible API and print CLOUDINARY_URL=... for the SDKs."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Who or what will use the key, e.g. 'backup script'.")
        parser.add_argument("--user", help="Owner of the key and of what it uploads (default: the first superuser).")
        parser.add_argument("--host", default="127.0.0.1", help="This server's host as clients reach it.")
        parser.add_argument("--port", type=int, default=8000, help="This server's port as clients reach it.")
        parser.add_argument("--scheme", default="http", choices=["http", "https"])

    def handle(self, *args, name, user, host, port, scheme, **options):
        User = get_user_model()
        if user:
            owner = User.objects.filter(**{User.USERNAME_FIELD: user}).first()
            if owner is None:
                raise CommandError(f"No user named {user!r}.")
        else:
            owner = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
            if owner is None:
                raise CommandError("No superuser yet: pass --user USERNAME (or run ensure_admin first).")
        if not owner.is_active:
            raise CommandError(f"{owner.get_username()!r} is deactivated; a key for it would be refused.")
        key = api_key_create(name=name, user=owner)
        # stdout holds only the line to export, so `export $(manage.py create_api_key ...)` works.
        self.stdout.write(f"CLOUDINARY_URL={api_key_cloudinary_url(key, upload_prefix=f'{scheme}://{host}:{port}')}")
        self.stderr.write(
            f"API key {key.key} for {owner.get_username()!r} created. Its secret is in the URL above and is "
            "shown only this once.",
            style_func=self.style.WARNING,
        )
