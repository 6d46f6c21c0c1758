"""Editors' accounts: `manage.py create_editor NAME --role editor|publisher`, and the demo accounts `make run` prints."""

import re
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from profiles.models import Lab, PublicationState
from tests.factories import make_lab
from tests.test_admin import admin_url, form_data
from tests.test_workflow_admin import run_action

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def printed_accounts(output):
    """{username: password}, as the command prints them."""
    return dict(re.findall(r"username: (\S+)\s+password: (\S+)", output))


def signed_in(username, password):
    """A browser signed in through the admin's login form (with the lock-out checks)."""
    client = Client()
    response = client.post("/admin/login/?next=/admin/", {"username": username, "password": password})
    assert response.status_code == 302 and response["Location"] == "/admin/", (username, response.status_code)
    return client


def groups_of(username):
    return sorted(User.objects.get(username=username).groups.values_list("name", flat=True))


def test_the_demo_editor_edits_but_cannot_publish_and_the_demo_publisher_can(settings):
    settings.DEBUG = True
    accounts = printed_accounts(run("create_demo_editor"))
    assert set(accounts) == {"editor", "publisher"}
    assert groups_of("editor") == ["Editor"] and groups_of("publisher") == ["Publisher"]
    assert not User.objects.filter(username__in=accounts, is_superuser=True).exists()
    lab = make_lab("Demo Lab", state=PublicationState.REVIEW)

    editor = signed_in("editor", accounts["editor"])
    assert editor.get("/admin/").status_code == 200
    data = form_data(editor.get(admin_url(Lab, "change", lab.pk)))
    data["name"] = "Demo Lab, renamed"
    assert editor.post(admin_url(Lab, "change", lab.pk), data).status_code == 302
    run_action(editor, Lab, "publish", lab)
    lab.refresh_from_db()
    assert lab.name == "Demo Lab, renamed" and lab.state == PublicationState.REVIEW
    assert not User.objects.get(username="editor").has_perm("profiles.publish_lab")

    publisher = signed_in("publisher", accounts["publisher"])
    run_action(publisher, Lab, "publish", lab)
    lab.refresh_from_db()
    assert lab.state == PublicationState.PUBLISHED


def test_the_demo_accounts_are_refreshed_and_lose_an_old_superuser_flag(settings):
    # A database from before: its demo "editor" was a superuser.
    User.objects.create_superuser("editor", "editor@example.org", "an old pass phrase 1")
    settings.DEBUG = True
    first = printed_accounts(run("create_demo_editor"))
    second = printed_accounts(run("create_demo_editor"))
    assert first["editor"] != second["editor"] and first["publisher"] != second["publisher"]
    assert User.objects.filter(username__in=["editor", "publisher"], is_superuser=False, is_staff=True).count() == 2
    assert groups_of("editor") == ["Editor"]
    signed_in("editor", second["editor"])


def test_the_demo_accounts_are_refused_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="development only"):
        run("create_demo_editor")
    assert not User.objects.exists()


@pytest.mark.parametrize("role, group", [("editor", "Editor"), ("publisher", "Publisher")])
def test_create_editor_makes_a_staff_account_in_the_roles_group(role, group):
    password = printed_accounts(run("create_editor", "ada", "--role", role))["ada"]
    user = User.objects.get(username="ada")
    assert user.is_staff and user.is_active and not user.is_superuser
    assert groups_of("ada") == [group]
    assert user.has_perm("profiles.change_lab")
    assert user.has_perm("profiles.publish_lab") is (role == "publisher")
    assert signed_in("ada", password).get(admin_url(Lab, "changelist")).status_code == 200


def test_create_editor_refreshes_an_account_with_a_new_password_and_role():
    first = printed_accounts(run("create_editor", "ada", "--role", "publisher"))["ada"]
    User.objects.filter(username="ada").update(is_superuser=True, is_active=False)
    second = printed_accounts(run("create_editor", "ada", "--role", "editor"))["ada"]
    assert first != second
    user = User.objects.get(username="ada")
    assert user.is_active and not user.is_superuser and user.check_password(second)
    assert groups_of("ada") == ["Editor"]


def test_create_editor_refuses_an_unknown_role():
    with pytest.raises(CommandError, match='Unknown role "admin"'):
        run("create_editor", "ada", "--role", "admin")
    assert not User.objects.filter(username="ada").exists()
