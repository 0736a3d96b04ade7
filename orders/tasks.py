"""Periodic jobs of the orders domain that are not about risk (the retention purge)."""

from django.conf import settings

from orders.services import personal_data_purge


def personal_data_purge_job() -> int:
    """The daily retention purge (`manage.py purge_personal_data` runs the same service by hand)."""
    run = personal_data_purge(retention_days=settings.PERSONAL_DATA_RETENTION_DAYS)
    return run.pk
