"""Admin for institutions (credentials issued, rotated and revoked here) and the push log."""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from config.admin import DocumentedQueryStringAdminMixin, ReadOnlyAdminMixin
from orders import institutions, pii
from orders.admin import OrderNumberFilter
from orders.admin import privacy as admin_privacy
from orders.models import FeedbackMode, Institution, PushLog
from orders.permissions import VIEW_ORDER
from orders.selectors import PushHistoryItem, push_log_order_ids, push_logs_bounded

# The longest overlap an administrator may choose: a month, then the old credential must go.
MAX_OVERLAP_HOURS = 30 * 24


class RotationActionForm(ActionForm):
    """The action bar, plus how long a rotated credential stays valid beside its replacement."""

    # Text here, read by `InstitutionAdmin._overlap`: an unreadable value must be refused by the rotation
    # with its own message, not by the action bar (which would say "no action selected").
    overlap_hours = forms.CharField(
        label=_("Old credential valid for (hours)"),
        required=False,
        widget=forms.NumberInput(attrs={"min": 0, "max": MAX_OVERLAP_HOURS, "step": 1}),
        help_text=_("Rotations only; empty: the platform default; 0: the old one stops working at once."),
    )


_OVERLAP_HOURS = forms.IntegerField(required=False, min_value=0, max_value=MAX_OVERLAP_HOURS)


