"""
The API's OpenAPI 3 schema and docs: valid, complete (every field typed and described),
served offline; and a schemathesis run over every operation of the live schema that
finds no server error and no response the schema does not describe.
"""

import pytest
import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.contrib.staticfiles import finders
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import cite, make_lab, make_person, make_release, make_role, make_section, make_source

pytestmark = pytest.mark.django_db


@pytest.fixture
def openapi():
    return APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def test_the_schema_is_valid_openapi_3(openapi):
    assert openapi["openapi"].startswith("3.")
    validate_schema(openapi)  # drf-spectacular's bundled OpenAPI 3 JSON Schema
    generated = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(generated)


def test_every_endpoint_and_operation_is_documented(openapi):
    paths = openapi["paths"]
    for kind in ["labs", "people", "releases", "sources"]:
        assert set(paths[f"/api/{kind}/"]) >= {"get", "post"}
        assert set(paths[f"/api/{kind}/{{slug}}/"]) >= {"get", "put", "patch", "delete"}
        for action in ["publish", "unpublish", "submit", "archive"]:
            assert "post" in paths[f"/api/{kind}/{{slug}}/{action}/"]
    for kind in ["roles", "sections", "citations"]:
        assert set(paths[f"/api/{kind}/{{id}}/"]) >= {"get", "put", "patch", "delete"}
    get_lab = paths["/api/labs/{slug}/"]["get"]["responses"]
    for status in ["200", "304", "404", "429"]:
        assert status in get_lab
    assert get_lab["404"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}
    assert "412" in paths["/api/labs/{slug}/"]["patch"]["responses"]
    assert "text/csv" in paths["/api/labs/"]["get"]["responses"]["200"]["content"]


def _properties(schema, where):
    for name, prop in (schema.get("properties") or {}).items():
        yield f"{where}.{name}", prop
        yield from _properties(prop, f"{where}.{name}")
        if isinstance(prop.get("items"), dict):
            yield from _properties(prop["items"], f"{where}.{name}[]")


def test_every_field_is_typed_and_described(openapi):
    undescribed, untyped = [], []
    for component, schema in openapi["components"]["schemas"].items():
        if "enum" in schema:
            continue
        for where, prop in _properties(schema, component):
            if not prop.get("description"):
                undescribed.append(where)
            if not ({"type", "$ref", "allOf", "oneOf", "anyOf"} & set(prop)):
                untyped.append(where)
    assert not undescribed, undescribed
    assert not untyped, untyped


def test_choices_are_listed_as_enums(openapi):
    schemas = openapi["components"]["schemas"]
    assert schemas["PublicationStateEnum"]["enum"] == ["draft", "review", "published", "archived"]
    assert "nonprofit_institute" in schemas["LabKindEnum"]["enum"]
    assert schemas["DatePrecisionEnum"]["enum"] == ["year", "month", "day"]


def test_the_schema_documents_exactly_the_query_parameters_each_list_takes(openapi):
    # Unknown parameters are a 400, so a documented one that is refused (?search= on a
    # list that does not search) is a schema that lies; and what a list takes is documented.
    make_lab("Param Lab", country="CN")
    lists = [path for path, operations in openapi["paths"].items() if "{" not in path and "get" in operations]
    assert "/api/roles/" in lists
    for path in lists:
        names = {parameter["name"] for parameter in openapi["paths"][path]["get"]["parameters"]
                 if parameter["in"] == "query"}
        for name in names:
            value = "1" if name in ("page", "page_size") else ""  # empty: "any" for a filter
            response = APIClient().get(path, {name: value})
            assert response.status_code == 200, (path, name, response.content)
        searches = APIClient().get(path, {"search": "lab"}).status_code == 200
        assert ("search" in names) == searches, path


def test_country_filters_list_the_iso_codes(openapi):
    for path in ["/api/labs/", "/api/organizations/"]:
        country, = [p for p in openapi["paths"][path]["get"]["parameters"] if p["name"] == "country"]
        codes = country["schema"]["enum"]
        assert {"CN", "FR", "US", "GB"} <= set(codes) and len(codes) > 240
        assert all(len(code) == 2 and code.isupper() for code in codes)


def test_the_docs_work_offline():
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html and "/api/schema/" in html
    assert "cdn." not in html and "unpkg" not in html
    # The Swagger UI files are the project's static files (drf-spectacular-sidecar).
    assert f"{settings.STATIC_URL}drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")


# --- schemathesis, against the live schema, in-process ----------------------------


def live_schema():
    """The schema as /api/schema/ serves it (fetched in-process; serving it needs no database)."""
    response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


# Loaded when the module is collected: schemathesis.pytest.from_fixture() does not work
# with pytest 9 in schemathesis 4.32 (it reads ``node._nodeid``), so the schema is eager
# and the fixtures below provide the data, the token and the rates.
schema = schemathesis.openapi.from_dict(live_schema())
schema.app = get_wsgi_application()


@pytest.fixture
def fuzz_data(db):
    # Something to find (the generated slugs mostly miss, which is tested too).
    lab = make_lab("fuzz")
    release = make_release(lab, "fuzz-model")
    person = make_person("fuzz-person")
    make_role(person, lab)
    section = make_section(lab, "origins")
    cite(make_source("fuzz-source"), section=section)
    cite(make_source("fuzz-source-2"), release=release)
    # Throttling is tested on its own (test_api_writes); here it would only cut the run short.
    # The WSGI handler closes the database connection around each request; in a test that
    # connection holds the test's transaction (PostgreSQL then reports it closed). Django's
    # test Client disconnects the same receivers for the same reason.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK,
                                               "DEFAULT_THROTTLE_RATES": {"anon": None, "user": None}}):
            yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def publisher_token(db):
    user = User.objects.create_user("fuzzer", is_staff=True)
    user.groups.add(Group.objects.get(name="Publisher"))
    return Token.objects.create(user=user).key


@pytest.mark.slow
@schema.parametrize()
# Bounded: schemathesis's examples and boundary cases (its coverage phase, which hypothesis
# runs as explicit examples) and five generated examples per operation: about a minute and
# a half on two cores.
@hypothesis_settings(max_examples=5, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
                     suppress_health_check=list(HealthCheck))
def test_no_operation_breaks_its_schema_or_the_server(case, fuzz_data, publisher_token):
    # As a publisher: writes get past 401 and 403 to validation, and reads see drafts too.
    headers = {"Authorization": f"Token {publisher_token}"}
    # Excluded: "schema-valid data must be accepted". A well-typed slug that names no lab
    # is still a 400 (the model's validation), which the schema cannot express.
    response = case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])
    # What that check would have caught without its false alarms: a parameter the schema
    # documents is never refused as unknown (by the operation documented: schemathesis
    # also tries other methods, OPTIONS among them, on the same URL).
    if response.status_code == 400 and case.method.lower() == case.operation.method.lower():
        documented = {parameter.name for parameter in case.operation.query}
        fields = response.json()["error"].get("fields", {})
        refused = {name for name, messages in fields.items() if any("Unknown parameter" in m for m in messages)}
        assert not refused & documented, response.text
