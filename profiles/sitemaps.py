"""
sitemap.xml: every published page, through the same querysets readers' pages use.

``/sitemap.xml`` is an index of sections (``/sitemap-labs.xml`` and so on), each in
pages of ``PublishedSitemap.limit`` URLs: at the scale of every lab in the world one
file held 92,000 URLs (14 MB, 5 s to build), past the protocol's 50,000.
"""

from django.contrib.sitemaps import Sitemap
from django.db.models import Max
from django.urls import reverse

from .models import Lab, Person, Release, Source


class PublishedSitemap(Sitemap):
    """One model's published pages, read through the readers' own queryset."""

    model = None
    limit = 5000

    def items(self):
        return self.model.objects.published().only("slug", "updated").order_by("slug")

    def lastmod(self, obj):
        return obj.updated

    def get_latest_lastmod(self):
        # For the index; Django's default reads every item to find the latest.
        return self.model.objects.published().aggregate(latest=Max("updated"))["latest"]


class LabSitemap(PublishedSitemap):
    model = Lab
    changefreq = "weekly"
    priority = 0.8


class PersonSitemap(PublishedSitemap):
    model = Person
    changefreq = "monthly"
    priority = 0.5


class ReleaseSitemap(PublishedSitemap):
    model = Release
    changefreq = "monthly"
    priority = 0.6


class SourceSitemap(PublishedSitemap):
    model = Source
    changefreq = "monthly"
    priority = 0.3


class IndexPagesSitemap(Sitemap):
    changefreq = "daily"
    priority = 0.9

    def items(self):
        return ["profiles:home", "profiles:lab-list", "profiles:person-list", "profiles:release-list", "profiles:source-list",
                "profiles:changes"]

    def location(self, name):
        return reverse(name)


SITEMAPS = {
    "pages": IndexPagesSitemap,
    "labs": LabSitemap,
    "people": PersonSitemap,
    "releases": ReleaseSitemap,
    "sources": SourceSitemap,
}
