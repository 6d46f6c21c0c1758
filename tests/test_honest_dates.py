"""
"Published" and "Last updated" are editorial facts (issue 15): for the starting data, the
seed's date ("As of April 2026"), never the day the fixtures were loaded; feeds date an
entry by when its fact happened or was published, so an old fact is never today's news;
an editor's publication later is dated the day it is made. Through the test client,
with the clock moved well past the load.
"""

import datetime
import email.utils
import html
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import time_machine
from django.apps import apps
from django.conf import settings
from django.core.management import call_command

from profiles.models import Lab, Person, PublicationState, Release, Role, Section, Source, TimestampedModel
from tests.factories import make_person, make_release, make_role
from tests.test_admin import admin_url, form_data, page_text
from tests.test_documents import signed_in

pytestmark = pytest.mark.django_db

UTC = datetime.timezone.utc
SEED = (Path(settings.BASE_DIR) / "fixtures" / "seeds" / "shanghai-ai-laboratory.txt").read_text(encoding="utf-8")
SEED_DATE = datetime.datetime(2026, 4, 1, tzinfo=UTC)  # "As of April 2026": the first of the month
LOAD_DAY = datetime.datetime(2026, 9, 1, 8, 30, tzinfo=UTC)  # when `make run` loaded the fixtures
TODAY = datetime.datetime(2027, 3, 15, 10, 0, tzinfo=UTC)  # long after
LAB = "shanghai-ai-laboratory"
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@pytest.fixture
def loaded_long_ago(db):
    """The starting data loaded on LOAD_DAY, and the clock at TODAY for the test."""
    with time_machine.travel(LOAD_DAY, tick=False):
        call_command("load_profiles", verbosity=0)
    with time_machine.travel(TODAY, tick=False):
        yield


def page_dates(response):
    """{"Published": datetime attribute, "Last updated": ...} of a page's dates line."""
    assert response.status_code == 200
    block = re.search(r'<p class="page-dates">(.*?)</p>', response.content.decode(), re.S).group(1)
    return dict(re.findall(r'<span>(Published|Goes live|Last updated) <time datetime="([^"]+)">[^<]+</time>', block))


def rss_items(response):
    """[(title, pubDate)] in feed order."""
    assert response["Content-Type"].startswith("application/rss+xml")
    return [
        (item.findtext("title"), email.utils.parsedate_to_datetime(item.findtext("pubDate")))
        for item in ET.fromstring(response.content).iter("item")
    ]


def atom_entries(response):
    """[(title, published, updated)] in feed order."""
    assert response["Content-Type"].startswith("application/atom+xml")
    return [
        (
            entry.findtext(f"{ATOM}title"),
            datetime.datetime.fromisoformat(entry.findtext(f"{ATOM}published")),
            datetime.datetime.fromisoformat(entry.findtext(f"{ATOM}updated")),
        )
        for entry in ET.fromstring(response.content).iter(f"{ATOM}entry")
    ]


# --- the starting data carries the seed's date -------------------------------------------------


def test_every_dated_record_of_the_starting_data_names_the_seeds_date():
    # The rule of load_profiles' docstring, held for every fixture file, present and future.
    assert "As of April 2026" in SEED
    checked = 0
    for path in sorted((Path(settings.BASE_DIR) / "fixtures").glob("*.json")):
        for position, record in enumerate(json.loads(path.read_text(encoding="utf-8")), start=1):
            model = apps.get_model(record["model"])
            if not issubclass(model, TimestampedModel):
                continue
            fields, where = record["fields"], f"{path.name}, record {position}"
            assert fields.get("updated") == "2026-04-01T00:00:00Z", where
            if fields.get("state") == PublicationState.PUBLISHED:
                assert fields.get("published_at") == "2026-04-01T00:00:00Z", where
            checked += 1
    assert checked >= 50


def test_loaded_rows_keep_the_seeds_date_not_the_load_day(loaded_long_ago):
    for model in (Lab, Person, Release, Source):
        assert set(model.objects.values_list("published_at", flat=True)) == {SEED_DATE}, model
    for model in (Lab, Person, Release, Source, Section):
        assert set(model.objects.values_list("updated", "created")) == {(SEED_DATE, SEED_DATE)}, model
    # The change history records the starting data at the seed's date too, links included.
    assert set(Lab.history.values_list("history_date", flat=True)) == {SEED_DATE}
    assert set(Role.history.values_list("history_date", flat=True)) == {SEED_DATE}


def test_reloading_later_keeps_the_dates_and_writes_nothing(loaded_long_ago):
    history = Lab.history.count() + Role.history.count() + Release.history.count()
    out = io.StringIO()
    call_command("load_profiles", stdout=out)
    assert "0 created" in out.getvalue()
    assert Lab.history.count() + Role.history.count() + Release.history.count() == history
    assert Lab.objects.get(slug=LAB).updated == SEED_DATE