@admin.register(Institution)
class InstitutionAdmin(DocumentedQueryStringAdminMixin, admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "is_active",
        "is_sandbox",
        "has_api_token",
        "has_channel_key",
        "overlap_until",
        "rate_limit_per_minute",
        "feedback_mode",
        "created_at",
    ]
    list_filter = ["is_active", "is_sandbox", "feedback_mode"]
    search_fields = ["code", "name"]
    # Public ids and times only: a secret is shown once, when issued (_show_once), never again.
    readonly_fields = [
        "api_token_id",
        "api_token_rotated_at",
        "previous_api_token_id",
        "previous_api_token_expires_at",
        "channel_key_rotated_at",
        "previous_channel_key_expires_at",
        "webhook_secret_rotated_at",
        "created_at",
    ]
    actions = ["rotate_api_token", "rotate_channel_key", "rotate_webhook_secret", "revoke_credentials"]
    action_form = RotationActionForm

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "feedback_url":
            kwargs["assume_scheme"] = "https"  # a URL typed without a scheme is https, the only one allowed
        if db_field.name == "feedback_mode":
            kwargs.update(required=False, empty_value=FeedbackMode.OFF)  # a form without it leaves feedback off
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        # The code is the institution's identity on both doors and in its orders.
        return [*self.readonly_fields, "code"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            if obj.feedback_mode == FeedbackMode.WEBHOOK and not obj.webhook_secret_encrypted:
                # Webhooks are signed: switching to them issues the secret, shown this once.
                self._show_once(request, obj, institutions.institution_rotate_webhook_secret(institution=obj))
            return
        institution, credentials = institutions.institution_create(
            code=obj.code,
            name=obj.name,
            is_active=obj.is_active,
            is_sandbox=obj.is_sandbox,
            require_timestamp=obj.require_timestamp,
            rate_limit_per_minute=obj.rate_limit_per_minute,
            feedback_url=obj.feedback_url,
            feedback_mode=obj.feedback_mode,
        )
        obj.pk = institution.pk
        self._show_once(request, institution, credentials)

    @admin.display(boolean=True, description=_("API token"))
    def has_api_token(self, obj):
        return obj.has_api_token

    @admin.display(boolean=True, description=_("channel key"))
    def has_channel_key(self, obj):
        return obj.has_channel_key

    @admin.display(description=_("previous credentials valid until"))
    def overlap_until(self, obj):
        now = institutions.credentials_now()
        shown = [
            f"{label} {date_format(timezone.localtime(until), 'Y-m-d H:i')}"
            for label, until in (
                (gettext("API token"), obj.previous_api_token_expires_at if obj.previous_api_token_id else None),
                (gettext("channel key"), obj.previous_channel_key_expires_at),
            )
            if until is not None and until > now
        ]
        return "; ".join(shown) or "-"

    def _overlap(self, request) -> timedelta | bool | None:
        """The overlap chosen in the action bar; None for the default; False (and a message) when unreadable."""
        try:
            hours = _OVERLAP_HOURS.clean(request.POST.get("overlap_hours", "").strip())
        except ValidationError:
            self.message_user(
                request,
                _("Old credential validity must be a whole number of hours from 0 to %(max)s; nothing was rotated.")
                % {"max": MAX_OVERLAP_HOURS},
                level=messages.ERROR,
            )
            return False
        return None if hours is None else timedelta(hours=hours)

    @admin.action(
        description=_("Issue a new API token (the old one stays valid for the overlap)"), permissions=["change"]
    )
    def rotate_api_token(self, request, queryset):
        if (overlap := self._overlap(request)) is False:
            return
        for institution in queryset:
            issued = institutions.institution_rotate_api_token(institution=institution, overlap=overlap)
            self._show_once(request, institution, issued)

    @admin.action(
        description=_("Issue a new channel key (the old one stays valid for the overlap)"), permissions=["change"]
    )
    def rotate_channel_key(self, request, queryset):
        if (overlap := self._overlap(request)) is False:
            return
        for institution in queryset:
            issued = institutions.institution_rotate_channel_key(institution=institution, overlap=overlap)
            self._show_once(request, institution, issued)

    @admin.action(description=_("Issue a new webhook secret (the old one stops working)"), permissions=["change"])
    def rotate_webhook_secret(self, request, queryset):
        for institution in queryset:
            self._show_once(
                request, institution, institutions.institution_rotate_webhook_secret(institution=institution)
            )

    @admin.action(description=_("Revoke API token and channel key (old ones included)"), permissions=["change"])
    def revoke_credentials(self, request, queryset):
        for institution in queryset:
            institutions.institution_revoke_credentials(institution=institution)
        self.message_user(request, _("Credentials revoked for %d institution(s).") % queryset.count())

    def _show_once(self, request, institution, credentials) -> None:
        lines = [f"{institution.code}:"]
        if credentials.api_token:
            lines.append(f"api_token={credentials.api_token}")
        if credentials.channel_key:
            lines.append(f"channel_key={credentials.channel_key}")
        if credentials.webhook_secret:
            lines.append(f"webhook_secret={credentials.webhook_secret}")
        if credentials.previous_valid_until:
            until = date_format(timezone.localtime(credentials.previous_valid_until), "Y-m-d H:i")
            overlap = gettext("The previous one stays valid until %(until)s.") % {"until": until}
        elif credentials.api_token and credentials.channel_key:
            overlap = ""  # a new institution: there is no previous one
        else:
            overlap = gettext("The previous one no longer works.")
        self.message_user(
            request,
            format_html(
                "{}<br><code>{}</code><br>{} {}",
                lines[0],
                " ".join(lines[1:]),
                _("Copy it now: it is not shown again."),
                overlap,
            ),
            level=messages.WARNING,
        )


class PushOrderNoFilter(OrderNumberFilter):
    """An exact orderNo (the order page links here with its institution and orderNo)."""

    def queryset(self, request, queryset):
        value = self.used_parameters.get(self.parameter_name)
        return queryset.filter(order_no=value) if value else queryset


@admin.register(PushLog)
class PushLogAdmin(ReadOnlyAdminMixin, DocumentedQueryStringAdminMixin, admin.ModelAdmin):
    """Every push as received. Bodies are drawn masked and bounded; the unmasked body is a recorded click away."""

    list_display = ["received_at", "institution", "door", "order_number", "outcome", "http_status", "duration_ms"]
    list_filter = ["outcome", "door", "institution", PushOrderNoFilter]
    search_fields = ["order_no", "request_id"]
    list_select_related = ["institution"]
    date_hierarchy = "received_at"
    exclude = ["body", "errors"]
    readonly_fields = [
        *(field.name for field in PushLog._meta.fields if field.name not in ("body", "errors")),
        "errors_shown",
        "body_shown",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("body", "errors")

    def get_object(self, request, object_id, from_field=None):
        # The detail page reads bounded prefixes of the body and errors, never the whole body.
        if from_field is None and str(object_id).isdigit():
            return push_logs_bounded(self.get_queryset(request)).filter(pk=object_id).first()
        return super().get_object(request, object_id, from_field)

    def _shown(self, request, log) -> admin_privacy.ShownPush:
        return admin_privacy.push_shown(PushHistoryItem.of(log), admin_privacy.PushLinks.for_user(request.user, log.pk))

    @admin.display(description=_("errors"))
    def errors_shown(self, log):
        return admin_privacy.errors_text(PushHistoryItem.of(log)) or "-"

    @admin.display(description=_("order number"), ordering="order_no")
    def order_number(self, obj):
        # A rejected orderNo may be 64 unbroken characters: cut short in the list, whole in the tooltip.
        return (
            format_html('<span class="push-order-no" title="{}">{}</span>', obj.order_no, obj.order_no)
            if obj.order_no
            else "-"
        )

    class Media:
        css = {"all": ["intake/admin.css"]}

    @admin.display(description=_("body as received"))
    def body_shown(self, log):
        # Without a request at hand (checks, other callers): masked and with no links. See get_fields.
        shown = admin_privacy.push_shown(PushHistoryItem.of(log), admin_privacy.PushLinks())
        return render_to_string("admin/push_body.html", {"push": shown})

    def get_fields(self, request, obj=None):
        # The body is drawn with this request's links (per user), so its field is a per-request callable.
        @admin.display(description=_("body as received"))
        def body_shown(log):
            return render_to_string("admin/push_body.html", {"push": self._shown(request, log)}, request=request)

        return [body_shown if name == "body_shown" else name for name in super().get_fields(request, obj)]

    # -- one body: masked page, unmasked page (recorded), download --

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/body/", view(self.body_view), name="orders_pushlog_body"),
            path("<path:object_id>/body/unmasked/", view(self.body_unmasked_view), name="orders_pushlog_body_unmasked"),
            path("<path:object_id>/body/download/", view(self.body_download_view), name="orders_pushlog_body_download"),
            *super().get_urls(),
        ]

    def _readable_log(self, request, object_id) -> PushLog:
        """The push log row, whole body included, if this user may read it: through the push log, or its order."""
        log = get_object_or_404(PushLog, pk=object_id if str(object_id).isdigit() else None)
        if self.has_view_permission(request):
            return log
        if request.user.has_perm(VIEW_ORDER) and push_log_order_ids(log):
            return log  # the order page shows this push to whoever may open the order
        raise PermissionDenied

    def _body_page(self, request, log, *, unmasked: bool) -> TemplateResponse:
        raw = bytes(log.body) if log.body is not None else None
        state, text, truncated = admin_privacy.body_view_text(raw, unmasked=unmasked)
        push = admin_privacy.ShownPush(
            log,
            len(raw) if raw is not None else None,
            state,
            text,
            truncated,
            "",
            admin_privacy.PushLinks.for_user(request.user, log.pk),
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Push body (unmasked)") if unmasked else gettext("Push body (masked)"),
            "push": push,
            "unmasked": unmasked,
            "original_url": reverse("admin:orders_pushlog_change", args=[log.pk])
            if self.has_view_permission(request)
            else "",
        }
        return TemplateResponse(request, "admin/orders/pushlog/body.html", context)

    def body_view(self, request, object_id):
        return self._body_page(request, self._readable_log(request, object_id), unmasked=False)

    def body_unmasked_view(self, request, object_id):
        log = self._readable_log(request, object_id)
        if not pii.can_view_personal_data(request.user):
            raise PermissionDenied
        response = self._body_page(request, log, unmasked=True)
        _record_reveal(request.user, log, context="admin:push_body")
        return response

    def body_download_view(self, request, object_id):
        """The stored body: as pushed for personal-data holders (recorded), masked JSON for everyone else."""
        log = self._readable_log(request, object_id)
        if log.body is None:
            raise Http404(gettext("No body was kept for this push."))
        raw = bytes(log.body)
        if pii.can_view_personal_data(request.user):
            _record_reveal(request.user, log, context="admin:push_body_download")
            content, name = raw, f"push-{log.pk}.bin"
        else:
            masked = admin_privacy.masked_body_text(raw)
            if masked is None:
                # Never raw to someone who may not see personal data: an unparsable body cannot be masked.
                raise PermissionDenied
            content, name = masked.encode(), f"push-{log.pk}-masked.json"
        chunk = 64 * 1024
        response = StreamingHttpResponse(
            (content[start : start + chunk] for start in range(0, len(content), chunk)),
            content_type="application/octet-stream",
        )
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Content-Length"] = str(len(content))
        return response


def _record_reveal(user, log: PushLog, *, context: str) -> None:
    pii.push_body_view_record(user=user, order_ids=push_log_order_ids(log), push_log_id=log.pk, context=context)
