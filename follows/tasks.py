"""
Background tasks of follows (Django's Tasks API through django-tasks; settings.TASKS says
which backend runs them): the confirmation emails, and the digest rounds.

Scheduling: a digest round ends by scheduling the next one FOLLOWS_ROUND_SECONDS later
(``run_after``), unless one is already pending (``DigestSchedule``, one row, locked while
it is read): one chain of rounds, however often a round is started by hand or the site is
restarted. ``make run`` starts the chain (``send_digests --schedule``) before the worker, so
a change published now goes out in the worker's next round, at most FOLLOWS_ROUND_SECONDS
later; daily and weekly followers become due in whichever round follows their time. A lost
pending task (a flushed queue) is replaced by the next ``--schedule`` or manual round, as its
time is then past. Each round is idempotent (follows/digests.py), so a duplicate is harmless.
"""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from profiles.models import Lab

from .digests import confirmation_message, run_round
from .models import DigestSchedule, Follower

logger = logging.getLogger("labsite.follows")


@task()
def send_confirmation(follower_id, lab_id, rhythm):
    """
    Mail the double opt-in link for what was asked (the token is made here, from the pending
    confirmation). Nothing is sent for a lab unpublished since the request: the mail would
    name it, and its link could confirm nothing.
    """
    follower = Follower.objects.filter(pk=follower_id).first()
    if follower is None or not follower.confirmation_nonce:
        return False
    lab = Lab.objects.published().filter(pk=lab_id).first() if lab_id else None
    if lab_id and lab is None:
        return False
    confirmation_message(follower, lab, follower.confirmation_token(lab, rhythm)).send()
    return True


@task()
def digest_round():
    """One digest round, then the next one scheduled (see the module's docstring)."""
    return str(round_then_schedule())


def round_then_schedule():
    """
    Run a round, and schedule the next one even when this one fails: the chain of rounds
    is the only thing that sends digests, and one bad round (a database hiccup, a bug met by
    one follower) must not end it. The failure is logged and raised (the task is marked failed).
    """
    try:
        return run_round()
    except Exception:
        logger.exception("follows: a digest round failed; the next one is scheduled all the same")
        raise
    finally:
        schedule_next_round()


def schedule_next_round(now=None):
    """
    Schedule the next round FOLLOWS_ROUND_SECONDS from now unless one is pending. Returns
    its time, or None (one is pending, rounds are off, or the backend cannot defer a task:
    the immediate backend of the tests).
    """
    seconds = settings.FOLLOWS_ROUND_SECONDS
    if not seconds or not digest_round.get_backend().supports_defer:
        return None
    now = now or timezone.now()
    with transaction.atomic():
        schedule, _ = DigestSchedule.objects.select_for_update().get_or_create(pk=1)
        if schedule.next_round_at is not None and schedule.next_round_at > now:
            return None
        schedule.next_round_at = now + datetime.timedelta(seconds=seconds)
        schedule.save(update_fields=["next_round_at"])
        # In the same transaction: with the database backend the task and the schedule are
        # kept together or not at all (elsewhere a stray extra round is harmless).
        digest_round.using(run_after=schedule.next_round_at).enqueue()
    return schedule.next_round_at
