"""The order list and the order page at 1440 px in English and Chinese: nothing off-screen, flags as labelled badges.

Screenshots of each land in test-artifacts/ (kept by CI) for a person to look at.
"""

import datetime
import json

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from intake.services import PushContext, push_receive
from orders import services
from orders.choices import Door
from orders.models import PushLog, PushOutcome
from orders.normalizers import ORDER_NO_MAX_LENGTH
from tests.browser.conftest import log_in
from tests.factories import InstitutionFactory, PushPayloadFactory, ReviewerFactory, pushed_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("roles")]

WIDTH = 1440
LANGUAGES = {"en": "en-US", "zh-hans": "zh-CN"}
LONG_ORDER_NO = ("YB20240501" + "0123456789" * 7)[:ORDER_NO_MAX_LENGTH]


@pytest.fixture
def a_day_of_orders(transactional_db):
    """Orders as a reviewer meets them: a long orderNo, a long institution name, several flags, some assigned."""
    bank = InstitutionFactory(code="yinbao", name="上海银保消费金融股份有限公司")
    shop = InstitutionFactory(code="shop2")
    # A supervisor: the widest list, with the selection boxes of the assign action.
    reviewer = ReviewerFactory(username="wangfang")
    reviewer.user_permissions.add(Permission.objects.get(codename="assign_order"))
    long_one = pushed_order(institution=bank, orderInfo__orderNo=LONG_ORDER_NO, orderInfo__loan_amount="123456789")
    twin = pushed_order(institution=shop, userAdditional__deviceInfo__deviceId="same-phone-for-two-applicants")
    pushed_order(
        institution=bank,
        userAdditional__deviceInfo__deviceId="same-phone-for-two-applicants",
        userAdditional__deviceInfo__isRoot="1",
        userAdditional__deviceInfo__isSimulator="1",
    )
    for _ in range(4):
        pushed_order(institution=shop, userAdditional__addressBook__size=40)
    services.order_claim(order_id=twin.pk, reviewer=reviewer)
    # A rejected push with an orderNo far past the limit, as the push log receives it.
    document = PushPayloadFactory(orderInfo__orderNo="R" * 200, orderInfo__userPhone="not-a-phone")
    body = json.dumps(document).encode()
    push_receive(institution=bank, context=PushContext(door=Door.REST), payload_raw=body, logged_body=body)
    return {"reviewer": reviewer, "long_one": long_one}


