"""
How many digests a minute one worker sends: a digest round (follows/digests.py) for
10,000 confirmed followers after a change was published to each lab they follow.

    .venv/bin/python bench/digests.py                          # SQLite file in a temporary directory
    .venv/bin/python bench/digests.py --database postgres://postgres@127.0.0.1:5432/labsite_digests
    .venv/bin/python bench/digests.py --smtp                   # over SMTP to a local aiosmtpd sink

The database is made afresh (migrated; on PostgreSQL the named database is dropped and
created). Followers follow one lab each (of --labs), every tenth follows everything; each
lab gets one published change, so every follower gets one digest. The round is what the
worker's task runs (``run_round``), in this process, with Django's locmem email backend by
default (the round's own cost: queries, rendering, signing) or --smtp (plus an SMTP
conversation per digest over one connection, as in production). Prints digests a minute.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--labs", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=None, help="FOLLOWS_BATCH_SIZE (default: the setting, 500)")
    parser.add_argument("--database", default=None, help="a DATABASE_URL (default: a temporary SQLite file)")
    parser.add_argument("--smtp", action="store_true", help="send over SMTP to an aiosmtpd sink started here")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory()
    database = args.database or f"sqlite:///{Path(tmp.name) / 'digests.sqlite3'}"
    if database.startswith("postgres"):
        import psycopg

        server, name = database.rsplit("/", 1)
        with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
            connection.execute(f'CREATE DATABASE "{name}"')
    os.environ.update({"DATABASE_URL": database, "DEBUG": "1", "TASKS_BACKEND": "immediate", "FOLLOWS_ROUND_SECONDS": "0"})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labsite.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    sink = None
    if args.smtp:
        from aiosmtpd.controller import Controller

        class Sink:
            received = 0

            async def handle_DATA(self, server, session, envelope):
                Sink.received += 1
                return "250 OK"

        sink = Controller(Sink(), hostname="127.0.0.1", port=8025)
        sink.start()
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 8025
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    else:
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    print(f"database: {database.split('@')[-1]}; email: {'SMTP (aiosmtpd on localhost)' if sink else 'locmem'}", flush=True)
    call_command("migrate", verbosity=0)

    from django.utils import timezone

    from follows.digests import run_round
    from follows.models import Follower
    from profiles import documents
    from profiles.models import Lab, PublicationState

    started = timezone.now() - timezone.timedelta(minutes=1)
    labs = [
        Lab.objects.create(name=f"Bench Lab {n}", slug=f"bench-lab-{n}", state=PublicationState.PUBLISHED,
                           published_at=started - timezone.timedelta(days=1), funding_text="Before.")
        for n in range(args.labs)
    ]
    followers = Follower.objects.bulk_create([
        Follower(email=f"reader{n}@example.org", rhythm="immediate", everything=n % 10 == 0,
                 confirmed_at=started, digest_since=started)
        for n in range(args.followers)
    ])
    Follower.labs.through.objects.bulk_create([
        Follower.labs.through(follower_id=follower.pk, lab_id=labs[n % len(labs)].pk)
        for n, follower in enumerate(followers) if not follower.everything
    ])
    for lab in labs:
        def change(lab=lab):
            row = Lab.objects.get(pk=lab.pk)
            row.funding_text = "After: a new funder."
            row.save()
        documents.edit(lab, change, None)
        documents.publish(Lab.objects.get(pk=lab.pk), None)

    clock = time.perf_counter()
    report = run_round(batch_size=args.batch_size)
    seconds = time.perf_counter() - clock
    if sink:
        sink.stop()
    print(report)
    print(f"{report.digests} digests in {seconds:.1f} s: {report.digests / seconds * 60:,.0f} digests a minute")
    tmp.cleanup()


if __name__ == "__main__":
    main()
