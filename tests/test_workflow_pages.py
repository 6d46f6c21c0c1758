"""
The editorial workflow as readers, staff and reviewers meet it on the public site:
which states each of them sees, the preview banner, signed preview links, the dates on
pages, the scheduled go-live command, and that nothing an editor types can inject script.
"""

import datetime
import io

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.utils import timezone
from markupsafe import escape  # the public pages' escaping (Jinja2's)

from profiles.models import Lab, PreviewLink, PublicationState
from tests.factories import (
    cite,
    make_backing,
    make_lab,
    make_organization,
    make_person,
    make_relation,
    make_release,
    make_role,
    make_section,
    make_source,
)
from tests.html_safety import XSS_PAYLOADS, dangerous_markup
from tests.test_pages import text_of

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)


def state_fields(name):
    """Model fields for each workflow state a row can be in, by a readable name."""
    now = timezone.now()
    return {
        "draft": {"state": PublicationState.DRAFT},
        "review": {"state": PublicationState.REVIEW},
        "published": {"state": PublicationState.PUBLISHED},
        "archived": {"state": PublicationState.ARCHIVED, "published_at": now - 48 * HOUR},
        "scheduled-future": {"state": PublicationState.PUBLISHED, "published_at": now + 24 * HOUR},
        "scheduled-past": {"state": PublicationState.PUBLISHED, "published_at": now - HOUR},
    }[name]


STATES = ["draft", "review", "published", "archived", "scheduled-future", "scheduled-past"]
# What readers see: published rows whose go-live time has come.
PUBLIC = {"published", "scheduled-past"}


