"""What search engines and link previews read: JSON-LD, OpenGraph, canonical URLs, feed links."""

import json
import re

import pytest

from tests.factories import make_lab, make_person, make_release, make_role

pytestmark = pytest.mark.django_db


def json_ld(html):
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert len(blocks) == 1
    return json.loads(blocks[0])


def meta(html, prop):
    match = re.search(rf'<meta (?:property|name)="{re.escape(prop)}" content="([^"]*)"', html)
    return match.group(1) if match else None


@pytest.fixture
def lab():
    lab = make_lab(
        "Discovery Lab", summary="A lab to be found.", native_name="发现实验室", other_names="DL",
        city="Shanghai", country="CN", wikidata_id="Q42", github_org="discovery",
    )
    make_role(make_person("Dee Director", bio="Runs it."), lab, "Director")
    make_release(lab, "Disco-7B", license="Apache-2.0")
    return lab


def test_a_lab_page_describes_an_organization(client, lab):
    html = client.get("/labs/discovery-lab/").content.decode()
    data = json_ld(html)
    assert data["@type"] == "Organization" and data["name"] == "Discovery Lab"
    assert data["url"] == "http://testserver/labs/discovery-lab/"
    assert data["foundingDate"] == "2015"
    assert "发现实验室" in data["alternateName"] and "DL" in data["alternateName"]
    assert "https://www.wikidata.org/wiki/Q42" in data["sameAs"]
    assert data["address"]["addressCountry"] == "CN"
    assert meta(html, "og:title") == "Discovery Lab"
    assert meta(html, "og:description") == "A lab to be found."
    # A lab has a social card (tests/test_social_cards.py): a large Twitter/X card.
    assert meta(html, "twitter:card") == "summary_large_image"
    assert meta(html, "og:image") == "http://testserver/labs/discovery-lab/card.png"
    assert '<link rel="canonical" href="http://testserver/labs/discovery-lab/">' in html
    assert 'href="/labs/discovery-lab/feed/atom/"' in html


def test_a_person_page_describes_a_person_and_where_they_work(client, lab):
    data = json_ld(client.get("/people/dee-director/").content.decode())
    assert data["@type"] == "Person" and data["jobTitle"] == "Director"
    assert data["worksFor"][0]["name"] == "Discovery Lab"


def test_a_release_page_describes_software_by_the_lab(client, lab):
    html = client.get("/releases/disco-7b/").content.decode()
    data = json_ld(html)
    assert data["@type"] == "SoftwareApplication"
    assert data["creator"]["name"] == "Discovery Lab"
    assert data["license"] == "Apache-2.0" and data["datePublished"] == "2024-01"
    assert meta(html, "og:type") == "article"


def test_json_ld_cannot_be_broken_out_of(client):
    make_lab("Evil Lab", summary="</script><script>alert(1)</script>")
    html = client.get("/labs/evil-lab/").content.decode()
    assert json_ld(html)["description"] == "</script><script>alert(1)</script>"
    assert "<script>alert(1)" not in html
