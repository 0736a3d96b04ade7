"""Supplying again: a changed push of an order in needs_info is a revision on both doors; elsewhere a conflict."""

import copy

import pytest
from django.urls import reverse

from intake.services import PushContext, push_receive
from orders import services
from orders.choices import Door, ReviewEventKind, ReviewStatus
from orders.models import AddressBookEntry, Contact, Employer, Order, OrderRevision, PushLog, ReviewEvent
from orders.services.decisions import DecisionTerms
from tests.factories import AnalystFactory, PushPayloadFactory, ReviewerFactory, pushed_order
from tests.intake.test_channel import LEGACY_URL, envelope, send

pytestmark = pytest.mark.django_db

SUPPLEMENTS = ("userAdditional.workOfficeInfo.companyName", "userAdditional.contactInfo.mobile")


def _needs_info(institution, payload, reviewer=None) -> Order:
    order = pushed_order(institution, copy.deepcopy(payload))
    reviewer = reviewer or ReviewerFactory()
    services.order_claim(order_id=order.pk, reviewer=reviewer)
    services.order_decide(
        order_id=order.pk,
        reviewer=reviewer,
        terms=DecisionTerms(decision="needs_info", supplements=SUPPLEMENTS, reason="payslip"),
    )
    return order


def _revised(payload) -> dict:
    revised = copy.deepcopy(payload)
    revised["userAdditional"]["workOfficeInfo"]["companyName"] = "新公司有限公司"
    revised["userAdditional"]["contactInfo"]["mobile"] = "13900001111"
    revised["userAdditional"]["addressBook"]["phoneList"].append("新朋友_13900002222")
    return revised


def test_a_changed_push_of_an_order_in_needs_info_is_accepted_as_a_revision(push, institution):
    # given
    payload = PushPayloadFactory()
    order = _needs_info(institution, payload)

    # when
    response = push(_revised(payload))

    # then
    assert response.status_code == 201
    assert (response.json()["status"], response.json()["orderNo"]) == ("revised", order.order_no)
    order.refresh_from_db()
    assert (order.review_status, order.assigned_to, order.risk_pending) == (ReviewStatus.PENDING, None, False)
    assert Employer.objects.get(order=order).company_name == "新公司有限公司"
    assert Contact.objects.get(order=order, priority=1).mobile == "13900001111"
    assert order.address_book_count == 6 == AddressBookEntry.objects.filter(order=order).count()
    event = ReviewEvent.objects.filter(order=order).latest("id")
    assert (event.kind, event.actor, event.from_status, event.to_status) == (
        ReviewEventKind.REVISE,
        None,
        ReviewStatus.NEEDS_INFO,
        ReviewStatus.PENDING,
    )
    assert list(PushLog.objects.filter(order_no=order.order_no).values_list("outcome", flat=True)) == [
        "revised",
        "accepted",
    ]  # the earlier push stays in the log


def test_the_revision_records_what_changed_by_push_path(push, institution):
    # given
    payload = PushPayloadFactory()
    order = _needs_info(institution, payload)

    # when
    push(_revised(payload))

    # then
    revision = OrderRevision.objects.get(order=order)
    changes = {change["path"]: change for change in revision.changes}
    assert set(changes) == {*SUPPLEMENTS, "userAdditional.addressBook.phoneList"}
    assert changes["userAdditional.workOfficeInfo.companyName"]["new"] == "新公司有限公司"
    book = changes["userAdditional.addressBook.phoneList"]
    assert (book["old"], book["new"], book["added"], book["removed_count"]) == ("5", "6", ["新朋友_13900002222"], 0)
    assert revision.change_count == 3


def test_the_revision_recomputes_the_signals(push, institution, monkeypatch):
    # given
    payload = PushPayloadFactory()
    order = _needs_info(institution, payload)
    jobs = []
    monkeypatch.setattr("orders.services.revisions.enqueue", lambda *args, **kwargs: jobs.append((args, kwargs)))

    # when
    push(_revised(payload))

    # then: marked pending, its job recorded in the revision's transaction (as a first push does)
    assert jobs == [(("orders.risk.tasks.risk_signals_job", order.pk), {"queue": "signals"})]
    assert Order.objects.get(pk=order.pk).risk_pending is True


