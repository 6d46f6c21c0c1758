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
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = None
        if size is None or not 1 <= size <= self.max_page_size:
            raise ValidationError(
                {self.page_size_query_param: [f"“{raw}” is not a page size: use a whole number from 1 to {self.max_page_size}."]}
            )
        return size

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update({"minimum": 1, "maximum": self.max_page_size})
            elif parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
        return parameters
