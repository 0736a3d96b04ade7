"""The rate-limit counters skip PostgreSQL's write-ahead log (UNLOGGED).

Each push's upsert of its minute's counter is a transaction of its own; on a
logged table its commit waits for the log to reach the disk (about 0.2 ms of
every push here). A counter of the current minute is worth no such wait: an
unlogged table is emptied after a database crash and not copied to replicas,
which costs at most one minute in which an institution can push its limit
again. SQLite has no such tables and is left as it is.
"""

from django.db import migrations


def _alter(persistence: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            table = schema_editor.quote_name(apps.get_model("intake", "PushRateWindow")._meta.db_table)
            schema_editor.execute(f"ALTER TABLE {table} SET {persistence}")

    return run


class Migration(migrations.Migration):
    dependencies = [("intake", "0003_push_rate_window")]

    operations = [migrations.RunPython(_alter("UNLOGGED"), _alter("LOGGED"))]
