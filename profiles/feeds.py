"""
RSS and Atom feeds of published changes, site-wide and per lab (django.contrib.syndication).

A feed item is one change a reader would want to hear of: a new release, a leadership
change (someone joins or leaves a lab, from the roles' history), or an update of a
profile. Only published rows of published labs appear; each feed costs three queries,
whatever the size of the site.

An item is dated by when its fact happened, as far as that is known, and never later
than its publication here: a release by when it came out (``released``, the first day
of its period) or else its ``published_at``; an arrival or a departure by the role's
``start`` or ``end`` or else when the change was recorded; a profile update by the
lab's ``updated``. So an old fact, a role begun years ago or a release of 2023 entered
today, is never today's news; for the starting data the dates are the seed's ("As of
April 2026", see load_profiles). Each query orders by the very date its items show.
"""

import contextvars
import re
from dataclasses import dataclass
from datetime import datetime

from django.contrib.sites.shortcuts import get_current_site
from django.contrib.syndication.views import Feed
from django.db.models import Case, DateTimeField, F, Q, When
from django.db.models.functions import Cast, Coalesce, Least
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape, format_html, format_html_join

from . import changelog
from .models import Lab, Person, Release, Role

FEED_SIZE = 30
# Who writes the feeds: RFC 4287 wants an author for every Atom entry (here, the feed's).
SITE_NAME = "AI Lab Profiles"
# The host a feed is being built for, for its entries' tag: URIs (set by SiteFeed.get_feed).
FEED_HOST = contextvars.ContextVar("feed_host", default="localhost")
# A tag: URI's authority is a DNS name; the date says when we held it (RFC 4151), once and for all.
TAG_DATE = "2026"


def tag_uri(specific):
    """A stable IRI for an entry (RFC 4151): ``tag:<host>,2026:<specific>``."""
    host = FEED_HOST.get()
    return f"tag:{host},{TAG_DATE}:{specific}"


