"""
Public pages for readers. Each view takes its queryset from the models (which decide
what a reader may see and prefetch it, so every page runs a fixed number of queries)
and hands it to a template; the views only pick and arrange.
"""

from django.db.models import Q
from django.views.generic import DetailView, ListView, TemplateView

from .models import Lab, LabKind, Person, Release, ReleaseKind, Source


def public_releases():
    return Release.objects.published().with_related()


def public_sources():
    return Source.objects.published()


class HomeView(TemplateView):
    template_name = "profiles/home.html"
    lab_count = 6
    release_count = 8

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["labs"] = Lab.objects.published().for_index().order_by("-updated", "name")[: self.lab_count]
        # The model's ordering is newest release first, undated last.
        context["releases"] = public_releases()[: self.release_count]
        return context


class LabListView(ListView):
    """The lab index: every published lab with its counts, and a name search (?q=)."""

    template_name = "profiles/lab_list.html"
    context_object_name = "labs"
    paginate_by = 50

    def get_queryset(self):
        # A GROUP BY query drops Meta.ordering, so the index orders by name explicitly.
        labs = Lab.objects.published().for_index().order_by("name")
        query = self.request.GET.get("q", "").strip()
        if query:
            labs = labs.filter(
                Q(name__icontains=query) | Q(native_name__icontains=query) | Q(other_names__icontains=query)
            )
        kind = self.request.GET.get("kind", "")
        if kind in LabKind.values:
            labs = labs.filter(kind=kind)
        return labs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["query"] = self.request.GET.get("q", "").strip()
        context["kind"] = self.request.GET.get("kind", "")
        context["kinds"] = LabKind.choices
        return context


class LabDetailView(DetailView):
    """A lab profile, in the order of the reference profile (see the template)."""

    template_name = "profiles/lab_detail.html"
    context_object_name = "lab"

    def get_queryset(self):
        return Lab.objects.published().with_profile()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        lab = self.object
        # Each model method walks the prefetched rows once here rather than on every
        # template lookup.
        groups = lab.release_groups()
        members = {family.pk: children for family, children in groups}
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
            numbered_sources=lab.numbered_sources(),
            source_numbers=lab.source_numbers(),
        )
        return context


class PersonDetailView(DetailView):
    template_name = "profiles/person_detail.html"
    context_object_name = "person"

    def get_queryset(self):
        return Person.objects.published().with_roles()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["current_roles"] = self.object.current_roles()
        context["past_roles"] = self.object.past_roles()
        context["sources"] = public_sources().filter(citations__person=self.object).distinct()
        return context


class ReleaseListView(ListView):
    """The release timeline, newest first, filtered by lab (?lab=slug) and kind (?kind=)."""

    template_name = "profiles/release_list.html"
    context_object_name = "releases"
    paginate_by = 25

    def get_queryset(self):
        releases = public_releases()
        lab = self.request.GET.get("lab", "")
        if lab:
            releases = releases.filter(lab__slug=lab)
        kind = self.request.GET.get("kind", "")
        if kind in ReleaseKind.values:
            releases = releases.filter(kind=kind)
        return releases

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["lab_choices"] = Lab.objects.published().only("slug", "name")
        context["kind_choices"] = ReleaseKind.choices
        context["selected_lab"] = self.request.GET.get("lab", "")
        context["selected_kind"] = self.request.GET.get("kind", "")
        return context


class ReleaseDetailView(DetailView):
    template_name = "profiles/release_detail.html"
    context_object_name = "release"

    def get_queryset(self):
        return public_releases()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        release = self.object
        # The family and members are other releases: only the published ones are shown.
        context["family"] = release.family if release.family and release.family.is_public else None
        context["members"] = Release.objects.published().filter(family=release)
        context["sources"] = public_sources().filter(citations__release=release).distinct()
        return context


class SourceListView(ListView):
    """Every source, each with an anchor (#slug) and what cites it."""

    template_name = "profiles/source_list.html"
    context_object_name = "sources"

    def get_queryset(self):
        return public_sources().with_citations()
