"""
A digest round: every due follower gets the published changes of the labs it follows since
its last digest, once.

A round reads the changelog's entries (profiles/changelog.py: published revisions and first
publications of live labs, never a draft) once, then takes the due followers in batches.
Each batch, in one transaction: lock its followers (``SELECT ... FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so a second worker takes other followers), read which of the changes each was
already sent, record a ``Delivery`` and a ``SentChange`` per change (unique per follower
and change: a concurrent worker that got past the lock fails on it and keeps nothing), and
move the followers' ``digest_since`` to the round's start. Only after the commit is mail
sent, so a retried round finds the records and sends nothing twice (at most once: a crash
between the commit and the send loses that digest rather than doubling it). A send the mail
server refuses is marked failed and its records and ``digest_since`` put back, for the next
round. A batch costs the same number of queries whatever its size.

A round with no change published since the earliest due follower's ``digest_since`` ends
after reading the changelog, writing nothing: otherwise every round would rewrite every
follower "as it happens" (thousands of updates a minute, holding SQLite's one write lock)
to say that nothing was sent. When there are changes, each due follower's ``digest_since``
moves on, whether or not one of them was its own, so that the next round's window stays short.

A crash (the worker killed, the machine lost) between a batch's commit and the end of its
mail leaves that batch's deliveries "sending" for good: nothing reconciles them, as nothing
can tell which of them the mail server took. Their changes are recorded as sent and are not
sent again (at most once); in the admin a "sending" delivery older than a round means this.

A change is in a follower's window when it was published after ``digest_since`` less
LATE_COMMIT_MARGIN (a publication stamped just before a round's start may commit just after
it; the records keep the overlap from being sent twice), and after the follower confirmed.
"""

import dataclasses
import datetime
import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, connection, transaction
from django.db.models import Min
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from profiles import changelog
from profiles.models import Lab

from .models import Delivery, DeliveryStatus, Follower, SentChange

logger = logging.getLogger("labsite.follows")

LATE_COMMIT_MARGIN = datetime.timedelta(minutes=5)


def change_key(entry):
    """The name a changelog entry is recorded under (``SentChange.change``)."""
    return f"revision-{entry.revision_id}" if entry.revision_id else f"lab-{entry.lab.pk}"


def absolute(path):
    return settings.SITE_URL.rstrip("/") + path


@dataclasses.dataclass
class RoundReport:
    digests: int = 0
    failed: int = 0
    followers: int = 0
    forgotten: int = 0

    def __str__(self):
        return f"{self.digests} digest(s) sent, {self.failed} failed, {self.followers} follower(s) due, {self.forgotten} unconfirmed address(es) forgotten"


def changes_since(since, now):
    """The changelog's entries published after ``since``, oldest first (a fixed number of queries)."""
    rows = list(changelog.entry_rows(Lab.objects.published(), since=since))
    entries = changelog.build_entries(rows, now=now)
    entries.reverse()
    return entries


def run_round(now=None, batch_size=None):
    """Send every due follower its digest (see the module's docstring). Returns a ``RoundReport``."""
    now = now or timezone.now()
    batch_size = batch_size or settings.FOLLOWS_BATCH_SIZE
    report = RoundReport()
    report.forgotten, _ = Follower.objects.forgettable(now).delete()
    earliest = Follower.objects.due(now).aggregate(since=Min("digest_since"))["since"]
    if earliest is None:
        return report
    entries = changes_since(earliest - LATE_COMMIT_MARGIN, now)
    if not entries:
        return report  # nothing to send anyone: no follower is rewritten (see the module's docstring)
    last_pk = 0
    while True:
        batch = _send_batch(entries, now, last_pk, batch_size, report)
        if batch is None:
            return report
        last_pk = batch


def _lock_batch(now, last_pk, batch_size):
    due = Follower.objects.due(now).filter(pk__gt=last_pk).order_by("pk")
    if connection.features.has_select_for_update_skip_locked:
        due = due.select_for_update(skip_locked=True, of=("self",))
    return list(due[:batch_size])


