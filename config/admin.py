"""Admin pieces shared by every app: read-only records, and changelists that read only their documented query string."""

import re
from datetime import date

from django.contrib.admin.exceptions import DisallowedModelAdminLookup, DisallowedModelAdminToField
from django.contrib.admin.options import IS_POPUP_VAR, TO_FIELD_VAR, IncorrectLookupParameters
from django.contrib.admin.templatetags.admin_urls import admin_urlname
from django.contrib.admin.views.main import (
    ALL_VAR,
    ERROR_FLAG,
    IS_FACETS_VAR,
    ORDER_VAR,
    PAGE_VAR,
    SEARCH_VAR,
    ChangeList,
)
from django.core.exceptions import SuspiciousOperation
from django.core.paginator import InvalidPage
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext

# The admin's own parameters: search, ordering, page, the error flag, "show all", popups and facets.
ADMIN_PARAMETERS = frozenset(
    {SEARCH_VAR, ORDER_VAR, PAGE_VAR, ERROR_FLAG, ALL_VAR, IS_POPUP_VAR, TO_FIELD_VAR, IS_FACETS_VAR}
)
# NUL cannot be stored (PostgreSQL refuses it in text and jsonb) and no other control
# character but whitespace belongs in a filter; lone surrogates cannot even be encoded.
_UNSTORABLE_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_ORDER_RE = re.compile(r"-?[0-9]{1,4}(?:\.-?[0-9]{1,4})*")
_PAGE_RE = re.compile(r"[1-9][0-9]{0,8}")
_DATE_PART_RE = re.compile(r"[0-9]{1,4}")


class QueryStringRefused(SuspiciousOperation):
    """A changelist query parameter the admin does not document, or a value it cannot read.

    A SuspiciousOperation, so that wherever it escapes the admin's own handling Django still
    answers 400; `DocumentedQueryStringAdminMixin` answers it first, with the parameter named.
    """

    def __init__(self, parameter: str, reason: str):
        super().__init__(f"{parameter}: {reason}")
        self.parameter = parameter
        self.reason = reason


class DocumentedQueryStringChangeList(ChangeList):
    """A ChangeList that reads only its documented parameters and refuses anything else.

    Documented are the admin's own parameters, those its list filters expect, the
    `date_hierarchy` drill-down and the model admin's `documented_query_parameters`
    (links the admin itself writes). Django would otherwise apply any other name as a
    field lookup (`?user_phone__startswith=138`), which turns a masked list into an oracle.
    """

    def __init__(self, request, model, list_display, list_display_links, list_filter, date_hierarchy, *args, **kwargs):
        self._refuse_unreadable(request, list_display, date_hierarchy)
        try:
            super().__init__(
                request, model, list_display, list_display_links, list_filter, date_hierarchy, *args, **kwargs
            )
        except DisallowedModelAdminToField as error:
            raise QueryStringRefused(TO_FIELD_VAR, gettext("this field cannot be referenced")) from error

    @staticmethod
    def _refuse_unreadable(request, list_display, date_hierarchy) -> None:
        for name, values in request.GET.lists():
            if _UNSTORABLE_RE.search(name):
                raise QueryStringRefused(_printable(name), gettext("the name holds a control character"))
            if any(_UNSTORABLE_RE.search(value) for value in values):
                raise QueryStringRefused(name, gettext("the value holds a control character"))
        order = request.GET.get(ORDER_VAR, "")
        if order and (
            not _ORDER_RE.fullmatch(order)
            or any(int(part.lstrip("-")) >= len(list_display) for part in order.split("."))
        ):
            raise QueryStringRefused(ORDER_VAR, gettext("expected column numbers such as 2 or -2.3"))
        page = request.GET.get(PAGE_VAR)
        if page is not None and not _PAGE_RE.fullmatch(page):
            raise QueryStringRefused(PAGE_VAR, gettext("expected a page number from 1"))
        if date_hierarchy:
            _check_date_drilldown(request, date_hierarchy)

    def get_filters(self, request):
        given = list(self.get_filters_params())
        try:
            result = super().get_filters(request)
        except DisallowedModelAdminLookup:
            # Django refuses a lookup across relations not in list_filter; say which one.
            for name in given:
                if not all(self.model_admin.lookup_allowed(name, value, request) for value in self.filter_params[name]):
                    raise QueryStringRefused(name, gettext("not a filter of this list")) from None
            raise
        remaining = result[2]
        documented = {*self.model_admin.documented_query_parameters, *_date_drilldown_names(self.date_hierarchy)}
        for name in given:
            # What no list filter took would be applied as a raw field lookup.
            if name in remaining and name not in documented:
                raise QueryStringRefused(name, gettext("not a filter of this list"))
        return result

    def get_results(self, request):
        try:
            super().get_results(request)
        except IncorrectLookupParameters as error:
            if isinstance(error.__context__, InvalidPage):
                raise QueryStringRefused(PAGE_VAR, gettext("there is no such page")) from error
            raise


def _date_drilldown_names(date_hierarchy: str | None) -> tuple[str, ...]:
    if not date_hierarchy:
        return ()
    return tuple(f"{date_hierarchy}__{part}" for part in ("year", "month", "day"))


def _check_date_drilldown(request, date_hierarchy: str) -> None:
    """Year, month and day must make a date whose next year Django can still compute."""
    names = _date_drilldown_names(date_hierarchy)
    values = {}
    for name in names:
        value = request.GET.get(name)
        if value is None:
            continue
        if not _DATE_PART_RE.fullmatch(value):
            raise QueryStringRefused(name, gettext("expected a number"))
        values[name] = int(value)
    if not values:
        return
    year, month, day = (values.get(name) for name in names)
    if year is None:
        raise QueryStringRefused(names[1] if month is not None else names[2], gettext("give the year too"))
    try:
        # Django adds a year, a month or a day to it; year 1 and 9999 would overflow on the way.
        if not 1 < year < 9999:
            raise ValueError
        date(year, month or 1, day or 1)
    except ValueError:
        wrong = names[2] if day else names[1] if month else names[0]
        raise QueryStringRefused(wrong, gettext("no such date")) from None


def _printable(name: str) -> str:
    return _UNSTORABLE_RE.sub("\N{REPLACEMENT CHARACTER}", name)


class DocumentedQueryStringAdminMixin:
    """For every ModelAdmin: its changelist (and views built on it) accept only documented parameters.

    Anything else is a 400 page naming the parameter. Mix in before `admin.ModelAdmin`.
    """

    # Parameters of links the admin writes itself that are plain field lookups, e.g. `order__id__exact`.
    documented_query_parameters: tuple[str, ...] = ()

    def get_changelist(self, request, **kwargs):
        return DocumentedQueryStringChangeList

    def changelist_view(self, request, extra_context=None):
        try:
            return super().changelist_view(request, extra_context)
        except QueryStringRefused as refused:
            return self.query_string_refused_response(request, refused)

    def query_string_refused_response(self, request, refused: QueryStringRefused) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Query parameter refused"),
            "parameter": refused.parameter,
            "reason": refused.reason,
            "changelist_url": reverse(admin_urlname(self.opts, "changelist"), current_app=self.admin_site.name),
        }
        return TemplateResponse(request, "admin/query_string_refused.html", context, status=400)


class ReadOnlyAdminMixin:
    """For records nobody may add, edit or delete from the admin (pushed data, audit and log rows)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
