"""The decision form with its terms, the rejection reasons, and the decision history on the order page."""

import re

import pytest
from django.urls import reverse
from django.utils import translation

from orders import services
from orders.choices import ReviewStatus
from orders.models import Decision, Order, RejectionReason
from orders.services.decisions import DecisionTerms
from tests.factories import EmployerFactory, OrderFactory, ReviewerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer():
    return ReviewerFactory()


def _page(order):
    return reverse("admin:orders_order_change", args=[order.pk])


def _review(order):
    return reverse("admin:orders_order_review", args=[order.pk])


def _held(reviewer, **kwargs) -> Order:
    order = OrderFactory(loan_amount_fen=500_000, **kwargs)
    services.order_claim(order_id=order.pk, reviewer=reviewer)
    return order


def _form(content: str) -> str:
    start = content.index('id="decision-form"')
    return content[start : content.index("</form>", start)]


def _errors_of(form: str, name: str) -> list[str]:
    """The error messages drawn just before the input called `name`."""
    position = form.index(f'name="{name}"')
    block = form[:position].rsplit("<fieldset", 1)[-1] if name != "status" else form[:position]
    lists = re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', block, re.S)
    return re.findall(r"<li>(.*?)</li>", lists[-1]) if lists else []


def test_approving_through_the_form_records_the_amount_in_fen_and_the_term(client, reviewer):
    # given
    order = _held(reviewer)
    client.force_login(reviewer)

    # when
    data = {
        "action": "decide",
        "status": "approved",
        "approved_amount": "1234.56",
        "approved_term": "3",
        "term_unit": "month",
        # a reason code left selected from an earlier choice is not this decision's: it is dropped
        "reason_code": "other",
    }
    response = client.post(_review(order), data, follow=True)

    # then
    assert response.status_code == 200
    decision = Decision.objects.get(order=order)
    assert (decision.approved_amount_fen, decision.approved_term, decision.term_unit, decision.reason_code_id) == (
        123_456,
        3,
        "month",
        None,
    )


def test_each_refused_term_is_shown_beside_its_field(client, reviewer):
    # given
    order = _held(reviewer)
    client.force_login(reviewer)

    # when: more than requested, no term, no unit
    data = {"action": "decide", "status": "approved", "approved_amount": "5000.01"}
    form = _form(client.post(_review(order), data, follow=True).content.decode())

    # then
    assert any("to the requested amount" in message for message in _errors_of(form, "approved_amount"))
    assert _errors_of(form, "approved_term")
    assert _errors_of(form, "term_unit")
    assert 'value="5000.01"' in form
    assert Order.objects.get(pk=order.pk).review_status == ReviewStatus.IN_REVIEW


def test_the_errors_are_in_chinese_for_a_chinese_reviewer(client, reviewer):
    # given
    order = _held(reviewer)
    client.force_login(reviewer)

    # when
    with translation.override("en"):
        response = client.post(
            _review(order),
            {"action": "decide", "status": "rejected"},
            follow=True,
            headers={"accept-language": "zh-CN,zh;q=0.9"},
        )

    # then
    form = _form(response.content.decode())
    assert _errors_of(form, "reason_code") == ["请选择一个拒绝原因。"]
    assert "设备风险" in form  # the reason codes' Chinese labels


def test_the_supplements_picker_offers_the_orders_own_pushed_fields(client, reviewer):
    # given
    worker, other = _held(reviewer), _held(reviewer)
    EmployerFactory(order=worker)
    client.force_login(reviewer)

    # when
    worker_form = _form(client.get(_page(worker)).content.decode())
    other_form = _form(client.get(_page(other)).content.decode())

    # then
    assert 'value="userAdditional.workOfficeInfo.companyName"' in worker_form
    assert 'value="userAdditional.addressBook.phoneList"' in worker_form
    assert "workOfficeInfo" not in other_form
    assert 'value="orderInfo.orderNo"' not in other_form


def test_needs_info_through_the_form_with_two_fields(client, reviewer):
    # given
    order = _held(reviewer)
    client.force_login(reviewer)
    fields = ["userAdditional.contactInfo.mobile", "userAdditional.addressBook.phoneList"]

    # when
    client.post(_review(order), {"action": "decide", "status": "needs_info", "supplements": fields})

    # then
    assert Decision.objects.get(order=order).supplements == fields


def test_the_order_page_lists_every_decision_newest_first(client, reviewer):
    # given
    order = _held(reviewer)
    services.order_decide(
        order_id=order.pk,
        reviewer=reviewer,
        terms=DecisionTerms(decision="needs_info", supplements=("userAdditional.contactInfo.mobile",)),
    )
    services.order_claim(order_id=order.pk, reviewer=reviewer)
    services.order_decide(
        order_id=order.pk, reviewer=reviewer, terms=DecisionTerms(decision="rejected", reason_code="device_risk")
    )
    client.force_login(reviewer)

    # when
    content = client.get(_page(order)).content.decode()

    # then
    assert re.findall(r'class="decision" data-decision="(\w+)"', content) == ["rejected", "needs_info"]
    assert "userAdditional.contactInfo.mobile" in content
    assert "Device risk" in content


def test_administrators_edit_the_rejection_reasons_but_cannot_delete_them(client):
    # given
    client.force_login(UserFactory(is_superuser=True))
    reason = RejectionReason.objects.get(code="other")

    # when
    change = client.get(reverse("admin:orders_rejectionreason_change", args=[reason.pk]))
    delete = client.post(reverse("admin:orders_rejectionreason_delete", args=[reason.pk]), {"post": "yes"})
    added = client.post(
        reverse("admin:orders_rejectionreason_add"),
        {
            "code": "income_unverified",
            "label_en": "Income unverified",
            "label_zh": "收入无法核实",
            "position": "70",
            "is_active": "on",
        },
    )

    # then
    assert change.status_code == 200
    assert delete.status_code == 403
    assert added.status_code == 302
    assert RejectionReason.objects.filter(code="income_unverified", is_active=True).exists()
