"""
Filters for the public lab index (django-filter), with counts beside each choice.

Everything lives in the query string (``/labs/?q=intern&country=CN&sort=-latest``), so
a filtered view can be shared and works without JavaScript. The counts say how many
labs each choice would leave, given the other filters: one aggregate query per facet,
whatever the number of labs.
"""

import datetime

import django_filters
from django.db.models import Count, F, Max
from django.utils import timezone
from django_countries import countries

from .models import LabKind, OpenWeightsPolicy, Release

# Sort choices and their ORDER BY; undated labs come last either way, on every database.
SORTS = {
    "name": ("Name", [F("name").asc()]),
    "-founded": ("Founded (newest first)", [F("founded").desc(nulls_last=True)]),
    "founded": ("Founded (oldest first)", [F("founded").asc(nulls_last=True)]),
    "-latest": ("Latest release", [F("latest_release").desc(nulls_last=True)]),
    "-updated": ("Recently updated", [F("updated").desc()]),
}


def country_choices():
    # Given as a function, not a list: each request's form copies its fields, and a copy
    # of 250 countries was a tenth of the lab index's time.
    return list(countries)


def since_years():
    this_year = timezone.localdate().year
    return [(str(year), f"Since {year}") for year in range(this_year, this_year - 6, -1)]


class LabIndexFilter(django_filters.FilterSet):
    """The lab index's search box, facets and sort order."""

    q = django_filters.CharFilter(method="filter_search", label="Search")
    country = django_filters.ChoiceFilter(choices=country_choices, empty_label="Any country", label="Country")
    kind = django_filters.ChoiceFilter(choices=LabKind.choices, empty_label="Any kind", label="Kind")
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
        choices = self.filters[facet].extra["choices"]
        return [
            (str(value), str(label), present.get(value, 0), str(value) == selected)
            for value, label in (choices() if callable(choices) else choices)
            if present.get(value) or str(value) == selected
        ]
