"""Make sure an admin login exists; print how to log in the first time."""
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the admin user if no superuser exists yet, and say how to log in."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        User = get_user_model()
        existing = User.objects.filter(is_superuser=True).order_by("pk").first()
        if existing:
            # The password was shown once when it was made; it is never shown again.
            self.stdout.write(
                f"Log in as '{existing.get_username()}' with the password you were given at first start "
                f"(forgot it? python manage.py changepassword {existing.get_username()})."
            )
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        self.stdout.write(self.style.SUCCESS(f"Created the admin login.  username: {username}  password: {password}"))
        self.stdout.write("This password is shown only this once; change it after logging in.")
