"""
Filters for the public lab index and people index (django-filter), with counts beside each choice.

Everything lives in the query string (``/labs/?q=intern&country=CN&sort=-latest``), so
a filtered view can be shared and works without JavaScript. The counts say how many
labs each choice would leave, given the other filters: one aggregate query per facet,
whatever the number of labs.
"""

import datetime

import django_filters
from django.db.models import Count, Exists, F, Max, OuterRef, Q
from django.utils import timezone
from django.utils.functional import cached_property
from django_countries import countries

from .models import Lab, LabKind, OpenWeightsPolicy, Release, Role

# Sort choices and their ORDER BY; undated labs come last either way, on every database.
SORTS = {
    "name": ("Name", [F("name").asc()]),
    "-founded": ("Founded (newest first)", [F("founded").desc(nulls_last=True)]),
    "founded": ("Founded (oldest first)", [F("founded").asc(nulls_last=True)]),
    "-latest": ("Latest release", [F("latest_release").desc(nulls_last=True)]),
    "-updated": ("Recently updated", [F("updated").desc()]),
}


# The choice for labs whose country or kind is not given (an empty field): offered with a
# count like the others, so the counts add up to the labs listed. (Without it the index said
# "China (5)" beside eleven labs, six of which the seed names without saying where they are.)
NOT_GIVEN = "none"
NOT_GIVEN_LABEL = "Not given"


def country_choices():
    # Given as a function, not a list: each request's form copies its fields, and a copy
    # of 250 countries was a tenth of the lab index's time.
    return [*countries, (NOT_GIVEN, NOT_GIVEN_LABEL)]


def kind_choices():
    return [*LabKind.choices, (NOT_GIVEN, NOT_GIVEN_LABEL)]


def since_years():
    this_year = timezone.localdate().year
    return [(str(year), f"Since {year}") for year in range(this_year, this_year - 6, -1)]


class LabIndexFilter(django_filters.FilterSet):
    """The lab index's search box, facets and sort order."""

    q = django_filters.CharFilter(method="filter_search", label="Search")
    country = django_filters.ChoiceFilter(
        choices=country_choices, method="filter_given", empty_label="Any country", label="Country"
    )
    kind = django_filters.ChoiceFilter(
        choices=kind_choices, method="filter_given", empty_label="Any kind", label="Kind"
    )
    open_weights = django_filters.ChoiceFilter(
        choices=OpenWeightsPolicy.choices, empty_label="Any policy", label="Open weights"
    )
    released_since = django_filters.ChoiceFilter(
        choices=since_years, method="filter_released_since", empty_label="Any time", label="Has releases"
    )
    sort = django_filters.ChoiceFilter(
        choices=[(key, label) for key, (label, _order) in SORTS.items()], method="filter_sort",
        empty_label="Best match / name", label="Sort by",
    )

    FACETS = ("country", "kind", "open_weights", "released_since")

    def filter_search(self, queryset, name, value):
        # Matches names, other names, summaries, people and releases (profiles/search.py).
        return queryset.search(value) if value.strip() else queryset

    def filter_given(self, queryset, name, value):
        """A choice of a field that may be empty: ``NOT_GIVEN`` is the empty value."""
        return queryset.filter(**{name: "" if value == NOT_GIVEN else value})

    def filter_released_since(self, queryset, name, value):
        return queryset.filter(latest_release__gte=datetime.date(int(value), 1, 1))

    def filter_sort(self, queryset, name, value):
        return queryset.order_by(*SORTS[value][1], "name", "pk")

    @property
    def qs(self):
        queryset = super().qs
        # Without a sort, a search lists the best match first (search() orders by rank);
        # otherwise the index is alphabetical.
        if not self.form.cleaned_data.get("sort") and not self.form.cleaned_data.get("q"):
            queryset = queryset.order_by("name", "pk")
        return queryset

    def facet_counts(self, base_queryset):
        """
        [(facet, label, empty label, [(value, label, count, selected)])]: each choice of each
        facet counted under the other filters (choices no lab has are left out).
        """
        self.is_valid()
        data = self.form.cleaned_data
        counts = {}
        for facet in self.FACETS:
            others = LabIndexFilter(
                {key: value for key, value in self.data.items() if key not in (facet, "sort", "page")},
                queryset=base_queryset,
            ).qs.order_by()
            selected = str(data.get(facet) or "")
            if facet == "released_since":
                # One grouped query for every lab's latest release date, bucketed here:
                # cheaper than a latest-release subquery per lab for each year offered.
                latest = (
                    Release.objects.published().filter(lab__in=others.values("pk"), released__isnull=False)
                    .values("lab").annotate(latest=Max("released")).values_list("latest", flat=True)
                )
                latest = list(latest)
                years = since_years()
                counts[facet] = [
                    (year, label, sum(1 for day in latest if day.year >= int(year)), year == selected)
                    for year, label in years
                ]
            else:
                counts[facet] = self.choice_counts(facet, others, selected)
        return [
            (facet, self.filters[facet].label, self.filters[facet].extra["empty_label"], counts[facet])
            for facet in self.FACETS
        ]

    def choice_counts(self, facet, queryset, selected):
        present = dict(queryset.values_list(facet).annotate(n=Count("pk", distinct=True)).values_list(facet, "n"))
        present[NOT_GIVEN] = present.pop("", 0)  # labs whose field is empty
        choices = self.filters[facet].extra["choices"]
        return [
            (str(value), str(label), present.get(value, 0), str(value) == selected)
            for value, label in (choices() if callable(choices) else choices)
            if present.get(value) or str(value) == selected
        ]


