"""Admins of the audit rows: review events, personal-data accesses, retention purges."""

from django.contrib import admin

from config.admin import DocumentedQueryStringAdminMixin, ReadOnlyAdminMixin
from orders.admin.changelist import ReadOnlyAdmin
from orders.admin.filters import OrderNumberFilter
from orders.models import (
    PersonalDataAccess,
    PersonalDataPurge,
    ReviewEvent,
)


@admin.register(ReviewEvent)
class ReviewEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "order", "kind", "from_status", "to_status", "actor", "to_assignee", "reason"]
    list_filter = ["kind", "to_status", OrderNumberFilter]
    list_select_related = ["order", "actor", "to_assignee"]


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(ReadOnlyAdmin):
    """Who was shown which order's personal data: for administrators looking for misuse."""

    list_display = ["accessed_at", "user", "order", "context"]
    list_filter = ["user", OrderNumberFilter]
    list_select_related = ["user", "order"]


@admin.register(PersonalDataPurge)
class PersonalDataPurgeAdmin(ReadOnlyAdminMixin, DocumentedQueryStringAdminMixin, admin.ModelAdmin):
    """Every run of `purge_personal_data`, so an auditor can see retention is enforced."""

    list_display = [
        "started_at",
        "finished_at",
        "cutoff",
        "retention_days",
        "dry_run",
        "orders",
        "address_book_entries",
    ]
    list_filter = ["dry_run"]
    date_hierarchy = "started_at"
