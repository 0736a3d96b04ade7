"""create_institution's feedback options and rotate_webhook_secret: the webhook secret shown once, stored encrypted."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from orders.models import FeedbackMode, Institution

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_institution_with_webhook_feedback_prints_the_secret_on_its_own_line_once():
    # when
    output = run(
        "create_institution",
        "acme",
        "--name",
        "Acme",
        "--feedback-url",
        "https://acme.example.com/feedback",
        "--feedback-mode",
        "webhook",
    )

    # then
    lines = output.splitlines()
    assert [line.split("=", 1)[0] for line in lines] == ["api_token", "channel_key", "webhook_secret"]
    secret = lines[2].split("=", 1)[1]
    institution = Institution.objects.get(code="acme")
    assert (institution.feedback_mode, institution.feedback_url) == (
        FeedbackMode.WEBHOOK,
        "https://acme.example.com/feedback",
    )
    assert institution.webhook_secret == secret
    assert secret not in institution.webhook_secret_encrypted
    assert len(secret) >= 43


def test_create_institution_with_channel_feedback_prints_no_webhook_secret():
    # when
    output = run("create_institution", "acme", "--name", "Acme", "--feedback-url", "https://a.example.com/f",
                 "--feedback-mode", "channel")  # fmt: skip

    # then
    assert "webhook_secret" not in output
    assert Institution.objects.get(code="acme").feedback_mode == FeedbackMode.CHANNEL


def test_feedback_is_off_by_default():
    run("create_institution", "acme", "--name", "Acme")

    assert Institution.objects.get(code="acme").feedback_mode == FeedbackMode.OFF


@pytest.mark.parametrize(
    ("url", "mode"),
    [("http://acme.example.com/f", "channel"), ("", "webhook"), ("https://10.0.0.8/f", "channel")],
)
def test_create_institution_refuses_a_feedback_setting_that_cannot_work(url, mode):
    with pytest.raises(CommandError, match="feedback_url"):
        run("create_institution", "acme", "--name", "Acme", "--feedback-url", url, "--feedback-mode", mode)

    assert not Institution.objects.exists()


def test_rotate_webhook_secret_prints_a_new_one_and_the_old_one_stops():
    # given
    first = run("create_institution", "acme", "--name", "Acme", "--feedback-url", "https://a.example.com/f",
                "--feedback-mode", "webhook").splitlines()[2]  # fmt: skip

    # when
    output = run("rotate_webhook_secret", "acme")

    # then
    assert output.startswith("webhook_secret=")
    assert output.strip() != first
    assert Institution.objects.get(code="acme").webhook_secret == output.strip().split("=", 1)[1]


def test_rotate_webhook_secret_of_an_unknown_institution():
    with pytest.raises(CommandError, match="nobody"):
        run("rotate_webhook_secret", "nobody")
