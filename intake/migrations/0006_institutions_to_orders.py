"""Institution, PushOutcome and PushLog now live in orders (orders 0008): remove them from intake's state only.

Their tables (`intake_institution`, `intake_pushlog`) and rows stay; nothing is dropped.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0005_refusal_count_rate_subject"),
        ("orders", "0008_institutions_from_intake"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="pushlog", name="institution"),
                migrations.DeleteModel(name="Institution"),
                migrations.DeleteModel(name="PushLog"),
            ],
            database_operations=[],
        ),
    ]
