"""
The data model of lab profiles (see ../shared/DESIGN.md).

Every rule about the data lives here, once: field validation in ``clean()``,
integrity in named database constraints, and the querysets that pages, the API
and the feeds share (``Lab.objects.published().with_profile()``). The admin, the
API serialisers and the fixture loader all call ``full_clean()``, so a rule
written here holds everywhere.
"""

import datetime
import functools
import math
import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections, models, transaction
from django.db.models import Exists, F, OuterRef, Prefetch, Q
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords

from .markup import render_markdown
from .partial_dates import DatePrecision, format_partial_date, is_before, iso_partial_date, normalize, year_of
from .speed import reverse_slug

MARKDOWN_HELP = (
    "Markdown: **bold**, *italic*, [link text](https://example.org), blank line between "
    "paragraphs, '- ' for bullets. HTML is not allowed and is removed."
)
PRECISION_HELP = "How much of the date is known: a year ('2023'), a month ('July 2020') or a day."


# --------------------------------------------------------------------------
# Shared building blocks
# --------------------------------------------------------------------------


class PublicationState(models.TextChoices):
    DRAFT = "draft", "Draft"
    REVIEW = "review", "In review"
    PUBLISHED = "published", "Published"
    ARCHIVED = "archived", "Archived"


class EditConflict(Exception):
    """
    A save based on a version of the row that someone else has since replaced.

    Raised by ``PublishableModel.save()``; the admin shows the editor what changed and
    keeps their input, the API answers 409/412. Nothing is overwritten.
    """

    def __init__(self, instance, stored_version):
        self.instance = instance
        self.stored_version = stored_version
        super().__init__(
            f"{instance._meta.verbose_name.capitalize()} \"{instance}\" was changed by someone else "
            f"(you edited version {instance.version}, the stored one is version {stored_version})."
        )


class TimestampedModel(models.Model):
    """
    Adds ``created``/``updated`` timestamps and a full change history.

    ``updated`` is what readers see as "Last updated", so it is an editorial fact: every
    save sets it to now, except a save by a loader of dated starting data (the seed's "As
    of April 2026", an Epoch AI row's "Last modified"), which sets ``keep_given_dates``
    and gives the source's date instead of the moment the fixture was loaded.
    """

    created = models.DateTimeField("created", default=timezone.now, editable=False)
    updated = models.DateTimeField("last updated", default=timezone.now, editable=False)
    # Every save and delete, with who, when and the old and new values (django-simple-history).
    history = HistoricalRecords(inherit=True)

    # Set on an instance by loaders of dated data (load_profiles, import_epoch) only.
    keep_given_dates = False

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self.keep_given_dates:
            self.updated = timezone.now()
            update_fields = kwargs.get("update_fields")
            if update_fields is not None and "updated" not in update_fields:
                kwargs["update_fields"] = [*update_fields, "updated"]
        super().save(*args, **kwargs)


class QueryTime(models.Expression):
    """
    The moment a query runs: Django's clock read when the query is compiled, not when the
    queryset is built, so a queryset built once (a viewset's ``queryset``) still selects
    what is live at each request. ``functions.Now`` would read the database's clock,
    which need not agree with the application's, which wrote ``published_at``. Each
    query reads it afresh: a page's several queries see instants a few milliseconds apart.
    """

    output_field = models.DateTimeField()

    def as_sql(self, compiler, connection):
        return "%s", [connection.ops.adapt_datetimefield_value(timezone.now())]


# What a link to a lab, person or release reads: its name and address, and
# whether it is public (``is_public``). Joined rows a page only links to select these.
LINK_FIELDS = ("slug", "name", "state", "published_at")


def live(prefix, now):
    """
    The published-and-live rule: on the row itself (``prefix`` None, as ``published()``
    applies it) or through a relation (``live("lab", now)``), as a join condition: on large
    tables a join on the key is far cheaper than an ``IN (SELECT ...)`` of every published row.
    ``is_live()`` below is the same rule for a row already in memory.
    """
    path = f"{prefix}__" if prefix else ""
    return Q(**{f"{path}state__likely_exact": PublicationState.PUBLISHED, f"{path}published_at__likely_lte": now})


def is_live(state, published_at, now=None):
    """``live()`` for a row in memory: published, and its go-live time reached."""
    return state == PublicationState.PUBLISHED and published_at is not None and published_at <= (now or timezone.now())


class PublishableQuerySet(models.QuerySet):
    """Rules shared by every row readers may or may not see."""

    def published(self, now=None):
        """Rows a reader may see: published, and live (``published_at`` reached) at ``now``
        (by default, whenever the query runs)."""
        return self.filter(live(None, QueryTime() if now is None else now))

    def previewable_by(self, user):
        """Whether ``user`` sees these rows in every state: staff who may view them (editors, publishers)."""
        return bool(
            user.is_authenticated
            and user.is_staff
            and user.has_perm(f"{self.model._meta.app_label}.view_{self.model._meta.model_name}")
        )

    def visible_to(self, user):
        """What ``user`` may open: staff who may view these rows preview every state; others, published rows."""
        return self.all() if self.previewable_by(user) else self.published()

    def awaiting_review(self):
        return self.filter(state=PublicationState.REVIEW)

    def scheduled(self, now=None):
        """Published rows whose go-live time has not come yet."""
        return self.filter(state=PublicationState.PUBLISHED, published_at__gt=now or timezone.now())

    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


class PublishableModel(TimestampedModel):
    """A public object: addressed by its slug and carrying a publication state."""

    slug = models.SlugField(
        "slug",
        max_length=120,
        unique=True,
        help_text="The address of the page (/labs/<slug>/); lowercase letters, digits and hyphens. "
        "Filled from the name; change it only if you must, since links use it.",
    )
    state = models.CharField(
        "publication state",
        max_length=12,
        choices=PublicationState.choices,
        default=PublicationState.DRAFT,
        db_index=True,
        help_text="Only published rows are shown to readers and the public API.",
    )
    published_at = models.DateTimeField(
        "published at",
        null=True,
        blank=True,
        db_index=True,
        help_text="When the row went (or goes) live. Set automatically when it is first published; "
        "a time in the future schedules it.",
    )

    version = models.PositiveIntegerField(
        "version", default=1, editable=False,
        help_text="Goes up by one with every save; a save from an older version is refused.",
    )

    objects = PublishableQuerySet.as_manager()

    # States only a publisher may move a row into or out of.
    PUBLISHER_STATES = {PublicationState.PUBLISHED, PublicationState.ARCHIVED}

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # The state as stored, so a change of state can be checked against permissions.
        # (Read from __dict__: a deferred state must not cost a query per row.)
        instance._stored_state = instance.__dict__.get("state")
        return instance

    def natural_key(self):
        return (self.slug,)

    def save(self, *args, **kwargs):
        """
        Save with optimistic locking: the row is written only if its stored version is
        still the one this instance was loaded with; otherwise ``EditConflict``.

        The conditional UPDATE claims the row atomically on every database, so two
        concurrent saves of one version cannot both succeed.
        """
        if self.state == PublicationState.PUBLISHED and self.published_at is None:
            self.published_at = timezone.now()
        manager = type(self)._base_manager
        if self.pk is None or kwargs.get("force_insert"):
            super().save(*args, **kwargs)
        else:
            with transaction.atomic(using=kwargs.get("using")):
                claimed = manager.filter(pk=self.pk, version=self.version).update(version=F("version") + 1)
                if claimed:
                    self.version += 1
                else:
                    stored = manager.filter(pk=self.pk).values_list("version", flat=True).first()
                    if stored is not None:
                        raise EditConflict(self, stored)
                    # Otherwise the row is gone (being restored from history): it is inserted.
                super().save(*args, **kwargs)
        self._stored_state = self.state

    @property
    def stored_state(self):
        """The state as last loaded from or saved to the database (None for a new row)."""
        return getattr(self, "_stored_state", None)

    @classmethod
    def publish_permission(cls):
        return f"{cls._meta.app_label}.publish_{cls._meta.model_name}"

    def may_change_state(self, user, new_state):
        """
        The workflow rule: editors move rows between draft and in review; publishing,
        unpublishing and archiving (into or out of those states) need the publish permission.
        """
        old_state = self.stored_state or PublicationState.DRAFT
        if new_state == old_state:
            return True
        if new_state in self.PUBLISHER_STATES or old_state in self.PUBLISHER_STATES:
            return user.has_perm(self.publish_permission())
        return user.has_perm(f"{self._meta.app_label}.change_{self._meta.model_name}")

    def check_state_change(self, user, new_state):
        if not self.may_change_state(user, new_state):
            raise PermissionDenied(
                f"You may not move {self._meta.verbose_name} \"{self}\" from "
                f"{PublicationState(self.stored_state or PublicationState.DRAFT).label.lower()} to "
                f"{PublicationState(new_state).label.lower()}: publishing needs the Publisher role."
            )

    def transition(self, user, new_state, go_live=None):
        """
        Move the row to ``new_state`` for ``user`` and save it (the change is recorded).

        Publishing keeps a go-live time already set (scheduled publishing) unless
        ``go_live`` is given; unpublishing clears it.
        """
        self.check_state_change(user, new_state)
        from . import documents

        if (
            self.stored_state == PublicationState.PUBLISHED and documents.is_document_model(type(self))
            and not documents.capturing()  # inside an edit the rows are the draft's: a plain save
        ):
            # A published document's edits wait in a draft revision: publishing publishes the
            # draft (now, or at ``go_live``), submitting puts the draft up for review.
            if new_state == PublicationState.PUBLISHED:
                if not user.has_perm(self.publish_permission()):
                    raise PermissionDenied(
                        f"You may not publish the draft of {self._meta.verbose_name} \"{self}\": "
                        "publishing needs the Publisher role."
                    )
                return documents.publish(self, user, go_live=go_live)
            if new_state == PublicationState.REVIEW:
                return documents.submit(self, user)
        leaving_published = self.stored_state == PublicationState.PUBLISHED and new_state != PublicationState.PUBLISHED
        self.state = new_state
        if new_state == PublicationState.PUBLISHED:
            self.published_at = go_live or self.published_at or timezone.now()
        elif new_state == PublicationState.DRAFT:
            self.published_at = None
        self.save()
        if leaving_published and documents.is_document_model(type(self)) and not documents.capturing():
            # Nobody reads it now, so it is edited in place: a pending draft is written to the
            # rows (not left to come back later over what is edited meanwhile).
            documents.fold_into_rows(self, user)

    @property
    def is_public(self):
        """Whether readers may see this row: ``published()`` for one row in memory (links use it)."""
        return is_live(self.state, self.published_at)

    @property
    def is_scheduled(self):
        """Published with a go-live time still to come."""
        return self.state == PublicationState.PUBLISHED and self.published_at is not None and self.published_at > timezone.now()


