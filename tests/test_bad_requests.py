"""
Malformed requests are the client's error, never a 500: a NUL in a query parameter, a
delete of a row others still refer to, JSON nested too deeply, a body too large, a NUL in
a slug. Pages answer with the site's 400 page; the API with its JSON error shape. Run on
PostgreSQL too (DATABASE_URL): it refuses NUL in text, which SQLite stores.
"""

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from profiles.models import Source
from tests.factories import cite, make_lab, make_release, make_source

pytestmark = pytest.mark.django_db


@pytest.fixture
def publisher():
    user = User.objects.create_user("pat", is_staff=True)
    user.groups.add(Group.objects.get(name="Publisher"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def api_error(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["status"] == status and error["code"] and error["message"]
    return error


@pytest.fixture
def lab():
    lab = make_lab("Nul Lab")
    make_release(lab, "Nul Model")
    return lab


@pytest.mark.parametrize(
    "url",
    [
        "/releases/?lab=%00",
        "/compare/?labs=a%00b",
        "/labs/?q=lab%00",
        "/labs/?country=%00",
        "/sources/?page=1%00",
        "/labs/nul-lab/?%00=1",
    ],
)
def test_a_nul_in_a_query_parameter_of_a_page_is_its_400_page(client, lab, url):
    response = client.get(url)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    "url, parameter",
    [
        ("/api/releases/?lab=%00", "lab"),
        ("/api/labs/?search=lab%00", "search"),
        ("/api/labs/?ordering=name%00", "ordering"),
        ("/api/labs/nul-lab/?format=json%00", "format"),
        ("/api/labs/?a%00b=1", "a%00b"),
    ],
)
def test_a_nul_in_a_query_parameter_of_the_api_is_a_json_400_naming_it(client, lab, url, parameter):
    error = api_error(client.get(url), 400)
    assert list(error["fields"]) == [parameter]
    assert parameter in error["message"] and "%00" in error["message"]


def test_an_encoded_percent_is_no_nul(client, lab):
    # "%2500" is the text "%00", which a search may look for.
    assert client.get("/labs/?q=%2500").status_code == 200
    assert client.get("/api/labs/", {"search": "%00"}).status_code == 200


@pytest.mark.parametrize("body_format", ["json", "multipart"])
def test_a_nul_in_a_body_is_a_400_naming_the_field(publisher, lab, body_format):
    # A slug holding a NUL was looked up as it came: a 500 on PostgreSQL.
    body = {"name": "Another Model", "lab": "nul\x00lab"}
    error = api_error(publisher.post("/api/releases/", body, format=body_format), 400)
    assert error["code"] == "null_characters_not_allowed"
    assert error["fields"] == {"lab": ["Null characters are not allowed."]}


def test_deleting_a_source_still_cited_is_a_409_naming_what_cites_it(publisher, lab):
    source = make_source("Cited Paper")
    cite(source, lab=lab)
    error = api_error(publisher.delete(f"/api/sources/{source.slug}/"), 409)
    assert error["code"] == "protected"
    assert "1 citation" in error["message"] and "Nul Lab" in error["message"]
    assert Source.objects.filter(pk=source.pk).exists()
    # Once nothing cites it, it goes.
    source.citations.all().delete()
    assert publisher.delete(f"/api/sources/{source.slug}/").status_code == 204


def test_json_nested_too_deeply_is_a_400_parse_error(publisher):
    body = "[" * 5000 + "]" * 5000
    error = api_error(publisher.generic("POST", "/api/labs/", body, content_type="application/json"), 400)
    assert error["code"] == "parse_error" and "nested too deeply" in error["message"]


TWENTY_MB = 20 * 1024 * 1024


def test_a_body_too_large_for_the_api_is_its_json_413(publisher):
    body = b'{"name": "' + b"x" * TWENTY_MB + b'"}'
    error = api_error(publisher.generic("POST", "/api/labs/", body, content_type="application/json"), 413)
    assert error["code"] == "too_large" and "2.5" in error["message"]


def test_a_body_too_large_for_a_page_is_its_400_page(client):
    response = client.post("/admin/login/", b"username=" + b"x" * TWENTY_MB, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