def test_a_file_without_dates_is_dated_like_an_edit_and_one_with_a_date_fills_the_rest(loaded_long_ago, tmp_path):
    undated, dated = tmp_path / "undated.json", tmp_path / "dated.json"
    undated.write_text(json.dumps([
        {"model": "profiles.lab", "fields": {"name": "Undated Lab", "slug": "undated-lab", "state": "published"}},
    ]))
    dated.write_text(json.dumps([
        {"model": "profiles.lab", "fields": {
            "name": "Dated Lab", "slug": "dated-lab", "state": "published", "published_at": "2025-06-01T00:00:00Z",
        }},
        {"model": "profiles.person", "fields": {
            "name": "Dated Person", "slug": "dated-person", "state": "published", "updated": "2025-07-01T00:00:00Z",
        }},
        {"model": "profiles.role", "fields": {"person": ["dated-person"], "lab": ["dated-lab"], "title": "Director"}},
    ]))
    call_command("load_profiles", str(undated), str(dated), verbosity=0)
    lab = Lab.objects.get(slug="undated-lab")
    assert lab.published_at == lab.updated == lab.created == TODAY
    lab = Lab.objects.get(slug="dated-lab")
    assert lab.published_at == lab.updated == lab.created == datetime.datetime(2025, 6, 1, tzinfo=UTC)
    person = Person.objects.get(slug="dated-person")
    assert person.published_at == person.updated == datetime.datetime(2025, 7, 1, tzinfo=UTC)
    # A role is as old as the newer of the rows it links, as this load dates them.
    assert Role.history.get(person=person).history_date == datetime.datetime(2025, 7, 1, tzinfo=UTC)


# --- pages, JSON-LD, API, sitemap ---------------------------------------------------------------


def test_pages_say_published_and_last_updated_in_april_2026(client, loaded_long_ago):
    for url in (f"/labs/{LAB}/", "/people/yu-qiao/", "/releases/internlm2/"):
        response = client.get(url)
        assert page_dates(response) == {
            "Published": "2026-04-01T00:00:00+00:00", "Last updated": "2026-04-01T00:00:00+00:00",
        }, url
        text = page_text(response)
        assert "Published 1 April 2026" in re.sub(r"<[^>]+>", "", text), url
        for day in ("1 September 2026", "15 March 2027"):  # the load day, today
            assert day not in text, url


def test_json_ld_and_the_api_give_the_editorial_dates(client, loaded_long_ago):
    page = client.get("/releases/internlm2/").content.decode()
    data = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S).group(1))
    assert data["datePublished"] == "2024-01"  # the release's own date ("January 2024")
    lab = client.get(f"/api/labs/{LAB}/", HTTP_ACCEPT="application/json").json()
    assert lab["updated"].startswith("2026-04-01") and lab["published_at"].startswith("2026-04-01")


def test_the_sitemap_gives_the_seeds_date(client, loaded_long_ago):
    index = ET.fromstring(client.get("/sitemap.xml").content)
    sections = [loc.text for loc in index.iter(f"{SITEMAP}loc")]
    lastmods = []
    for section in sections:
        if "sitemap-pages" in section:
            continue
        urlset = ET.fromstring(client.get(section.removeprefix("http://testserver")).content)
        lastmods += [lastmod.text for lastmod in urlset.iter(f"{SITEMAP}lastmod")]
    assert lastmods and set(lastmods) == {"2026-04-01"}
    assert {lastmod.text[:10] for lastmod in index.iter(f"{SITEMAP}lastmod")} == {"2026-04-01"}


# --- feeds -------------------------------------------------------------------------------------


def test_no_feed_entry_is_dated_the_load_day_or_today(client, loaded_long_ago):
    for url in ("/feed/", f"/labs/{LAB}/feed/"):
        items = rss_items(client.get(url))
        assert items, url
        assert all(when <= SEED_DATE for _title, when in items), url
        assert [when for _title, when in items] == sorted((when for _title, when in items), reverse=True), url
    entries = atom_entries(client.get(f"/labs/{LAB}/feed/atom/"))
    dates = {title: published for title, published, _updated in entries}
    # A years-old appointment is not news of today: the seed published it in April 2026.
    assert dates["Arrival: Yu Qiao joins Shanghai AI Laboratory as Director"] == SEED_DATE
    # A release is dated when it came out, if that is known (InternLM2: January 2024).
    assert dates["New release: InternLM2 (Shanghai AI Laboratory)"] == datetime.datetime(2024, 1, 1, tzinfo=UTC)
    assert dates["New release: InternLM family (Shanghai AI Laboratory)"] == datetime.datetime(2023, 1, 1, tzinfo=UTC)
    assert dates["New release: OpenMMLab (Shanghai AI Laboratory)"] == SEED_DATE  # undated: its publication
    feed = ET.fromstring(client.get("/feed/atom/").content)
    assert datetime.datetime.fromisoformat(feed.findtext(f"{ATOM}updated")) == SEED_DATE


