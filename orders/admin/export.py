"""CSV export from the order changelist (the "Export CSV" button and the export-selected action),
and the admin of export logs and staff API tokens.

Both exports go through `orders.exports.export_response`, like the API's, so
masking, neutralising and logging are the same everywhere. The button exports
exactly what the changelist shows, all pages: the queryset comes from the
admin's own ChangeList, with its filters and search applied.
"""

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import IS_POPUP_VAR, IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from config.admin import DocumentedQueryStringAdminMixin, QueryStringRefused, ReadOnlyAdminMixin
from orders import exports
from orders.choices import ExportKind
from orders.models import ExportLog, Order, StaffApiToken
from orders.permissions import DELETE_STAFF_API_TOKEN, EXPORT_ORDER, VIEW_ORDER
from orders.services import staff_api_token_revoke

EXPORT_PERMISSIONS = (VIEW_ORDER, EXPORT_ORDER)


class CsvExportAdminMixin:
    """Adds the changelist's "Export CSV" button and the export-selected action (mix in before ModelAdmin)."""

    export_kind = ExportKind.ORDERS
    # Subclasses that set their own `actions` keep this one through `get_actions` below.
    actions = ["export_selected_csv"]

    def has_export_permission(self, request) -> bool:
        user = request.user
        return user.is_active and user.is_staff and user.has_perms(EXPORT_PERMISSIONS)

    def _export_url_name(self) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_export_csv"

    def get_urls(self):
        export = path("export.csv", self.admin_site.admin_view(self.export_csv_view), name=self._export_url_name())
        # Before the model admin's own URLs, whose `<path:object_id>/` would swallow it.
        return [export, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        context = dict(extra_context or {})
        if self.has_export_permission(request):
            url = reverse(f"{self.admin_site.name}:{self._export_url_name()}")
            query = request.GET.urlencode()
            context["export_csv_url"] = f"{url}?{query}" if query else url
        return super().changelist_view(request, extra_context=context)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if (
            "export_selected_csv" in actions
            or self.actions is None
            or IS_POPUP_VAR in request.GET
            or not self.has_export_permission(request)
        ):
            return actions
        action = type(self).export_selected_csv
        actions["export_selected_csv"] = (action, "export_selected_csv", action.short_description)
        return actions

    def export_csv_view(self, request):
        """Every row of the changelist as it is filtered and searched now (all pages)."""
        if not (self.has_export_permission(request) and self.has_view_permission(request)):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except QueryStringRefused as refused:
            return self.query_string_refused_response(request, refused)
        except IncorrectLookupParameters:
            self.message_user(request, _("These filters are not valid; nothing was exported."), messages.ERROR)
            url = reverse(f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_changelist")
            return HttpResponseRedirect(f"{url}?{ERROR_FLAG}=1")
        return self._export(request, changelist.queryset, filters=exports.filters_for_log(request.GET))

    @admin.action(description=_("Export selected orders as CSV"), permissions=["export"])
    def export_selected_csv(self, request, queryset):
        filters = {
            **exports.filters_for_log(request.GET),
            "selected_ids": request.POST.getlist(ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across") == "1",
        }
        return self._export(request, queryset, filters=filters)

    def _export(self, request, queryset, *, filters: dict):
        # The changelist's queryset may carry annotations or DISTINCT for its columns and
        # search; the export only needs which orders, so it reads them as a subquery.
        orders = Order.objects.filter(pk__in=queryset.values("pk"))
        # People download from the admin to open the file in Excel, which needs the BOM to read
        # UTF-8 (Chinese names garbled without it); headers follow the user's language.
        return exports.export_response(
            user=request.user,
            kind=self.export_kind,
            orders=orders,
            source=exports.ExportSource.ADMIN,
            filters=filters,
            bom=True,
            headers="zh" if (get_language() or "").startswith("zh") else "en",
        )


class ReadOnlyLogAdmin(ReadOnlyAdminMixin, DocumentedQueryStringAdminMixin, admin.ModelAdmin):
    """Log rows: administrators read them; nobody writes them from the admin."""


@admin.register(ExportLog)
class ExportLogAdmin(ReadOnlyLogAdmin):
    """Who exported what, when, and how many rows; visible to administrators (orders.view_exportlog)."""

    list_display = ["created_at", "user", "kind", "source", "row_count", "finished_at", "unmasked"]
    list_filter = ["kind", "source", "unmasked"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    date_hierarchy = "created_at"


@admin.register(StaffApiToken)
class StaffApiTokenAdmin(ReadOnlyLogAdmin):
    """Staff personal tokens (issued by `manage.py create_staff_token`); administrators revoke them here."""

    list_display = ["name", "user", "token_id", "scope_list", "created_at", "expires_at", "revoked_at"]
    list_filter = ["revoked_at"]
    list_select_related = ["user"]
    search_fields = ["user__username", "name", "token_id"]
    actions = ["revoke"]

    @admin.display(description=_("scopes"))
    def scope_list(self, token):
        return ", ".join(token.scopes or [])

    @admin.action(description=_("Revoke selected tokens"), permissions=["revoke"])
    def revoke(self, request, queryset):
        count = staff_api_token_revoke(tokens=queryset)
        self.message_user(request, _("%(count)d token(s) revoked.") % {"count": count}, messages.SUCCESS)

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm(DELETE_STAFF_API_TOKEN)