def page_text(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return text_of(response)


def api_text(client, url):
    response = client.get(url, HTTP_ACCEPT="application/json")
    assert response.status_code == 200, url
    return response.content.decode()


def status(client, url, **headers):
    return client.get(url, **headers).status_code


# --------------------------------------------------------------------------
# Each state, seen or unseen by anonymous readers, on every page and in the API
# --------------------------------------------------------------------------


@pytest.mark.parametrize("state", STATES)
def test_a_lab_in_each_state_on_pages_and_api(client, state):
    lab = make_lab("Quokka Institute", **state_fields(state))
    visible = state in PUBLIC
    assert status(client, lab.get_absolute_url()) == (200 if visible else 404)
    assert status(client, f"/api/labs/{lab.slug}/") == (200 if visible else 404)
    for url in ["/", "/labs/", "/labs/?q=quokka"]:
        assert ("Quokka Institute" in page_text(client, url)) == visible, url
    assert ("Quokka Institute" in api_text(client, "/api/labs/")) == visible


@pytest.mark.parametrize("state", STATES)
def test_a_release_in_each_state_on_pages_and_api(client, state):
    lab = make_lab("Host Lab")
    release = make_release(lab, "Wombat-7B", **state_fields(state))
    visible = state in PUBLIC
    assert status(client, release.get_absolute_url()) == (200 if visible else 404)
    assert status(client, f"/api/releases/{release.slug}/") == (200 if visible else 404)
    # A published lab's unpublished release is invisible on its page and in the lab's API profile.
    for url in [lab.get_absolute_url(), "/", "/releases/", f"/releases/?lab={lab.slug}"]:
        assert ("Wombat-7B" in page_text(client, url)) == visible, url
    for url in ["/api/releases/", f"/api/labs/{lab.slug}/"]:
        assert ("Wombat-7B" in api_text(client, url)) == visible, url


@pytest.mark.parametrize("state", STATES)
def test_a_person_in_each_state_on_pages_and_api(client, state):
    lab = make_lab("Host Lab")
    person = make_person("Numbat Person", bio="Leads the lab.", **state_fields(state))
    make_role(person, lab, title="Director")
    visible = state in PUBLIC
    assert status(client, person.get_absolute_url()) == (200 if visible else 404)
    assert status(client, f"/api/people/{person.slug}/") == (200 if visible else 404)
    assert ("Numbat Person" in page_text(client, lab.get_absolute_url())) == visible
    for url in ["/api/people/", f"/api/labs/{lab.slug}/"]:
        assert ("Numbat Person" in api_text(client, url)) == visible, url


@pytest.mark.parametrize("state", STATES)
def test_a_source_in_each_state_on_pages_and_api(client, state):
    lab = make_lab("Host Lab")
    source = make_source("Bilby Report", **state_fields(state))
    cite(source, lab=lab, claim="Founded in 2015.")
    visible = state in PUBLIC
    assert status(client, source.get_absolute_url()) == (200 if visible else 404)
    for url in ["/sources/", lab.get_absolute_url()]:
        assert ("Bilby Report" in page_text(client, url)) == visible, url
    assert ("Bilby Report" in api_text(client, "/api/sources/")) == visible


@pytest.mark.parametrize("state", ["draft", "review", "archived", "scheduled-future"])
def test_the_releases_and_people_of_an_unpublished_lab_stay_hidden(client, state):
    lab = make_lab("Hidden Host", **state_fields(state))
    release = make_release(lab, "Orphan-1")  # published itself, but its lab is not
    assert status(client, release.get_absolute_url()) == 404
    assert status(client, f"/api/releases/{release.slug}/") == 404
    assert "Orphan-1" not in page_text(client, "/releases/")
    assert "Orphan-1" not in api_text(client, "/api/releases/")


# --------------------------------------------------------------------------
# Staff preview at the real URL
# --------------------------------------------------------------------------


def staff_user(username="editor", group="Editor"):
    """A staff member with the role the workflow migration created (Editor or Publisher)."""
    user = User.objects.create_user(username, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def editor_client(client):
    client.force_login(staff_user())
    return client


def assert_private(response):
    cache_control = response["Cache-Control"]
    assert "private" in cache_control and "no-store" in cache_control
    assert response["X-Robots-Tag"] == "noindex"


def test_staff_open_a_draft_source_at_its_real_url_with_a_banner(editor_client):
    source = make_source("Draft Source", state=PublicationState.DRAFT)
    response = editor_client.get(source.get_absolute_url())
    assert response.status_code == 200
    text = text_of(response)
    assert "Draft Source" in text and "Draft — not visible to readers" in text
    assert f'href="/admin/profiles/source/{source.pk}/change/"' in response.content.decode()
    assert_private(response)


def test_staff_open_a_draft_lab_at_its_real_url_with_a_banner(client, editor_client):
    lab = make_lab("Draft Lab", state=PublicationState.DRAFT)
    response = editor_client.get(lab.get_absolute_url())
    assert response.status_code == 200
    text = text_of(response)
    assert "Draft — not visible to readers" in text
    assert f'href="/admin/profiles/lab/{lab.pk}/change/"' in response.content.decode()
    assert "Edit it in the admin" in text
    assert_private(response)


@pytest.mark.parametrize(
    "state, words",
    [
        ("review", "In review — not visible to readers"),
        ("archived", "Archived — not visible to readers"),
        ("scheduled-future", "Scheduled — not visible to readers until"),
    ],
)
def test_the_banner_names_the_state(editor_client, state, words):
    lab = make_lab("Stateful Lab", **state_fields(state))
    assert words in text_of(editor_client.get(lab.get_absolute_url()))


def test_an_editor_sees_draft_people_and_releases_with_the_banner_and_anonymous_readers_do_not(client):
    lab = make_lab("Host Lab")
    person = make_person("Draft Person", state=PublicationState.DRAFT)
    make_role(person, lab, title="Director")
    release = make_release(lab, "Draft-Model", state=PublicationState.REVIEW)
    orphan = make_release(make_lab("Draft Host", state=PublicationState.DRAFT), "Orphan-Model")

    for url in [person.get_absolute_url(), release.get_absolute_url(), orphan.get_absolute_url()]:
        assert client.get(url).status_code == 404, url

    client.force_login(staff_user())
    assert "Draft — not visible to readers" in text_of(client.get(person.get_absolute_url()))
    assert "In review — not visible to readers" in text_of(client.get(release.get_absolute_url()))
    assert "Published, but its lab is not — not visible to readers" in text_of(client.get(orphan.get_absolute_url()))
    # The published lab's page previews its unpublished parts for staff, privately.
    lab_page = client.get(lab.get_absolute_url())
    assert "Draft Person" in text_of(lab_page) and "Draft-Model" in text_of(lab_page)
    assert_private(lab_page)


def test_staff_see_no_banner_on_a_live_page_and_readers_get_a_cacheable_indexable_page(client, editor_client):
    lab = make_lab("Live Lab")
    assert "not visible to readers" not in text_of(editor_client.get(lab.get_absolute_url()))
    editor_client.logout()
    response = client.get(lab.get_absolute_url())
    assert "preview-banner" not in response.content.decode()
    assert "X-Robots-Tag" not in response
    assert "no-store" not in response.get("Cache-Control", "")


def test_staff_without_view_permission_get_the_readers_site(client):
    draft = make_lab("Draft Lab", state=PublicationState.DRAFT)
    client.force_login(User.objects.create_user("clerk", password="x", is_staff=True))
    assert client.get(draft.get_absolute_url()).status_code == 404


def test_list_pages_stay_public_only_for_staff(editor_client):
    lab = make_lab("Public Lab")
    make_lab("Draft Lab", state=PublicationState.DRAFT)
    make_release(lab, "Draft-Model", state=PublicationState.DRAFT)
    make_source("Draft Source", state=PublicationState.DRAFT)
    for url in ["/", "/labs/", "/releases/", "/sources/"]:
        text = page_text(editor_client, url)
        for secret in ("Draft Lab", "Draft-Model", "Draft Source"):
            assert secret not in text, (url, secret)


# --------------------------------------------------------------------------
# Signed preview links
# --------------------------------------------------------------------------


@pytest.fixture
def publisher():
    return staff_user("publisher", group="Publisher")


def test_a_preview_link_shows_a_draft_lab_to_anyone_without_login(client, publisher):
    lab = make_lab("Draft Lab", state=PublicationState.DRAFT, summary="Not announced yet.")
    make_release(lab, "Draft-Model", state=PublicationState.DRAFT)
    link = PreviewLink.objects.create(target=lab, created_by=publisher)
    response = client.get(link.get_absolute_url())
    assert response.status_code == 200
    text = text_of(response)
    assert "Draft Lab" in text and "Not announced yet." in text and "Draft-Model" in text
    assert "Draft — not visible to readers" in text
    assert f"Shared preview, expires {link.expires_at:%-d %B %Y}" in text
    assert "Edit it in the admin" not in text  # a reviewer has no account
    assert_private(response)
    # The link opens only its own target: the real URL still answers 404.
    assert client.get(lab.get_absolute_url()).status_code == 404


@pytest.mark.parametrize("kind", ["person", "release", "source"])
def test_preview_links_work_for_people_releases_and_sources(client, publisher, kind):
    lab = make_lab("Host Lab")
    target = {
        "person": lambda: make_person("Secret Hire", state=PublicationState.REVIEW),
        "release": lambda: make_release(lab, "Secret-Model", state=PublicationState.REVIEW),
        "source": lambda: make_source("Secret Memo", state=PublicationState.REVIEW),
    }[kind]()
    link = PreviewLink.objects.create(target=target, created_by=publisher)
    text = page_text(client, link.get_absolute_url())
    assert str(target) in text and "In review — not visible to readers" in text


def assert_link_refused(client, url):
    response = client.get(url)
    assert response.status_code == 410
    assert "This preview link is no longer valid" in text_of(response)
    assert "Draft Lab" not in text_of(response)


def test_a_revoked_link_stops_working_at_once(client, publisher):
    link = PreviewLink.objects.create(target=make_lab("Draft Lab", state=PublicationState.DRAFT), created_by=publisher)
    url = link.get_absolute_url()
    assert client.get(url).status_code == 200
    link.revoked_at = timezone.now()
    link.save()
    assert_link_refused(client, url)


def test_an_expired_link_stops_working(client, publisher):
    link = PreviewLink.objects.create(
        target=make_lab("Draft Lab", state=PublicationState.DRAFT), created_by=publisher,
        expires_at=timezone.now() - datetime.timedelta(minutes=1),
    )
    assert_link_refused(client, link.get_absolute_url())


def test_a_tampered_or_made_up_link_is_refused(client, publisher):
    link = PreviewLink.objects.create(target=make_lab("Draft Lab", state=PublicationState.DRAFT), created_by=publisher)
    token = link.signed_token
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert_link_refused(client, f"/preview/{tampered}/")
    assert_link_refused(client, "/preview/not-a-token/")


def test_a_link_to_a_deleted_row_is_refused(client, publisher):
    lab = make_lab("Draft Lab", state=PublicationState.DRAFT)
    link = PreviewLink.objects.create(target=lab, created_by=publisher)
    Lab.objects.filter(pk=lab.pk).delete()
    assert_link_refused(client, link.get_absolute_url())


# --------------------------------------------------------------------------
# Dates on pages
# --------------------------------------------------------------------------


def test_pages_show_when_they_were_published_and_last_updated(client):
    went_live = datetime.datetime(2026, 5, 3, 9, 30, tzinfo=datetime.UTC)
    lab = make_lab("Dated Lab", published_at=went_live)
    person = make_person("Dated Person", published_at=went_live)
    make_role(person, lab, title="Director")
    release = make_release(lab, "Dated-Model", published_at=went_live)
    today = timezone.now()
    for obj in (lab, person, release):
        response = client.get(obj.get_absolute_url())
        html = response.content.decode()
        assert '<time datetime="2026-05-03T09:30:00+00:00">3 May 2026</time>' in html, obj
        text = text_of(response)
        assert "Published 3 May 2026" in text, obj
        assert f"Last updated {today:%-d %B %Y}" in text, obj


def test_a_draft_has_no_published_date(editor_client):
    lab = make_lab("Draft Lab", state=PublicationState.DRAFT)
    html = editor_client.get(lab.get_absolute_url()).content.decode()
    assert "Published <time" not in html and "Last updated <time" in html


def test_staff_see_when_a_scheduled_row_goes_live(editor_client):
    lab = make_lab("Scheduled Lab", published_at=datetime.datetime(2099, 5, 3, 9, 30, tzinfo=datetime.UTC))
    text = text_of(editor_client.get(lab.get_absolute_url()))
    assert "Scheduled — not visible to readers until 3 May 2099, 09:30 UTC" in text
    assert "Goes live 3 May 2099" in text and "Published 3 May 2099" not in text


# --------------------------------------------------------------------------
# The scheduled go-live command
# --------------------------------------------------------------------------


def publish_scheduled():
    out = io.StringIO()
    call_command("publish_scheduled", stdout=out)
    return out.getvalue()


def rewind(row, saved_ago, live_ago):
    """Pretend ``row`` was last saved ``saved_ago`` and goes (went) live at now - ``live_ago``."""
    now = timezone.now()
    type(row).history.filter(id=row.pk).update(history_date=now - saved_ago)
    type(row).objects.filter(pk=row.pk).update(published_at=now - live_ago, updated=now - saved_ago)


def test_publish_scheduled_saves_rows_that_went_live_once_with_a_reason(client):
    lab = make_lab("Scheduled Lab", published_at=timezone.now() + HOUR)
    release = make_release(make_lab("Host Lab"), "Scheduled-Model", published_at=timezone.now() + HOUR)
    waiting = make_lab("Later Lab", published_at=timezone.now() + HOUR)
    already = make_lab("Old Lab")  # published long ago, saved since: not due
    rewind(lab, saved_ago=2 * HOUR, live_ago=HOUR)
    rewind(release, saved_ago=2 * HOUR, live_ago=HOUR)
    rewind(already, saved_ago=HOUR, live_ago=2 * HOUR)

    # Readers see the row from its go-live time, command or not.
    assert client.get(lab.get_absolute_url()).status_code == 200

    output = publish_scheduled()
    assert 'lab "Scheduled Lab"' in output and 'release "Scheduled-Model"' in output
    assert "2 row(s) went live." in output
    assert "Later Lab" not in output and "Old Lab" not in output
    latest = lab.history.latest()
    assert latest.history_change_reason == "Went live"
    lab.refresh_from_db()
    assert lab.updated >= lab.published_at
    assert release.history.latest().history_change_reason == "Went live"
    assert waiting.history.count() == 1 and already.history.count() == 1

    # Idempotent: a second run finds nothing and records nothing.
    assert "Nothing went live" in publish_scheduled()
    assert lab.history.count() == 2 and release.history.count() == 2


def test_publish_scheduled_moves_a_row_up_the_recently_updated_list(client):
    scheduled = make_lab("Scheduled Lab", published_at=timezone.now() + HOUR)
    for number in range(6):
        make_lab(f"Busy Lab {number}")
    rewind(scheduled, saved_ago=3 * HOUR, live_ago=HOUR)
    assert "Scheduled Lab" not in page_text(client, "/")  # only the six most recently updated
    publish_scheduled()
    assert "Scheduled Lab" in page_text(client, "/")


# --------------------------------------------------------------------------
# Nothing an editor types runs as script
# --------------------------------------------------------------------------


def profile_full_of(payload):
    """A published lab with every text and Markdown field of every part set to ``payload``."""
    lab = make_lab(
        payload, slug="xss-lab", native_name=payload, other_names=payload, summary=payload, lead=payload,
        city=payload, status_text=payload, funding_text=payload, open_weights="yes", open_weights_note=payload,
    )
    rival = make_lab("Rival Lab")
    section = make_section(lab, kind="origins", heading=payload, body=payload)
    make_section(lab, kind="outlook", body=payload, slug="outlook")
    make_section(lab, kind="other", heading=payload, body=payload, slug="other")
    person = make_person(payload, slug="xss-person", native_name=payload, bio=payload, earlier_positions=payload)
    make_role(person, lab, title=f"Director {payload}", focus=payload)
    family = make_release(lab, payload, slug="xss-family", kind="model_family", is_flagship=True, description=payload)
    release = make_release(
        lab, f"{payload} 2", slug="xss-release", family=family, sizes=payload, license=payload[:100],
        distribution=payload, description=payload,
    )
    make_backing(lab, make_organization(payload, slug="xss-organization"), note=payload)
    make_relation(lab, rival, note=payload)
    source = make_source(payload, slug="xss-source", publisher=payload, author=payload)
    for target in ({"lab": lab}, {"section": section}, {"release": release}, {"person": person}):
        cite(source, claim=payload, **target)
    return [lab, person, family, release]


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_no_payload_turns_into_markup_on_any_page(client, publisher, payload):
    lab, person, family, release = profile_full_of(payload)
    urls = ["/", "/labs/", "/releases/", "/sources/"] + [obj.get_absolute_url() for obj in (lab, person, family, release)]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert dangerous_markup(html) == [], url
        if "<" in payload:
            assert payload not in html, url  # neither as markup nor half-escaped
    # Plain-text fields show the payload as text, escaped.
    assert escape(payload) in client.get(lab.get_absolute_url()).content.decode()
    # The preview (banner and all) is as safe as the public page.
    lab.state = PublicationState.DRAFT
    lab.save()
    link = PreviewLink.objects.create(target=lab, created_by=publisher)
    assert dangerous_markup(client.get(link.get_absolute_url()).content.decode()) == []
    client.force_login(publisher)
    assert dangerous_markup(client.get(lab.get_absolute_url()).content.decode()) == []
