"""
RSS and Atom feeds of published changes, site-wide and per lab (django.contrib.syndication).

A feed item is one change a reader would want to hear of: a new release, a leadership
change (someone joins or leaves a lab, from the roles' history), or an update of a
profile. Only published rows of published labs appear; each feed costs three queries,
whatever the size of the site.
"""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape

from .models import Lab, Person, Release, Role

FEED_SIZE = 30


@dataclass
class Change:
    kind: str  # "release", "leadership" or "profile"
    title: str
    description: str
    url: str
    when: datetime
    guid: str


def recent_changes(lab=None, limit=FEED_SIZE):
    """The newest published changes, newest first, optionally of one lab."""
    releases = Release.objects.published().select_related("lab").order_by("-published_at")
    roles = (
        Role.history.filter(
            lab__in=Lab.objects.published(), person__in=Person.objects.published(), history_type__in=["+", "~"]
        )
        .select_related("lab", "person")
        .order_by("-history_date")
    )
    labs = Lab.objects.published().order_by("-updated")
    if lab is not None:
        releases, roles, labs = releases.filter(lab=lab), roles.filter(lab=lab), labs.filter(pk=lab.pk)

    changes = [
        Change(
            kind="release",
            title=f"New release: {release.name} ({release.lab.name})",
            description=f"{release.lab.name} released {release.name}"
            + (f" ({release.released_display})" if release.released else "")
            + f", a {release.get_kind_display().lower()}.",
            url=release.get_absolute_url(),
            when=release.published_at,
            guid=f"release:{release.pk}",
        )
        for release in releases[:limit]
    ]
    for record in roles[:limit]:
        if record.history_type == "~" and record.end is None:
            continue  # an edit of a current role is not news; an arrival or a departure is
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
            when=record.history_date,
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


class ChangesFeed(Feed):
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

    def item_guid(self, change):
        return change.guid

    item_guid_is_permalink = False

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
