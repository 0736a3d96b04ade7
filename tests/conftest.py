"""Fixtures shared by every test module."""

import importlib
import json

import pytest
from rest_framework.test import APIClient

from config import jobs
from tests.factories import InstitutionFactory

PUSH_URL = "/api/v1/user-additional/"


@pytest.fixture(autouse=True)
def _jobs_run_inline(settings, monkeypatch):
    """Jobs run at once in the test's process (config.jobs), and a failing one fails the test.

    A worker only logs a failed job (the engine records it); a test must see it.
    Tests of the real workers start their own processes, with their own settings.
    """
    settings.JOBS_INLINE = True

    def fail(func, error):
        raise error

    monkeypatch.setattr(jobs, "report_failure", fail)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def institution(db):
    return InstitutionFactory()


@pytest.fixture
def push(api_client, institution):
    """POST a payload (dict, or raw str/bytes) to the REST door as `institution`."""

    def send(payload, *, token: str | None = None, content_type: str = "application/json", **headers):
        body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload, ensure_ascii=False)
        return api_client.post(
            PUSH_URL,
            data=body,
            content_type=content_type,
            headers={"Authorization": f"Bearer {token or institution.api_token}", **headers},
        )

    return send


@pytest.fixture
def roles(transactional_db):
    """The `reviewer`, `analyst` and `supervisor` groups of orders/migrations/0002_roles.py and 0006.

    A transactional test starts from whatever the previous one's flush left: the
    permissions come back (post_migrate) but the migrated groups do not.
    """
    from django.apps import apps as django_apps
    from django.contrib.auth.models import Group, Permission

    role_permissions = importlib.import_module("orders.migrations.0002_roles").ROLES
    # 0002 grants the push log under intake, where the model lived then; orders 0008 moved it to orders.
    label_now = {"intake": "orders"}
    for name, dotted in role_permissions.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(
            [
                Permission.objects.get(content_type__app_label=label_now.get(app_label, app_label), codename=codename)
                for app_label, codename in (item.split(".") for item in dotted)
            ]
        )
    # The rejection reasons are data of a migration too (orders 0010).
    seed = importlib.import_module("orders.migrations.0010_rejection_reasons").seed
    seed(django_apps, None)
    supervisor, _ = Group.objects.get_or_create(name="supervisor")
    supervisor.permissions.set(
        [*Group.objects.get(name="reviewer").permissions.all(), Permission.objects.get(codename="assign_order")]
    )
