"""sitemap.xml: every published page, through the same querysets readers' pages use."""

from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from .models import Lab, Person, Release


class LabSitemap(Sitemap):
    changefreq = "weekly"
    priority = 0.8

    def items(self):
        return Lab.objects.published().only("slug", "updated").order_by("slug")

    def lastmod(self, lab):
        return lab.updated


class PersonSitemap(Sitemap):
    changefreq = "monthly"
    priority = 0.5

    def items(self):
        return Person.objects.published().only("slug", "updated").order_by("slug")

    def lastmod(self, person):
        return person.updated


class ReleaseSitemap(Sitemap):
    changefreq = "monthly"
    priority = 0.6

    def items(self):
        return Release.objects.published().only("slug", "updated").order_by("slug")

    def lastmod(self, release):
        return release.updated


class IndexPagesSitemap(Sitemap):
    changefreq = "daily"
    priority = 0.9

    def items(self):
        return ["profiles:home", "profiles:lab-list", "profiles:release-list", "profiles:source-list"]

    def location(self, name):
        return reverse(name)


SITEMAPS = {
    "pages": IndexPagesSitemap,
    "labs": LabSitemap,
    "people": PersonSitemap,
    "releases": ReleaseSitemap,
}
