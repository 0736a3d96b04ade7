"""Moving Institution and PushLog from intake to orders: an existing database keeps its rows, rights and history."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from orders.models import Institution, PushLog

BEFORE_THE_MOVE = [
    ("orders", "0007_merge_pii_and_supervisor"),
    ("intake", "0005_refusal_count_rate_subject"),
    ("admin", "0003_logentry_add_action_flag_choices"),  # so the old state has the admin's history too
]


def _migrate(targets=None):
    """Migrate the test database to `targets` (the latest migrations when None); the apps as they were there."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    ContentType.objects.clear_cache()
    return executor.loader.project_state(targets).apps


def _intake_permission(old_apps, model: str, codename: str, name: str):
    ContentType = old_apps.get_model("contenttypes", "ContentType")
    Permission = old_apps.get_model("auth", "Permission")
    content_type, _ = ContentType.objects.get_or_create(app_label="intake", model=model)
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type, codename=codename, defaults={"name": name}
    )
    return permission


@pytest.mark.django_db(transaction=True)
def test_an_existing_database_keeps_its_institutions_push_log_roles_and_history(client):
    # given: a database as it was before the move, with an institution, its push log, the reviewer role
    # (granted the push log as migration 0002 does), an auditor granted the institutions, and admin history
    old = _migrate(BEFORE_THE_MOVE)
    institution = old.get_model("intake", "Institution").objects.create(code="old-bank", name="Old Bank")
    old.get_model("intake", "PushLog").objects.create(
        institution_id=institution.pk,
        door="rest",
        order_no="before-the-move",
        outcome="accepted",
        http_status=201,
        body=b'{"orderInfo": {}}',
    )
    view_push_log = _intake_permission(old, "pushlog", "view_pushlog", "Can view push log entry")
    change_institution = _intake_permission(old, "institution", "change_institution", "Can change institution")
    Group = old.get_model("auth", "Group")
    reviewer_role, _ = Group.objects.get_or_create(name="reviewer")
    reviewer_role.permissions.add(view_push_log)
    User = old.get_model("auth", "User")
    reviewer = User.objects.create(username="old-reviewer", is_staff=True)
    reviewer.groups.add(reviewer_role)
    auditor = User.objects.create(username="old-auditor", is_staff=True)
    auditor.user_permissions.add(change_institution)
    old.get_model("admin", "LogEntry").objects.create(
        user_id=auditor.pk,
        content_type_id=change_institution.content_type_id,
        object_id=str(institution.pk),
        object_repr="old-bank (Old Bank)",
        action_flag=2,
        change_message="[]",
    )

    # when
    _migrate()

    # then: the same rows, now orders' models, with their ids
    moved = Institution.objects.get(code="old-bank")
    assert (moved.pk, moved.name) == (institution.pk, "Old Bank")
    log = PushLog.objects.get(order_no="before-the-move")
    assert (log.institution, bytes(log.body)) == (moved, b'{"orderInfo": {}}')
    # the role's and the user's rights follow the models, under their new label
    users = get_user_model().objects
    assert users.get(username="old-reviewer").has_perm("orders.view_pushlog")
    assert users.get(username="old-auditor").has_perm("orders.change_institution")
    assert not ContentType.objects.filter(app_label="intake", model__in=["institution", "pushlog"]).exists()
    # the admin's history still finds its object
    entry = LogEntry.objects.get(object_repr="old-bank (Old Bank)")
    assert (entry.content_type, entry.get_edited_object()) == (ContentType.objects.get_for_model(Institution), moved)
    # and the reviewer still opens the push log, at its new address
    client.force_login(users.get(username="old-reviewer"))
    assert client.get("/admin/orders/pushlog/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_content_types_already_created_under_orders_are_merged_into_the_granted_ones():
    # given: before the move, content types under the new label exist too (a post_migrate ran early),
    # with a right and a history entry of their own
    old = _migrate(BEFORE_THE_MOVE)
    granted = _intake_permission(old, "institution", "view_institution", "Can view institution")
    old_content_types = old.get_model("contenttypes", "ContentType")
    Permission = old.get_model("auth", "Permission")
    early, _ = old_content_types.objects.get_or_create(app_label="orders", model="institution")
    Permission.objects.filter(content_type=early).delete()
    Permission.objects.create(content_type=early, codename="view_institution", name="Can view institution")
    Permission.objects.create(content_type=early, codename="audit_institution", name="Can audit institution")
    User = old.get_model("auth", "User")
    viewer = User.objects.create(username="old-viewer", is_staff=True)
    viewer.user_permissions.add(granted)
    old.get_model("admin", "LogEntry").objects.create(
        user_id=viewer.pk, content_type_id=early.pk, object_id="1", object_repr="early entry", action_flag=1
    )

    # when
    _migrate()

    # then: one content type per model, the one the grants pointed at, holding both sets of rights and the history
    kept = ContentType.objects.get(app_label="orders", model="institution")
    assert kept.pk == granted.content_type_id
    assert get_user_model().objects.get(username="old-viewer").has_perm("orders.view_institution")
    assert {"view_institution", "audit_institution"} <= set(kept.permission_set.values_list("codename", flat=True))
    assert LogEntry.objects.get(object_repr="early entry").content_type == kept
