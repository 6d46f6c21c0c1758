"""
Create (or refresh) the demo accounts that `make run` prints: an Editor and a Publisher.

Neither is a superuser, so trying the site shows the roles as editors will have them
(the editor cannot publish; the publisher can). Development only: with DEBUG off the
command refuses, so a production database never gets an account whose password was
printed on a terminal (real accounts: ``manage.py create_editor``).
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from profiles.management.commands.create_editor import account_text, set_up_editor


class Command(BaseCommand):
    help = "Create the demo accounts 'editor' (Editor) and 'publisher' (Publisher) with fresh random passwords and print them (DEBUG only)."

    def add_arguments(self, parser):
        parser.add_argument("--editor", default="editor", help="the demo editor's user name")
        parser.add_argument("--publisher", default="publisher", help="the demo publisher's user name")

    def handle(self, *args, editor, publisher, **options):
        if not settings.DEBUG:
            raise CommandError("The demo accounts are for development only (DEBUG is off).")
        text = "".join(
            "\nDemo " + account_text(username, role, *set_up_editor(username, role))
            for username, role in ((editor, "editor"), (publisher, "publisher"))
        )
        self.stdout.write(self.style.SUCCESS(text))