def check_end_not_before_start(instance, start="start", end="end"):
    """The one rule for date ranges; the database backs it with a CheckConstraint."""
    start_value, end_value = getattr(instance, start), getattr(instance, end)
    if start_value and end_value and end_value < start_value:
        raise ValidationError({end: "The end date cannot be before the start date."})


def normalize_partial_dates(instance, *fields):
    """Store a partial date as the first day of its period (so "2023" sorts as 2023-01-01)."""
    for field in fields:
        value = getattr(instance, field)
        setattr(instance, field, normalize(value, getattr(instance, f"{field}_precision")))


# --------------------------------------------------------------------------
# Organizations (bodies we do not profile)
# --------------------------------------------------------------------------


class OrganizationKind(models.TextChoices):
    GOVERNMENT = "government", "Government or ministry"
    UNIVERSITY = "university", "University"
    ACADEMY = "academy", "Academy or research institute"
    COMPANY = "company", "Company"
    NONPROFIT = "nonprofit", "Nonprofit"
    OTHER = "other", "Other"


class OrganizationQuerySet(models.QuerySet):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


class Organization(TimestampedModel):
    """A body that is not profiled itself (a government, a university, a company)."""

    name = models.CharField("name", max_length=200, help_text="The name in English, as commonly written.")
    slug = models.SlugField("slug", max_length=120, unique=True, help_text="Identifier, filled from the name.")
    native_name = models.CharField(
        "native name", max_length=200, blank=True, help_text="The name in its own language and script, if known."
    )
    kind = models.CharField(
        "kind", max_length=20, choices=OrganizationKind.choices, default=OrganizationKind.OTHER,
        help_text="What sort of body this is.",
    )
    country = CountryField("country", blank=True, help_text="Where it is based.")
    website = models.URLField("website", blank=True, help_text="Official website (http or https).")
    parent = models.ForeignKey(
        "self", verbose_name="part of", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="parts", help_text="A larger body this one belongs to (an institute of an academy).",
    )

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = "organization"

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.slug,)


# --------------------------------------------------------------------------
# Labs
# --------------------------------------------------------------------------


class LabKind(models.TextChoices):
    NONPROFIT_INSTITUTE = "nonprofit_institute", "Nonprofit institute"
    COMPANY = "company", "Company"
    UNIVERSITY_LAB = "university_lab", "University lab"
    CORPORATE_LAB = "corporate_lab", "Corporate lab"
    GOVERNMENT_LAB = "government_lab", "Government lab"
    RESEARCH_COLLECTIVE = "research_collective", "Research collective"


class OpenWeightsPolicy(models.TextChoices):
    YES = "yes", "Yes"
    PARTIAL = "partial", "Some models"
    NO = "no", "No"
    UNKNOWN = "unknown", "Unknown"


class LabQuerySet(PublishableQuerySet):
    def with_profile(self, preview=False):
        """
        Everything a lab profile (page or API) shows, in a fixed number of queries.

        The prefetched relations hold only what a reader may see (published releases and
        people), so templates and serialisers iterate ``.all()`` and never filter again.
        ``preview=True`` (staff, preview links) includes unpublished ones; without it, the
        labs must be ones readers may see (``published()``, ``visible_to()``). The profile's
        citations come in one more query, on first use (``Lab.profile_citations``).
        """
        related = _profile_querysets(preview)
        return (
            self.select_related("parent_lab", "parent_organization")
            # Rides along with each row, so that the lab knows which sources to cite.
            .annotate(profile_preview=models.Value(preview, output_field=models.BooleanField()))
            .prefetch_related(
                "sections",
                *(Prefetch(name, queryset=queryset) for name, queryset in related.items()),
            )
        )

    def with_release_co_developers(self):
        """
        With ``with_profile()``: each release's co-developers, for the API's detail, which
        lists them (one more query); the page does not show them.
        """
        return self.prefetch_related(
            Prefetch("releases__codevelopers", queryset=Codeveloper.objects.named(), to_attr="named_codevelopers")
        )

    def needing_review(self, days=None, today=None):
        """Profiles nobody has checked for more than ``days`` (PROFILE_REVIEW_DAYS), or ever."""
        days = settings.PROFILE_REVIEW_DAYS if days is None else days
        cutoff = (today or timezone.localdate()) - datetime.timedelta(days=days)
        return self.exclude(state=PublicationState.ARCHIVED).filter(
            Q(last_reviewed__isnull=True) | Q(last_reviewed__lt=cutoff)
        )

    def for_index(self):
        """What the lab index and API list show: counts and the latest release, no N+1."""
        # Correlated subqueries rather than a GROUP BY over every release: the database
        # computes them only for the rows on the page (and for a filter that names them).
        # Each is of a lab this query shows, so whether the lab is live is the outer
        # query's to ask (readers': ``Lab.objects.published()``), not each release's. (Staff's
        # API list shows draft labs too: there a draft lab counts its releases live in themselves.)
        releases = Release.objects.published_of_shown_lab().filter(lab=models.OuterRef("pk"))
        latest = releases.exclude(released=None).order_by(F("released").desc(), "order")
        count = releases.order_by().values("lab").annotate(n=models.Count("pk")).values("n")
        return self.annotate(
            release_count=Coalesce(models.Subquery(count), 0),
            latest_release=models.Subquery(latest.values("released")[:1]),
            latest_release_precision=models.Subquery(latest.values("released_precision")[:1]),
        )

    def cards(self):
        """
        ``for_index()`` with only the columns a lab card reads (jinja2/profiles/_lab_card.html):
        fetching and building the other two dozen of each lab was 0.3 ms of the lab index
        (6.4 against 6.1 ms, in process).
        """
        return self.for_index().only("slug", "name", "native_name", "summary", "country", "kind")

    def search(self, query):
        """Labs matching every word of ``query`` (names, summary, people, releases), best first."""
        from .search import RelatedNames, search

        # Related names count only where a reader could see them: a draft release or
        # person must not make its lab a result (a search would spell out its name).
        return search(
            self, query, [("name", "A"), ("native_name", "A"), ("other_names", "B"), ("summary", "C")],
            related=[
                RelatedNames(Role.objects.public(), "person__name", "lab"),
                RelatedNames(Release.objects.published(), "name", "lab"),
            ],
        )


def _profile_querysets(preview):
    """
    The related rows a lab profile shows (``with_profile``). Built afresh for each
    profile: building them costs 1.2 ms (bench, SQLite), and a copy kept per process
    needed copying per request and a test watching its state (docs/performance.md).
    """
    now = QueryTime()
    return {
        "roles": (Role.objects.all() if preview else Role.objects.public(now)).select_related("person"),
        # The family's and base model's labs too: a link to either asks whether it is public
        # (Release.is_public); the imported record decides the data credit. Their
        # co-developers only where they are listed (``with_release_co_developers``).
        # The profile's own lab is live (readers' profiles come from published labs), so its
        # releases ask only their own half of the rule (0.45 ms less on SQLite).
        "releases": (Release.objects.all() if preview else Release.objects.published_of_shown_lab(now)).with_links(),
        # Releases of other labs it co-developed (Lab.profile_codeveloped_releases), newest
        # first, each with its lead lab and imported record (the data credit). Readers: the
        # reader rule (the release and its lab live; the lab itself is the profile shown).
        # Only what a link, a date and a credit read: whole rows of the release, its lab and
        # its imported record were a hundred columns to compile and build (docs/performance.md).
        "codevelopments": (Codeveloper.objects.all() if preview else Codeveloper.objects.public(now))
        .select_related("release__lab", "release__imported")
        .only(
            "release", "lab", "order",
            *(f"release__{name}" for name in (*LINK_FIELDS, "lab", "released", "released_precision")),
            *(f"release__lab__{name}" for name in LINK_FIELDS),
            "release__imported__release", "release__imported__dataset", "release__imported__last_modified",
        )
        .order_by(F("release__released").desc(nulls_last=True), "release__name", "pk"),
        "backings": Backing.objects.select_related("organization"),
        # The other lab as a link (its name, address and whether it is public), both ways.
        "relations": (
            LabRelation.objects.all() if preview else LabRelation.objects.filter(live("other_lab", now))
        ).select_related("other_lab").only(
            "lab", "other_lab", "kind", "note", "order", *(f"other_lab__{name}" for name in LINK_FIELDS)
        ),
        # The same relations seen from the other side (Lab.related_labs shows both ways).
        "incoming_relations": (
            LabRelation.objects.all() if preview else LabRelation.objects.filter(live("lab", now))
        ).select_related("lab").only("lab", "other_lab", "kind", "note", "order", *(f"lab__{name}" for name in LINK_FIELDS)),
    }


