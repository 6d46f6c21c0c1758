"""
Record the go-live of scheduled rows: ``manage.py publish_scheduled`` (run it from cron
every few minutes).

Readers never depend on it: ``published()`` compares ``published_at`` with the clock,
so a scheduled row is public the moment its time comes. But a row that goes live by time
alone changes nothing in the database, so feeds, "recently updated" lists and the page
cache would not notice it. This command saves each such row once, with the history
reason "Went live", which moves its ``updated`` time and bumps the page cache.

A row is due when it is published, its ``published_at`` has passed, and its latest
history entry is older than ``published_at`` (nobody saved it since it went live). Once
saved, its latest entry is newer, so a second run does nothing.
"""

from django.core.management.base import BaseCommand
from django.db.models import F, Max, OuterRef, Q, Subquery
from django.utils import timezone

from profiles import documents
from profiles.models import EditConflict, Lab, Person, PublicationState, Release, Source

GO_LIVE_REASON = "Went live"


def due(model, now):
    """Published rows of ``model`` whose go-live time passed after their last recorded save."""
    History = model.history.model
    last_saved = (
        History.objects.filter(id=OuterRef("pk"))
        .order_by()
        .values("id")
        .annotate(last=Max("history_date"))
        .values("last")
    )
    # The row's own go-live time, not published(): a release whose lab is still a draft
    # went live too, and is recorded now so that it shows in feeds when its lab does.
    return (
        model.objects.filter(state=PublicationState.PUBLISHED, published_at__lte=now)
        .annotate(last_saved=Subquery(last_saved))
        # (A row with no history at all, say one written with raw SQL, is due as well.)
        .filter(Q(last_saved__isnull=True) | Q(last_saved__lt=F("published_at")))
        .order_by("published_at", "pk")
    )


class Command(BaseCommand):
    help = "Save rows whose scheduled go-live time has passed, once, so feeds and history show when they went live."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List the due rows without saving them.")

    def handle(self, *args, dry_run=False, **options):
        now = timezone.now()
        count = 0
        for model in (Lab, Person, Release, Source):
            for row in due(model, now):
                label = f'{model._meta.verbose_name} "{row}" (live since {row.published_at:%Y-%m-%d %H:%M %Z})'
                if dry_run:
                    self.stdout.write(f"Would record {label}")
                    count += 1
                    continue
                row._change_reason = GO_LIVE_REASON
                try:
                    row.save()
                except EditConflict:
                    # An editor saved it meanwhile: that save is newer than the go-live, so it is no longer due.
                    self.stdout.write(f"Skipped {label}: changed by someone else just now")
                    continue
                self.stdout.write(f"Recorded {label}")
                count += 1
        if not dry_run:
            # Scheduled drafts of published profiles (the first request after their time
            # publishes them too; this is for a site nobody visits at that moment).
            drafts = documents.publish_due(now)
            if drafts:
                self.stdout.write(f"Published {drafts} scheduled draft(s).")
        if dry_run:
            self.stdout.write(f"{count} row(s) due; nothing saved (--dry-run).")
        elif count:
            self.stdout.write(self.style.SUCCESS(f"{count} row(s) went live."))
        else:
            self.stdout.write("Nothing went live since the last run.")
