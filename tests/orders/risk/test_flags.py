"""Reading risk signals: flags per order, the filter by signal, and the admin building blocks."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from orders.admin.risk import RiskFlagsAdminMixin, risk_flags_column
from orders.models import Order, RiskSignal
from orders.pii import pseudonym
from orders.risk import filter_by_flag, risk_flags_annotation, risk_flags_of
from tests.factories import (
    AnalystFactory,
    OrderFactory,
    PushPayloadFactory,
    ReviewerFactory,
    UserFactory,
    pushed_order,
)

pytestmark = pytest.mark.django_db


def flagged(*codes: str) -> Order:
    order = OrderFactory()
    RiskSignal.objects.bulk_create(
        [RiskSignal(order=order, code=code, severity="low", reason_zh="原因", reason_en="reason") for code in codes]
    )
    return order


def test_annotation_joins_codes_in_code_order(django_assert_num_queries):
    # given
    both = flagged("simulator", "rooted_device", "shared_device")
    none = flagged()
    one = flagged("thin_address_book")

    # when
    with django_assert_num_queries(1):
        flags = dict(Order.objects.annotate(risk_flags=risk_flags_annotation()).values_list("pk", "risk_flags"))

    # then
    assert flags == {both.pk: "rooted_device;shared_device;simulator", none.pk: "", one.pk: "thin_address_book"}


@pytest.mark.parametrize("count", [2, 20])
def test_annotated_page_is_one_query_whatever_its_size(django_assert_num_queries, count):
    # given
    for _ in range(count):
        flagged("simulator", "duplicate_contacts")

    # when
    with django_assert_num_queries(1):
        orders = list(Order.objects.annotate(risk_flags=risk_flags_annotation()))
        codes = [risk_flags_of(order) for order in orders]

    # then
    assert codes == [["duplicate_contacts", "simulator"]] * count


def test_annotation_from_a_related_model():
    # given
    order = flagged("simulator")

    # when
    rows = RiskSignal.objects.filter(order=order).annotate(flags=risk_flags_annotation("order")).values_list("flags")

    # then
    assert list(rows) == [("simulator",)]


def test_flags_of_a_prefetched_order_without_annotation(django_assert_num_queries):
    # given
    flagged("simulator", "rooted_device")

    # when
    with django_assert_num_queries(2):
        (order,) = Order.objects.prefetch_related("risk_signals")
        codes = risk_flags_of(order)

    # then
    assert codes == ["rooted_device", "simulator"]


def test_filter_by_flag_keeps_orders_with_that_signal():
    # given
    rooted = flagged("rooted_device", "simulator")
    flagged("simulator")
    flagged()

    # when
    found = filter_by_flag(Order.objects.all(), "rooted_device")

    # then
    assert list(found) == [rooted]


def test_filter_by_flag_refuses_an_unknown_code():
    # given / when / then
    with pytest.raises(ValueError, match="Unknown risk signal"):
        filter_by_flag(Order.objects.all(), "made_up")


def test_pushed_orders_carry_their_flags():
    # given
    order = pushed_order(None, PushPayloadFactory(userAdditional__deviceInfo__isSimulator="1"))

    # when
    annotated = Order.objects.annotate(risk_flags=risk_flags_annotation()).get(pk=order.pk)

    # then
    assert "simulator" in risk_flags_of(annotated)
    assert filter_by_flag(Order.objects.all(), "simulator").get() == order


# --- admin building blocks -------------------------------------------------------------------


class _OrderAdmin(RiskFlagsAdminMixin, admin.ModelAdmin):
    list_display = ["order_no", risk_flags_column]


def _request(**params):
    request = RequestFactory().get("/admin/orders/order/", params)
    request.user = UserFactory(is_superuser=True)
    return request


def test_flags_column_from_the_admin_queryset(django_assert_num_queries):
    # given
    flagged("simulator", "rooted_device")
    flagged()
    model_admin = _OrderAdmin(Order, admin.site)
    request = _request()

    # when
    with django_assert_num_queries(1):
        cells = [risk_flags_column(order) for order in model_admin.get_queryset(request).order_by("pk")]

    # then: labelled badges, the most severe first, the code in the tooltip
    assert cells == [
        '<span class="risk-flag risk-flag-high" title="simulator">Simulator</span> '
        '<span class="risk-flag risk-flag-medium" title="rooted_device">Rooted device</span>',
        "-",
    ]


def test_flags_column_escapes_unregistered_codes():
    # given: a row written by an older version with a code since removed
    order = flagged()
    order.risk_flags = "<b>old</b>"

    # when
    cell = risk_flags_column(order)

    # then
    assert "&lt;b&gt;old&lt;/b&gt;" in cell


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_order_page_reasons_are_masked_for_an_analyst_and_clear_for_a_reviewer(client, language):
    # given: two applicants on one device
    pushed_order(userAdditional__deviceInfo__deviceId="READS-DEVICE-1")
    later = pushed_order(userAdditional__deviceInfo__deviceId="READS-DEVICE-1")
    page = reverse("admin:orders_order_change", args=[later.pk])
    # when
    client.force_login(AnalystFactory())
    as_analyst = client.get(page, headers={"accept-language": language}).content.decode()
    client.force_login(ReviewerFactory())
    as_reviewer = client.get(page, headers={"accept-language": language}).content.decode()
    # then
    panel = as_analyst[as_analyst.index('id="risk-signals-section"') : as_analyst.index('id="order-section"')]
    assert f"deviceId {pseudonym('READS-DEVICE-1')}" in panel
    assert "READS-DEVICE-1" not in panel
    assert "deviceId READS-DEVICE-1" in as_reviewer
    assert ("也出现在其他 1 个申请人的订单中" in panel) is (language == "zh-hans")
