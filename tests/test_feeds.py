"""Feeds, sitemap and robots.txt: what subscribers and crawlers see, and never a draft."""

import datetime
import html
import xml.etree.ElementTree as ET
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from profiles.models import PublicationState, Role
from tests.factories import make_lab, make_person, make_release, make_role, make_source

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def lab():
    lab = make_lab("Feed Lab", summary="A lab with news.")
    make_release(lab, "Public Model")
    make_release(lab, "Secret Model", state=PublicationState.DRAFT)
    make_role(make_person("Ada Arrival"), lab, "Director", focus="foundation models")
    return lab


def rss_titles(response):
    assert response["Content-Type"].startswith("application/rss+xml")
    return [item.findtext("title") for item in ET.fromstring(response.content).iter("item")]


def atom_titles(response):
    assert response["Content-Type"].startswith("application/atom+xml")
    return [entry.findtext(f"{ATOM}title") for entry in ET.fromstring(response.content).iter(f"{ATOM}entry")]


def test_the_site_feed_lists_releases_leadership_changes_and_profile_updates(client, lab):
    titles = rss_titles(client.get("/feed/"))
    assert "New release: Public Model (Feed Lab)" in titles
    assert "Arrival: Ada Arrival joins Feed Lab as Director" in titles
    assert "Profile updated: Feed Lab" in titles
    assert not any("Secret Model" in title for title in titles)


SCRIPT = "<script>alert(1)</script>"


def test_descriptions_are_html_with_the_text_escaped(client):
    # A description is HTML in both formats (Atom says type="html"); text an editor typed
    # is escaped into it, so a reader's feed app shows "<script>" rather than running it.
    lab = make_lab("Script Lab", summary=f"{SCRIPT} & more")
    make_release(lab, f"{SCRIPT} Model", slug="script-model")
    atom = ET.fromstring(client.get("/feed/atom/").content)
    summaries = {entry.findtext(f"{ATOM}title"): entry.find(f"{ATOM}summary") for entry in atom.iter(f"{ATOM}entry")}
    summary = summaries["Profile updated: Script Lab"]
    assert summary.get("type") == "html"
    assert summary.text == "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"  # the HTML, as a reader gets it
    assert html.unescape(summary.text) == f"{SCRIPT} & more"  # which shows the text as typed
    release_summary = summaries[f"New release: {SCRIPT} Model (Script Lab)"].text
    assert "<" not in release_summary and SCRIPT in html.unescape(release_summary)
    rss = ET.fromstring(client.get("/feed/").content)
    descriptions = [item.findtext("description") for item in rss.iter("item")]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in descriptions
    assert not any("<script" in description for description in descriptions)


def test_a_departure_is_news(client, lab):
    role = Role.objects.get(person__name="Ada Arrival")
    role.end, role.end_precision = datetime.date(2026, 3, 1), "month"
    role.save()
    assert "Departure: Ada Arrival leaves Feed Lab (Director)" in atom_titles(client.get("/feed/atom/"))


def test_a_lab_feed_has_only_that_lab(client, lab):
    other = make_lab("Other Lab")
    make_release(other, "Other Model")
    titles = atom_titles(client.get(f"/labs/{lab.slug}/feed/atom/"))
    assert "New release: Public Model (Feed Lab)" in titles
    assert not any("Other" in title for title in titles)
    assert rss_titles(client.get(f"/labs/{lab.slug}/feed/"))


def test_drafts_have_no_feed_and_are_not_in_any(client, lab):
    draft = make_lab("Draft Lab", state=PublicationState.DRAFT)
    make_release(draft, "Draft Lab Model")
    assert client.get(f"/labs/{draft.slug}/feed/").status_code == 404
    assert not any("Draft Lab" in title for title in rss_titles(client.get("/feed/")))


def test_a_feed_costs_the_same_queries_with_many_rows(client, lab):
    def count():
        with CaptureQueriesContext(connection) as context:
            assert client.get("/feed/").status_code == 200
        return len(context.captured_queries)

    small = count()
    for n in range(30):
        make_release(lab, f"Bulk Model {n}")
        make_role(make_person(f"Bulk Person {n}"), lab, "Lead Scientist")
    assert count() == small <= 3


def sitemap_locations(response):
    assert response.status_code == 200
    return [loc.text for loc in ET.fromstring(response.content).iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]


def test_the_sitemap_lists_every_published_page_and_no_draft(client, lab):
    make_lab("Hidden Lab", state=PublicationState.DRAFT)
    make_source("Public Paper")
    make_source("Secret Memo", state=PublicationState.DRAFT)
    index = client.get("/sitemap.xml")
    assert index.status_code == 200
    sections = sitemap_locations(index)
    assert "http://testserver/sitemap-labs.xml" in sections and "http://testserver/sitemap-sources.xml" in sections
    locations = [location for section in sections for location in sitemap_locations(client.get(section))]
    assert "http://testserver/labs/feed-lab/" in locations
    assert "http://testserver/people/ada-arrival/" in locations
    assert any(location.endswith("/releases/public-model/") for location in locations)
    assert "http://testserver/sources/public-paper/" in locations
    assert not any(secret in location for location in locations for secret in ("hidden-lab", "secret-model", "secret-memo"))
    assert "http://testserver/labs/" in locations


def test_robots_txt_points_at_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert "Sitemap: http://testserver/sitemap.xml" in text
    assert "Disallow: /admin/" in text


def test_a_long_sitemap_section_comes_in_pages(client, lab):
    from profiles.sitemaps import SourceSitemap

    for n in range(5):
        make_source(f"Paged Paper {n}")
    with mock.patch.object(SourceSitemap, "limit", 2):
        sections = sitemap_locations(client.get("/sitemap.xml"))
        pages = [section for section in sections if "sitemap-sources.xml" in section]
        assert pages == ["http://testserver/sitemap-sources.xml"] + [f"http://testserver/sitemap-sources.xml?p={n}" for n in (2, 3)]
        listed = [location for page in pages for location in sitemap_locations(client.get(page))]
    assert sorted(listed) == sorted(f"http://testserver/sources/paged-paper-{n}/" for n in range(5))
