"""Periodic jobs of the orders domain that are not about risk (the retention and sandbox purges)."""

from datetime import timedelta

from django.conf import settings

from orders.services import personal_data_purge, sandbox_orders_purge


def personal_data_purge_job() -> int:
    """The daily retention purge (`manage.py purge_personal_data` runs the same service by hand)."""
    run = personal_data_purge(retention_days=settings.PERSONAL_DATA_RETENTION_DAYS)
    return run.pk


def sandbox_orders_purge_job() -> int:
    """The daily purge of sandbox orders (settings.JOB_SCHEDULES, queue `maintenance`); returns the orders deleted."""
    return sandbox_orders_purge(older_than=timedelta(hours=settings.SANDBOX_ORDERS_KEPT_HOURS)).orders
