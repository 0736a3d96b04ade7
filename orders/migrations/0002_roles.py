"""Create the staff roles of docs/contract.md §4: `reviewer` and `analyst`."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = {
    # Browse, claim, decide, and see full phone numbers (reviewers call applicants).
    "reviewer": [
        "orders.view_order",
        "orders.view_device",
        "orders.view_contact",
        "orders.view_employer",
        "orders.view_addressbookentry",
        "orders.view_reviewevent",
        "orders.view_risksignal",
        "orders.review_order",
        "orders.view_personal_data",
        "intake.view_pushlog",
    ],
    # Browse and export; phone numbers stay masked.
    "analyst": [
        "orders.view_order",
        "orders.view_device",
        "orders.view_contact",
        "orders.view_employer",
        "orders.view_addressbookentry",
        "orders.view_risksignal",
        "orders.export_order",
    ],
}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations ran; the roles need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0001_initial"),
        ("intake", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