class PersonFilter(django_filters.FilterSet):
    """
    The people index's search box and filters (``/people/?q=qiao&lab=shanghai-ai-laboratory&role=current``).

    ``lab``: a lab's slug (what the list of labs sends; past ``LAB_CHOICES_LIMIT`` labs the
    box takes part of a name, as /releases/ does). ``role``: ``current``, ``past`` or a title
    ("Director", any case). The two are conditions on one and the same role, among the roles
    a reader may see (``Role.objects.public()``): ``?lab=x&role=current`` is someone at x
    now, not someone who left x and holds a current role elsewhere.
    """

    q = django_filters.CharFilter(method="filter_search", label="Search")
    lab = django_filters.CharFilter(method="filter_by_role", label="Lab")
    role = django_filters.CharFilter(method="filter_by_role", label="Role")

    ROLE_STATUSES = (("current", "Current role"), ("past", "Past role"))
    # Up to this many labs the lab filter is a list to choose from; beyond it, a text box.
    LAB_CHOICES_LIMIT = 100

    def filter_search(self, queryset, name, value):
        # Matches names, native names and bios (profiles/search.py).
        return queryset.search(value) if value.strip() else queryset

    def filter_by_role(self, queryset, name, value):
        # ``lab`` and ``role`` are one condition on the same role: applied once, below.
        return queryset

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        condition = self.role_condition()
        if condition is not None:
            queryset = queryset.filter(Exists(Role.objects.public().filter(condition, person=OuterRef("pk"))))
        return queryset

    @property
    def qs(self):
        queryset = super().qs
        # A search lists the best match first (search() orders by rank); else by name.
        if not (self.form.cleaned_data.get("q") or "").strip():
            queryset = queryset.order_by("name", "pk")
        return queryset

    @cached_property
    def lab_ids(self):
        """The published labs ``lab`` names: the one with that slug, else those whose name contains it."""
        value = (self.form.cleaned_data.get("lab") or "").strip()
        labs = Lab.objects.published()
        return list(labs.filter(slug=value).values_list("pk", flat=True)) or list(
            labs.filter(name__icontains=value).values_list("pk", flat=True)
        )

    def role_condition(self, lab=True, role=True):
        """The condition on a role that ``lab`` and ``role`` set (either left out on request), or None."""
        self.is_valid()
        data = self.form.cleaned_data
        condition = Q()
        if lab and (data.get("lab") or "").strip():
            condition &= Q(lab__in=self.lab_ids) if self.lab_ids else Q(pk__in=[])
        value = (data.get("role") or "").strip() if role else ""
        if value == "current":
            condition &= Q(end__isnull=True)
        elif value == "past":
            condition &= Q(end__isnull=False)
        elif value:
            condition &= Q(title__iexact=value)
        return condition or None

    def facet_counts(self, base_queryset):
        """
        {"lab": choices, "role": choices}, each choice (value, label, count, selected): how
        many people it would leave, given the search and the other filter (choices no one
        has are left out). ``lab`` is None past ``LAB_CHOICES_LIMIT`` labs (a text box then).
        Three aggregate queries, whatever the number of people.
        """
        self.is_valid()
        data = self.form.cleaned_data
        query = (data.get("q") or "").strip()
        roles = Role.objects.public()  # a published person's: the index's people, unless searched
        if query:
            roles = roles.filter(person__in=base_queryset.search(query).order_by().values("pk"))

        at_labs = roles.exclude(lab=None)
        if (condition := self.role_condition(lab=False)) is not None:
            at_labs = at_labs.filter(condition)
        labs = list(
            at_labs.values("lab__slug", "lab__name").annotate(n=Count("person", distinct=True))
            .order_by("lab__name", "lab__slug")[: self.LAB_CHOICES_LIMIT + 1]
        )
        selected_lab = (data.get("lab") or "").strip()
        lab_choices = None
        if len(labs) <= self.LAB_CHOICES_LIMIT:
            lab_choices = [(row["lab__slug"], row["lab__name"], row["n"], row["lab__slug"] == selected_lab) for row in labs]
            if selected_lab and not any(selected for *_rest, selected in lab_choices):
                lab_choices.append((selected_lab, selected_lab, 0, True))

        held = roles
        if (condition := self.role_condition(role=False)) is not None:
            held = held.filter(condition)
        statuses = held.aggregate(
            current=Count("person", distinct=True, filter=Q(end__isnull=True)),
            past=Count("person", distinct=True, filter=Q(end__isnull=False)),
        )
        titles = held.values("title").annotate(n=Count("person", distinct=True)).order_by("-n", "title")
        selected_role = (data.get("role") or "").strip()
        role_choices = [
            (value, label, statuses[value], value == selected_role) for value, label in self.ROLE_STATUSES
        ] + [
            (row["title"], row["title"], row["n"], row["title"].lower() == selected_role.lower()) for row in titles
        ]
        role_choices = [choice for choice in role_choices if choice[2] or choice[3]]
        if selected_role and not any(choice[3] for choice in role_choices):
            role_choices.append((selected_role, selected_role, 0, True))
        return {"lab": lab_choices, "role": role_choices}
