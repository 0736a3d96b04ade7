"""Refusals before authentication are logged once per address and minute (`PushLog.refusal_count`),
and the rate-limit counters count any subject (an institution's pushes, an address's refusals).

The counters only ever hold the current minute, so they are dropped rather than converted.
"""

from django.db import migrations, models


def _drop_counters(apps, schema_editor):
    apps.get_model("intake", "PushRateWindow").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("intake", "0004_rate_window_unlogged")]

    operations = [
        migrations.RunPython(_drop_counters, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="pushratewindow", name="pushratewindow_unique_minute"),
        migrations.RemoveField(model_name="pushratewindow", name="institution"),
        migrations.AddField(
            model_name="pushratewindow",
            name="subject",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddConstraint(
            model_name="pushratewindow",
            constraint=models.UniqueConstraint(
                fields=("subject", "minute"), name="pushratewindow_unique_subject_minute"
            ),
        ),
        migrations.AddIndex(
            model_name="pushratewindow",
            index=models.Index(fields=["minute"], name="pushratewindow_minute_idx"),
        ),
        migrations.AddField(
            model_name="pushlog",
            name="refusal_count",
            field=models.PositiveIntegerField(
                default=1,
                help_text="Refusals this row stands for: an address's refusals before authentication are logged "
                "once per minute, with their count.",
                verbose_name="refusals",
            ),
        ),
    ]
