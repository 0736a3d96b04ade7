"""A reviewer's day in a real browser: log in, filter, search by a contact's phone, claim, approve."""

import pytest

from orders.choices import ReviewStatus
from orders.models import Decision, Order, ReviewEvent
from tests.browser.conftest import log_in
from tests.factories import ReviewerFactory, pushed_order

# The live server needs committed rows; `roles` puts back the groups an earlier flush removed.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("roles")]


def test_reviewer_finds_claims_and_approves_an_order(page, live_server, artifacts_dir):
    # given
    target = pushed_order(
        userAdditional__contactInfo__mobileSpare="13711112222",
        userAdditional__deviceInfo__brandNewKey="kept",
        userAdditional__deviceInfo__isSimulator="1",
        userAdditional__addressBook__size=80,
    )
    pushed_order(institution=target.institution)
    decided = pushed_order(institution=target.institution)
    Order.objects.filter(pk=decided.pk).update(review_status=ReviewStatus.APPROVED)
    reviewer = ReviewerFactory()

    # when: log in and filter to pending orders
    log_in(page, live_server, reviewer)
    page.click("#changelist-filter a[href*='review_status=pending']")
    page.wait_for_url("**review_status=pending**")
    pending_rows = page.locator("#result_list tbody tr").count()

    # ... narrow by amount in fen (the API's parameter), keeping the status filter
    amount_form = page.locator("form.range-filter:has(input[name=loan_amount_min])")
    amount_form.locator("input[name=loan_amount_min]").fill("500000")
    amount_form.locator("input[type=submit]").click()
    page.wait_for_url("**loan_amount_min=500000**")
    amount_url = page.url
    amount_rows = page.locator("#result_list tbody tr").count()

    # ... search by the second emergency contact's phone, typed as people type it
    page.fill("#searchbar", "+86 137-1111-2222")
    page.press("#searchbar", "Enter")
    page.wait_for_url("**q=**")
    found = page.locator("#result_list tbody tr")
    found_count = found.count()
    found.first.locator("th a").click()
    page.wait_for_selector("#review")
    signals_panel = page.inner_text("#risk-signals-section")

    # ... claim it, then approve it with its terms (yuan in the form) and a reason
    page.click("#claim-button")
    page.wait_for_selector("#decision-form")
    page.select_option("#decision-form select[name=status]", "approved")
    page.fill("#decision-form input[name=approved_amount]", "3000")
    page.fill("#decision-form input[name=approved_term]", "6")
    page.select_option("#decision-form select[name=term_unit]", "month")
    page.fill("#decision-form textarea[name=reason]", "Employer confirmed by phone")
    page.check("#decision-form input[name=confirm_high_risk]")  # a simulator is a high-severity signal
    page.click("#decide-button")
    page.wait_for_selector("#review-status.status-approved")
    page.screenshot(path=str(artifacts_dir / "order-page.png"), full_page=True)

    # then
    assert pending_rows == 2
    assert "review_status=pending" in amount_url
    assert amount_rows == 2
    assert "Simulator" in signals_panel
    assert found_count == 1
    assert "brandNewKey" in page.inner_text("#device-extra")
    assert "80 entries" in page.inner_text("#address-book-section")
    events = page.locator("#events-section tr.review-event")
    assert events.count() == 2
    assert "Employer confirmed by phone" in events.nth(1).inner_text()
    assert "Approved" in page.inner_text("#review-status")
    assert list(ReviewEvent.objects.filter(order=target).values_list("kind", "actor")) == [
        ("claim", reviewer.pk),
        ("decide", reviewer.pk),
    ]
    assert list(
        Decision.objects.filter(order=target).values_list("approved_amount_fen", "approved_term", "term_unit")
    ) == [(300000, 6, "month")]
    assert (artifacts_dir / "order-page.png").stat().st_size > 0


def test_a_chinese_browser_gets_the_admin_in_chinese(browser, live_server, artifacts_dir):
    # given
    order = pushed_order()
    reviewer = ReviewerFactory()
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()

    # when
    log_in(page, live_server, reviewer)
    page.goto(f"{live_server.url}/admin/orders/order/{order.pk}/change/")
    page.screenshot(path=str(artifacts_dir / "order-page-zh.png"), full_page=True)
    text = page.inner_text("#content")
    context.close()

    # then
    assert "推送记录" in text
    assert "紧急联系人" in text
