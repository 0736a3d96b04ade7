"""App configuration of the orders domain."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _schedules_ensure(sender, using, **kwargs) -> None:
    # Every migrate brings the engine's periodic jobs in line with settings.JOB_SCHEDULES.
    from django.conf import settings

    from config.jobs import schedules_ensure

    schedules_ensure(settings.JOB_SCHEDULES)


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self) -> None:
        post_migrate.connect(_schedules_ensure, sender=self, dispatch_uid="orders.schedules_ensure")
