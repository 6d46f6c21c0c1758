"""
Public pages for readers. Each view takes its queryset from the models (which decide
what a reader may see and prefetch it, so every page runs a fixed number of queries)
and hands it to a template; the views only pick and arrange.
"""

import datetime
import re

from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.functional import cached_property
from django.views.generic import DetailView, ListView, TemplateView, View
from django_countries import countries

from . import cards, changelog, documents
from .api.conditional import answer_conditionally, body_etag
from .caching import PublicPageCacheMixin, SharedCountMixin, count_key, kept_for_readers
from .charts import build_timeline, field_charts, field_counts, figure_charts
from .filters import LabIndexFilter, PersonFilter
from .partial_dates import format_partial_date, year_of
from .slug_history import OldSlugRedirectMixin
from .templatetags.profiles_tags import flop, short_number
from .models import (
    Accessibility,
    Lab,
    OpenWeightsPolicy,
    Person,
    PreviewLink,
    PublicationState,
    Release,
    ReleaseKind,
    Source,
)


def public_releases():
    return Release.objects.published().with_related()


def public_sources():
    return Source.objects.published()


def mark_private(response):
    """
    A preview shows what readers may not see: no shared cache may keep it (the browser
    must not reuse it after the row changes either) and no search engine may index it.
    """
    add_never_cache_headers(response)  # max-age=0, no-cache, no-store, must-revalidate, private
    response["X-Robots-Tag"] = "noindex"
    return response


class PreviewableDetailMixin:
    """
    A detail page that staff (and holders of a signed preview link) can open in any
    publication state, at its real URL, with a banner saying readers cannot see it.

    Readers get ``published()`` rows only, as before. The list pages never use this:
    they stay what readers see, even for staff.
    """

    # Set by PreviewLinkView (as_view(preview_link=...)): the link that grants this preview.
    preview_link = None

    @cached_property
    def previewing(self):
        """Whether this request sees unpublished rows: a preview link, or staff who may view them."""
        return self.preview_link is not None or self.model.objects.previewable_by(self.request.user)

    def base_queryset(self):
        """Rows the viewer may open, before the page's own select/prefetch."""
        if self.preview_link is not None:
            # The link grants exactly its target, whatever its state.
            return self.model.objects.filter(pk=self.preview_link.object_id)
        return self.model.objects.visible_to(self.request.user)

    def preview_banner(self):
        """What the banner says, or None when a staff member looks at a row readers see too."""
        obj = self.object
        # The model's own rule decides (a published release of a draft lab is not public either).
        live = type(obj).objects.published().filter(pk=obj.pk).exists()
        if live and self.preview_link is None and getattr(self, "draft", None) is None:
            return None
        banner = {"state": PublicationState(obj.state).label, "live": live, "link": self.preview_link}
        if obj.is_scheduled:
            banner["scheduled"] = obj.published_at
        elif obj.state == PublicationState.PUBLISHED and not live:
            banner["blocked_by_parent"] = True
        if self.preview_link is None:
            # Only staff get the edit link; a reviewer with a shared link has no account.
            meta = obj._meta
            try:
                banner["admin_url"] = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
            except NoReverseMatch:  # the model is not in the admin
                pass
        return banner

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["preview"] = self.preview_banner() if self.previewing else None
        if context["preview"] is not None:
            context["preview"]["draft"] = getattr(self, "draft", None)
        return context

    def get(self, request, *args, **kwargs):
        if not self.previewing:
            return super().get(request, *args, **kwargs)
        # A preview shows the document's pending draft, as publishing it would: applied to
        # the rows inside a transaction that is undone once the page is rendered.
        obj = self.base_queryset().filter(slug=kwargs.get("slug")).first()
        root = documents.document_root(obj) if obj is not None else None
        with documents.draft_applied(root) as draft:
            self.draft = draft
            response = super().get(request, *args, **kwargs)
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
        return response

    def render_to_response(self, context, **response_kwargs):
        response = super().render_to_response(context, **response_kwargs)
        if self.previewing:
            # Staff pages of live rows include draft parts too (unpublished releases, people).
            mark_private(response)
        return response


