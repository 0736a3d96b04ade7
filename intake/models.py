"""The doors' own table: the rate limits' counter (Institution, PushOutcome and PushLog live in orders.models)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PushRateWindow(models.Model):
    """How many times one subject was counted in one minute: the rate limits' shared counter.

    Subjects are an institution's pushes (`institution:<id>`) and a client
    address's refused credentials (`refusals:<address>`). Used when no cache
    server is configured: every process of every server counts in the same
    row, atomically (one upsert), so the limits hold across workers. On
    PostgreSQL the table is UNLOGGED (migration 0004): a counter is not worth
    a wait for the disk on every push.
    """

    subject = models.CharField(max_length=64)
    minute = models.BigIntegerField(help_text="Unix time // 60.")
    count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("push rate window")
        verbose_name_plural = _("push rate windows")
        constraints = [
            models.UniqueConstraint(fields=["subject", "minute"], name="pushratewindow_unique_subject_minute"),
        ]
        indexes = [models.Index(fields=["minute"], name="pushratewindow_minute_idx")]

    def __str__(self) -> str:
        return f"{self.subject}@{self.minute}: {self.count}"
