"""
Create (or refresh) the demo editor account that `make run` prints.

Development only: with DEBUG off the command refuses, so a production database
never gets an account whose password was printed on a terminal.
"""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create the demo superuser 'editor' with a fresh random password and print both (DEBUG only)."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="editor")

    def handle(self, *args, username, **options):
        if not settings.DEBUG:
            raise CommandError("The demo editor is for development only (DEBUG is off).")
        User = get_user_model()
        password = secrets.token_urlsafe(12)
        user, created = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.org"})
        user.is_staff = True
        user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(
            self.style.SUCCESS(
                f"\nDemo editor {'created' if created else 'refreshed'}: sign in at /admin/ as\n"
                f"    username: {username}\n    password: {password}\n"
            )
        )