class SiteFeed(Feed):
    """A feed of this site: its name as author, entry ids as tag: URIs of the site's host."""

    author_name = SITE_NAME

    def get_feed(self, obj, request):
        host = get_current_site(request).domain.split(":")[0].lower()
        if not re.fullmatch(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?", host):
            host = "localhost"  # an IP address in brackets, or anything else that is no DNS name
        token = FEED_HOST.set(host)
        try:
            return super().get_feed(obj, request)
        finally:
            FEED_HOST.reset(token)

    def item_guid(self, item):
        return tag_uri(item.guid)

    item_guid_is_permalink = False


@dataclass
class Change:
    kind: str  # "release", "leadership" or "profile"
    title: str
    description: str
    url: str
    when: datetime
    guid: str


def no_later_than(fact, published):
    """The date of a fact (a DateField, may be empty), or of its publication if that is earlier."""
    # Coalesce: SQLite's MIN() is NULL when either is; PostgreSQL's LEAST skips a NULL.
    return Coalesce(Least(Cast(fact, DateTimeField()), published), published)


def newest_releases(lab=None, limit=FEED_SIZE):
    """
    Published releases (of ``lab``), newest first by the date their entry shows (``when``).

    Sorting every release by that date read all of them (300 ms at 50,000 on SQLite, where
    the newest by ``published_at`` took 15 ms). Instead the query picks the newest ``limit``
    dated releases by ``released`` and the newest ``limit`` undated ones by ``published_at``
    (each through the index release_newest_first) and sorts those by ``when``: the same
    releases, since ``when`` is ``released`` for a dated one and ``published_at`` for an
    undated one. (Except a release dated after its publication here, announced ahead: it
    is picked by its release date and shown at its publication.) Still one query, of 30 ms
    at that scale.
    """
    rows = Release.objects.published()
    if lab is not None:
        rows = rows.filter(lab=lab)
    # One order throughout, so that each part's first ``limit`` are the ones the whole needs;
    # releases of one date by the editors' order, as in every list of releases.
    dated = rows.filter(released__isnull=False).order_by(F("released").desc(nulls_last=True), "order", "name", "pk")
    undated = rows.filter(released__isnull=True).order_by("-published_at", "order", "name", "pk")
    return (
        Release.objects.filter(Q(pk__in=dated.values("pk")[:limit]) | Q(pk__in=undated.values("pk")[:limit]))
        .select_related("lab")
        .annotate(when=no_later_than("released", F("published_at")))
        .order_by("-when", "order", "name", "pk")
    )


def recent_changes(lab=None, limit=FEED_SIZE):
    """The newest published changes, newest first (by the dates they show), optionally of one lab."""
    releases = newest_releases(lab, limit)
    roles = (
        Role.history.filter(
            lab__in=Lab.objects.published(), person__in=Person.objects.published(), history_type__in=["+", "~"]
        )
        # An edit of a current role is not news; an arrival or a departure is.
        .exclude(Q(history_type="~") & Q(end__isnull=True))
        .annotate(when=Case(
            When(end__isnull=False, then=no_later_than("end", F("history_date"))),
            default=no_later_than("start", F("history_date")),
        ))
        .select_related("lab", "person")
        .order_by("-when", "-history_id")
    )
    labs = Lab.objects.published().order_by("-updated")
    if lab is not None:
        roles, labs = roles.filter(lab=lab), labs.filter(pk=lab.pk)

    changes = [
        Change(
            kind="release",
            title=f"New release: {release.name} ({release.lab.name})",
            description=f"{release.lab.name} released {release.name}"
            + (f" ({release.released_display})" if release.released else "")
            + f", a {release.get_kind_display().lower()}.",
            url=release.get_absolute_url(),
            when=release.when,
            guid=f"release:{release.pk}",
        )
        for release in releases[:limit]
    ]
    for record in roles[:limit]:
        person, employer = record.person.name, record.lab.name
        if record.end:
            title = f"Departure: {person} leaves {employer} ({record.title})"
        else:
            title = f"Arrival: {person} joins {employer} as {record.title}"
        changes.append(Change(
            kind="leadership",
            title=title,
            description=title + (f", focusing on {record.focus}." if record.focus else "."),
            url=record.lab.get_absolute_url() + "#leadership",
            when=record.when,
            guid=f"role:{record.history_id}",
        ))
    changes += [
        Change(
            kind="profile",
            title=f"Profile updated: {profile.name}",
            description=profile.summary or f"The profile of {profile.name} was updated.",
            url=profile.get_absolute_url(),
            when=profile.updated,
            guid=f"lab:{profile.pk}:v{profile.version}",
        )
        for profile in labs[:limit]
    ]
    changes.sort(key=lambda change: change.when, reverse=True)
    return changes[:limit]


class ChangesFeed(SiteFeed):
    """RSS 2.0: site-wide at /feed/, one lab's at /labs/<slug>/feed/."""

    description_template = None

    def get_object(self, request, slug=None):
        return get_object_or_404(Lab.objects.published(), slug=slug) if slug else None

    def title(self, lab):
        return f"{lab.name}: changes on labsite" if lab else "labsite: changes to AI lab profiles"

    def link(self, lab):
        return lab.get_absolute_url() if lab else reverse("profiles:home")

    def description(self, lab):
        subject = lab.name if lab else "AI research labs"
        return f"New releases, leadership changes and profile updates for {subject}."

    def items(self, lab):
        return recent_changes(lab)

    def item_title(self, change):
        return change.title

    def item_description(self, change):
        # A description is HTML in both formats (RSS's <description>, and Atom's <summary>,
        # which Django marks type="html"); ours is plain text, so it is escaped once here and
        # "<script>" in a name is shown to the reader, never run.
        return escape(change.description)

    def item_link(self, change):
        return change.url

    def item_pubdate(self, change):
        return change.when

    def item_updateddate(self, change):
        return change.when

    def item_categories(self, change):
        return [change.kind]


class AtomChangesFeed(ChangesFeed):
    """Atom 1.0: the same items at /feed/atom/ and /labs/<slug>/feed/atom/."""

    feed_type = Atom1Feed

    def subtitle(self, lab):
        return self.description(lab)


class ChangelogFeed(SiteFeed):
    """Atom 1.0 of the site-wide changelog (/changes/feed/): each publication of a lab's profile and what it changed."""

    feed_type = Atom1Feed
    title = "AI Lab Profiles: changelog of lab profiles"
    subtitle = "Each publication of a lab's profile, with what changed, field by field."

    def link(self):
        return reverse("profiles:changes")

    def items(self):
        return changelog.build_entries(changelog.entry_rows()[:FEED_SIZE])

    def item_title(self, entry):
        return entry.title

    def item_description(self, entry):
        # HTML (Atom's summary is type="html"): the values are escaped into it once.
        if entry.first:
            return format_html("<p>{} was published.</p>", entry.lab.name)
        return format_html(
            "<ul>{}</ul>",
            format_html_join("", "<li>{}: “{}” → “{}”</li>", entry.rows),
        )

    def item_link(self, entry):
        return entry.get_absolute_url()

    def item_guid(self, entry):
        return tag_uri(f"changes:lab:{entry.lab.pk}:{entry.anchor}")

    def item_pubdate(self, entry):
        return entry.when

    def item_updateddate(self, entry):
        return entry.when