class Lab(PublishableModel):
    """An AI research lab with a public profile page."""

    name = models.CharField("name", max_length=200, help_text="The lab's name in English: 'Shanghai AI Laboratory'.")
    native_name = models.CharField(
        "native name", max_length=200, blank=True, help_text="The name in its own language and script: '上海人工智能实验室'."
    )
    other_names = models.TextField(
        "other names", blank=True, help_text="Other names and abbreviations it is known by, one per line: 'Shanghai AI Lab'."
    )
    summary = models.CharField(
        "summary", max_length=400, blank=True,
        help_text="One sentence under the title, and in search results and link previews. Plain text.",
    )
    lead = models.TextField("lead", blank=True, help_text="The opening paragraph of the profile. " + MARKDOWN_HELP)
    lead_html = models.TextField("lead (rendered)", blank=True, editable=False)
    kind = models.CharField(
        "kind", max_length=24, choices=LabKind.choices, blank=True, help_text="What sort of lab this is."
    )
    founded = models.DateField(
        "founded", null=True, blank=True,
        help_text="When the lab was founded. With month precision, any day of the month will do.",
    )
    founded_precision = models.CharField(
        "founded precision", max_length=5, choices=DatePrecision.choices, default=DatePrecision.DAY, help_text=PRECISION_HELP
    )
    city = models.CharField("headquarters city", max_length=100, blank=True, help_text="City of the headquarters.")
    country = CountryField("headquarters country", blank=True, help_text="Country of the headquarters.")
    status_text = models.TextField(
        "status", blank=True, help_text="Legal status and backing in a sentence or two, for At a glance. Plain text."
    )
    funding_text = models.TextField(
        "funding", blank=True, help_text="How the lab is funded, for At a glance. Plain text; say when figures are undisclosed."
    )
    open_weights = models.CharField(
        "open weights", max_length=8, choices=OpenWeightsPolicy.choices, default=OpenWeightsPolicy.UNKNOWN,
        help_text="Does the lab publish model weights?",
    )
    open_weights_note = models.TextField(
        "open weights note", blank=True, help_text="What is released, where and under which licences. Plain text."
    )
    website = models.URLField("website", blank=True, help_text="Official website (http or https).")
    parent_lab = models.ForeignKey(
        "self", verbose_name="parent lab", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="child_labs", help_text="A profiled lab this one is part of.",
    )
    parent_organization = models.ForeignKey(
        Organization, verbose_name="parent organization", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="labs", help_text="The company or university this lab belongs to, if it is not profiled itself.",
    )
    as_of = models.DateField(
        "as of", null=True, blank=True, help_text="The date the profile describes ('As of April 2026')."
    )
    as_of_precision = models.CharField(
        "as of precision", max_length=5, choices=DatePrecision.choices, default=DatePrecision.MONTH, help_text=PRECISION_HELP
    )
    last_reviewed = models.DateField(
        "last reviewed", null=True, blank=True, help_text="When an editor last checked the whole profile against its sources."
    )
    wikidata_id = models.CharField(
        "Wikidata item", max_length=20, blank=True, help_text="Wikidata Q-identifier, e.g. Q123456.",
    )
    huggingface_org = models.CharField(
        "Hugging Face organization", max_length=100, blank=True, help_text="The name after huggingface.co/, e.g. internlm."
    )
    github_org = models.CharField(
        "GitHub organization", max_length=100, blank=True, help_text="The name after github.com/, e.g. open-mmlab."
    )

    objects = LabQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = "lab"
        permissions = [("publish_lab", "Can publish, unpublish and archive labs")]
        # The index's order: a page of it is read from here and stops after thirty labs, so
        # their release counts are computed for those thirty, not for every lab before a sort
        # (12 ms at 2,000 labs on SQLite).
        indexes = [models.Index(fields=["name", "id"], name="lab_by_name")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent_lab=F("id")), name="lab_not_own_parent",
                violation_error_message="A lab cannot be its own parent.",
            ),
            models.CheckConstraint(
                condition=Q(wikidata_id="") | Q(wikidata_id__regex=r"^Q[0-9]+$"), name="lab_wikidata_id_format",
                violation_error_message="A Wikidata item looks like Q123456.",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse_slug("profiles:lab-detail", self.slug)

    def get_changes_url(self):
        """The lab's public changelog (profiles.changelog)."""
        return reverse_slug("profiles:lab-changes", self.slug)

    def clean(self):
        normalize_partial_dates(self, "founded", "as_of")
        if self.parent_lab_id and self.parent_lab_id == self.pk:
            raise ValidationError({"parent_lab": "A lab cannot be its own parent."})
        if self.pk and self.founded:
            early = [
                release.name
                for release in self.releases.exclude(released=None)
                if is_before(release.released, release.released_precision, self.founded, self.founded_precision)
            ]
            if early:
                raise ValidationError(
                    {"founded": f"Releases are dated before this founding date: {', '.join(early)}."}
                )

    def save(self, *args, **kwargs):
        self.lead_html = render_markdown(self.lead)
        super().save(*args, **kwargs)

    # What the profile shows, from the relations ``with_profile()`` prefetched.

    @property
    def other_names_list(self):
        return [line.strip() for line in self.other_names.splitlines() if line.strip()]

    @property
    def founded_display(self):
        return format_partial_date(self.founded, self.founded_precision)

    @property
    def founded_iso(self):
        return iso_partial_date(self.founded, self.founded_precision)

    @property
    def as_of_display(self):
        return format_partial_date(self.as_of, self.as_of_precision)

    @property
    def headquarters(self):
        return ", ".join(part for part in [self.city, self.country.name if self.country else ""] if part)

    def current_roles(self):
        return [role for role in self.roles.all() if role.is_current]

    def past_roles(self):
        return [role for role in self.roles.all() if not role.is_current]

    def director(self):
        """The current head of the lab: the first current role whose title names a director."""
        for role in self.current_roles():
            if role.title.lower().startswith("director"):
                return role
        return None

    def sections_by_kind(self):
        """{kind: [sections]} so a page places each narrative under its fixed heading."""
        grouped = {}
        for section in self.sections.all():
            grouped.setdefault(section.kind, []).append(section)
        return grouped

    def releases_per_year(self):
        """{year: number of dated releases} from the prefetched releases (for the compare page)."""
        counts = {}
        for release in self.releases.all():
            if release.released:
                counts[release.released.year] = counts.get(release.released.year, 0) + 1
        return counts

    def _relations_both_ways(self):
        """
        (kind, heading, other lab, note) for each relation seen from this lab, from
        ``with_profile()``'s prefetched ``relations`` and ``incoming_relations``, in the
        kinds' order; a pair recorded from both sides comes once.
        """
        rows = [(relation, relation.other_lab, 1) for relation in self.relations.all()]
        rows += [(relation, relation.lab, 2) for relation in self.incoming_relations.all()]
        seen = set()
        for kind, _label in RelationKind.choices:
            for relation, other, side in rows:
                heading = RELATION_WORDING[kind][side]
                if relation.kind == kind and (heading, other.pk) not in seen:
                    seen.add((heading, other.pk))
                    yield kind, heading, other, relation.note

    def related_labs(self):
        """
        [(heading, [(other lab, note), ...]), ...]: this lab's relations seen from both sides,
        so BAAI's page names Shanghai AI Laboratory as its counterpart although only
        Shanghai's profile records it. Headings follow ``RELATION_WORDING``.
        """
        groups = {}
        for _kind, heading, other, note in self._relations_both_ways():
            groups.setdefault(heading, []).append((other, note))
        return [(one if len(others) == 1 else several, others) for (one, several), others in groups.items()]

    def counterparts(self):
        """The labs named as this one's counterparts (either side): the compare link's default."""
        return [other for kind, _heading, other, _note in self._relations_both_ways() if kind == RelationKind.COUNTERPART]

    def flagship_releases(self):
        return [release for release in self.releases.all() if release.is_flagship]

    @property
    def profile_codeveloped_releases(self):
        """
        Releases of other labs this lab co-developed (not those it made), newest first, each
        with its lead lab: ``with_profile()``'s prefetched ``codevelopments`` (only those a
        reader may see, unless previewing).
        """
        return [row.release for row in self.codevelopments.all()]

    def release_groups(self):
        """
        Releases grouped by family, newest first: [(family_release, [members...]), ...].

        A family is a release without a parent; its members are the releases that name it.
        Families are ordered by their newest dated release; undated ones come last.
        """
        releases = list(self.releases.all())
        by_id = {release.id: release for release in releases}

        def root_of(release):
            # Walk up visible families (a family of a family belongs to the same group);
            # the seen-set guards against a cycle editors may have made through the admin.
            seen = set()
            while release.family_id in by_id and release.id not in seen:
                seen.add(release.id)
                release = by_id[release.family_id]
            return release

        members = {}
        for release in releases:
            root = root_of(release)
            if root is not release:
                members.setdefault(root.id, []).append(release)
        groups = [
            (release, sorted(members.get(release.id, []), key=Release.newest_first_key))
            for release in releases
            if root_of(release) is release
        ]

        def newest_first(group):
            dated = [release.released for release in (group[0], *group[1]) if release.released]
            newest = max(dated) if dated else None
            return (newest is None, -newest.toordinal() if newest else 0, group[0].order, group[0].name)

        groups.sort(key=newest_first)
        return groups

    @functools.cached_property
    def profile_citations(self):
        """
        Every citation the profile shows, in one query: the lab's own first, then its
        sections' and its releases', each in page order.

        Three nested prefetches (lab, sections, releases) cost three queries and a
        queryset per section and release; this is one query on the citation's own keys.
        Expects ``with_profile()``: the sections and releases cited are the prefetched
        ones (drafts only in a preview), and sources are live ones unless it was a preview.
        """
        sections = {section.pk: position for position, section in enumerate(self.sections.all())}
        releases = {release.pk: position for position, release in enumerate(self.releases.all())}
        citations = Citation.objects.select_related("source").filter(
            Q(lab=self.pk) | Q(section__in=list(sections)) | Q(release__in=list(releases))
        )
        if not getattr(self, "profile_preview", False):
            citations = citations.filter(live("source", timezone.now()))

        def page_order(citation):
            if citation.lab_id == self.pk:
                return (0, 0)
            if citation.section_id is not None:
                return (1, sections[citation.section_id])
            return (2, releases[citation.release_id])

        return sorted(citations, key=page_order)  # stable: Citation order within each

    @functools.cached_property
    def citations_by_target(self):
        """{(model name, pk): [citations]} for the lab, each section and each release."""
        targets = {}
        for citation in self.profile_citations:
            for name in ("lab", "section", "release"):
                pk = getattr(citation, f"{name}_id")
                if pk is not None:
                    targets.setdefault((name, pk), []).append(citation)
        return targets

    def citations_of(self, obj):
        """What the profile shows ``obj`` (this lab, one of its sections or releases) citing."""
        return self.citations_by_target.get((obj._meta.model_name, obj.pk), [])

    @functools.cached_property
    def numbered_sources(self):
        """
        The profile's sources, numbered in order of first citation: [(number, source, [claims])].

        Citations of the lab come first, then of its sections in order, then of its releases.
        """
        numbered = {}
        for citation in self.profile_citations:
            entry = numbered.setdefault(citation.source_id, [len(numbered) + 1, citation.source, []])
            if citation.claim and citation.claim not in entry[2]:
                entry[2].append(citation.claim)
        return [tuple(entry) for entry in numbered.values()]

    @functools.cached_property
    def source_numbers(self):
        """{source id: number} for footnote markers in sections and releases."""
        return {source.id: number for number, source, _claims in self.numbered_sources}


# --------------------------------------------------------------------------
# People and their roles
# --------------------------------------------------------------------------


class PersonQuerySet(PublishableQuerySet):
    def with_roles(self):
        """A person page: every role with its lab or organization, in one extra query."""
        # The person is the one being shown (published, or previewed by staff), so
        # only the lab's rule matters here: a role at a draft lab is not shown.
        roles = Role.objects.filter(Q(lab__isnull=True) | live("lab", QueryTime())).select_related(
            "lab", "organization"
        )
        return self.prefetch_related(
            Prefetch("roles", queryset=roles.order_by(F("start").desc(nulls_first=True), "order"))
        )

    def for_index(self):
        """
        A list of people (the people index, search results): each with the roles a reader
        may see (``Role.objects.public()``), current first, then the most recently ended,
        in one extra query for the whole page.
        """
        roles = Role.objects.public().select_related("lab", "organization")
        return self.prefetch_related(
            Prefetch(
                "roles",
                queryset=roles.order_by(
                    F("end").desc(nulls_first=True), F("start").desc(nulls_last=True), "order", "pk"
                ),
            )
        )

    def search(self, query):
        """People matching every word of ``query`` (name, native name, bio), best first."""
        from .search import search

        return search(self, query, [("name", "A"), ("native_name", "A"), ("bio", "C")])


class Person(PublishableModel):
    """Someone who leads or led a lab: a director, a lead scientist."""

    name = models.CharField("name", max_length=200, help_text="Full name in English, as commonly written: 'Yu Qiao'.")
    native_name = models.CharField(
        "native name", max_length=200, blank=True, help_text="The name in its own script (乔宇), if the sources give it."
    )
    bio = models.TextField("short bio", blank=True, help_text="Two or three sentences on who they are. Plain text.")
    earlier_positions = models.TextField(
        "earlier positions", blank=True,
        help_text="Positions held before, one per line, when no dates are known "
        "(use a past role with dates when they are).",
    )

    objects = PersonQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = "person"
        permissions = [("publish_person", "Can publish, unpublish and archive people")]
        verbose_name_plural = "people"

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse_slug("profiles:person-detail", self.slug)

    def current_roles(self):
        return [role for role in self.roles.all() if role.is_current]

    def past_roles(self):
        return [role for role in self.roles.all() if not role.is_current]

    @property
    def earlier_positions_list(self):
        return [line.strip() for line in self.earlier_positions.splitlines() if line.strip()]


class RoleQuerySet(models.QuerySet):
    def public(self, now=None):
        """Roles a reader may see: a published person's, at a published lab or at an organization."""
        now = QueryTime() if now is None else now
        return self.filter(live("person", now), Q(lab__isnull=True) | live("lab", now))

    def current(self):
        return self.filter(end=None)

    def get_by_natural_key(self, person, lab, organization, title):
        return self.get(person__slug=person, lab__slug=lab, organization__slug=organization, title=title)


class Role(models.Model):
    """A position a person holds or held at a lab (or an organization): current while it has no end."""

    person = models.ForeignKey(
        Person, verbose_name="person", on_delete=models.CASCADE, related_name="roles", help_text="Who holds the role."
    )
    lab = models.ForeignKey(
        Lab, verbose_name="lab", null=True, blank=True, on_delete=models.CASCADE, related_name="roles",
        help_text="The lab, if the role is at a profiled lab.",
    )
    organization = models.ForeignKey(
        Organization, verbose_name="organization", null=True, blank=True, on_delete=models.CASCADE,
        related_name="roles", help_text="Or the organization, if it is not a profiled lab.",
    )
    title = models.CharField("title", max_length=200, help_text="'Director', 'Lead Scientist'.")
    focus = models.CharField(
        "focus", max_length=300, blank=True, help_text="What the role is about: 'InternVL multimodal models'."
    )
    start = models.DateField("start", null=True, blank=True, help_text="When the role began, if known.")
    start_precision = models.CharField(
        "start precision", max_length=5, choices=DatePrecision.choices, default=DatePrecision.DAY, help_text=PRECISION_HELP
    )
    end = models.DateField("end", null=True, blank=True, help_text="When it ended. Leave empty while the role is current.")
    end_precision = models.CharField(
        "end precision", max_length=5, choices=DatePrecision.choices, default=DatePrecision.DAY, help_text=PRECISION_HELP
    )
    order = models.PositiveSmallIntegerField("order", default=0, help_text="Position in the leadership list (lowest first).")

    history = HistoricalRecords()
    objects = RoleQuerySet.as_manager()

    class Meta:
        ordering = ["order", "id"]
        verbose_name = "role"
        constraints = [
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(start__isnull=True) | Q(end__gte=F("start")),
                name="role_end_not_before_start",
                violation_error_message="The end date cannot be before the start date.",
            ),
            models.CheckConstraint(
                condition=Q(lab__isnull=False, organization__isnull=True) | Q(lab__isnull=True, organization__isnull=False),
                name="role_at_lab_or_organization",
                violation_error_message="A role is at a lab or at an organization: choose exactly one.",
            ),
            models.UniqueConstraint(
                fields=["person", "lab", "title"], condition=Q(lab__isnull=False), name="role_unique_at_lab",
                violation_error_message="This person already has a role with this title at this lab.",
            ),
            models.UniqueConstraint(
                fields=["person", "organization", "title"], condition=Q(organization__isnull=False),
                name="role_unique_at_organization",
                violation_error_message="This person already has a role with this title at this organization.",
            ),
        ]

    def __str__(self):
        return f"{self.person}: {self.title}, {self.employer}"

    def natural_key(self):
        return (
            self.person.slug,
            self.lab.slug if self.lab_id else None,
            self.organization.slug if self.organization_id else None,
            self.title,
        )

    natural_key.dependencies = ["profiles.person", "profiles.lab", "profiles.organization"]

    def clean(self):
        normalize_partial_dates(self, "start", "end")
        check_end_not_before_start(self)
        if bool(self.lab_id) == bool(self.organization_id):
            raise ValidationError({"lab": "A role is at a lab or at an organization: choose exactly one."})

    @property
    def employer(self):
        return self.lab or self.organization

    @property
    def is_current(self):
        return self.end is None

    @property
    def start_display(self):
        return format_partial_date(self.start, self.start_precision)

    @property
    def end_display(self):
        return format_partial_date(self.end, self.end_precision)