class HomeView(PublicPageCacheMixin, TemplateView):
    template_name = "profiles/home.html"
    lab_count = 6
    release_count = 8

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # The six labs first, then their release counts: annotated and then sorted, every
        # lab's counts were computed before the six were picked (80 ms at 2,000 labs).
        recent = Lab.objects.published().order_by("-updated", "name").values("pk")[: self.lab_count]
        context["labs"] = Lab.objects.cards().filter(pk__in=recent).order_by("-updated", "name")
        # The model's ordering is newest release first, undated last.
        context["releases"] = public_releases()[: self.release_count]
        return context


class LabListView(PublicPageCacheMixin, SharedCountMixin, ListView):
    """
    The lab index: search, filters with counts and sorting, all in the query string
    (profiles/filters.py), so a filtered view can be shared and needs no JavaScript.
    """

    template_name = "profiles/lab_list.html"
    context_object_name = "labs"
    paginate_by = 30

    def get_queryset(self):
        labs = Lab.objects.published().cards()
        self.filterset = LabIndexFilter(self.request.GET, queryset=labs)
        if not self.filterset.is_valid():
            # An unknown choice in a shared URL: show every lab rather than an error page.
            return labs.order_by("name")
        return self.filterset.qs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["filter"] = self.filterset
        # The counts beside each choice change only with the content, and every page and
        # sort of the same filters shows the same ones (40 ms to count at 2,000 labs).
        context["facets"] = kept_for_readers(
            "facets", count_key(self.request, {"page", "sort"}),
            lambda: self.filterset.facet_counts(Lab.objects.published().for_index()),
        )
        context["query"] = self.request.GET.get("q", "").strip()
        context["filtered"] = any(self.request.GET.get(key) for key in ("q", *LabIndexFilter.FACETS))
        return context


class LabDetailView(PublicPageCacheMixin, PreviewableDetailMixin, OldSlugRedirectMixin, DetailView):
    """A lab profile, in the order of the reference profile (see the template)."""

    model = Lab
    template_name = "profiles/lab_detail.html"
    context_object_name = "lab"

    def get_queryset(self):
        return self.base_queryset().with_profile(preview=self.previewing)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        lab = self.object
        # Each model method walks the prefetched rows once here rather than on every
        # template lookup.
        groups = lab.release_groups()
        members = {family.pk: children for family, children in groups}
        # A row per family on the timeline; releases outside any family share one row.
        family_of = {member.pk: family.name for family, children in groups if children for member in [family, *children]}
        director = lab.director()
        context.update(
            sections=lab.sections_by_kind(),
            release_groups=groups,
            # A flagship family is shown with its members, as At a glance lists them.
            flagships=[(release, members.get(release.pk, [])) for release in lab.flagship_releases()],
            director=director,
            other_leaders=[role for role in lab.current_roles() if role != director],
            current_roles=lab.current_roles(),
            past_roles=lab.past_roles(),
            numbered_sources=lab.numbered_sources,
            timeline=build_timeline(lab.releases.all(), row_of=lambda release: family_of.get(release.pk)),
            # Compute and parameters beside the field's: one more query, none without figures.
            figure_charts=figure_charts(lab.releases.all()),
        )
        context["outline"] = self.outline(context)
        return context

    @staticmethod
    def outline(context):
        """
        {anchor: heading} of the parts this profile has, in the page's order: the table of
        contents, and the one rule for whether a part is shown (the template asks
        ``{% if "h-origins" in outline %}``), so the contents never list an absent part.
        """
        lab, sections = context["lab"], context["sections"]
        glance = (
            lab.founded or lab.headquarters or lab.status_text or lab.funding_text or context["director"]
            or context["other_leaders"] or lab.open_weights != "unknown" or lab.open_weights_note
            or context["flagships"] or lab.website
        )
        parts = [
            ("at-a-glance", "At a glance", glance),
            ("h-origins", "Origins", sections.get("origins")),
            ("h-mission", "Mission and strategy", sections.get("mission")),
            ("h-models", "Models and products",
             context["release_groups"] or sections.get("models") or lab.profile_codeveloped_releases),
            ("h-benchmarks", "Benchmarks and standing", sections.get("benchmarks")),
            ("h-leadership", "Leadership", context["current_roles"] or context["past_roles"] or sections.get("leadership")),
            ("h-funding", "Funding and backers", lab.backings.all() or sections.get("funding")),
            ("h-industry", "Industry position", sections.get("industry")),
            ("h-landscape", "Competitive landscape", lab.related_labs() or sections.get("landscape")),
            ("h-outlook", "Outlook", sections.get("outlook")),
            *((f"h-{section.slug}", section.title, True) for section in sections.get("other", [])),
            ("h-sources", "Sources", context["numbered_sources"]),
        ]
        return {anchor: heading for anchor, heading, shown in parts if shown}


