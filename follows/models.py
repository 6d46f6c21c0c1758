"""
Readers who follow labs by email, and what was sent to them.

A ``Follower`` is one email address (no account): the labs it follows (or everything), its
rhythm, and where its next digest starts (``digest_since``). Nothing but a confirmation is
ever sent before the address is confirmed from the signed link in that confirmation
(double opt-in). Each digest is a ``Delivery``; each change it carried is a ``SentChange``,
unique per follower and change, which is what makes a retried or concurrent round unable
to send a change twice (follows/digests.py).
"""

import datetime
import secrets

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property

from profiles.models import Lab


class Rhythm(models.TextChoices):
    IMMEDIATE = "immediate", "As it happens"
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"


# How long after its last digest a follower of each rhythm is due again (as it happens: every round).
PERIODS = {Rhythm.DAILY: datetime.timedelta(days=1), Rhythm.WEEKLY: datetime.timedelta(days=7)}


def new_key():
    return secrets.token_urlsafe(24)


def normalize_email(email):
    """Addresses are compared lower-cased (nobody's mail server tells "Ada@" from "ada@" in practice)."""
    return (email or "").strip().lower()


class FollowerQuerySet(models.QuerySet):
    def confirmed(self):
        """Followers who confirmed their address and have not unsubscribed: the only ones digests go to."""
        return self.filter(confirmed_at__isnull=False, unsubscribed_at__isnull=True)

    def unconfirmed(self):
        return self.filter(confirmed_at__isnull=True)

    def forgettable(self, now=None):
        """
        Addresses never confirmed whose last confirmation was mailed more than
        FOLLOWS_UNCONFIRMED_DAYS ago: deleted by each round. Counted from the last mail, not
        from the first request, because that is when its link's days start: a link sent again
        on day 6 must still find its address on day 8.
        """
        cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.FOLLOWS_UNCONFIRMED_DAYS)
        return self.unconfirmed().filter(
            Q(confirmation_sent_at__lt=cutoff) | Q(confirmation_sent_at__isnull=True, created_at__lt=cutoff)
        )

    def due(self, now=None):
        """Confirmed followers whose rhythm says a digest may go now (if anything changed)."""
        now = now or timezone.now()
        rule = Q(rhythm=Rhythm.IMMEDIATE)
        for rhythm, period in PERIODS.items():
            rule |= Q(rhythm=rhythm, digest_since__lte=now - period)
        return self.confirmed().filter(rule)