# --------------------------------------------------------------------------
# Releases
# --------------------------------------------------------------------------


class ReleaseKind(models.TextChoices):
    MODEL = "model", "Model"
    MODEL_FAMILY = "model_family", "Model family"
    FRAMEWORK = "framework", "Framework"
    TOOLBOX = "toolbox", "Toolbox"
    BENCHMARK_SUITE = "benchmark_suite", "Benchmark suite"
    DATASET = "dataset", "Dataset"
    RESEARCH = "research", "Research"


class Accessibility(models.TextChoices):
    """Epoch AI's vocabulary for model access, plus open source for software."""

    OPEN_UNRESTRICTED = "open_unrestricted", "Open weights (unrestricted)"
    OPEN_RESTRICTED = "open_restricted", "Open weights (restricted use)"
    OPEN_NONCOMMERCIAL = "open_noncommercial", "Open weights (non-commercial)"
    API = "api", "API access"
    HOSTED = "hosted", "Hosted access (no API)"
    UNRELEASED = "unreleased", "Unreleased"
    OPEN_SOURCE = "open_source", "Open source (code)"
    UNKNOWN = "unknown", "Unknown"


OPEN_WEIGHTS_ACCESS = [Accessibility.OPEN_UNRESTRICTED, Accessibility.OPEN_RESTRICTED, Accessibility.OPEN_NONCOMMERCIAL]


