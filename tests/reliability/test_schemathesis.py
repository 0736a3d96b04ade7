"""schemathesis against `/api/schema/` for the push endpoint: no input gives a 5xx or an answer outside the schema."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
]


# Loaded through the WSGI app at collection (the schema view touches no database); the calls
# below go through the same app, inside each test's transaction.
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application()).include(path="/api/v1/user-additional/")


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """Requests run in the test's transaction: like Django's test client, do not let them close its connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@pytest.mark.django_db
def test_push_answers_stay_inside_the_schema(case, institution):
    case.call_and_validate(headers={"Authorization": f"Bearer {institution.api_token}"}, checks=CHECKS)


@schema.parametrize()
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@pytest.mark.django_db
def test_push_error_bodies_match_the_documented_schema(case, institution):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {institution.api_token}"}, checks=[response_schema_conformance]
    )
