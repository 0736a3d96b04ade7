"""Links between orders are derived when read; signal writers lock identifiers and count their waits.

The pairs table of `RiskSignal.linked_orders` goes (`orders.risk.links`
derives the linked orders and their count from the indexed identifiers), and
PostgreSQL gets the sequence counting lock waits (`orders.risk.locks`).
"""

from django.db import migrations

WAITS_SEQUENCE = "orders_risk_signal_lock_waits"


def create_waits_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE SEQUENCE IF NOT EXISTS {WAITS_SEQUENCE}")


def drop_waits_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP SEQUENCE IF EXISTS {WAITS_SEQUENCE}")


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0008_institutions_from_intake"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="risksignal",
            name="linked_orders",
        ),
        migrations.RunPython(create_waits_sequence, drop_waits_sequence),
    ]
