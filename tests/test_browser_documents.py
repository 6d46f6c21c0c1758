"""Two editors on one profile in real browsers: who else is editing, merged saves, conflicts, unsaved changes."""

from django.contrib.auth.models import Group, User

from profiles import documents
from profiles.models import Revision
from tests.factories import make_lab, make_section
from tests.test_browser_admin import browser, playwright_api, pytestmark  # noqa: F401 (the fixture, the marks)

PASSWORD = "a long editor password"


def editor_page(browser, live_server, name, lab):
    """A browser context of its own (its own cookies) signed in as ``name``, on the lab's form."""
    user = User.objects.create_user(name, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="Editor"))
    page = browser.new_context().new_page()
    page.clock.install()  # the 15-second presence ping runs when the test moves the clock
    page.goto(f"{live_server.url}/admin/login/?next=/admin/profiles/lab/{lab.pk}/change/")
    page.fill("#id_username", name)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"**/admin/profiles/lab/{lab.pk}/change/")
    return page


def save(page):
    page.locator("input[name=_continue]").first.click()
    page.wait_for_load_state()


def test_two_editors_see_each_other_and_their_saves_merge_or_conflict(live_server, browser):
    lab = make_lab("Browser Lab", summary="Old summary.", funding_text="Old funding.", status_text="Line one.\nLine two.")
    make_section(lab, body="Old text.\n\nA second paragraph.")
    alice = editor_page(browser, live_server, "alice", lab)
    bob = editor_page(browser, live_server, "bob", lab)

    # Each sees the other once their next ping is due. Bob's first ping (on load) must have
    # reached the server before Alice's next one, or hers finds nobody: under load (CI's two
    # passes side by side) it sometimes had not, and her notice stayed empty.
    playwright_api.expect(bob.locator(".document-state__presence")).to_contain_text("alice")
    alice.clock.run_for(16_000)
    playwright_api.expect(alice.locator(".document-state__presence")).to_contain_text("bob")

    # Different fields: both survive.
    alice.fill("#id_funding_text", "Alice's funding.")
    save(alice)
    # Only what she changed is in the draft (a textarea's CRLF line ends are no change).
    changes = documents.diff(documents.snapshot(lab), Revision.objects.pending_for(lab).data)
    assert [(part, field) for part, _key, field, _before, _after in changes] == [(None, "funding_text")]
    bob.fill("#id_summary", "Bob's summary.")
    save(bob)
    draft = Revision.objects.pending_for(lab).data["root"]
    assert (draft["funding_text"], draft["summary"]) == ("Alice's funding.", "Bob's summary.")
    assert bob.locator("#id_funding_text").input_value() == "Alice's funding."  # his form shows hers

    # The same field: the later save is refused with both values, and keeps its input.
    alice.reload()  # she opens the draft as it is now, Bob's summary in it
    assert alice.locator("#id_summary").input_value() == "Bob's summary."
    alice.fill("#id_summary", "Alice's summary.")
    save(alice)
    bob.fill("#id_summary", "Bob's second summary.")
    save(bob)
    playwright_api.expect(bob.locator(".edit-conflict")).to_contain_text("Alice's summary.")
    playwright_api.expect(bob.locator(".edit-conflict")).to_contain_text("Bob's second summary.")
    assert bob.locator("#id_summary").input_value() == "Bob's second summary."
    assert Revision.objects.pending_for(lab).data["root"]["summary"] == "Alice's summary."


def test_leaving_a_form_with_unsaved_changes_asks_first(live_server, browser):
    lab = make_lab("Leaving Lab")
    page = editor_page(browser, live_server, "carol", lab)
    page.fill("#id_summary", "Half-typed")
    questions = []
    page.on("dialog", lambda dialog: (questions.append(dialog.type), dialog.dismiss()))
    try:
        page.goto(f"{live_server.url}/admin/", timeout=3000)
    except playwright_api.Error:
        pass  # dismissing the question cancels the navigation
    assert questions == ["beforeunload"]
    assert page.locator("#id_summary").input_value() == "Half-typed"