def _lines(page, selector: str) -> list[tuple[str, int]]:
    """Each element's text and the number of lines it takes: a word cut in two takes two."""
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)].map(el => {
              const tops = [];
              const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
              for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                  if (!node.textContent.trim()) continue;
                  const range = document.createRange(); range.selectNodeContents(node);
                  for (const rect of range.getClientRects()) tops.push(rect.top);
              }
              tops.sort((a, b) => a - b);
              const lines = tops.filter((top, i) => i === 0 || top - tops[i - 1] > 4).length;
              return [el.innerText, lines]; })""",
        selector,
    )


def _overflow(page, table: str, container: str) -> dict:
    return page.evaluate(
        """([table, container]) => ({
            table: document.querySelector(table).scrollWidth,
            container: document.querySelector(container).clientWidth,
            page: document.documentElement.scrollWidth,
            window: window.innerWidth,
        })""",
        [table, container],
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_order_list_fits_1440_px(browser, live_server, artifacts_dir, a_day_of_orders, language):
    # given
    context = browser.new_context(locale=LANGUAGES[language], viewport={"width": WIDTH, "height": 900})
    page = context.new_page()
    log_in(page, live_server, a_day_of_orders["reviewer"])

    # when
    page.goto(f"{live_server.url}/admin/orders/order/")
    page.screenshot(path=str(artifacts_dir / f"order-list-{language}.png"), full_page=True)
    sizes = _overflow(page, "#result_list", "#changelist .results")
    headers = page.locator("#result_list thead th").all_inner_texts()
    header_lines = _lines(page, "#result_list thead th .text")
    long_cell = page.locator(f"#result_list .order-no[title='{LONG_ORDER_NO}']")
    long_cell_width = long_cell.bounding_box()["width"]
    context.close()

    # then
    assert sizes["table"] <= sizes["container"], sizes
    assert sizes["page"] <= sizes["window"], sizes
    assert len(headers) == 9  # the selection box and the eight columns
    assert all(header.strip() for header in headers[1:])
    if language == "zh-hans":  # Chinese headers have no spaces: one line each, never 审核状/态
        assert [header for header, lines in header_lines if header.strip() and lines != 1] == []
    assert long_cell_width < 200


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_push_log_fits_1440_px_with_a_long_rejected_order_no(
    browser, live_server, artifacts_dir, a_day_of_orders, language
):
    # given
    reviewer = a_day_of_orders["reviewer"]
    reviewer.user_permissions.add(Permission.objects.get(codename="view_pushlog"))
    context = browser.new_context(locale=LANGUAGES[language], viewport={"width": WIDTH, "height": 900})
    page = context.new_page()
    log_in(page, live_server, reviewer, next_url="/admin/orders/pushlog/")

    # when
    page.screenshot(path=str(artifacts_dir / f"push-log-{language}.png"), full_page=True)
    sizes = _overflow(page, "#result_list", "#changelist .results")
    page.locator("#result_list tbody tr").first.locator("th a").click()
    page.wait_for_selector("#content h2")
    page.screenshot(path=str(artifacts_dir / f"push-log-entry-{language}.png"), full_page=True)
    title = page.inner_text("#content h2")
    context.close()

    # then
    assert sizes["table"] <= sizes["container"], sizes
    received_at = PushLog.objects.get(outcome=PushOutcome.REJECTED).received_at
    assert f"{timezone.localtime(received_at):%Y-%m-%d %H:%M}" in title  # Beijing time, as the fields below
    assert f"{received_at.astimezone(datetime.UTC):%H:%M}" not in title
    if language == "zh-hans":
        assert "已拒绝" in title


def test_flags_are_chinese_badges_most_severe_first_with_the_code_in_the_tooltip(browser, live_server, a_day_of_orders):
    # given
    context = browser.new_context(locale="zh-CN", viewport={"width": WIDTH, "height": 900})
    page = context.new_page()
    log_in(page, live_server, a_day_of_orders["reviewer"])

    # when
    badges = page.locator("#result_list .risk-flag")
    shown = [(badge.inner_text(), badge.get_attribute("title"), badge.get_attribute("class")) for badge in badges.all()]
    rooted_row = page.locator("#result_list tbody tr", has=page.locator(".risk-flag[title=simulator]"))
    row_codes = [badge.get_attribute("title") for badge in rooted_row.locator(".risk-flag").all()]
    context.close()

    # then
    labels = {title: text for text, title, _ in shown}
    assert labels["shared_device"] == "设备共用"
    assert labels["simulator"] == "模拟器"
    assert labels["contact_not_in_address_book"] == "联系人不在通讯录"
    assert not any(text.isascii() for text, _, _ in shown)
    assert ("risk-flag risk-flag-high") in dict((t, c) for _, t, c in shown)["shared_device"]
    # highest severity first: shared device and simulator (high), rooted (medium), then the low ones
    assert row_codes[:3] == ["shared_device", "simulator", "rooted_device"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_order_page_reads_well_at_1440_px(browser, live_server, artifacts_dir, a_day_of_orders, language):
    # given
    order = a_day_of_orders["long_one"]
    context = browser.new_context(locale=LANGUAGES[language], viewport={"width": WIDTH, "height": 900})
    page = context.new_page()
    log_in(page, live_server, a_day_of_orders["reviewer"], next_url=f"/admin/orders/order/{order.pk}/change/")

    # when
    page.screenshot(path=str(artifacts_dir / f"order-page-{language}.png"), full_page=True)
    page_width = page.evaluate("document.documentElement.scrollWidth")
    label_lines = _lines(page, "#review th, #order-section th, #device-section dt, #risk-signals-section th")
    fingerprint = page.evaluate(
        """() => { const code = document.querySelector('code.fingerprint');
                   const cell = code.closest('td').getBoundingClientRect();
                   return [code.getBoundingClientRect().right, cell.right]; }"""
    )
    device_text = page.inner_text("#device-section")
    context.close()

    # then
    assert page_width <= WIDTH
    assert len(label_lines) > 40
    assert [label for label, lines in label_lines if lines != 1] == []
    assert fingerprint[0] <= fingerprint[1] + 1
    assert "OS kind" not in device_text
    assert "系统类型" not in device_text
