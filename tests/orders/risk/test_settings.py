"""Risk settings as an operator gives them: the defaults live in orders.risk.config, the environment overrides keys."""

import json
import os
import subprocess
import sys
from pathlib import Path

from orders.risk.config import DEFAULTS

ROOT = Path(__file__).resolve().parents[3]
RISK_ENV = ("RISK_SIGNALS_DISABLED", "RISK_THIN_ADDRESS_BOOK_MIN_ENTRIES", "RISK_LINKED_ORDERS_LIMIT")
# What a process started with `env` ends up with: the setting itself and the configuration computed from it.
SHOW_CONFIG = (
    "import json; from django.conf import settings; from orders.risk import RiskConfig; "
    "config = RiskConfig.from_settings(); "
    "print(json.dumps({'setting': settings.RISK_SIGNALS, 'severity': config.severity, "
    "'disabled': sorted(config.disabled), 'thin_min_entries': config.thin_min_entries, "
    "'thin_min_mobile_share': config.thin_min_mobile_share, 'linked_limit': config.linked_limit}))"
)


def started_with(**env) -> dict:
    environment = {key: value for key, value in os.environ.items() if key not in RISK_ENV}
    environment.update(env)
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SHOW_CONFIG],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_environment_the_settings_repeat_nothing_and_the_defaults_apply():
    # given / when: an operator starts the application without any RISK_* variable
    started = started_with()

    # then
    assert started["setting"] == {}
    assert started["severity"] == {code: str(level) for code, level in DEFAULTS["SEVERITY"].items()}
    assert started["disabled"] == []
    assert started["thin_min_entries"] == DEFAULTS["THIN_ADDRESS_BOOK_MIN_ENTRIES"]
    assert started["thin_min_mobile_share"] == DEFAULTS["THIN_ADDRESS_BOOK_MIN_MOBILE_SHARE"]
    assert started["linked_limit"] == DEFAULTS["LINKED_ORDERS_LIMIT"]


def test_environment_variables_override_their_keys_and_leave_the_others_at_their_defaults():
    # given / when
    started = started_with(
        RISK_SIGNALS_DISABLED="simulator, rooted_device",
        RISK_THIN_ADDRESS_BOOK_MIN_ENTRIES="25",
        RISK_LINKED_ORDERS_LIMIT="7",
    )

    # then
    assert started["disabled"] == ["rooted_device", "simulator"]
    assert started["thin_min_entries"] == 25
    assert started["linked_limit"] == 7
    assert started["thin_min_mobile_share"] == DEFAULTS["THIN_ADDRESS_BOOK_MIN_MOBILE_SHARE"]
    assert started["severity"]["simulator"] == str(DEFAULTS["SEVERITY"]["simulator"])
