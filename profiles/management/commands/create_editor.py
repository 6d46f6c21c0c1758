"""
Create (or refresh) an editor's account: ``manage.py create_editor NAME --role editor|publisher``.

The account is staff (it opens the admin) and takes its permissions from the role's group
alone (migration 0003): never a superuser, who could publish, delete and hand out
permissions whatever the role. A fresh random password is printed each time, so running
it again for a forgotten password is the way to reset one.
"""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

# --role value -> the group migration 0003 creates.
ROLES = {"editor": "Editor", "publisher": "Publisher"}


@transaction.atomic
def set_up_editor(username, role):
    """Create or refresh ``username`` as a staff member of ``role``'s group only; return (created?, password)."""
    if role not in ROLES:
        raise CommandError(f'Unknown role "{role}": use --role editor (cannot publish) or --role publisher.')
    try:
        group = Group.objects.get(name=ROLES[role])
    except Group.DoesNotExist:
        raise CommandError(f'There is no "{ROLES[role]}" group: run `manage.py migrate` first.') from None
    User = get_user_model()
    try:
        User.username_validator(username)  # get_or_create() would store any string
    except ValidationError as error:
        raise CommandError(f"{username!r}: {' '.join(error.messages)}") from None
    password = secrets.token_urlsafe(12)
    user, created = User.objects.get_or_create(username=username)
    user.is_staff = True
    user.is_active = True
    user.is_superuser = False
    user.set_password(password)
    user.save()
    # The role is the group alone: a refresh with another role moves the account, and
    # permissions granted one by one earlier would outlast the role, so they go too.
    user.groups.set([group])
    user.user_permissions.clear()
    return created, password


def account_text(username, role, created, password):
    return (
        f"{ROLES[role]} {username!r} {'created' if created else 'refreshed'}: sign in at /admin/ as\n"
        f"    username: {username}\n    password: {password}\n"
    )


class Command(BaseCommand):
    help = "Create or refresh a staff account in the Editor or Publisher group and print a fresh random password."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--role", required=True, metavar="editor|publisher",
            help="editor (create, edit, submit for review) or publisher (also publish, archive, delete).",
        )

    def handle(self, *args, username, role, **options):
        created, password = set_up_editor(username, role)
        self.stdout.write(self.style.SUCCESS(account_text(username, role, created, password)))