class CompareView(PublicPageCacheMixin, TemplateView):
    """
    Two to four labs side by side (/compare/?labs=a,b,c): at a glance, leadership,
    releases per year, open weights, and how they relate to each other.
    """

    template_name = "profiles/compare.html"
    max_labs = 4

    def requested_slugs(self):
        """?labs=a,b from a shared link, or ?labs=a&labs=b: each slug once, in the given order."""
        requested = [
            slug for value in self.request.GET.getlist("labs") for slug in value.replace(" ", "").split(",") if slug
        ]
        return list(dict.fromkeys(requested))

    @staticmethod
    def address(slugs):
        """This page's address comparing ``slugs`` (in that order), or the empty picker's."""
        from urllib.parse import quote

        url = reverse("profiles:compare")
        return f"{url}?labs={quote(','.join(slugs), safe=',')}" if slugs else url

    def get(self, request, *args, **kwargs):
        # The picker's "Add" (?add=, a lab's name or slug, works without JavaScript): the
        # lab found joins the comparison at the page's address for it. A name that finds no
        # lab is said on the page (get_context_data).
        added = request.GET.get("add", "").strip()
        if added:
            lab = self.lab_named(added)
            if lab is not None:
                from django.http import HttpResponseRedirect

                slugs = [slug for slug in self.requested_slugs() if slug != lab.slug] + [lab.slug]
                return HttpResponseRedirect(self.address(slugs))
        return super().get(request, *args, **kwargs)

    @staticmethod
    def lab_named(text):
        """The published lab whose slug or name (any case) is ``text``, or None."""
        from django.db.models import Q

        labs = Lab.objects.published().only("slug", "name").order_by("name", "slug")
        return labs.filter(slug=text).first() or labs.filter(Q(name__iexact=text) | Q(native_name__iexact=text)).first()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        requested = self.requested_slugs()
        slugs = requested[: self.max_labs]
        found = {lab.slug: lab for lab in Lab.objects.published().with_profile().filter(slug__in=slugs)}
        labs = [found[slug] for slug in slugs if slug in found]
        chosen_slugs = [lab.slug for lab in labs]
        # Canonical address and og:url: the labs shown (readers may see them), in order, once.
        context["canonical_path"] = self.address(chosen_slugs)
        context["chosen"] = [
            (lab, self.address([slug for slug in chosen_slugs if slug != lab.slug])) for lab in labs
        ]
        context["chosen_value"] = ",".join(chosen_slugs)
        context["not_added"] = self.request.GET.get("add", "").strip()  # an "Add" that found no lab
        years = sorted({year for lab in labs for year in lab.releases_per_year()}, reverse=True)
        chosen = {lab.pk for lab in labs}
        context.update(
            labs=labs,
            missing=[slug for slug in slugs if slug not in found],
            too_many=len(requested) > self.max_labs,
            releases_by_year=[(year, [lab.releases_per_year().get(year, 0) for lab in labs]) for year in years],
            relations=[relation for lab in labs for relation in lab.relations.all() if relation.other_lab_id in chosen],
            all_labs=Lab.objects.published().only("slug", "name").order_by("name"),
            selected=slugs,
            can_add=len(labs) < self.max_labs,
        )
        return context


