"""Configuration from the environment: strict booleans, and production refusing the dev secret."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("1", True), ("YES", True), ("on", True), ("false", False), ("0", False), ("Off", False)],
)
def test_env_bool_reads_clear_values(monkeypatch, raw, expected):
    monkeypatch.setenv("X_FLAG", raw)

    assert env_bool("X_FLAG", not expected) is expected


def test_env_bool_uses_the_default_when_unset(monkeypatch):
    monkeypatch.delenv("X_FLAG", raising=False)

    assert env_bool("X_FLAG", True) is True


@pytest.mark.parametrize("raw", ["flase", "2", "maybe"])
def test_env_bool_refuses_anything_else(monkeypatch, raw):
    monkeypatch.setenv("X_FLAG", raw)

    with pytest.raises(ImproperlyConfigured):
        env_bool("X_FLAG", False)


def test_env_int_and_list(monkeypatch):
    monkeypatch.setenv("X_INT", "12")
    monkeypatch.setenv("X_LIST", " a.example, b.example ,")

    assert env_int("X_INT", 1) == 12
    assert env_list("X_LIST", []) == ["a.example", "b.example"]
    monkeypatch.setenv("X_INT", "twelve")
    with pytest.raises(ImproperlyConfigured):
        env_int("X_INT", 1)


def django_check(**env) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )


def test_production_refuses_the_development_secret():
    result = django_check(DJANGO_DEBUG="false")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_production_starts_with_a_real_secret():
    result = django_check(DJANGO_DEBUG="false", DJANGO_SECRET_KEY="x" * 64, DJANGO_ALLOWED_HOSTS="intake.example")

    assert result.returncode == 0, result.stderr