class Follower(models.Model):
    """One email address following labs (or everything), confirmed from a signed link."""

    CONFIRM_SALT = "follows.confirm"
    MANAGE_SALT = "follows.manage"

    email = models.EmailField("email address", max_length=254, help_text="Where digests go; stored lower-cased.")
    rhythm = models.CharField(
        "rhythm", max_length=10, choices=Rhythm.choices, default=Rhythm.DAILY,
        help_text="How often digests are sent: as changes are published, once a day or once a week.",
    )
    everything = models.BooleanField(
        "follows every lab", default=False, help_text="Digests carry the changes of every lab, not only those listed.",
    )
    labs = models.ManyToManyField(
        Lab, verbose_name="labs followed", blank=True, related_name="followers",
        help_text="Labs whose published changes this follower receives.",
    )
    key = models.CharField(
        "key", max_length=64, default=new_key, unique=True, editable=False,
        help_text="Secret behind the follower's signed manage and unsubscribe links.",
    )
    created_at = models.DateTimeField(
        "asked at", default=timezone.now, db_index=True, help_text="When the address first asked to follow.",
    )
    confirmed_at = models.DateTimeField(
        "confirmed at", null=True, blank=True, help_text="Empty until the address is confirmed; nothing else is sent before.",
    )
    unsubscribed_at = models.DateTimeField(
        "unsubscribed at", null=True, blank=True, help_text="Set when every follow was ended; nothing is sent after.",
    )
    digest_since = models.DateTimeField(
        "next digest from", null=True, blank=True,
        help_text="Changes published after this time go in the next digest.",
    )
    confirmation_nonce = models.CharField(
        "pending confirmation", max_length=64, blank=True, editable=False,
        help_text="Names the one confirmation link that may still be used (empty: none).",
    )
    confirmation_sent_at = models.DateTimeField("confirmation sent at", null=True, blank=True, editable=False)
    confirmations_counted_from = models.DateTimeField(
        "confirmations counted from", null=True, blank=True, editable=False,
        help_text="Start of the day over which confirmation mails to this address are counted.",
    )
    confirmations_sent = models.PositiveSmallIntegerField(
        "confirmations sent", default=0, editable=False,
        help_text="Confirmation mails sent to this address since that time and not answered.",
    )

    objects = FollowerQuerySet.as_manager()

    class Meta:
        ordering = ["email"]
        verbose_name = "follower"
        constraints = [
            models.UniqueConstraint(
                Lower("email"), name="follower_unique_email",
                violation_error_message="This address already follows labs: change its follows from the link in its emails.",
            ),
            models.CheckConstraint(
                condition=Q(confirmed_at__isnull=True) | Q(digest_since__isnull=False),
                name="follower_confirmed_has_digest_since",
                violation_error_message="A confirmed follower needs the time its next digest starts from.",
            ),
        ]
        indexes = [models.Index(fields=["rhythm", "digest_since"], name="follower_due")]

    def __str__(self):
        return self.email

    def clean(self):
        self.email = normalize_email(self.email)

    def save(self, *args, **kwargs):
        self.email = normalize_email(self.email)
        super().save(*args, **kwargs)

    @property
    def is_active(self):
        return self.confirmed_at is not None and self.unsubscribed_at is None

    # --- asking and confirming ---------------------------------------------------------

    @classmethod
    def ask(cls, email, lab, rhythm, now=None):
        """
        Someone asked that ``email`` follow ``lab`` (None: everything) at ``rhythm``. Returns
        the follower and whether a confirmation may be mailed now (not when one is pending: one confirmation
        link is pending per address at a time, and a new one (which replaces it) only after
        FOLLOWS_CONFIRM_RESEND_MINUTES; and at most FOLLOWS_CONFIRMATIONS_PER_DAY unanswered ones
        a day), so nobody can mail-bomb an address from this form.
        Nothing changes for a confirmed follower until the link is used.
        """
        now = now or timezone.now()
        email = normalize_email(email)
        with transaction.atomic():
            follower = cls.objects.select_for_update().filter(email=email).first()
            if follower is None:
                try:
                    # A savepoint: FOR UPDATE locks no row that does not exist yet, so two first
                    # requests for an address can both get here; the second insert fails on the
                    # unique address, and must not take the outer transaction down with it.
                    with transaction.atomic():
                        follower = cls.objects.create(email=email, created_at=now)
                except IntegrityError:
                    follower = cls.objects.select_for_update().get(email=email)
            resend_after = datetime.timedelta(minutes=settings.FOLLOWS_CONFIRM_RESEND_MINUTES)
            if follower.confirmation_nonce and follower.confirmation_sent_at and now - follower.confirmation_sent_at < resend_after:
                return follower, False
            # The resend delay alone would let a stranger mail an address every few minutes for
            # ever (the form takes no CSRF token); a day's count stops that.
            if follower.confirmations_counted_from is None or now - follower.confirmations_counted_from >= datetime.timedelta(days=1):
                follower.confirmations_counted_from, follower.confirmations_sent = now, 0
            if follower.confirmations_sent >= settings.FOLLOWS_CONFIRMATIONS_PER_DAY:
                return follower, False
            follower.confirmation_nonce, follower.confirmation_sent_at = new_key(), now
            follower.confirmations_sent += 1
            follower.save(update_fields=[
                "confirmation_nonce", "confirmation_sent_at", "confirmations_counted_from", "confirmations_sent",
            ])
        return follower, True

    def confirmation_token(self, lab, rhythm):
        """The signed link's token: which follower, which pending confirmation, and what it asked for."""
        payload = {"f": self.pk, "n": self.confirmation_nonce, "l": lab.pk if lab else None, "r": rhythm}
        return signing.dumps(payload, salt=self.CONFIRM_SALT)

    @classmethod
    def read_confirmation(cls, token):
        """(follower, lab or None, rhythm) a still-usable confirmation token names, or None."""
        try:
            payload = signing.loads(
                token, salt=cls.CONFIRM_SALT, max_age=datetime.timedelta(days=settings.FOLLOWS_UNCONFIRMED_DAYS)
            )
        except signing.BadSignature:
            return None
        follower = cls.objects.filter(pk=payload.get("f")).first()
        if follower is None or not follower.confirmation_nonce or follower.confirmation_nonce != payload.get("n"):
            return None
        lab = None
        if payload.get("l") is not None:
            lab = Lab.objects.published().filter(pk=payload["l"]).first()
            if lab is None:
                return None
        rhythm = payload.get("r") if payload.get("r") in Rhythm.values else Rhythm.DAILY
        return follower, lab, rhythm

    def confirm(self, lab, rhythm, now=None):
        """Use the pending confirmation: start (or resume) digests, and add ``lab`` (None: everything)."""
        now = now or timezone.now()
        with transaction.atomic():
            if not self.is_active:
                # A new start (first confirmation, or after unsubscribing): only what was asked for now.
                self.labs.clear()
                self.everything = False
                self.confirmed_at, self.unsubscribed_at, self.digest_since = now, None, now
            if lab is None:
                self.everything = True
            else:
                self.labs.add(lab)
            self.rhythm = rhythm
            self.confirmation_nonce = ""
            # The address's owner answered: the day's count is for mails nobody asked for, not
            # for a reader adding labs one after another.
            self.confirmations_sent = 0
            self.save()

    # --- managing --------------------------------------------------------------------

    @cached_property
    def manage_token(self):
        return signing.dumps(self.key, salt=self.MANAGE_SALT)

    @classmethod
    def from_manage_token(cls, token):
        """The follower a manage or unsubscribe link names, or None."""
        try:
            key = signing.loads(token, salt=cls.MANAGE_SALT)
        except signing.BadSignature:
            return None
        return cls.objects.filter(key=key).first()

    def get_absolute_url(self):
        return reverse("follows:manage", kwargs={"token": self.manage_token})

    def get_unsubscribe_url(self):
        return reverse("follows:unsubscribe", kwargs={"token": self.manage_token})

    def change(self, rhythm, everything, labs):
        """
        The manage page's save: ``labs`` are the published labs still followed (the form offers
        only those: a lab is added by confirming). Follows of labs readers may not see now
        (unpublished or archived since) are neither shown nor ended: they resume if the lab is
        published again.
        """
        with transaction.atomic():
            hidden = self.labs.exclude(pk__in=Lab.objects.published().values("pk"))
            self.labs.set([*labs, *hidden])
            self.rhythm, self.everything = rhythm, everything
            self.save(update_fields=["rhythm", "everything"])

    def unsubscribe(self, now=None):
        """End every follow of this address: nothing more is sent to it (unless it follows again and confirms)."""
        with transaction.atomic():
            self.labs.clear()
            self.everything = False
            self.unsubscribed_at = now or timezone.now()
            self.confirmation_nonce = ""
            self.save()