class PersonListView(PublicPageCacheMixin, SharedCountMixin, ListView):
    """
    The people index: search, filters by lab and by role with counts (profiles/filters.py),
    all in the query string; each person with the roles a reader may see, current first.
    """

    template_name = "profiles/person_list.html"
    context_object_name = "people"
    paginate_by = 30

    def get_queryset(self):
        self.filterset = PersonFilter(self.request.GET, queryset=Person.objects.published())
        return self.filterset.qs.for_index()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["filter"] = self.filterset
        # As the lab index's: the same for every page of the same filters, retired by any save.
        context["facets"] = kept_for_readers(
            "people-facets", count_key(self.request, {"page"}),
            lambda: self.filterset.facet_counts(Person.objects.published()),
        )
        data = self.filterset.form.cleaned_data
        context["query"] = (data.get("q") or "").strip()
        context["selected_lab"] = (data.get("lab") or "").strip()
        context["filtered"] = any(self.request.GET.get(key, "").strip() for key in ("q", "lab", "role"))
        return context


class PersonDetailView(PublicPageCacheMixin, PreviewableDetailMixin, OldSlugRedirectMixin, DetailView):
    model = Person
    template_name = "profiles/person_detail.html"
    context_object_name = "person"

    def get_queryset(self):
        return self.base_queryset().with_roles()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["current_roles"] = self.object.current_roles()
        # Roles over time: the most recently ended first.
        context["past_roles"] = sorted(
            self.object.past_roles(), key=lambda role: (role.end, role.start or datetime.date.min), reverse=True
        )
        context["sources"] = public_sources().filter(citations__person=self.object).distinct()
        return context


class ReleaseListView(PublicPageCacheMixin, SharedCountMixin, ListView):
    """
    The release timeline, newest first, filtered by lab and kind (?lab=, ?kind=). ``lab`` is
    a lab's slug (the links from lab pages) or part of labs' names (what a reader types).
    """

    template_name = "profiles/release_list.html"
    context_object_name = "releases"
    paginate_by = 25
    # Up to this many labs the lab filter is a list to choose from; beyond it, a text
    # field: a list of thousands of names is neither usable nor cheap to send.
    lab_select_limit = 100

    @cached_property
    def selected_lab(self):
        return self.request.GET.get("lab", "").strip()

    def get_queryset(self):
        releases = public_releases()
        lab = self.selected_lab
        if lab:
            # The labs first, then their releases by key: a condition on the lab's name
            # inside the release query would be checked against every release in turn.
            labs = Lab.objects.published()
            ids = list(labs.filter(slug=lab).values_list("pk", flat=True)) or list(
                labs.filter(name__icontains=lab).values_list("pk", flat=True)
            )
            releases = releases.filter(lab__in=ids)
        kind = self.request.GET.get("kind", "")
        if kind in ReleaseKind.values:
            releases = releases.filter(kind=kind)
        return releases

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        labs = list(Lab.objects.published().only("slug", "name")[: self.lab_select_limit + 1])
        context["lab_choices"] = labs if len(labs) <= self.lab_select_limit else None
        context["kind_choices"] = ReleaseKind.choices
        context["selected_lab"] = self.selected_lab
        context["selected_kind"] = self.request.GET.get("kind", "")
        # The chart shows this page's releases, one row per lab (or per family for one lab).
        by_family = bool(context["selected_lab"]) and len({release.lab_id for release in context["releases"]}) == 1
        # One lab: rows as on its page, a family with its members, the rest in "Other
        # releases". A draft family's name is no row label: its releases are then "other".
        families = {release.family_id for release in context["releases"] if release.family_id}

        def family_row(release):
            if release.family_id and release.family.is_public:
                return release.family.name
            return release.name if release.pk in families else None

        context["timeline"] = build_timeline(
            context["releases"], row_of=family_row if by_family else (lambda release: release.lab.name),
        )
        context["timeline_rows_are"] = "family" if by_family else "lab"
        # The filtered releases (every page of them) by year, access and country: one grouped query.
        # Kept until the next save, as the list's total is: counting the whole field is a
        # scan of every release (180 ms of a cold /releases/ at 50,000 releases, 0.3 ms kept).
        rows = kept_for_readers(
            "field-charts", count_key(self.request, {"page"}), lambda: field_counts(self.object_list)
        )
        context["field_charts"] = field_charts(self.object_list, rows)
        return context


