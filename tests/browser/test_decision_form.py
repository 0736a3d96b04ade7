"""The decision form in a real browser: nothing preselected, a refused decision keeps what was chosen and typed."""

import pytest

from orders import services
from orders.choices import ReviewEventKind, ReviewStatus
from orders.models import Order, ReviewEvent
from tests.browser.conftest import log_in
from tests.factories import ReviewerFactory, pushed_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("roles")]

STATUS = "#decision-form select[name=status]"
REASON = "#decision-form textarea[name=reason]"
CONFIRM = "#decision-form input[name=confirm_high_risk]"
REASON_CODE = "#decision-form select[name=reason_code]"


def _claimed_order_page(page, live_server, **push):
    order = pushed_order(**push)
    reviewer = ReviewerFactory()
    services.order_claim(order_id=order.pk, reviewer=reviewer)
    url = f"/admin/orders/order/{order.pk}/change/"
    log_in(page, live_server, reviewer, next_url=url)
    return order, reviewer


def test_rejecting_without_a_reason_code_then_with_one_rejects_the_order(page, live_server):
    # given: an order with low-severity signals only, claimed by the reviewer
    order, reviewer = _claimed_order_page(page, live_server)
    preselected = page.input_value(STATUS)

    # when: reject with a text but without a reason code
    page.select_option(STATUS, "rejected")
    page.fill(REASON, "Employer does not exist")
    page.click("#decide-button")
    page.wait_for_selector("#decision-form .errorlist")
    error = page.inner_text("#decision-form .errorlist")
    status_after_error = page.input_value(STATUS)
    status_in_db = Order.objects.get(pk=order.pk).review_status

    # ... then pick the reason code and record again, touching nothing else
    page.select_option(REASON_CODE, "false_information")
    page.click("#decide-button")
    page.wait_for_selector("#review-status.status-rejected")

    # then
    assert preselected == ""
    assert "rejection reasons" in error
    assert status_after_error == "rejected"
    assert status_in_db == ReviewStatus.IN_REVIEW
    order.refresh_from_db()
    assert order.review_status == ReviewStatus.REJECTED
    decision = ReviewEvent.objects.get(order=order, kind=ReviewEventKind.DECIDE)
    assert (decision.to_status, decision.reason, decision.actor) == (
        ReviewStatus.REJECTED,
        "Employer does not exist",
        reviewer,
    )


def test_approving_a_high_severity_order_needs_the_confirmation_and_keeps_the_reason(page, live_server, artifacts_dir):
    # given: a simulator (a high-severity signal)
    order, _ = _claimed_order_page(page, live_server, userAdditional__deviceInfo__isSimulator="1")

    # when: approve with a reason but without confirming
    page.select_option(STATUS, "approved")
    page.fill("#decision-form input[name=approved_amount]", "1000")
    page.fill("#decision-form input[name=approved_term]", "30")
    page.select_option("#decision-form select[name=term_unit]", "day")
    page.fill(REASON, "Called the applicant: test phone")
    page.click("#decide-button")
    page.wait_for_selector("#decision-form .errorlist")
    page.screenshot(path=str(artifacts_dir / "decision-refused-en.png"), full_page=False)
    error = page.inner_text("#decision-form .errorlist")
    kept = (page.input_value(STATUS), page.input_value(REASON), page.is_checked(CONFIRM))
    status_in_db = Order.objects.get(pk=order.pk).review_status

    # ... then confirm and record again
    page.check(CONFIRM)
    page.click("#decide-button")
    page.wait_for_selector("#review-status.status-approved")

    # then
    assert "high-severity" in error
    assert kept == ("approved", "Called the applicant: test phone", False)
    assert status_in_db == ReviewStatus.IN_REVIEW
    order.refresh_from_db()
    assert order.review_status == ReviewStatus.APPROVED
    assert (
        ReviewEvent.objects.get(order=order, kind=ReviewEventKind.DECIDE).reason == "Called the applicant: test phone"
    )
