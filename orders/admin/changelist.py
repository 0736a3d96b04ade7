"""Changelists over tables of millions: the estimated-count paginator and the read-only admin bases."""

from django.contrib import admin
from django.core.paginator import Paginator
from django.utils.formats import number_format
from django.utils.functional import cached_property
from django.utils.translation import gettext

from config.admin import DocumentedQueryStringAdminMixin, ReadOnlyAdminMixin
from orders import selectors


class EstimatedCountPaginator(Paginator):
    """Counts what is cheap to count, estimates the rest.

    Unfiltered, a table of millions is not counted: PostgreSQL's planner
    estimate (pg_class.reltuples) is shown as "about N". Filtered, at most
    `count_cap` + 1 rows are counted, so a broad filter costs a bounded index
    walk and shows "more than N".
    """

    estimate_threshold = 100_000
    count_cap = 10_000

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.is_estimate = False
        self.is_capped = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not queryset.query.where or selectors.is_production_only(queryset):
            # Sandbox orders are a handful: the table's estimate stands for the production rows too.
            estimate = selectors.table_row_estimate(queryset.model)
            if estimate is not None and estimate >= self.estimate_threshold:
                self.is_estimate = True
                return estimate
        counted = queryset.order_by()[: self.count_cap + 1].count()
        if counted > self.count_cap:
            self.is_capped = True
            return self.count_cap
        return counted

    @property
    def count_label(self) -> str:
        number = number_format(self.count, force_grouping=True)
        if self.is_estimate:
            return gettext("about %(count)s") % {"count": number}
        if self.is_capped:
            return gettext("more than %(count)s") % {"count": number}
        return number


class LargeTableAdmin(DocumentedQueryStringAdminMixin, admin.ModelAdmin):
    """A changelist over a table of millions: estimated counts, no facet counts, no full count.

    Like every admin of this project, it reads only its documented query parameters.
    """

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER


class ReadOnlyAdmin(ReadOnlyAdminMixin, LargeTableAdmin):
    """Data pushed by an institution (or written as an audit row): nobody adds, edits or deletes it."""