def test_old_facts_an_editor_adds_today_are_not_todays_news(client, loaded_long_ago):
    lab = Lab.objects.get(slug=LAB)
    make_role(make_person("Old Hand"), lab, "Chief Scientist", start=datetime.date(2019, 5, 1), start_precision="month")
    make_release(lab, "InternOld", released=datetime.date(2021, 1, 1), released_precision="year")
    make_release(lab, "InternNew", released=None)
    dates = {title: published for title, published, _updated in atom_entries(client.get(f"/labs/{LAB}/feed/atom/"))}
    arrival = "Arrival: Old Hand joins Shanghai AI Laboratory as Chief Scientist"
    assert dates[arrival] == datetime.datetime(2019, 5, 1, tzinfo=UTC)
    assert dates["New release: InternOld (Shanghai AI Laboratory)"] == datetime.datetime(2021, 1, 1, tzinfo=UTC)
    # A release whose date is not known is dated by its publication here: today is right for it.
    assert dates["New release: InternNew (Shanghai AI Laboratory)"] == TODAY
    assert next(iter(dates)) == "New release: InternNew (Shanghai AI Laboratory)"


# --- an editor's publication later is dated the day it is made ------------------------------------


def test_a_publication_through_the_admin_is_dated_the_publish_day(client, loaded_long_ago):
    lab = Lab.objects.get(slug=LAB)
    editor, publisher = signed_in("editor", "Editor"), signed_in("publisher", "Publisher")
    data = form_data(editor.get(admin_url(Lab, "change", lab.pk)))
    data["summary"] = "Shanghai AI Laboratory, reviewed."
    assert editor.post(admin_url(Lab, "change", lab.pk), data).status_code == 302
    # A draft changes nothing readers see, dates included.
    assert page_dates(client.get(f"/labs/{LAB}/"))["Last updated"] == "2026-04-01T00:00:00+00:00"

    publish_day = TODAY + datetime.timedelta(days=2)
    with time_machine.travel(publish_day, tick=False):
        assert publisher.post(f"/admin/profiles/lab/{lab.pk}/draft/publish/").status_code == 302
        dates = page_dates(client.get(f"/labs/{LAB}/"))
        assert dates == {"Published": "2026-04-01T00:00:00+00:00", "Last updated": publish_day.isoformat()}
        assert "Last updated 17 March 2027" in re.sub(r"<[^>]+>", "", page_text(client.get(f"/labs/{LAB}/")))
        # The feed has it at the top, dated the publish day; the home page lists it first.
        assert rss_items(client.get("/feed/"))[0] == ("Profile updated: Shanghai AI Laboratory", publish_day)
        home = client.get("/").content.decode()
        recent = home[home.index('id="h-recent-labs"'):home.index('id="h-recent-releases"')]
        assert re.findall(r'class="lab-card__name"><a href="/labs/([^/]+)/"', recent)[0] == LAB
        urlset = ET.fromstring(client.get("/sitemap-labs.xml").content)
        lastmod = {
            url.findtext(f"{SITEMAP}loc"): url.findtext(f"{SITEMAP}lastmod") for url in urlset.iter(f"{SITEMAP}url")
        }
        assert lastmod[f"http://testserver/labs/{LAB}/"] == "2027-03-17"
        assert lastmod["http://testserver/labs/baai/"] == "2026-04-01"


# --- the lab index's country counts --------------------------------------------------------------


def option(response, facet, value):
    select = re.search(rf'<select id="lab-{facet}" name="{facet}">(.*?)</select>', response.content.decode(), re.S)
    match = re.search(rf'<option value="{value}"(?: selected)?>([^<]+)</option>', select.group(1))
    return match.group(1) if match else None


def lab_names(response):
    names = re.findall(r'class="lab-card__name"><a href="[^"]+">([^<]+)</a>', response.content.decode())
    return [html.unescape(name) for name in names]


def test_the_country_counts_add_up_to_the_labs_listed(client, starting_data):
    # "China (5)" is right: the seed places five labs in China (Shanghai, "Beijing-based
    # BAAI", Huawei Noah's Ark Lab and Tsinghua KEG and IIIS among "Chinese ... research
    # bodies/organizations") and does not say where the six others are. They are counted
    # as "Not given" rather than left out, so the counts add up to the labs listed.
    response = client.get("/labs/")
    assert option(response, "country", "CN") == "China (5)"
    assert option(response, "country", "none") == "Not given (6)"
    assert set(lab_names(client.get("/labs/?country=CN"))) == set(
        Lab.objects.filter(country="CN").values_list("name", flat=True)
    ) == {"Shanghai AI Laboratory", "BAAI", "Huawei Noah's Ark Lab", "Tsinghua KEG", "Tsinghua IIIS"}
    assert len(lab_names(client.get("/labs/?country=none"))) == 6
    assert len(lab_names(response)) == 11
    # The same for the kind, which the seed gives for four labs.
    kinds = re.findall(r"\((\d+)\)</option>", re.search(
        r'<select id="lab-kind" name="kind">(.*?)</select>', response.content.decode(), re.S
    ).group(1))
    assert sum(int(count) for count in kinds) == 11
    assert option(client.get("/labs/?country=none"), "country", "none") == "Not given (6)"