class ReleaseDetailView(PublicPageCacheMixin, PreviewableDetailMixin, OldSlugRedirectMixin, DetailView):
    model = Release
    template_name = "profiles/release_detail.html"
    context_object_name = "release"

    def get_queryset(self):
        return self.base_queryset().with_related().with_co_developers()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        release = self.object
        # The family and members are other releases: readers see only the published ones,
        # a preview shows them all (as the lab page's preview does).
        related = Release.objects.all() if self.previewing else Release.objects.published()
        context["family"] = related.filter(pk=release.family_id).first() if release.family_id else None
        context["members"] = related.filter(family=release)
        context["sources"] = public_sources().filter(citations__release=release).distinct()
        return context


class SourceListView(PublicPageCacheMixin, SharedCountMixin, ListView):
    """Every source, by title, a page at a time, each with what cites it."""

    template_name = "profiles/source_list.html"
    context_object_name = "sources"
    # A profile cites dozens of sources: at every lab's worth (20,000) one page of all of
    # them weighed 17 MB and took 7 s to build.
    paginate_by = 50

    def get_queryset(self):
        return public_sources().with_citations()


class SourceDetailView(PublicPageCacheMixin, PreviewableDetailMixin, OldSlugRedirectMixin, DetailView):
    """One source and everything that cites it (lab pages link here from their source lists)."""

    model = Source
    template_name = "profiles/source_detail.html"
    context_object_name = "source"

    def get_queryset(self):
        return self.base_queryset().with_citations()