def _send_batch(entries, now, last_pk, batch_size, report):
    """One batch: records in one transaction, then mail. Returns the last follower's pk, or None when done."""
    outgoing = []
    try:
        with transaction.atomic():
            followers = _lock_batch(now, last_pk, batch_size)
            if not followers:
                return None
            report.followers += len(followers)
            ids = [follower.pk for follower in followers]
            follows = {}
            for follower_id, lab_id in Follower.labs.through.objects.filter(follower_id__in=ids).values_list("follower_id", "lab_id"):
                follows.setdefault(follower_id, set()).add(lab_id)
            keys = {change_key(entry) for entry in entries}
            sent = set(
                SentChange.objects.filter(follower_id__in=ids, change__in=keys).values_list("follower_id", "change")
            ) if keys else set()
            for follower in followers:
                start = max(follower.digest_since - LATE_COMMIT_MARGIN, follower.confirmed_at)
                labs = follows.get(follower.pk, set())
                picked = [
                    entry for entry in entries
                    if entry.when > start and (follower.everything or entry.lab.pk in labs)
                    and (follower.pk, change_key(entry)) not in sent
                ]
                if picked:
                    delivery = Delivery(
                        follower=follower, created_at=now, window_start=follower.digest_since, changes_count=len(picked)
                    )
                    outgoing.append((follower, delivery, picked))
            Delivery.objects.bulk_create([delivery for _follower, delivery, _picked in outgoing])
            SentChange.objects.bulk_create([
                SentChange(follower=follower, delivery=delivery, change=change_key(entry))
                for follower, delivery, picked in outgoing for entry in picked
            ])
            Follower.objects.filter(pk__in=ids).update(digest_since=now)
    except IntegrityError:
        # Another worker recorded some of these changes first: it sends them; this batch keeps nothing.
        logger.warning("follows: a batch met another worker's sends and was left to it")
        return followers[-1].pk
    _mail(outgoing, report)
    return followers[-1].pk


def _mail(outgoing, report):
    """Send the recorded digests over one connection; put back what the mail server refused."""
    if not outgoing:
        return
    sent, failed, rendered = [], [], {}
    mail = get_connection()
    try:
        mail.open()
    except Exception as error:  # no mail server: every digest of the batch waits for the next round
        failed = [(follower, delivery, repr(error)[:1000]) for follower, delivery, _picked in outgoing]
    else:
        try:
            for follower, delivery, picked in outgoing:
                try:
                    mail.send_messages([digest_message(follower, picked, rendered)])
                except Exception as error:  # the mail server's refusal, whatever the backend raises
                    failed.append((follower, delivery, repr(error)[:1000]))
                else:
                    sent.append(delivery.pk)
        finally:
            mail.close()
    Delivery.objects.filter(pk__in=sent).update(status=DeliveryStatus.SENT)
    report.digests += len(sent)
    report.failed += len(failed)
    for follower, delivery, error in failed:
        logger.warning("follows: a digest to follower %s failed: %s", follower.pk, error)
        with transaction.atomic():
            Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED, error=error)
            SentChange.objects.filter(delivery=delivery).delete()
            Follower.objects.filter(pk=follower.pk).update(digest_since=delivery.window_start)


def list_headers(follower):
    """RFC 2369 and RFC 8058 headers: mail clients offer a one-click unsubscribe (a POST to the link)."""
    return {
        "List-Unsubscribe": f"<{absolute(follower.get_unsubscribe_url())}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _message(template, context, to, headers=None):
    subject = " ".join(render_to_string(f"follows/email/{template}_subject.txt", context).split())
    text = render_to_string(f"follows/email/{template}.txt", context)
    html = render_to_string(f"follows/email/{template}.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to], headers=headers or {})
    message.attach_alternative(html, "text/html")
    return message


def digest_message(follower, entries, rendered=None):
    """
    The digest email (text and HTML) carrying ``entries``, grouped by lab. The changes are
    rendered once per set of entries (``rendered``: a dict kept for a batch, where most
    followers of a lab get the same changes); only the links to manage and unsubscribe,
    which are each follower's own, are rendered per follower.
    """
    key = tuple(change_key(entry) for entry in entries)
    if rendered is None or key not in rendered:
        changes = _changes_context(entries)
        parts = (
            render_to_string("follows/email/_digest_changes.txt", changes),
            mark_safe(render_to_string("follows/email/_digest_changes.html", changes)),  # rendered by our template, escaped there
            changes["labs"],
        )
        if rendered is None:
            return _digest(follower, len(entries), *parts)
        rendered[key] = parts
    return _digest(follower, len(entries), *rendered[key])


def _changes_context(entries):
    by_lab = {}
    for entry in entries:
        by_lab.setdefault(entry.lab.pk, (entry.lab, []))[1].append(entry)
    return {"labs": [
        {"lab": lab, "url": absolute(lab.get_absolute_url()), "changes_url": absolute(lab.get_changes_url()),
         "entries": [{"entry": entry, "url": absolute(entry.get_absolute_url())} for entry in lab_entries]}
        for lab, lab_entries in by_lab.values()
    ]}


def _digest(follower, count, changes_text, changes_html, labs):
    context = {
        "follower": follower, "labs": labs, "count": count, "changes_text": changes_text, "changes_html": changes_html,
        "manage_url": absolute(follower.get_absolute_url()),
        "unsubscribe_url": absolute(follower.get_unsubscribe_url()),
        "site_url": absolute("/"),
    }
    return _message("digest", context, follower.email, list_headers(follower))


def confirmation_message(follower, lab, token):
    """The double opt-in email: a link to confirm (only what it names is started)."""
    from django.urls import reverse

    context = {
        "lab": lab, "follower": follower,
        "confirm_url": absolute(reverse("follows:confirm", kwargs={"token": token})),
        "days": settings.FOLLOWS_UNCONFIRMED_DAYS, "site_url": absolute("/"),
    }
    return _message("confirm", context, follower.email)
