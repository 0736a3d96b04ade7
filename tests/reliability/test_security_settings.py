"""Production security settings: check --deploy, cookies, CSP, HSTS, CSRF, admin lockout, secrets at rest."""

import json
import os
import re
import secrets
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import Client

from config import crypto
from orders.models import Institution
from tests.factories import InstitutionFactory, UserFactory
from tests.reliability.live import BASE_DIR

PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
    "DJANGO_ALLOWED_HOSTS": "risk.example.com",
    "CHANNEL_KEY_ENCRYPTION_KEY": Fernet.generate_key().decode(),
}


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **PRODUCTION}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    # Set by the browser tests for Playwright's event loop; never part of a deployment.
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, check=False
    )


def test_check_deploy_is_clean_under_production_settings():
    # when
    completed = _run("check", "--deploy", "--fail-level", "WARNING")

    # then: no warning of any kind (security, or the API schema's)
    issues = re.findall(r"^\S*: \(([\w.]+)\)", completed.stderr + completed.stdout, flags=re.MULTILINE)
    assert issues == []
    assert completed.returncode == 0, completed.stderr[-2000:]


def test_production_cookies_hsts_and_redirects():
    # when
    script = (
        "import json; from django.conf import settings as s; print(json.dumps([s.SESSION_COOKIE_SECURE, "
        "s.SESSION_COOKIE_HTTPONLY, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
        "s.SECURE_REDIRECT_EXEMPT]))"
    )
    completed = _run("shell", "-c", script)

    # then
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert json.loads(completed.stdout.strip().splitlines()[-1]) == [True, True, True, True, 31_536_000, ["^healthz$"]]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/admin/login/", "/api/docs/", "/healthz"])
def test_every_page_carries_a_content_security_policy(client, path):
    # when
    response = client.get(path)

    # then
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_swagger_ui_is_served_locally_without_inline_scripts(client):
    # when
    page = client.get("/api/docs/").content.decode()
    script = client.get("/api/docs/?script=")

    # then: assets from our static files, the init script from a URL (the CSP forbids inline scripts)
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    assert re.search(r"<script>\s*\S", page) is None
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")


@pytest.mark.django_db
def test_hsts_is_sent_behind_a_tls_proxy(client, settings):
    # given: the production switches, as DJANGO_SECURE_PROXY_SSL_HEADER=true sets them
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    # when
    behind_tls = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    plain = client.get("/healthz")

    # then
    assert behind_tls["Strict-Transport-Security"].startswith("max-age=3600")
    assert "Strict-Transport-Security" not in plain


@pytest.mark.django_db
def test_admin_login_needs_the_csrf_token():
    # given
    UserFactory(username="csrf-user", is_superuser=True)
    browser = Client(enforce_csrf_checks=True)

    # when
    response = browser.post("/admin/login/", {"username": "csrf-user", "password": "correct horse battery staple"})

    # then
    assert response.status_code == 403


@pytest.mark.django_db
def test_admin_login_locks_out_after_repeated_failures(client, settings):
    # given
    UserFactory(username="target", is_superuser=True)
    wrong = {"username": "target", "password": "wrong"}

    # when
    failures = [client.post("/admin/login/", wrong).status_code for _ in range(settings.AXES_FAILURE_LIMIT - 1)]
    locking = client.post("/admin/login/", wrong)
    with_right_password = client.post(
        "/admin/login/", {"username": "target", "password": "correct horse battery staple"}
    )
    other_address = client.post(
        "/admin/login/",
        {"username": "target", "password": "correct horse battery staple"},
        REMOTE_ADDR="10.9.8.7",
    )

    # then: the right password does not help from the locked address; the lock is per username and address
    assert failures == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert locking.status_code == 429
    assert with_right_password.status_code == 429
    assert other_address.status_code == 302


@pytest.mark.django_db
def test_the_channel_key_is_stored_encrypted_and_the_token_only_as_a_hash():
    # given
    institution = InstitutionFactory()

    # when
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT channel_key_encrypted, api_token_hash, api_token_id FROM intake_institution WHERE id = %s",
            [institution.pk],
        )
        stored_key, stored_hash, token_id = cursor.fetchone()

    # then
    token_secret = institution.api_token.split(".", 1)[1]
    assert institution.channel_key_plain not in stored_key
    assert token_secret not in stored_hash + token_id
    assert stored_hash == crypto.token_hash(token_secret)
    assert Institution.objects.get(pk=institution.pk).channel_key == institution.channel_key_plain


def test_channel_key_encryption_rotates_with_two_keys(settings):
    # given: a key encrypted under the old encryption key
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CHANNEL_KEY_ENCRYPTION_KEY = old
    under_old = crypto.encrypt("channel-key-1")

    # when: the new key goes first, the old one stays listed
    settings.CHANNEL_KEY_ENCRYPTION_KEY = f"{new},{old}"
    read_during_rotation = crypto.decrypt(under_old)
    under_new = crypto.encrypt("channel-key-2")

    # then: old ciphertexts still read, new ones need the new key
    assert read_during_rotation == "channel-key-1"
    settings.CHANNEL_KEY_ENCRYPTION_KEY = new
    assert crypto.decrypt(under_new) == "channel-key-2"
    with pytest.raises(ImproperlyConfigured, match="cannot be decrypted"):
        crypto.decrypt(under_old)
