"""The `supervisor` role: a reviewer who also assigns and reassigns orders (docs/contract.md §4)."""

import importlib

from django.contrib.auth.management import create_permissions
from django.db import migrations

REVIEWER = importlib.import_module("orders.migrations.0002_roles").ROLES["reviewer"]

ASSIGN = ("orders", "assign_order")


def create_supervisor(apps, schema_editor):
    # Permissions are normally created after all migrations ran; the role needs them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    # A supervisor holds whatever a reviewer holds here, plus assigning; later changes to either
    # group are the administrators' own. A database whose reviewer group was deleted (or flushed,
    # as test databases are) gets the reviewer's rights as 0002 granted them.
    reviewer = Group.objects.filter(name="reviewer").first()
    if reviewer is not None:
        granted = list(reviewer.permissions.all())
    else:
        granted = [
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
            for app_label, codename in (dotted.split(".") for dotted in REVIEWER)
        ]
    supervisor, _ = Group.objects.get_or_create(name="supervisor")
    supervisor.permissions.add(*granted, Permission.objects.get(content_type__app_label=ASSIGN[0], codename=ASSIGN[1]))


def remove_supervisor(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="supervisor").delete()


class Migration(migrations.Migration):
    dependencies = [("orders", "0005_risk_pending")]

    operations = [migrations.RunPython(create_supervisor, remove_supervisor)]
