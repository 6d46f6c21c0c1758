"""
Old links keep working (issue 14): a changed slug leaves its old URLs answering 301 to
the new ones (pages, a lab's feeds, the API detail with its query string), chains
collapse, renaming back does not loop, a live slug wins, drafts stay hidden from readers,
and deleting the object deletes its old slugs (profiles/slug_history.py).
"""

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from profiles.models import Lab, OldSlug, Person, PublicationState, Release, Source
from tests.factories import make_lab, make_person, make_release, make_source
from tests.test_admin import admin_url, form_data

pytestmark = pytest.mark.django_db


def publisher():
    user = User.objects.create_user("pat", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="Publisher"))
    return user


def rename(obj, slug):
    obj.refresh_from_db()
    obj.slug = slug
    obj.full_clean()
    obj.save()
    return obj


def assert_moved(response, location):
    assert response.status_code == 301, (response.status_code, response.get("Location"))
    assert response["Location"] == location


@pytest.fixture
def reader():
    return Client()


# --- the admin's own change form, then every old URL ------------------------------------


def test_a_slug_changed_in_the_admin_keeps_the_old_page_feeds_and_api_answering_301(reader):
    lab = make_lab("Renamed Lab", slug="old-lab")
    staff = Client()
    staff.force_login(publisher())
    data = form_data(staff.get(admin_url(Lab, "change", lab.pk)))
    data["slug"] = "new-lab"

    response = staff.post(admin_url(Lab, "change", lab.pk), data)

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    # An edit of a published profile is a draft until a publisher publishes it (documents.py).
    assert reader.get("/labs/old-lab/").status_code == 200
    assert staff.post(admin_url(Lab, "draft_publish", lab.pk)).status_code == 302
    assert reader.get("/labs/new-lab/").status_code == 200
    assert_moved(reader.get("/labs/old-lab/"), "/labs/new-lab/")
    assert_moved(reader.head("/labs/old-lab/"), "/labs/new-lab/")
    assert_moved(reader.get("/labs/old-lab/feed/"), "/labs/new-lab/feed/")
    assert_moved(reader.get("/labs/old-lab/feed/atom/"), "/labs/new-lab/feed/atom/")
    assert_moved(reader.get("/api/labs/old-lab/"), "/api/labs/new-lab/")
    # A reader's redirect may be kept, but not for good: the slug may be changed back.
    assert "max-age=300" in reader.get("/labs/old-lab/")["Cache-Control"]
    # The redirect leads somewhere that answers.
    assert reader.get("/labs/old-lab/", follow=True).status_code == 200


def test_the_old_api_url_keeps_its_query_string():
    lab = make_lab(slug="query-lab")
    rename(lab, "query-lab-renamed")
    anonymous = APIClient()

    response = anonymous.get("/api/labs/query-lab/?format=json")

    assert_moved(response, "/api/labs/query-lab-renamed/?format=json")
    followed = anonymous.get(response["Location"])
    assert followed.status_code == 200 and followed.json()["slug"] == "query-lab-renamed"
    # The page keeps its query too.
    assert_moved(Client().get("/labs/query-lab/?utm_source=x"), "/labs/query-lab-renamed/?utm_source=x")


def test_a_rename_through_the_api_redirects_reads_but_not_writes():
    # A lab renamed while a draft, then published: its link from before is followed.
    lab = make_lab(slug="api-lab", state=PublicationState.DRAFT)
    writer = APIClient()
    writer.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=publisher()).key}")

    renamed = writer.patch("/api/labs/api-lab/", {"slug": "api-lab-2"}, format="json")

    assert renamed.status_code == 200 and renamed.json()["slug"] == "api-lab-2"
    assert APIClient().get("/api/labs/api-lab/").status_code == 404  # a draft's: not for readers
    assert writer.post("/api/labs/api-lab-2/publish/", {}, format="json").status_code == 200
    assert_moved(APIClient().get("/api/labs/api-lab/?format=json"), "/api/labs/api-lab-2/?format=json")
    # A write names the object as it is now: the old slug is a 404, never applied elsewhere.
    assert writer.patch("/api/labs/api-lab/", {"summary": "Edited."}, format="json").status_code == 404
    assert writer.post("/api/labs/api-lab/publish/", {}, format="json").status_code == 404
    assert writer.delete("/api/labs/api-lab/").status_code == 404
    assert Lab.objects.get(pk=lab.pk).summary != "Edited."


@pytest.mark.parametrize("make, page, api", [
    (make_person, "people", "people"),
    (make_release, "releases", "releases"),
    (make_source, "sources", "sources"),
], ids=["person", "release", "source"])
def test_people_releases_and_sources_follow_their_slug_too(reader, make, page, api):
    obj = make(slug="before")
    rename(obj, "after")

    assert_moved(reader.get(f"/{page}/before/"), f"/{page}/after/")
    assert_moved(APIClient().get(f"/api/{api}/before/?format=json"), f"/api/{api}/after/?format=json")


