"""The push log reads as the rest of the admin: Beijing time, the reader's language, long orderNos cut short."""

import datetime
import re

import pytest
from django.contrib.auth import get_user_model

from orders.choices import Door
from orders.models import PushLog, PushOutcome
from tests.factories import InstitutionFactory

pytestmark = pytest.mark.django_db

LONG_ORDER_NO = "R" * 64  # what a 200-character rejected orderNo is logged as


@pytest.fixture
def rejected_log():
    return PushLog.objects.create(
        received_at=datetime.datetime(2026, 11, 30, 5, 4, 9, tzinfo=datetime.UTC),
        institution=InstitutionFactory(),
        door=Door.REST,
        order_no=LONG_ORDER_NO,
        outcome=PushOutcome.REJECTED,
        http_status=400,
    )


@pytest.fixture
def admin_client(client):
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-only"))
    return client


@pytest.mark.parametrize(("language", "outcome"), [("en", "Rejected"), ("zh-hans", "已拒绝")])
def test_the_entry_page_title_is_in_beijing_time_and_the_readers_language(
    admin_client, rejected_log, language, outcome
):
    # when
    content = admin_client.get(
        f"/admin/orders/pushlog/{rejected_log.pk}/change/", HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()

    # then: the subtitle (and the breadcrumbs) say what the fields below say
    subtitle = re.search(r"<h2>(.*?)</h2>", content).group(1)
    assert subtitle == f"2026-11-30 13:04:09 {LONG_ORDER_NO} {outcome}"
    assert "05:04" not in subtitle


def test_the_list_cuts_a_long_order_no_short_and_keeps_it_whole_in_the_tooltip(admin_client, rejected_log):
    # when
    content = admin_client.get("/admin/orders/pushlog/").content.decode()

    # then
    assert f'<span class="push-order-no" title="{LONG_ORDER_NO}">{LONG_ORDER_NO}</span>' in content
    assert "intake/admin.css" in content