class SearchView(PublicPageCacheMixin, TemplateView):
    """
    /search/?q=: labs, people, releases and sources matching every word of ``q``, each kind
    through its model's ``search()`` among the rows readers may see (``published()``), best
    first within each kind. Facets, each counted under the others: ``kind`` (one kind, a
    page at a time), ``country`` (labs', and releases' by their lab's) and ``year``
    (releases'). A facet a kind does not have leaves that kind out (a year: releases only).
    The same number of queries whatever the number of results.
    """

    template_name = "profiles/search.html"
    KINDS = (("lab", "Labs"), ("person", "People"), ("release", "Releases"), ("source", "Sources"))
    group_size = 5  # results of each kind when every kind is shown
    paginate_by = 20  # results a page when one kind is chosen

    def parameters(self):
        """q, kind, country and year from the query string; a value that is not one is ignored."""
        get = self.request.GET
        kind = get.get("kind", "")
        country = get.get("country", "").strip().upper()
        year = get.get("year", "").strip()
        return (
            get.get("q", "").strip(),
            kind if kind in dict(self.KINDS) else "",
            country if country and countries.name(country) else "",
            int(year) if re.fullmatch(r"[12][0-9]{3}", year) else None,
        )

    @staticmethod
    def matches(kind, query, country=None, year=None):
        """The rows of ``kind`` matching ``query`` under the country and year facets, or None if a facet rules the kind out."""
        if kind == "lab":
            if year:
                return None
            labs = Lab.objects.published().search(query)
            return labs.filter(country=country) if country else labs
        if kind == "release":
            releases = Release.objects.published().search(query)
            if country:
                releases = releases.filter(lab__country=country)
            return releases.filter(released__year=year) if year else releases
        if country or year:
            return None
        return (Person if kind == "person" else Source).objects.published().search(query)

    @staticmethod
    def for_display(kind, keys):
        """
        The rows of ``keys`` (a page of a search, best first) with what their template shows.
        The page's keys are picked first: a lab's counts and a release's co-developers,
        annotated on the search itself, were computed for every match before the sort.
        """
        model = {"lab": Lab, "person": Person, "release": Release, "source": Source}[kind]
        rows = model.objects.filter(pk__in=keys)
        if kind == "lab":
            rows = rows.cards()
        elif kind == "person":
            rows = rows.for_index()
        elif kind == "release":
            rows = rows.with_related()
        by_key = {row.pk: row for row in rows}
        return [by_key[key] for key in keys if key in by_key]

    def facets(self, query, kind, country, year, counts):
        """(kinds, countries, years), each [(value, label, count, selected)], choices nobody has left out."""
        kinds = [
            (value, label, counts.get(value, 0), value == kind)
            for value, label in self.KINDS if counts.get(value) or value == kind
        ]
        by_country = {}
        labs = self.matches("lab", query) if kind in ("", "lab") and not year else None
        releases = self.matches("release", query, year=year) if kind in ("", "release") else None
        for rows, field in ((labs, "country"), (releases, "lab__country")):
            if rows is not None:
                for code, n in rows.order_by().values_list(field).annotate(n=Count("pk")).values_list(field, "n"):
                    if code:
                        by_country[code] = by_country.get(code, 0) + n
        if country:
            by_country.setdefault(country, 0)
        country_choices = sorted(
            ((code, countries.name(code), n, code == country) for code, n in by_country.items()), key=lambda c: c[1]
        )
        year_choices = []
        if kind in ("", "release"):
            releases = self.matches("release", query, country=country).exclude(released=None)
            years = dict(
                releases.order_by().annotate(year=year_of("released")).values_list("year")
                .annotate(n=Count("pk")).values_list("year", "n")
            )
            if year:
                years.setdefault(year, 0)
            year_choices = [(str(value), str(value), years[value], value == year) for value in sorted(years, reverse=True)]
        return kinds, country_choices, year_choices

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query, kind, country, year = self.parameters()
        context.update(query=query, kind=kind, country=country, year=year, groups=[], releases=[])
        if not query:
            return context
        found = {value: self.matches(value, query, country, year) for value, _label in self.KINDS}
        # Every kind's count (the kind facet's), whichever kind is chosen.
        counts = {value: rows.count() for value, rows in found.items() if rows is not None}
        for value, label in self.KINDS:
            if not counts.get(value) or (kind and value != kind):
                continue
            group = {"kind": value, "label": label, "count": counts[value]}
            keys = found[value].values_list("pk", flat=True)
            if kind:
                paginator = Paginator(keys, self.paginate_by)
                paginator.count = counts[value]  # counted above
                page = paginator.get_page(self.request.GET.get("page"))
                group["rows"] = self.for_display(value, list(page.object_list))
                context.update(paginator=paginator, page_obj=page, is_paginated=page.has_other_pages())
            else:
                group["rows"] = self.for_display(value, list(keys[: self.group_size]))
            context["groups"].append(group)
            if value == "release":
                context["releases"] = group["rows"]
        context["total"] = counts.get(kind, 0) if kind else sum(counts.values())
        context["kinds"], context["countries"], context["years"] = self.facets(query, kind, country, year, counts)
        context["filtered"] = bool(kind or country or year)
        return context


class PreviewLinkView(View):
    """
    /preview/<signed_token>/: the target's own page in preview mode, for anyone holding
    the link (no account needed). A link that is expired, revoked, altered or whose
    target is gone answers 410 Gone with a page saying so.
    """

    # The page each kind of target is shown with (a tuple of pairs: a class attribute stays immutable).
    detail_views = ((Lab, LabDetailView), (Person, PersonDetailView), (Release, ReleaseDetailView), (Source, SourceDetailView))

    def get(self, request, signed_token):
        link = PreviewLink.resolve(signed_token)
        target = link.target if link is not None else None
        view_class = dict(self.detail_views).get(type(target))
        if target is None or view_class is None:
            response = TemplateResponse(request, "410.html", {}, status=410)
            return mark_private(response)
        view = view_class.as_view(preview_link=link)
        return view(request, slug=target.slug)


