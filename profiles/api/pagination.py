"""Page-number pagination that lets clients choose a page size, within a limit."""

from functools import partial

from rest_framework import pagination
from rest_framework.exceptions import ValidationError

from profiles.caching import CachedCountPaginator, count_key


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    # Parameters that change which page is shown, not how many rows there are.
    page_parameters = {"page", "page_size", "ordering", "format"}

    def paginate_queryset(self, queryset, request, view=None):
        # Readers all see the same rows, so their totals are shared through the cache;
        # staff lists include drafts and are counted each time.
        key = None if request.user.is_authenticated else count_key(request, self.page_parameters)
        self.django_paginator_class = partial(CachedCountPaginator, count_key=key)
        return super().paginate_queryset(queryset, request, view)

    def get_page_size(self, request):
        # DRF clamps or ignores a bad page_size; a client asking for 100000 rows should
        # learn it gets at most 100 rather than silently receive fewer than it expects.
        return self.whole_number(request, self.page_size_query_param, "page size", self.page_size, self.max_page_size)

    def get_page_number(self, request, paginator):
        # DRF reads an empty ``page=`` as page 1 and "abc" or 0 as a missing page (404); like
        # a bad page_size, they are the client's mistake (400). A page past the last one is
        # still a 404, and "last" still names the last page.
        if request.query_params.get(self.page_query_param) in self.last_page_strings:
            return paginator.num_pages
        return self.whole_number(request, self.page_query_param, "page number", 1)

    def whole_number(self, request, name, what, default, maximum=None):
        """The parameter ``name`` as a whole number from 1 (to ``maximum``), ``default`` when absent, or a 400."""
        raw = request.query_params.get(name)
        if raw is None:
            return default
        try:
            number = int(raw)
        except ValueError:
            number = None
        if number is None or number < 1 or (maximum is not None and number > maximum):
            bounds = f"from 1 to {maximum}" if maximum is not None else "from 1"
            raise ValidationError({name: [f"“{raw}” is not a {what}: use a whole number {bounds}."]})
        return number

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update({"minimum": 1, "maximum": self.max_page_size})
            elif parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
        return parameters