class Modality(models.TextChoices):
    LANGUAGE = "language", "Language"
    VISION = "vision", "Vision"
    VISION_LANGUAGE = "vision_language", "Vision-language"
    MULTIMODAL = "multimodal", "Multimodal"
    SCIENCE = "science", "Science"
    OTHER = "other", "Other"


class Domain(models.TextChoices):
    """What a model works on, in Epoch AI's vocabulary (a release may have several)."""

    LANGUAGE = "language", "Language"
    VISION = "vision", "Vision"
    MULTIMODAL = "multimodal", "Multimodal"
    IMAGE_GENERATION = "image_generation", "Image generation"
    VIDEO = "video", "Video"
    SPEECH = "speech", "Speech"
    AUDIO = "audio", "Audio"
    BIOLOGY = "biology", "Biology"
    MEDICINE = "medicine", "Medicine"
    MATHEMATICS = "mathematics", "Mathematics"
    MATERIALS_SCIENCE = "materials_science", "Materials science"
    EARTH_SCIENCE = "earth_science", "Earth science"
    ASTRONOMY = "astronomy", "Astronomy"
    GAMES = "games", "Games"
    ROBOTICS = "robotics", "Robotics"
    DRIVING = "driving", "Driving"
    RECOMMENDATION = "recommendation", "Recommendation"
    SEARCH = "search", "Search"
    MODELING_3D = "3d_modeling", "3D modeling"
    OTHER = "other", "Other"


class Confidence(models.TextChoices):
    """How sure the source is of a release's figures (Epoch AI's scale)."""

    CONFIDENT = "confident", "Confident"
    LIKELY = "likely", "Likely"
    SPECULATIVE = "speculative", "Speculative"
    UNVERIFIED = "unverified", "Unverified"
    UNKNOWN = "unknown", "Unknown"
    WRONG = "wrong", "Wrong"


class ReleaseQuerySet(PublishableQuerySet):
    def count_per_lab_and_year(self):
        """{lab id: {year: count}} in one grouped query; an undated release counts under None."""
        counts = {}
        rows = self.order_by().annotate(year=year_of("released")).values_list("lab_id", "year").annotate(n=models.Count("pk"))
        for lab_id, year, n in rows:
            counts.setdefault(lab_id, {})[year] = n
        return counts

    def published(self, now=None):
        """Published and live releases of published and live labs: a draft lab's release is not public."""
        now = QueryTime() if now is None else now
        if connections[self.db].vendor == "sqlite":
            # EXISTS rather than a join: with the lab as a join, SQLite drives the query
            # from the labs and sorts every release before a LIMIT; as a per-row check it
            # walks the release_newest_first index and stops after one page.
            return super().published(now).filter(Exists(Lab.objects.published(now).filter(pk=OuterRef("lab_id"))))
        # PostgreSQL walks that index either way, and plans the join (which a list of
        # releases makes anyway, for the lab's name) in half the time of the EXISTS.
        return super().published(now).filter(live("lab", now))

    def published_of_shown_lab(self, now=None):
        """
        ``published()`` for the releases of a lab the outer query shows, and has therefore
        already held live (``Lab.objects.published().for_index()``, a reader's profile in
        ``with_profile()``): the release's own half of the rule. Asking again, per release,
        whether that lab is live (``for_index``'s three subqueries, an EXISTS each) cost
        1.3 ms: the lab index 8.3 -> 7.0 ms without, the API's list 7.8 -> 6.4 (minimums,
        SQLite, in process). Never for releases listed on their own: there the lab's half
        is the rule (``published()``).
        """
        return super().published(now)

    def with_links(self):
        """
        A release's family and base model (with their labs, for ``is_public``) and its
        imported record (the data credit), joined in the same query with only the columns a
        link and a credit read: whole rows there built four more model instances of 20-40
        columns per release (a lab page's releases: 5.1 ms, narrowed 3.2 ms; docs/performance.md).
        """
        return self.select_related("family__lab", "base_model__lab", "imported").only(
            *(field.name for field in self.model._meta.concrete_fields),
            *(f"{path}__{name}" for path in ("family", "base_model") for name in (*LINK_FIELDS, "lab")),
            *(f"{path}__lab__{name}" for path in ("family", "base_model") for name in LINK_FIELDS),
            "imported__release", "imported__dataset", "imported__last_modified",
        )

    def with_related(self):
        """A release list or page: its lab, and ``with_links()``, in the same query."""
        return self.with_links().select_related("lab")

    def with_co_developers(self):
        """
        Where a release's co-developers show (its page, the API): those readers may see
        (``Codeveloper.objects.named()``), in author order, in one more query for all the
        rows (``Release.public_co_developers``).
        """
        return self.prefetch_related(
            Prefetch("codevelopers", queryset=Codeveloper.objects.named(), to_attr="named_codevelopers")
        )

    def open_weights(self):
        return self.filter(accessibility__in=OPEN_WEIGHTS_ACCESS)

    def search(self, query):
        """Releases matching every word of ``query`` (name, description, lab name), best first."""
        from .search import RelatedNames, search

        return search(
            self, query, [("name", "A"), ("description", "C")],
            related=[RelatedNames(Lab.objects.published(), "name", "pk", via="lab")],
        )


# Figures that are counts or amounts: a positive number, or unknown (the constraints of
# Release, and its clean(), which puts the error on the field).
POSITIVE_FIGURES = (
    ("parameters", "number of parameters"), ("training_compute", "training compute"),
    ("dataset_size", "training dataset size"),
)