class ChangesView(PublicPageCacheMixin, ListView):
    """Every publication of every published lab's profile, newest first, with what it changed (profiles.changelog)."""

    template_name = "profiles/changes.html"
    paginate_by = 20

    def labs(self):
        return Lab.objects.published()

    def get_queryset(self):
        return changelog.entry_rows(self.labs())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["entries"] = changelog.build_entries(context["page_obj"].object_list)
        return context


class LabChangesView(ChangesView):
    """One lab's changelog: each publication of its profile, newest first."""

    template_name = "profiles/lab_changes.html"

    @cached_property
    def lab(self):
        return get_object_or_404(Lab.objects.published(), slug=self.kwargs["slug"])

    def labs(self):
        return Lab.objects.published().filter(pk=self.lab.pk)

    def get_context_data(self, **kwargs):
        return super().get_context_data(lab=self.lab, **kwargs)


# --------------------------------------------------------------------------
# Social cards: the 1200×630 PNG of a lab, a release or a comparison (og:image)
# --------------------------------------------------------------------------

def chart_title(title, counts):
    """
    The chart's title for ``counts`` ({year: n}, undated under None), saying so when it
    leaves out undated releases (they have no year to stand in).
    """
    dated, total = sum(n for year, n in counts.items() if year is not None), sum(counts.values())
    return f"{title} ({dated} of {total} dated)" if dated < total else title


def dated(counts):
    """``counts`` without the undated releases: the years a chart draws."""
    return {year: n for year, n in counts.items() if year is not None}


class SocialCardView(PublicPageCacheMixin, View):
    """
    A card's PNG, for everyone the same: drawn from published rows only (``published()``,
    never a preview or a pending draft, staff or not), so one copy serves every reader.

    The bytes are kept under the content generation (``kept_for_readers``, what the page
    cache keys on): any save retires them, a re-render happens once after a change and
    never past the next scheduled go-live; between changes they are kept for
    ``card_seconds``, longer than a page, since a card costs 30-200 ms to draw. On top,
    the whole answer is a page-cache copy like any page's (a repeat costs one query). Sent
    with ``no-cache`` and an ETag of its bytes: a browser or a link-preview crawler asks
    again each time and gets a 304 while the card is unchanged, so a published change is
    never shown stale.
    """

    card_seconds = 7 * 24 * 3600

    def card_name(self):
        """What the card shows (its key beside the content generation)."""
        raise NotImplementedError

    def build_card(self):
        """The ``cards.Card`` to draw, or None (nothing a reader may see: a 404)."""
        raise NotImplementedError

    def draw(self):
        card = self.build_card()
        return None if card is None else cards.render(card)

    def dispatch(self, request, *args, **kwargs):
        return answer_conditionally(request, super().dispatch(request, *args, **kwargs))

    def get(self, request, *args, **kwargs):
        png = kept_for_readers("card", self.card_name(), self.draw, self.card_seconds)
        if png is None:
            raise Http404("No card here.")
        response = HttpResponse(png, content_type="image/png")
        response["ETag"] = body_etag(png)
        response["Cache-Control"] = "public, no-cache"
        return response


class LabCardView(SocialCardView):
    """/labs/<slug>/card.png: name, native name, kind, headquarters, founding, releases, open weights; releases per year."""

    def card_name(self):
        return f"lab:{self.kwargs['slug']}"

    def build_card(self):
        lab = Lab.objects.published().for_index().filter(slug=self.kwargs["slug"]).first()
        if lab is None:
            return None
        facts = [("Kind", lab.get_kind_display()), ("Headquarters", lab.headquarters), ("Founded", lab.founded_display)]
        if lab.release_count:
            latest = format_partial_date(lab.latest_release, lab.latest_release_precision)
            facts.append(("Releases", f"{lab.release_count:,}" + (f" · latest {latest}" if latest else "")))
        if lab.open_weights != OpenWeightsPolicy.UNKNOWN:
            facts.append(("Open weights", lab.get_open_weights_display()))
        counts = Release.objects.published().filter(lab=lab).count_per_lab_and_year().get(lab.pk, {})
        return cards.Card(
            kind="Lab", title=lab.name, native_name=lab.native_name,
            facts=tuple((name, value) for name, value in facts if value),
            chart=cards.releases_per_year(chart_title("Releases per year", counts), [(lab.name, dated(counts))]),
        )


