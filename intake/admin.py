"""Admin for institutions (credentials issued, rotated and revoked here) and the push log."""

from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from config.admin import DocumentedQueryStringAdminMixin, ReadOnlyAdminMixin
from intake import services
from intake.models import Institution, PushLog


@admin.register(Institution)
class InstitutionAdmin(DocumentedQueryStringAdminMixin, admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "is_active",
        "has_api_token",
        "has_channel_key",
        "rate_limit_per_minute",
        "created_at",
    ]
    list_filter = ["is_active"]
    search_fields = ["code", "name"]
    readonly_fields = ["api_token_id", "api_token_rotated_at", "channel_key_rotated_at", "created_at"]
    actions = ["rotate_api_token", "rotate_channel_key", "revoke_credentials"]

    def get_readonly_fields(self, request, obj=None):
        # The code is the institution's identity on both doors and in its orders.
        return [*self.readonly_fields, "code"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        institution, credentials = services.institution_create(
            code=obj.code,
            name=obj.name,
            is_active=obj.is_active,
            require_timestamp=obj.require_timestamp,
            rate_limit_per_minute=obj.rate_limit_per_minute,
        )
        obj.pk = institution.pk
        self._show_once(request, institution, credentials)

    @admin.display(boolean=True, description=_("API token"))
    def has_api_token(self, obj):
        return obj.has_api_token

    @admin.display(boolean=True, description=_("channel key"))
    def has_channel_key(self, obj):
        return obj.has_channel_key

    @admin.action(description=_("Issue a new API token (the old one stops working)"), permissions=["change"])
    def rotate_api_token(self, request, queryset):
        for institution in queryset:
            self._show_once(request, institution, services.institution_rotate_api_token(institution=institution))

    @admin.action(description=_("Issue a new channel key (the old one stops working)"), permissions=["change"])
    def rotate_channel_key(self, request, queryset):
        for institution in queryset:
            self._show_once(request, institution, services.institution_rotate_channel_key(institution=institution))

    @admin.action(description=_("Revoke API token and channel key"), permissions=["change"])
    def revoke_credentials(self, request, queryset):
        for institution in queryset:
            services.institution_revoke_credentials(institution=institution)
        self.message_user(request, _("Credentials revoked for %d institution(s).") % queryset.count())

    def _show_once(self, request, institution, credentials) -> None:
        lines = [f"{institution.code}:"]
        if credentials.api_token:
            lines.append(f"api_token={credentials.api_token}")
        if credentials.channel_key:
            lines.append(f"channel_key={credentials.channel_key}")
        self.message_user(
            request,
            format_html(
                "{}<br><code>{}</code><br>{}", lines[0], " ".join(lines[1:]), _("Copy it now: it is not shown again.")
            ),
            level=messages.WARNING,
        )


@admin.register(PushLog)
class PushLogAdmin(ReadOnlyAdminMixin, DocumentedQueryStringAdminMixin, admin.ModelAdmin):
    list_display = ["received_at", "institution", "door", "order_no", "outcome", "http_status", "duration_ms"]
    list_filter = ["outcome", "door", "institution"]
    search_fields = ["order_no", "request_id"]
    list_select_related = ["institution"]
    date_hierarchy = "received_at"
    exclude = ["body"]
    readonly_fields = [field.name for field in PushLog._meta.fields if field.name != "body"] + ["body_text"]

    @admin.display(description=_("body as received"))
    def body_text(self, obj):
        return format_html("<pre style='white-space:pre-wrap'>{}</pre>", obj.body_text)