class Release(PublishableModel):
    """Something a lab put out: a model, a model family, a framework, a benchmark, a dataset."""

    lab = models.ForeignKey(Lab, verbose_name="lab", on_delete=models.CASCADE, related_name="releases", help_text="The lab that made it.")
    name = models.CharField("name", max_length=200, help_text="'InternLM2.5', 'MMDetection'.")
    kind = models.CharField("kind", max_length=20, choices=ReleaseKind.choices, default=ReleaseKind.MODEL, help_text="What sort of release.")
    family = models.ForeignKey(
        "self", verbose_name="family", null=True, blank=True, on_delete=models.SET_NULL, related_name="members",
        help_text="The family or ecosystem it belongs to (InternLM2.5 → InternLM family; MMDetection → OpenMMLab).",
    )
    released = models.DateField("released", null=True, blank=True, help_text="When it came out, as precisely as known.")
    released_precision = models.CharField(
        "released precision", max_length=5, choices=DatePrecision.choices, default=DatePrecision.DAY, help_text=PRECISION_HELP
    )
    sizes = models.CharField("sizes and variants", max_length=200, blank=True, help_text="Parameter counts or variants: '7B, 20B'.")
    modality = models.CharField("modality", max_length=20, choices=Modality.choices, blank=True, help_text="What it works on.")
    license = models.CharField(
        "licence", max_length=100, blank=True,
        help_text="SPDX identifier where one exists ('Apache-2.0'), otherwise the licence's name.",
    )
    accessibility = models.CharField(
        "accessibility", max_length=20, choices=Accessibility.choices, default=Accessibility.UNKNOWN,
        help_text="How it can be used, in Epoch AI's vocabulary.",
    )
    distribution = models.CharField(
        "distributed through", max_length=200, blank=True, help_text="Where it is published: 'Hugging Face, GitHub'."
    )
    url = models.URLField("url", blank=True, help_text="Its home page or repository (http or https).")
    description = models.TextField("description", blank=True, help_text="What it is and why it matters. " + MARKDOWN_HELP)
    description_html = models.TextField("description (rendered)", blank=True, editable=False)
    is_flagship = models.BooleanField("flagship", default=False, help_text="Shown under 'Flagship outputs' in At a glance.")
    order = models.PositiveSmallIntegerField("order", default=0, help_text="Tie-breaker among releases of the same date (lowest first).")
    domains = models.JSONField(
        "domains", default=list, blank=True,
        help_text="What it works on, one or more of Epoch AI's domains: [\"language\", \"vision\"].",
    )
    parameters = models.FloatField(
        "parameters", null=True, blank=True, help_text="Number of parameters (7000000000 for 7B), if known."
    )
    training_compute = models.FloatField(
        "training compute (FLOP)", null=True, blank=True, help_text="Floating-point operations used to train it: 1.6e24."
    )
    dataset_size = models.FloatField(
        "training dataset size", null=True, blank=True,
        help_text="Datapoints it was trained on (tokens for a language model, images for a vision model).",
    )
    training_hardware = models.CharField(
        "training hardware", max_length=200, blank=True, help_text="The chips it was trained on: 'NVIDIA A100 SXM4 80 GB'."
    )
    base_model = models.ForeignKey(
        "self", verbose_name="fine-tuned from", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="derivatives", help_text="The release it was fine-tuned or built from, if it is profiled here.",
    )
    base_model_name = models.CharField(
        "fine-tuned from (name)", max_length=200, blank=True,
        help_text="The base model as the source names it, when it is not a release here (or several: 'Llama 2-7B, SigLIP').",
    )
    confidence = models.CharField(
        "confidence", max_length=12, choices=Confidence.choices, blank=True,
        help_text="How sure the source is of the figures above (Epoch AI's scale).",
    )
    co_developers = models.ManyToManyField(
        "Lab", through="Codeveloper", related_name="codeveloped_releases", blank=True, verbose_name="co-developers",
        help_text="Other labs that built it with the lab above.",
    )

    objects = ReleaseQuerySet.as_manager()

    class Meta:
        ordering = [F("released").desc(nulls_last=True), "order", "name"]
        # This order has an index, release_newest_first (migration 0005: SQLite cannot say
        # NULLS LAST in an index, so it is not declared here).
        verbose_name = "release"
        permissions = [("publish_release", "Can publish, unpublish and archive releases")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(family=F("id")), name="release_not_own_family",
                violation_error_message="A release cannot be its own family.",
            ),
            models.CheckConstraint(
                condition=~Q(base_model=F("id")), name="release_not_own_base_model",
                violation_error_message="A release cannot be fine-tuned from itself.",
            ),
            *[
                models.CheckConstraint(
                    condition=Q(**{f"{name}__isnull": True}) | Q(**{f"{name}__gt": 0}), name=f"release_{name}_positive",
                    violation_error_message=f"The {label} must be a positive number.",
                )
                for name, label in POSITIVE_FIGURES
            ],
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse_slug("profiles:release-detail", self.slug)

    def clean(self):
        normalize_partial_dates(self, "released")
        errors = {}
        lab = self.lab if self.lab_id else None
        if lab and self.released and lab.founded and is_before(
            self.released, self.released_precision, lab.founded, lab.founded_precision
        ):
            errors["released"] = (
                f"{self.released_display} is before {lab.name} was founded ({lab.founded_display})."
            )
        if self.family_id:
            if self.family_id == self.pk:
                errors["family"] = "A release cannot be its own family."
            elif lab and self.family.lab_id != lab.pk:
                errors["family"] = f"The family must be a release of the same lab ({lab.name})."
            elif self.pk and self.family.family_id == self.pk:
                errors["family"] = "Families cannot contain each other."
        if self.base_model_id and self.base_model_id == self.pk:
            errors["base_model"] = "A release cannot be fine-tuned from itself."
        for name, label in POSITIVE_FIGURES:
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                errors[name] = f"The {label} must be a positive number."
        if not isinstance(self.domains, list) or any(value not in Domain.values for value in self.domains):
            errors["domains"] = (
                f"A list of domains, each one of: {', '.join(Domain.values)}."
            )
        elif len(set(self.domains)) != len(self.domains):
            errors["domains"] = "Each domain once."
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        self.description_html = render_markdown(self.description)
        super().save(*args, **kwargs)

    @staticmethod
    def newest_first_key(release):
        """Sort key: newest dated release first, undated last, then editor order and name."""
        return (release.released is None, -(release.released.toordinal()) if release.released else 0, release.order, release.name)

    @property
    def released_display(self):
        return format_partial_date(self.released, self.released_precision)

    @property
    def released_iso(self):
        return iso_partial_date(self.released, self.released_precision)

    @property
    def is_open_weights(self):
        return self.accessibility in OPEN_WEIGHTS_ACCESS

    @property
    def domain_labels(self):
        labels = dict(Domain.choices)
        return [labels.get(value, value) for value in self.domains or ()]

    @property
    def is_public(self):
        """As ``Release.objects.published()``: live, and of a live lab."""
        return super().is_public and self.lab.is_public

    @functools.cached_property
    def public_co_developers(self):
        """
        The labs that co-developed it which readers may see, in author order: from
        ``with_co_developers()``'s prefetch, or one query without it.
        """
        rows = getattr(self, "named_codevelopers", None)
        if rows is None:
            rows = Codeveloper.objects.named().filter(release=self) if self.pk is not None else ()
        return [row.lab for row in rows]


class CodeveloperQuerySet(models.QuerySet):
    def public(self, now=None):
        """Co-developers readers may see: of a public release, naming a published lab."""
        now = QueryTime() if now is None else now
        return self.filter(live("release", now), live("release__lab", now), live("lab", now))

    def named(self, now=None):
        """
        The co-developers a release names to readers, in author order, with their labs: the
        co-developer lab live (``public()`` without the release's own rule, which is the
        caller's: a staff preview of a draft release still names only live labs). The one
        rule for a release's page, its API representations and the API list's fast path.
        """
        now = QueryTime() if now is None else now
        return self.filter(live("lab", now)).select_related("lab").order_by("order", "id")

    def get_by_natural_key(self, release, lab):
        return self.get(release__slug=release, lab__slug=lab)


class Codeveloper(models.Model):
    """Another lab that built a release with its lab (Epoch AI lists every organisation of a model)."""

    release = models.ForeignKey(
        Release, verbose_name="release", on_delete=models.CASCADE, related_name="codevelopers",
        help_text="The release built together.",
    )
    lab = models.ForeignKey(
        "Lab", verbose_name="co-developer", on_delete=models.CASCADE, related_name="codevelopments",
        help_text="A lab that built it with the release's own lab.",
    )
    order = models.PositiveSmallIntegerField("order", default=0, help_text="Position in the list of authors (lowest first).")

    history = HistoricalRecords()
    objects = CodeveloperQuerySet.as_manager()

    class Meta:
        ordering = ["order", "id"]
        verbose_name = "co-developer"
        constraints = [
            models.UniqueConstraint(
                fields=["release", "lab"], name="codeveloper_once_per_release",
                violation_error_message="This lab is already a co-developer of this release.",
            ),
        ]

    def __str__(self):
        return f"{self.lab} (co-developer of {self.release})"

    def natural_key(self):
        return (self.release.slug, self.lab.slug)

    natural_key.dependencies = ["profiles.release", "profiles.lab"]

    def clean(self):
        # The release may be new (an admin inline or an API write of a release not saved yet).
        release = self.release if self.release_id or Codeveloper.release.is_cached(self) else None
        if release is not None and self.lab_id and release.lab_id == self.lab_id:
            raise ValidationError({"lab": f"{self.lab} made this release; a co-developer is another lab."})


# --------------------------------------------------------------------------
# Narrative sections
# --------------------------------------------------------------------------


class SectionKind(models.TextChoices):
    ORIGINS = "origins", "Origins"
    MISSION = "mission", "Mission and strategy"
    MODELS = "models", "Models and products"
    BENCHMARKS = "benchmarks", "Benchmarks and standing"
    LEADERSHIP = "leadership", "Leadership"
    FUNDING = "funding", "Funding and backers"
    INDUSTRY = "industry", "Industry position"
    LANDSCAPE = "landscape", "Competitive landscape"
    OUTLOOK = "outlook", "Outlook"
    OTHER = "other", "Other"


class SectionQuerySet(models.QuerySet):
    def get_by_natural_key(self, lab, slug):
        return self.get(lab__slug=lab, slug=slug)


class Section(TimestampedModel):
    """A narrative part of a lab profile (Origins, Mission and strategy, ...), in Markdown."""

    lab = models.ForeignKey(
        Lab, verbose_name="lab", on_delete=models.CASCADE, related_name="sections", help_text="The lab this section profiles."
    )
    kind = models.CharField(
        "kind", max_length=12, choices=SectionKind.choices, default=SectionKind.OTHER,
        help_text="Where the section belongs in the profile. The outlook is a list: one item per line.",
    )
    heading = models.CharField("heading", max_length=200, blank=True, help_text="Leave empty to use the kind's name.")
    slug = models.SlugField("slug", max_length=120, help_text="Identifier within the lab, used in links (#origins).")
    order = models.PositiveSmallIntegerField("order", default=0, help_text="Position on the page (lowest first).")
    body = models.TextField("body", blank=True, help_text=MARKDOWN_HELP)
    body_html = models.TextField("body (rendered)", blank=True, editable=False)

    objects = SectionQuerySet.as_manager()

    class Meta:
        ordering = ["order", "id"]
        verbose_name = "section"
        constraints = [
            models.UniqueConstraint(
                fields=["lab", "slug"], name="section_unique_slug_per_lab",
                violation_error_message="This lab already has a section with this slug.",
            ),
        ]

    def __str__(self):
        return f"{self.lab}: {self.title}"

    def natural_key(self):
        return (self.lab.slug, self.slug)

    natural_key.dependencies = ["profiles.lab"]

    def clean(self):
        if not self.slug:
            self.slug = slugify(self.heading or self.get_kind_display())

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.heading or self.get_kind_display())
        self.body_html = render_markdown(self.body)
        super().save(*args, **kwargs)

    @property
    def title(self):
        return self.heading or self.get_kind_display()

    @property
    def items(self):
        """The outlook as a list: one item per non-empty line, bullet markers removed."""
        return [line.strip().lstrip("-*• ").strip() for line in self.body.splitlines() if line.strip()]


