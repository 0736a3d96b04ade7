"""Admin of decision deliveries: every delivery with its attempts, "send again", and each institution's health."""

import json
from datetime import timedelta

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from orders import pii
from orders.admin.changelist import LargeTableAdmin, ReadOnlyAdmin
from orders.admin.filters import OrderNumberFilter
from orders.feedback import selectors, services
from orders.models import Delivery, DeliveryAttempt

# Attempts drawn on a delivery's page, newest first: a schedule makes about 80 in 72 hours.
ATTEMPTS_SHOWN = 100
# The window of the health page's success rate.
HEALTH_DAYS = 7


@admin.register(Delivery)
class DeliveryAdmin(LargeTableAdmin):
    """The outbox. Nothing is edited here; "send again" restarts the schedule of the chosen deliveries."""

    list_display = [
        "created_at",
        "order_link",
        "institution",
        "approve_status",
        "status",
        "attempt_count",
        "last_attempt_at",
        "last_error_kind",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["status", "last_error_kind", "institution", OrderNumberFilter]
    list_select_related = ["order", "institution"]
    actions = ["send_again"]
    change_list_template = "admin/orders/delivery/change_list.html"
    exclude = ["payload"]
    readonly_fields = [
        *(field.name for field in Delivery._meta.fields if field.name not in ("payload", "retry_count")),
        "payload_shown",
        "attempts_shown",
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("order"), ordering="order__order_no")
    def order_link(self, delivery):
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[delivery.order_id]), delivery.order
        )

    @admin.display(description=_("approve_status"))
    def approve_status(self, delivery):
        return delivery.payload.get("args", {}).get("approve_status", "-")

    @admin.display(description=_("payload (phones masked)"))
    def payload_shown(self, delivery):
        # A reason may quote a phone number: shown masked here, as every reason is to staff.
        text = json.dumps(delivery.payload, ensure_ascii=False, indent=2)
        return format_html("<pre>{}</pre>", pii.mask_phones_in_text(text))

    @admin.display(description=_("attempts (newest first)"))
    def attempts_shown(self, delivery):
        attempts = list(delivery.attempts.order_by("-started_at", "-id")[:ATTEMPTS_SHOWN])
        if not attempts:
            return "-"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            (
                (
                    timezone.localtime(attempt.started_at).strftime("%Y-%m-%d %H:%M:%S"),
                    attempt.http_status or "-",
                    attempt.latency_ms,
                    attempt.get_error_kind_display() if attempt.error_kind else gettext("delivered"),
                    attempt.error or "",
                    attempt.answer,
                )
                for attempt in attempts
            ),
        )
        head = format_html(
            "<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            _("at"),
            _("HTTP status"),
            _("latency (ms)"),
            _("result"),
            _("error detail"),
            _("answer (start, masked)"),
        )
        return format_html('<table id="delivery-attempts">{}{}</table>', head, rows)

    @admin.action(description=_("Send again"), permissions=["change"])
    def send_again(self, request, queryset):
        try:
            sent, skipped = services.deliveries_send_again(delivery_ids=queryset.values_list("pk", flat=True))
        except ValueError:
            self.message_user(
                request,
                gettext("Choose at most %(limit)d deliveries at once.") % {"limit": services.MAX_SEND_AGAIN},
                level=messages.ERROR,
            )
            return
        self.message_user(
            request,
            gettext("%(sent)d delivery(ies) will be sent again; %(skipped)d skipped (a newer decision replaced them).")
            % {"sent": sent, "skipped": skipped},
        )

    def get_urls(self):
        health = path("health/", self.admin_site.admin_view(self.health_view), name="orders_delivery_health")
        return [health, *super().get_urls()]

    def health_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        since = timezone.now() - timedelta(days=HEALTH_DAYS)
        rows = [
            (institution, selectors.success_rate(institution)) for institution in selectors.delivery_health(since=since)
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Delivery health by institution"),
            "rows": rows,
            "days": HEALTH_DAYS,
        }
        return TemplateResponse(request, "admin/orders/delivery/health.html", context)


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "delivery", "http_status", "latency_ms", "delivered", "error_kind"]
    list_filter = ["delivered", "error_kind"]
    list_select_related = ["delivery"]