def test_a_revision_through_the_channel_door(client, institution):
    # given
    payload = PushPayloadFactory()
    order = _needs_info(institution, payload)

    # when
    response = send(
        client, envelope(institution, _revised(payload), call="Order.pushUserAdditionalInfo"), url=LEGACY_URL
    )

    # then
    body = response.json()
    assert (body["status"], body["response"]["status"]) == (1, "revised")
    order.refresh_from_db()
    assert order.review_status == ReviewStatus.PENDING


def test_an_identical_push_while_in_needs_info_stays_a_duplicate(push, institution):
    # given
    payload = PushPayloadFactory()
    order = _needs_info(institution, payload)

    # when
    response = push(payload)

    # then
    assert (response.status_code, response.json()["status"]) == (200, "duplicate")
    order.refresh_from_db()
    assert order.review_status == ReviewStatus.NEEDS_INFO
    assert not OrderRevision.objects.exists()


@pytest.mark.parametrize("status", [ReviewStatus.PENDING, ReviewStatus.IN_REVIEW, ReviewStatus.APPROVED])
def test_a_changed_push_outside_needs_info_stays_a_conflict(push, institution, status):
    # given
    payload = PushPayloadFactory()
    order = pushed_order(institution, copy.deepcopy(payload))
    Order.objects.filter(pk=order.pk).update(review_status=status)

    # when
    response = push(_revised(payload))

    # then
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "order_conflict"
    assert Employer.objects.get(order=order).company_name != "新公司有限公司"


def test_a_second_changed_push_after_the_revision_is_a_conflict_and_a_retry_of_it_a_duplicate(push, institution):
    # given
    payload = PushPayloadFactory()
    _needs_info(institution, payload)
    revised = _revised(payload)
    push(revised)

    # when
    retry = push(revised)
    other = copy.deepcopy(revised)
    other["orderInfo"]["loan_amount"] = "1000"
    changed_again = push(other)

    # then
    assert (retry.status_code, changed_again.status_code) == (200, 409)
    assert OrderRevision.objects.count() == 1


def test_a_failed_revision_leaves_nothing_half_written(institution, monkeypatch):
    # given
    payload = PushPayloadFactory()
    order = _needs_info(institution, payload)

    def fail(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("orders.services.revisions.pushed_rows_write", fail)
    body = str.encode(__import__("json").dumps(_revised(payload), ensure_ascii=False))

    # when
    with pytest.raises(RuntimeError):
        push_receive(institution=institution, context=PushContext(door=Door.REST), payload_raw=body, logged_body=body)

    # then: the old rows, status and log stand
    order.refresh_from_db()
    assert order.review_status == ReviewStatus.NEEDS_INFO
    assert Employer.objects.get(order=order).company_name == payload["userAdditional"]["workOfficeInfo"]["companyName"]
    assert AddressBookEntry.objects.filter(order=order).count() == 5
    assert not OrderRevision.objects.exists()
    assert not PushLog.objects.filter(outcome="revised").exists()


def test_another_institutions_push_of_the_same_order_no_is_its_own_order(push, institution):
    # given
    from tests.factories import InstitutionFactory

    payload = PushPayloadFactory()
    _needs_info(InstitutionFactory(), payload)

    # when
    response = push(_revised(payload))

    # then
    assert (response.status_code, response.json()["status"]) == (201, "accepted")


# --- What the reviewer sees ---------------------------------------------------------------------


def _page(order):
    return reverse("admin:orders_order_change", args=[order.pk])


def test_the_order_page_shows_the_changes_in_clear_to_a_reviewer(client, push, institution):
    # given
    payload = PushPayloadFactory()
    order = _needs_info(institution, payload)
    push(_revised(payload))
    client.force_login(ReviewerFactory())

    # when
    content = client.get(_page(order)).content.decode()

    # then
    assert 'id="revisions-section"' in content
    assert content.count('class="revision-change"') == 3
    assert "13900001111" in content
    assert "新朋友_13900002222" in content
    assert "新公司有限公司" in content


def test_the_order_page_masks_the_changes_for_a_viewer_without_the_personal_data_permission(client, push, institution):
    # given
    payload = PushPayloadFactory()
    old_mobile = payload["userAdditional"]["contactInfo"]["mobile"]
    order = _needs_info(institution, payload)
    push(_revised(payload))
    client.force_login(AnalystFactory())

    # when
    content = client.get(_page(order)).content.decode()

    # then
    assert content.count('class="revision-change"') == 3
    assert "13900001111" not in content
    assert old_mobile not in content
    assert "139****1111" in content
    assert "13900002222" not in content
    assert "新*_139****2222" in content
    assert "新公司有限公司" in content  # an employer's name is not personal data