class DeliveryStatus(models.TextChoices):
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class DeliveryQuerySet(models.QuerySet):
    def recent(self, days=7, now=None):
        return self.filter(created_at__gte=(now or timezone.now()) - datetime.timedelta(days=days))

    def sent(self):
        return self.filter(status=DeliveryStatus.SENT)

    def failed(self):
        return self.filter(status=DeliveryStatus.FAILED)


class Delivery(models.Model):
    """One digest to one follower: when, how many changes, and whether the mail server took it."""

    follower = models.ForeignKey(
        Follower, verbose_name="follower", on_delete=models.CASCADE, related_name="deliveries",
        help_text="Whom the digest went to.",
    )
    created_at = models.DateTimeField("made at", default=timezone.now, db_index=True, help_text="The round that made it.")
    window_start = models.DateTimeField(
        "changes from", help_text="Where the follower's digest started; put back if the send fails, so nothing is lost.",
    )
    status = models.CharField(
        "status", max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.SENDING,
        help_text="Sending until the mail server took it (sent) or refused it (failed).",
    )
    changes_count = models.PositiveIntegerField("changes", default=0, help_text="How many changes the digest carried.")
    error = models.TextField("error", blank=True, help_text="What the mail server answered, if the send failed.")

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "digest sent"
        verbose_name_plural = "digests sent"

    def __str__(self):
        return f"Digest of {self.changes_count} change(s), {self.created_at:%Y-%m-%d %H:%M} ({self.get_status_display()})"


class SentChange(models.Model):
    """A change (a changelog entry) mailed to a follower: never again to the same follower."""

    follower = models.ForeignKey(Follower, verbose_name="follower", on_delete=models.CASCADE, related_name="+")
    delivery = models.ForeignKey(Delivery, verbose_name="digest", on_delete=models.CASCADE, related_name="changes")
    change = models.CharField(
        "change", max_length=40, help_text='The changelog entry: "revision-<id>", or "lab-<id>" for a first publication.',
    )

    class Meta:
        verbose_name = "change sent"
        constraints = [
            models.UniqueConstraint(
                fields=["follower", "change"], name="sentchange_once_per_follower",
                violation_error_message="This change was already sent to this follower.",
            ),
        ]

    def __str__(self):
        return self.change


class DigestSchedule(models.Model):
    """
    The one row saying when the next timed digest round is due (follows/tasks.py): a round
    is scheduled only when none is pending, so restarts and manual rounds never multiply them.
    """

    next_round_at = models.DateTimeField("next round at", null=True, blank=True)

    class Meta:
        verbose_name = "digest schedule"

    def __str__(self):
        return f"Next digest round at {self.next_round_at:%Y-%m-%d %H:%M:%S}" if self.next_round_at else "No digest round scheduled"
