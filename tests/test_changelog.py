"""Public changelogs (/labs/<slug>/changes/, /changes/ and its feed): what each publication changed, and never a draft."""

import re

import feedparser
import pytest

from profiles import documents
from profiles.models import Lab, PublicationState, Release
from tests.factories import edit_lab, make_lab, make_person, make_release, make_role
from tests.test_admin import admin_url, form_data, page_text
from tests.test_documents import signed_in

pytestmark = pytest.mark.django_db

FEEDS = ["/feed/", "/feed/atom/", "/changes/feed/"]


@pytest.fixture
def lab():
    lab = make_lab("Quokka Institute", summary="Studies quokkas.", funding_text="Government money.")
    make_release(lab, "QuokkaLM", license="MIT")
    make_release(lab, "qzsecretmodel", slug="qzsecretmodel", state=PublicationState.DRAFT)
    make_role(make_person("Ada Quokka"), lab, title="Director")
    return lab




def test_an_edit_published_by_a_publisher_shows_field_by_field_and_a_draft_never(lab, client):
    editor, publisher = signed_in("editor", "Editor"), signed_in("publisher", "Publisher")
    data = form_data(editor.get(admin_url(Lab, "change", lab.pk)))
    data["funding_text"] = "Quokka philanthropy."
    assert editor.post(admin_url(Lab, "change", lab.pk), data).status_code == 302
    assert "Quokka philanthropy." not in page_text(client.get(lab.get_changes_url()))  # a draft: not yet
    assert publisher.post(f"/admin/profiles/lab/{lab.pk}/draft/publish/").status_code == 302

    # A pending draft, and one that renames the draft release inside the same document.
    def rename_secret():
        Release.objects.filter(slug="qzsecretmodel").update(name="qzsecretrenamed")
    documents.edit(lab, rename_secret, None)
    documents.publish(Lab.objects.get(pk=lab.pk), None)
    edit_lab(lab, summary="qzpendingsummary")

    page = page_text(client.get(lab.get_changes_url()))
    assert "Funding" in page and "Government money." in page and "Quokka philanthropy." in page
    assert page.index("Quokka philanthropy.") < page.index("Profile published")  # newest first
    assert "qz" not in page.lower()

    site = page_text(client.get("/changes/"))
    assert "Quokka philanthropy." in site and "Quokka Institute" in site and "qz" not in site.lower()
    feed = client.get("/changes/feed/")
    assert b"qz" not in feed.content.lower()
    parsed = feedparser.parse(feed.content)
    titles = [entry.title for entry in parsed.entries]
    assert titles[0] == "Profile updated: Quokka Institute" and "Profile published: Quokka Institute" in titles
    assert "Quokka philanthropy." in parsed.entries[0].summary


def test_last_updated_on_a_lab_page_links_to_its_changelog(lab, client):
    page = client.get(lab.get_absolute_url()).content.decode()
    assert re.search(rf'<a class="page-dates__changes" href="{re.escape(lab.get_changes_url())}"[^>]*><span>Last updated <time', page)
    release = client.get(Release.objects.get(name="QuokkaLM").get_absolute_url()).content.decode()
    assert "/changes/" not in re.search(r'<p class="page-dates">.*?</p>', release, re.S).group(0)


def test_a_draft_lab_has_no_changelog_and_is_not_in_the_site_changelog(client):
    make_lab("qzdraftlab", slug="qzdraftlab", state=PublicationState.DRAFT)
    assert client.get("/labs/qzdraftlab/changes/").status_code == 404
    assert "qz" not in client.get("/changes/").content.decode().lower()


def test_a_scheduled_edit_shows_only_once_it_is_live(lab, client):
    import datetime

    import time_machine
    from django.utils import timezone

    edit_lab(lab, summary="Scheduled summary.")
    go_live = timezone.now() + datetime.timedelta(hours=2)
    documents.publish(lab, None, go_live=go_live)
    assert "Scheduled summary." not in page_text(client.get(lab.get_changes_url()))
    with time_machine.travel(go_live + datetime.timedelta(seconds=1)):
        assert "Scheduled summary." in page_text(client.get(lab.get_changes_url()))


def test_changelog_pages_cost_the_same_queries_however_many_revisions(lab, client, django_assert_max_num_queries):
    def publish_edits(numbers):
        for number in numbers:
            edit_lab(lab, summary=f"Summary {number}.", funding_text=f"Funding {number}.")
            documents.publish(Lab.objects.get(pk=lab.pk), None)
            make_role(make_person(f"Person {number}"), make_lab(f"Other {number}"), title="Director")

    publish_edits(range(2))
    urls = [lab.get_changes_url(), "/changes/", "/changes/feed/"]
    counts = {}
    for url in urls:
        with django_assert_max_num_queries(100) as captured:
            assert client.get(url).status_code == 200
        counts[url] = len(captured)
    publish_edits(range(2, 27))
    for url in urls:
        with django_assert_max_num_queries(counts[url]):
            assert client.get(url).status_code == 200
    for url in urls[:2]:
        with django_assert_max_num_queries(counts[url]):
            assert client.get(url + "?page=2").status_code == 200


def test_every_feed_is_valid_atom_with_an_author_and_iri_ids(lab, client):
    edit_lab(lab, summary="A <b>bold</b> & new summary.")
    documents.publish(Lab.objects.get(pk=lab.pk), None)
    for url in FEEDS + [f"/labs/{lab.slug}/feed/", f"/labs/{lab.slug}/feed/atom/"]:
        parsed = feedparser.parse(client.get(url).content)
        assert not parsed.bozo, (url, parsed.get("bozo_exception"))
        assert parsed.entries, url
        if "atom" in url or url == "/changes/feed/":
            assert parsed.version == "atom10", url
            assert parsed.feed.get("author") == "AI Lab Profiles" or all(entry.get("author") for entry in parsed.entries), url
        for entry in parsed.entries:
            assert re.match(r"^(tag:[a-z0-9.-]+,\d{4}(-\d\d){0,2}:\S+|https?://\S+)$", entry.id), (url, entry.id)
        ids = [entry.id for entry in parsed.entries]
        assert len(ids) == len(set(ids)), url
    # Text as text: a title is the text itself, not HTML escaped twice.
    atom = feedparser.parse(client.get("/changes/feed/").content)
    summary = atom.entries[0].summary
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; new" in summary and "&amp;lt;" not in summary