class ReleaseCardView(SocialCardView):
    """/releases/<slug>/card.png: name, lab, kind, date, access, size, compute, licence; the lab's releases per year, its year marked."""

    def card_name(self):
        return f"release:{self.kwargs['slug']}"

    def build_card(self):
        release = public_releases().filter(slug=self.kwargs["slug"]).first()
        if release is None:
            return None
        lab = release.lab
        facts = [
            ("Released", release.released_display),
            ("Access", release.get_accessibility_display() if release.accessibility != Accessibility.UNKNOWN else ""),
            ("Sizes", release.sizes) if release.sizes else ("Parameters", short_number(release.parameters)),
            ("Compute", flop(release.training_compute)),
            ("Licence", release.license),
            # The family only when a reader may see it (it may be a draft of its own).
            ("Family", release.family.name if release.family_id and release.family.is_public else ""),
        ]
        counts = Release.objects.published().filter(lab=lab).count_per_lab_and_year().get(lab.pk, {})
        year = release.released.year if release.released else None
        return cards.Card(
            kind="Release", title=release.name,
            # The lab's native name only where the vendored fonts can draw it (never as boxes).
            subtitle=f"{release.get_kind_display()} by {lab.name}"
            + (f" ({lab.native_name})" if lab.native_name and cards.drawable(lab.native_name) else ""),
            facts=tuple((name, value) for name, value in facts if value),
            chart=cards.releases_per_year(
                chart_title(f"Releases by {lab.name} per year", counts), [(lab.name, dated(counts))], highlight=year
            ),
        )


class CompareCardView(SocialCardView):
    """
    /compare/card.png?labs=a,b: the labs the compare page at /compare/?labs=a,b shows (the
    same reading of ?labs=, published labs only, at most four), their releases per year side by side.
    """

    def requested(self):
        # The compare page's own reading of ?labs= (each slug once, in order), cut as it cuts it.
        return CompareView.requested_slugs(self)[: CompareView.max_labs]

    def card_name(self):
        return "compare:" + ",".join(self.requested())

    def get(self, request, *args, **kwargs):
        # Drawn only at the address of labs a reader may see, so made-up slugs
        # (?labs=a,x1, ?labs=a,x2, ...) cannot each cost a render and a cache entry: the
        # published ones found answer 301 to their own address, none a 404.
        slugs = self.requested()
        found = set(Lab.objects.published().filter(slug__in=slugs).values_list("slug", flat=True))
        shown = [slug for slug in slugs if slug in found]
        if not shown:
            raise Http404("No card here.")
        if request.GET.getlist("labs") != [",".join(shown)]:
            return HttpResponsePermanentRedirect(f"{reverse('profiles:compare-card')}?labs={','.join(shown)}")
        return super().get(request, *args, **kwargs)

    def build_card(self):
        slugs = self.requested()
        found = {lab.slug: lab for lab in Lab.objects.published().for_index().filter(slug__in=slugs)}
        labs = [found[slug] for slug in slugs if slug in found]
        if not labs:
            return None
        counts = Release.objects.published().filter(lab__in=labs).count_per_lab_and_year()
        entries = []
        for lab in labs:
            facts = [lab.country.name if lab.country else "", f"founded {lab.founded.year}" if lab.founded else "",
                     f"{lab.release_count:,} release{'s' if lab.release_count != 1 else ''}"]
            entries.append(cards.Entry(lab.name, lab.native_name, " · ".join(fact for fact in facts if fact)))
        return cards.Card(
            kind="Comparison", title="Compare labs", entries=tuple(entries),
            chart=cards.releases_per_year(
                chart_title("Releases per year", {
                    year: sum(counts.get(lab.pk, {}).get(year, 0) for lab in labs)
                    for year in {year for lab in labs for year in counts.get(lab.pk, {})}
                }),
                [(lab.name, dated(counts.get(lab.pk, {}))) for lab in labs], span=8,
            ),
        )
