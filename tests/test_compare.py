"""The compare page: labs side by side, reachable from a lab's page."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import make_lab, make_person, make_relation, make_release, make_role

pytestmark = pytest.mark.django_db


def test_two_labs_side_by_side(client, starting_data):
    response = client.get("/compare/?labs=shanghai-ai-laboratory,baai")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<th scope="col"><a href="/labs/shanghai-ai-laboratory/">Shanghai AI Laboratory</a></th>' in html
    assert '<a href="/labs/baai/">BAAI</a>' in html
    assert "July 2020" in html  # founded, as precisely as known
    assert "Yu Qiao</a>, Director" in html
    assert "Releases in 2024" in html
    assert "counterpart of" in html and "Shanghai-based counterpart to Beijing-based BAAI" in html


def test_releases_per_year_are_counted_per_lab(client):
    one, two = make_lab("One Lab"), make_lab("Two Lab")
    for month in (1, 5, 9):
        make_release(one, f"One {month}", released=datetime.date(2023, month, 1))
    make_release(two, "Two 1", released=datetime.date(2024, 2, 1))
    html = client.get("/compare/?labs=one-lab&labs=two-lab").content.decode()
    assert '<th scope="row">Releases in 2023</th><td>3</td><td>0</td>' in html
    assert '<th scope="row">Releases in 2024</th><td>0</td><td>1</td>' in html


def test_the_lab_page_links_to_a_comparison_with_its_counterpart(client, starting_data):
    html = client.get("/labs/shanghai-ai-laboratory/").content.decode()
    assert 'href="/compare/?labs=shanghai-ai-laboratory,baai"' in html


def test_baai_links_back_to_shanghai_and_compares_with_it(client, starting_data):
    html = client.get("/labs/baai/").content.decode()
    assert '<a href="/labs/shanghai-ai-laboratory/">Shanghai AI Laboratory</a>' in html
    assert 'href="/compare/?labs=baai,shanghai-ai-laboratory"' in html


def test_the_comparison_says_who_evaluates_whom(client, starting_data):
    html = client.get("/compare/?labs=shanghai-ai-laboratory,deepseek").content.decode()
    assert 'Shanghai AI Laboratory</a> evaluates <a href="/labs/deepseek/">DeepSeek</a>' in html
    assert "evaluates of" not in html


def test_unknown_or_draft_labs_are_named_not_shown(client):
    make_lab("Seen Lab")
    make_lab("Hidden Lab", state="draft")
    html = client.get("/compare/?labs=seen-lab,hidden-lab,nope").content.decode()
    assert "Not found: hidden-lab, nope." in html
    assert "Choose at least two labs" in html


def test_at_most_four_labs_and_constant_queries(client):
    labs = [make_lab(f"Lab {n}") for n in range(6)]
    for lab in labs:
        make_role(make_person(f"Head of {lab.name}"), lab, "Director")
        make_relation(lab, labs[0] if lab != labs[0] else labs[1])

    def count(n_releases):
        for lab in labs:
            for n in range(n_releases):
                make_release(lab, f"{lab.name} model {n_releases}-{n}")
        with CaptureQueriesContext(connection) as context:
            html = client.get("/compare/?labs=" + ",".join(lab.slug for lab in labs)).content.decode()
        assert "Only the first four labs are compared." in html
        assert html.count('<th scope="col">') == 4
        return len(context.captured_queries)

    assert count(1) == count(10) <= 12
