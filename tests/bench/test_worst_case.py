"""The benchmark's worst case for the order page is the attack as the limits let it through."""

import json

from django.conf import settings

from bench.worst_case import CONFLICTING_PUSHES, UNKNOWN_KEY_FLOOD, worst_case_pushes


def test_conflicting_pushes_are_just_under_the_body_limit_and_within_the_unknown_key_bound():
    pushes = list(worst_case_pushes("WORST-1"))
    labels = [label for label, _ in pushes]
    assert labels == ["accepted"] + ["conflicting"] * CONFLICTING_PUSHES + ["unknown_key_flood"]

    conflicting = [body for label, body in pushes if label == "conflicting"]
    assert len(set(conflicting)) == CONFLICTING_PUSHES  # each a different content: a 409, not a duplicate
    for body in conflicting:
        assert settings.PUSH_MAX_BODY_BYTES - 128 * 1024 < len(body) <= settings.PUSH_MAX_BODY_BYTES
        device = json.loads(body)["userAdditional"]["deviceInfo"]
        assert sum(key.startswith("vendorField") for key in device) < settings.PUSH_MAX_UNKNOWN_KEYS

    flood = json.loads(pushes[-1][1])["userAdditional"]["deviceInfo"]
    assert len(flood) > UNKNOWN_KEY_FLOOD