# --------------------------------------------------------------------------
# Backers and relations between labs
# --------------------------------------------------------------------------


class BackingKind(models.TextChoices):
    FOUNDER = "founder", "Founder"
    FUNDER = "funder", "Funder"
    FOUNDING_MEMBER = "founding_member", "Founding member"
    MEMBER = "member", "Member"
    PRECURSOR = "precursor", "Precursor"
    PARENT = "parent", "Parent"
    PARTNER = "partner", "Partner"


class BackingQuerySet(models.QuerySet):
    def get_by_natural_key(self, lab, organization, kind):
        return self.get(lab__slug=lab, organization__slug=organization, kind=kind)


class Backing(models.Model):
    """An organization behind a lab: a funder, a founding member, a precursor, a parent."""

    lab = models.ForeignKey(
        Lab, verbose_name="lab", on_delete=models.CASCADE, related_name="backings", help_text="The lab that is backed."
    )
    organization = models.ForeignKey(
        Organization, verbose_name="organization", on_delete=models.PROTECT, related_name="backings",
        help_text="The backer. Add it as an organization first if it is new.",
    )
    kind = models.CharField("kind", max_length=20, choices=BackingKind.choices, help_text="How it backs the lab.")
    note = models.CharField("note", max_length=400, blank=True, help_text="Anything the sources add: 'in coordination with'.")
    order = models.PositiveSmallIntegerField("order", default=0, help_text="Position in the list (lowest first).")

    history = HistoricalRecords()
    objects = BackingQuerySet.as_manager()

    class Meta:
        ordering = ["order", "id"]
        verbose_name = "backing"
        constraints = [
            models.UniqueConstraint(
                fields=["lab", "organization", "kind"], name="backing_unique",
                violation_error_message="This organization already backs this lab in this way.",
            ),
        ]

    def __str__(self):
        return f"{self.organization} ({self.get_kind_display().lower()}) of {self.lab}"

    def natural_key(self):
        return (self.lab.slug, self.organization.slug, self.kind)

    natural_key.dependencies = ["profiles.lab", "profiles.organization"]


class RelationKind(models.TextChoices):
    COUNTERPART = "counterpart", "Counterpart"
    PEER = "peer", "Peer"
    COMPETITOR = "competitor", "Competitor"
    PARTNER = "partner", "Partner"
    EVALUATES = "evaluates", "Evaluates"


# How a relation reads from each side: "Shanghai AI Laboratory evaluates DeepSeek" and, on
# DeepSeek's page, "Evaluated by Shanghai AI Laboratory". Every kind but one is mutual.
RELATION_WORDING = {
    # kind: (verb from the lab, heading on the lab's page, heading on the other lab's page);
    # a heading is (one, several).
    RelationKind.COUNTERPART: ("is the counterpart of", ("Counterpart", "Counterparts"), ("Counterpart", "Counterparts")),
    RelationKind.PEER: ("is a peer of", ("Peer", "Peers"), ("Peer", "Peers")),
    RelationKind.COMPETITOR: ("competes with", ("Competitor", "Competitors"), ("Competitor", "Competitors")),
    RelationKind.PARTNER: ("works with", ("Partner", "Partners"), ("Partner", "Partners")),
    RelationKind.EVALUATES: ("evaluates", ("Evaluates", "Evaluates"), ("Evaluated by", "Evaluated by")),
}


class LabRelationQuerySet(models.QuerySet):
    def get_by_natural_key(self, lab, other_lab, kind):
        return self.get(lab__slug=lab, other_lab__slug=other_lab, kind=kind)


class LabRelation(models.Model):
    """How one lab stands to another ('Shanghai-based counterpart to Beijing-based BAAI')."""

    lab = models.ForeignKey(
        Lab, verbose_name="lab", on_delete=models.CASCADE, related_name="relations", help_text="The lab the relation is from."
    )
    other_lab = models.ForeignKey(
        Lab, verbose_name="other lab", on_delete=models.CASCADE, related_name="incoming_relations",
        help_text="The lab this one is related to.",
    )
    kind = models.CharField("kind", max_length=12, choices=RelationKind.choices, help_text="How they relate.")
    note = models.CharField("note", max_length=400, blank=True, help_text="The relation in the sources' words.")
    order = models.PositiveSmallIntegerField("order", default=0, help_text="Position in the list (lowest first).")

    history = HistoricalRecords()
    objects = LabRelationQuerySet.as_manager()

    class Meta:
        ordering = ["order", "id"]
        verbose_name = "relation between labs"
        verbose_name_plural = "relations between labs"
        constraints = [
            models.CheckConstraint(
                condition=~Q(lab=F("other_lab")), name="labrelation_not_self",
                violation_error_message="A lab cannot be related to itself.",
            ),
            models.UniqueConstraint(
                fields=["lab", "other_lab", "kind"], name="labrelation_unique",
                violation_error_message="This relation already exists.",
            ),
        ]

    def __str__(self):
        return f"{self.lab} → {self.other_lab} ({self.get_kind_display().lower()})"

    def natural_key(self):
        return (self.lab.slug, self.other_lab.slug, self.kind)

    natural_key.dependencies = ["profiles.lab"]

    def clean(self):
        if self.lab_id and self.lab_id == self.other_lab_id:
            raise ValidationError({"other_lab": "A lab cannot be related to itself."})

    @property
    def verb(self):
        """The relation as a sentence's verb: 'evaluates', 'is the counterpart of'."""
        return RELATION_WORDING.get(self.kind, (self.get_kind_display().lower(),))[0]


# --------------------------------------------------------------------------
# Sources and citations
# --------------------------------------------------------------------------


class SourceQuerySet(PublishableQuerySet):
    def with_citations(self):
        """The sources page: what cites each source, with names to link, in fixed queries."""
        return self.prefetch_related(
            Prefetch(
                "citations",
                queryset=Citation.objects.public().select_related("lab", "section__lab", "release__lab", "person"),
            )
        )

    def search(self, query):
        """Sources matching every word of ``query`` (title, publisher, author), best first."""
        from .search import search

        return search(self, query, [("title", "A"), ("publisher", "B"), ("author", "B")])


class Source(PublishableModel):
    """A document facts come from: an article, a paper, a press release."""

    title = models.CharField("title", max_length=300, help_text="The document's title.")
    url = models.URLField("url", max_length=500, blank=True, help_text="Where to read it (http or https), if online.")
    publisher = models.CharField("publisher", max_length=200, blank=True, help_text="Site, journal or outlet.")
    author = models.CharField("author", max_length=200, blank=True, help_text="Author or authors, as credited.")
    published = models.DateField("published", null=True, blank=True, help_text="Publication date, as precisely as known.")
    published_precision = models.CharField(
        "published precision", max_length=5, choices=DatePrecision.choices, default=DatePrecision.DAY, help_text=PRECISION_HELP
    )
    accessed = models.DateField("accessed", null=True, blank=True, help_text="When an editor last read it.")

    objects = SourceQuerySet.as_manager()

    class Meta:
        ordering = ["title"]
        verbose_name = "source"
        permissions = [("publish_source", "Can publish, unpublish and archive sources")]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse_slug("profiles:source-detail", self.slug)

    def clean(self):
        normalize_partial_dates(self, "published")

    @property
    def published_display(self):
        return format_partial_date(self.published, self.published_precision)


class CitationQuerySet(models.QuerySet):
    def public(self, now=None):
        """Citations made by something a reader may see (a published lab, section's lab, release or person)."""
        now = QueryTime() if now is None else now
        # Conditions on the joined rows (which a page selects anyway), checked per citation:
        # ``lab__in=<published labs>`` made SQLite list every live release and person
        # (50,000 and 20,000 rows) for each page of sources.
        return self.filter(
            live("lab", now)
            | live("section__lab", now)
            | (live("release", now) & live("release__lab", now))
            | live("person", now)
        )

    def get_by_natural_key(self, source, lab, section_lab, section, release, person):
        return self.get(
            source__slug=source, lab__slug=lab, section__lab__slug=section_lab, section__slug=section,
            release__slug=release, person__slug=person,
        )


