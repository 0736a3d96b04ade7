"""App configuration of the intake doors."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntakeConfig(AppConfig):
    name = "intake"
    verbose_name = _("Intake")

    def ready(self) -> None:
        from config import after_response

        # The risk signals of an accepted push run after its response (intake.services.push_receive).
        after_response.connect()