def test_kinds_are_apart():
    # A person's old slug says nothing about a lab of that slug.
    rename(make_person(slug="shared-slug"), "person-now")
    assert Client().get("/labs/shared-slug/").status_code == 404
    assert_moved(Client().get("/people/shared-slug/"), "/people/person-now/")


# --- chains, renaming back, a slug taken again ------------------------------------------


def test_a_chain_collapses_to_the_slug_now(reader):
    lab = make_lab(slug="a-lab")
    rename(lab, "b-lab")
    rename(lab, "c-lab")

    assert_moved(reader.get("/labs/a-lab/"), "/labs/c-lab/")
    assert_moved(reader.get("/labs/b-lab/"), "/labs/c-lab/")
    assert_moved(reader.get("/api/labs/a-lab/"), "/api/labs/c-lab/")
    assert OldSlug.objects.filter(object_id=lab.pk).count() == 2


def test_renaming_back_does_not_loop(reader):
    lab = make_lab(slug="first-name")
    rename(lab, "second-name")
    assert_moved(reader.get("/labs/first-name/"), "/labs/second-name/")  # also kept in no page cache

    rename(lab, "first-name")

    assert reader.get("/labs/first-name/").status_code == 200
    assert reader.get("/api/labs/first-name/").status_code == 200
    assert_moved(reader.get("/labs/second-name/"), "/labs/first-name/")
    assert list(OldSlug.objects.values_list("slug", flat=True)) == ["second-name"]


def test_a_new_lab_taking_an_old_slug_wins(reader):
    old = make_lab("Old Holder", slug="taken")
    rename(old, "middle")
    rename(old, "moved-on")

    newcomer = make_lab("New Holder", slug="taken")

    page = reader.get("/labs/taken/")
    assert page.status_code == 200 and "<h1>New Holder</h1>" in page.content.decode()  # the newcomer's page
    assert reader.get("/api/labs/taken/?format=json").json()["name"] == "New Holder"
    # The old lab's other old slug still leads to it.
    assert_moved(reader.get("/labs/middle/"), "/labs/moved-on/")
    # The slug is the newcomer's now: once it goes, the old link does not lead back elsewhere.
    newcomer.delete()
    assert reader.get("/labs/taken/").status_code == 404


# --- what readers may see -------------------------------------------------------------


def test_a_drafts_old_slug_is_a_plain_404_for_readers_and_a_redirect_for_staff(reader):
    lab = make_lab(slug="draft-before", state=PublicationState.DRAFT)
    rename(lab, "draft-after")
    staff = Client()
    staff.force_login(publisher())

    for url in ("/labs/draft-before/", "/api/labs/draft-before/?format=json", "/labs/draft-before/feed/"):
        response = reader.get(url)
        assert response.status_code == 404, url
        assert "draft-after" not in response.content.decode() and "draft-after" not in response.get("Location", "")
    # Staff see drafts, so they are redirected, and that answer is kept by no cache.
    moved = staff.get("/labs/draft-before/")
    assert_moved(moved, "/labs/draft-after/")
    assert "private" in moved["Cache-Control"] and "no-store" in moved["Cache-Control"]

    lab.refresh_from_db()
    lab.state = PublicationState.PUBLISHED
    lab.save()
    assert_moved(reader.get("/labs/draft-before/"), "/labs/draft-after/")


def test_a_release_of_a_draft_lab_is_no_redirect_for_readers_but_is_for_staff_with_a_token(reader):
    release = make_release(make_lab(state=PublicationState.DRAFT), slug="hidden-release")
    rename(release, "hidden-release-2")
    assert reader.get("/releases/hidden-release/").status_code == 404
    assert APIClient().get("/api/releases/hidden-release/").status_code == 404
    staff = APIClient()
    staff.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=publisher()).key}")
    moved = staff.get("/api/releases/hidden-release/?format=json")
    assert_moved(moved, "/api/releases/hidden-release-2/?format=json")
    assert "private" in moved["Cache-Control"]


# --- deleting ---------------------------------------------------------------------------


def test_deleting_the_object_deletes_its_old_slugs(reader):
    lab = make_lab(slug="doomed-a")
    rename(lab, "doomed-b")
    release = make_release(lab, slug="doomed-release")
    rename(release, "doomed-release-2")
    keeper = rename(make_person(slug="keeper-a"), "keeper-b")
    assert_moved(reader.get("/labs/doomed-a/"), "/labs/doomed-b/")

    Lab.objects.get(pk=lab.pk).delete()  # its releases go with it

    assert reader.get("/labs/doomed-a/").status_code == 404
    assert reader.get("/releases/doomed-release/").status_code == 404
    assert list(OldSlug.objects.values_list("slug", flat=True)) == ["keeper-a"]
    assert Person.objects.filter(pk=keeper.pk).exists()
    assert not Release.objects.filter(pk=release.pk).exists() and not Source.objects.exists()