class Citation(models.Model):
    """A source cited by exactly one lab, section, release or person, with the claim it supports."""

    TARGETS = ("lab", "section", "release", "person")

    source = models.ForeignKey(
        Source, verbose_name="source", on_delete=models.PROTECT, related_name="citations", help_text="The document cited."
    )
    lab = models.ForeignKey(
        Lab, verbose_name="lab", null=True, blank=True, on_delete=models.CASCADE, related_name="citations",
        help_text="Cited by a lab (its summary, lead or At a glance facts)…",
    )
    section = models.ForeignKey(
        Section, verbose_name="section", null=True, blank=True, on_delete=models.CASCADE, related_name="citations",
        help_text="…or by one narrative section…",
    )
    release = models.ForeignKey(
        Release, verbose_name="release", null=True, blank=True, on_delete=models.CASCADE, related_name="citations",
        help_text="…or by a release…",
    )
    person = models.ForeignKey(
        Person, verbose_name="person", null=True, blank=True, on_delete=models.CASCADE, related_name="citations",
        help_text="…or by a person. Choose exactly one.",
    )
    claim = models.TextField("claim", blank=True, help_text="The statement the source supports, quoted or paraphrased.")
    order = models.PositiveSmallIntegerField("order", default=0, help_text="Position among the citations (lowest first).")

    history = HistoricalRecords()
    objects = CitationQuerySet.as_manager()

    class Meta:
        ordering = ["order", "id"]
        verbose_name = "citation"
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(lab__isnull=False, section__isnull=True, release__isnull=True, person__isnull=True)
                    | Q(lab__isnull=True, section__isnull=False, release__isnull=True, person__isnull=True)
                    | Q(lab__isnull=True, section__isnull=True, release__isnull=False, person__isnull=True)
                    | Q(lab__isnull=True, section__isnull=True, release__isnull=True, person__isnull=False)
                ),
                name="citation_has_one_target",
                violation_error_message="A citation is made by exactly one lab, section, release or person.",
            ),
            *[
                models.UniqueConstraint(
                    fields=["source", target], condition=Q(**{f"{target}__isnull": False}),
                    name=f"citation_unique_per_{target}",
                    violation_error_message=f"This source is already cited by this {target}.",
                )
                for target in ("lab", "section", "release", "person")
            ],
        ]

    def __str__(self):
        return f"{self.source} cited by {self.target}"

    def natural_key(self):
        section = self.section.natural_key() if self.section_id else (None, None)
        return (
            self.source.slug,
            self.lab.slug if self.lab_id else None,
            *section,
            self.release.slug if self.release_id else None,
            self.person.slug if self.person_id else None,
        )

    natural_key.dependencies = ["profiles.source", "profiles.lab", "profiles.section", "profiles.release", "profiles.person"]

    def clean(self):
        chosen = [name for name in self.TARGETS if getattr(self, f"{name}_id")]
        if len(chosen) != 1:
            raise ValidationError(
                {"lab": "A citation is made by exactly one lab, section, release or person: choose one."}
            )

    @property
    def target(self):
        return self.lab or self.section or self.release or self.person


# --------------------------------------------------------------------------
# Revisions: drafts of documents, apart from the live rows (profiles/documents.py)
# --------------------------------------------------------------------------


class RevisionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted for review"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    APPROVED = "approved", "Approved"
    SCHEDULED = "scheduled", "Scheduled"
    PUBLISHED = "published", "Published"
    SUPERSEDED = "superseded", "Superseded"
    DISCARDED = "discarded", "Discarded"


# A document's pending draft is its newest revision in one of these.
PENDING_STATUSES = [
    RevisionStatus.DRAFT, RevisionStatus.SUBMITTED, RevisionStatus.CHANGES_REQUESTED,
    RevisionStatus.APPROVED, RevisionStatus.SCHEDULED,
]


class RevisionQuerySet(models.QuerySet):
    def for_root(self, root):
        return self.filter(content_type=ContentType.objects.get_for_model(type(root)), object_id=root.pk)

    def pending(self):
        return self.filter(status__in=PENDING_STATUSES)

    def pending_for(self, root):
        """The unpublished draft of ``root``'s document, or None."""
        if root is None or not root.pk:
            return None
        return self.for_root(root).pending().order_by("-pk").first()

    def due(self, now=None):
        """Scheduled drafts whose go-live time has come."""
        return self.filter(status=RevisionStatus.SCHEDULED, go_live_at__lte=now or timezone.now())


class Revision(models.Model):
    """
    One saved state of a document (a lab with its parts, a person, a source), as JSON
    (``documents.snapshot()``). A published document's edits are revisions until a
    publisher publishes one; the live rows hold what readers see.
    """

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, verbose_name="kind of document")
    object_id = models.BigIntegerField("document id")
    root = GenericForeignKey("content_type", "object_id")
    data = models.JSONField("document", help_text="The document's fields and parts, as documents.snapshot() writes them.")
    live_base = models.JSONField(
        "live document it started from", null=True, blank=True,
        help_text="The live document the draft started from: changes made to the live rows since "
        "(an import, a fixture load) are merged in, not undone.",
    )
    base = models.ForeignKey(
        "self", verbose_name="based on", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The revision the editor opened (None: the live document).",
    )
    status = models.CharField(
        "status", max_length=20, choices=RevisionStatus.choices, default=RevisionStatus.DRAFT, db_index=True,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="saved by", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created = models.DateTimeField("saved at", default=timezone.now)
    go_live_at = models.DateTimeField("goes live at", null=True, blank=True, help_text="When a scheduled draft is published.")
    comment = models.TextField("review comment", blank=True, help_text="What a reviewer asked for, or why it was approved.")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="decided by", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField("decided at", null=True, blank=True)

    objects = RevisionQuerySet.as_manager()

    class Meta:
        ordering = ["-pk"]
        verbose_name = "revision"
        indexes = [models.Index(fields=["content_type", "object_id", "status"], name="revision_by_document")]

    def __str__(self):
        return f"Revision {self.pk} of {self.content_type.model} {self.object_id} ({self.get_status_display()})"


# --------------------------------------------------------------------------
# Preview links for reviewers without an account
# --------------------------------------------------------------------------


class PreviewLinkQuerySet(models.QuerySet):
    def active(self, now=None):
        return self.filter(revoked_at=None, expires_at__gt=now or timezone.now())


def default_preview_expiry():
    return timezone.now() + datetime.timedelta(days=settings.PREVIEW_LINK_DAYS)


class PreviewLink(models.Model):
    """
    A link that shows an unpublished lab, person, release or source to someone without
    an account. The URL carries a signed token (it cannot be guessed or altered); the
    row lets a publisher revoke it before it expires.
    """

    SIGNING_SALT = "profiles.preview-link"

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, verbose_name="kind of object")
    object_id = models.PositiveBigIntegerField("object id")
    target = GenericForeignKey("content_type", "object_id")
    token = models.UUIDField("token", default=uuid.uuid4, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="created by", null=True, blank=True, on_delete=models.SET_NULL
    )
    created = models.DateTimeField("created", auto_now_add=True)
    expires_at = models.DateTimeField(
        "expires at", default=default_preview_expiry, help_text="After this the link shows nothing."
    )
    revoked_at = models.DateTimeField(
        "revoked at", null=True, blank=True, help_text="Set to revoke the link now; it stops working at once."
    )

    objects = PreviewLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]
        verbose_name = "preview link"
        indexes = [models.Index(fields=["content_type", "object_id"], name="previewlink_target")]

    def __str__(self):
        return f"Preview of {self.target} (until {self.expires_at:%Y-%m-%d %H:%M})"

    @property
    def signed_token(self):
        return signing.dumps(str(self.token), salt=self.SIGNING_SALT)

    def get_absolute_url(self):
        return reverse("profiles:preview", kwargs={"signed_token": self.signed_token})

    @property
    def is_active(self):
        return self.revoked_at is None and self.expires_at > timezone.now()

    @classmethod
    def resolve(cls, signed_token):
        """The active link a signed token names, or None (bad signature, expired or revoked)."""
        try:
            token = signing.loads(signed_token, salt=cls.SIGNING_SALT)
        except signing.BadSignature:
            return None
        return cls.objects.active().filter(token=token).select_related("content_type").first()


# ---- Old slugs ----
# A changed slug keeps its old URLs answering 301 (profiles/slug_history.py records and
# follows these rows). Our own model rather than django.contrib.redirects, which needs
# the sites framework, matches whole paths (a row per page, feed and API URL) and drops
# the query string.


class OldSlug(models.Model):
    """A slug a lab, person, release or source once had; its old URLs lead to the object now."""

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, verbose_name="kind of object")
    object_id = models.PositiveBigIntegerField("object id")
    target = GenericForeignKey("content_type", "object_id")
    slug = models.SlugField("old slug", max_length=120)
    changed = models.DateTimeField("changed at", auto_now=True)

    class Meta:
        ordering = ["-changed"]
        verbose_name = "old slug"
        constraints = [models.UniqueConstraint(fields=["content_type", "slug"], name="oldslug_unique_per_kind")]
        indexes = [models.Index(fields=["content_type", "object_id"], name="oldslug_target")]

    def __str__(self):
        return f"{self.content_type.model} {self.slug} (renamed)"


# ---- Content generation ----


class ContentGeneration(models.Model):
    """
    The content generation: one row whose ``value`` every save and delete of profile data
    advances in its own transaction (``UPDATE ... SET value = value + 1``), so every process
    and every cache backend sees a change at once; the page cache's keys carry it
    (profiles/caching.py). It starts at a random value, so a new database never reuses
    generations a shared cache may still hold pages under.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    value = models.BigIntegerField("generation")

    class Meta:
        verbose_name = "content generation"
        constraints = [models.CheckConstraint(condition=Q(id=1), name="content_generation_one_row")]

    def __str__(self):
        return f"content generation {self.value}"
