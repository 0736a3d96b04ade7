"""The order page (everything pushed, the review trail) and the review forms, actions and views behind it."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from orders import services
from orders.choices import ReviewEventKind, ReviewStatus
from orders.models import Order, PersonalDataAccess, ReviewEvent, RiskSignal
from orders.risk import SIGNAL_CODES
from orders.risk.links import SHOWN_LIMIT
from tests.factories import (
    AddressBookEntryFactory,
    AnalystFactory,
    DeviceFactory,
    OrderFactory,
    ReviewerFactory,
    UserFactory,
    pushed_order,
)

pytestmark = pytest.mark.django_db


def _page(order):
    return reverse("admin:orders_order_change", args=[order.pk])


def _review(order):
    return reverse("admin:orders_order_review", args=[order.pk])


def _messages(response):
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def reviewer():
    return ReviewerFactory()


@pytest.fixture
def supervisor():
    user = ReviewerFactory()
    user.user_permissions.add(Permission.objects.get(codename="assign_order"))
    return user


# --- What the page shows -----------------------------------------------------------------------


def test_order_page_shows_every_section_of_the_push(client, reviewer):
    # given
    order = pushed_order(
        userAdditional__deviceInfo__futureKey="未知值",
        userAdditional__addressBook__size=70,
        userAdditional__contactInfo__mobile="13612345678",
    )
    client.force_login(reviewer)

    # when
    response = client.get(_page(order))

    # then
    assert response.status_code == 200
    content = response.content.decode()
    for section in (
        "order-section",
        "device-section",
        "contacts-section",
        "employer-section",
        "address-book-section",
        "events-section",
        "push-history-section",
    ):
        assert f'id="{section}"' in content
    assert "futureKey" in content
    assert "未知值" in content
    assert order.device.device_id in content
    assert "13612345678" in content
    assert "Parent" in content
    assert order.employer.company_name in content
    assert "70 entries" in content
    assert "the first 50 are shown" in content
    assert f"?order__id__exact={order.pk}" in content
    assert content.count("<tr><td>") >= 50
    assert "&quot;orderInfo&quot;: {" in content  # the raw body, pretty-printed


def test_order_page_masks_phones_for_analysts_and_logs_nothing(client):
    # given
    order = pushed_order(orderInfo__userPhone="13800002222", userAdditional__contactInfo__mobile="13700003333")
    client.force_login(AnalystFactory())

    # when
    content = client.get(_page(order)).content.decode()

    # then
    assert "138****2222" in content
    assert "137****3333" in content
    assert "13800002222" not in content.split('id="push-history-section"')[0]
    assert not PersonalDataAccess.objects.exists()


def test_order_page_logs_one_access_row_for_a_reviewer(client, reviewer):
    # given
    order = pushed_order(orderInfo__userPhone="13800002222")
    client.force_login(reviewer)

    # when
    content = client.get(_page(order)).content.decode()

    # then
    assert "13800002222" in content
    access = PersonalDataAccess.objects.get()
    assert (access.user, access.order_id, access.context) == (reviewer, order.pk, "admin:order_change")


@pytest.mark.parametrize(("book_size", "signal_count", "links"), [(3, 0, 0), (200, 2, 1), (200, 9, 30)])
def test_order_page_queries_do_not_grow_with_the_address_book_or_the_signals(
    client, reviewer, django_assert_num_queries, book_size, signal_count, links
):
    # given
    order = OrderFactory(address_book_count=book_size)
    AddressBookEntryFactory.create_batch(book_size, order=order)
    _signals(order, SIGNAL_CODES[:signal_count], linked=OrderFactory.create_batch(links))
    client.force_login(reviewer)
    client.get(_page(order))

    # when / then: session, user, permissions (2), the dossier (5), its risk signals (1) and, when
    # there are any, their linked orders and how many (1, derived for every signal at once), its decisions
    # and revisions (2), Django's own object fetch, the access-row INSERT. (11 before the risk panel: +1,
    # +1 more only when the order has signals; +2 with the decisions and revisions.)
    with django_assert_num_queries(14 + bool(signal_count)):
        response = client.get(_page(order))
    content = response.content.decode()
    assert content.count('class="risk-signal"') == signal_count
    # the newest linked orders, and how many more
    assert content.count('class="linked-order"') == min(links, SHOWN_LIMIT)
    assert ('class="muted more-linked">+10<' in content) is (links == 30)


def _signals(order, codes, *, linked=(), severity="medium"):
    """Signals on `order`; relational ones relate it, through one device identifier, to the `linked` orders."""
    imei = f"8600000{order.pk:08d}"
    if linked:
        DeviceFactory(order=order, imei=imei)
        for other in linked:
            DeviceFactory(order=other, imei=imei)
    params = {"linked": True, "via": [["imei", imei]]} if linked else None
    return RiskSignal.objects.bulk_create(
        [
            RiskSignal(
                order=order,
                code=code,
                severity=severity,
                reason_zh=f"中文原因 {code}",
                reason_en=f"Reason {code}",
                params=params if code == "shared_device" else None,
            )
            for code in codes
        ]
    )


# --- The risk-signal panel ------------------------------------------------------------------------


def test_risk_panel_lists_each_signal_with_links_to_the_linked_orders(client, reviewer):
    # given: two applicants pushing from one device, the later one from a simulator
    earlier = pushed_order(userAdditional__deviceInfo__deviceId="PANEL-DEVICE")
    later = pushed_order(
        userAdditional__deviceInfo__deviceId="PANEL-DEVICE", userAdditional__deviceInfo__isSimulator="1"
    )
    client.force_login(reviewer)

    # when
    content = client.get(_page(later)).content.decode()

    # then
    panel = content[content.index('id="risk-signals-section"') : content.index('id="order-section"')]
    shared = re.search(r'<tr class="risk-signal" data-code="shared_device">.*?</tr>', panel, re.S).group(0)
    assert "High" in shared
    assert "Shared device" in shared
    # a reviewer holds the personal-data permission: the matching identifier is named in clear
    assert escape("This device (deviceId PANEL-DEVICE) was also used in the orders of 1 other applicant.") in shared
    assert f'<a href="{_page(earlier)}" class="linked-order">{earlier.order_no}</a>' in shared
    assert f"({earlier.institution.code} &middot; Pending)" in shared
    assert 'data-code="simulator"' in panel
    # and the earlier order's page links back (signals are symmetric)
    back = client.get(_page(earlier)).content.decode()
    assert f'<a href="{_page(later)}" class="linked-order">{later.order_no}</a>' in back


def test_risk_panel_puts_the_most_severe_first_and_speaks_the_reviewers_language(client, reviewer):
    # given
    order = OrderFactory()
    _signals(order, ["thin_address_book"], severity="low")
    _signals(order, ["duplicate_contacts"], severity="high")
    _signals(order, ["rooted_device"], severity="medium")
    client.force_login(reviewer)

    # when
    english = client.get(_page(order)).content.decode()
    chinese = client.get(_page(order), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    # then
    assert re.findall(r'data-code="(\w+)"', english) == ["duplicate_contacts", "rooted_device", "thin_address_book"]
    assert "Reason duplicate_contacts" in english
    assert "中文原因" not in english
    assert "中文原因 duplicate_contacts" in chinese
    assert "Reason duplicate_contacts" not in chinese
    assert "联系人重复" in chinese  # the signal's label in Chinese
    assert "<h2>风险信号</h2>" in chinese


def test_risk_panel_says_so_when_there_is_no_signal(client, reviewer):
    # given
    order = OrderFactory()
    client.force_login(reviewer)

    # when
    content = client.get(_page(order)).content.decode()

    # then
    assert 'id="no-risk-signals"' in content
    assert 'class="risk-signal"' not in content
    assert 'id="risk-signals-pending"' not in content


def test_risk_panel_says_when_the_signals_are_not_written_yet(client, reviewer):
    # given: an order answered a moment ago, whose signals follow the response
    order = OrderFactory(risk_pending=True)
    client.force_login(reviewer)

    # when
    content = client.get(_page(order)).content.decode()

    # then: "still being computed", never "no risk signals"
    assert 'id="risk-signals-pending"' in content
    assert "recompute_risk_signals --pending" in content
    assert 'id="no-risk-signals"' not in content


def test_risk_panel_shows_an_unregistered_code_as_it_is_and_escaped(client, reviewer):
    # given: a signal written before its code was renamed or removed
    order = OrderFactory()
    _signals(order, ["<retired>"])
    client.force_login(reviewer)

    # when
    content = client.get(_page(order)).content.decode()

    # then
    assert 'data-code="&lt;retired&gt;"' in content
    assert "<retired>" not in content


def test_a_missing_order_redirects_with_a_message(client, reviewer):
    client.force_login(reviewer)
    response = client.get(reverse("admin:orders_order_change", args=[99999]))
    assert response.status_code == 302


def test_events_are_listed_on_the_page_and_cannot_be_edited(client, reviewer):
    # given
    order = OrderFactory()
    services.order_claim(order_id=order.pk, reviewer=reviewer)
    services.order_add_note(order_id=order.pk, author=reviewer, text="rang the employer")
    event = ReviewEvent.objects.latest("id")
    client.force_login(UserFactory(is_superuser=True))

    # when
    content = client.get(_page(order)).content.decode()
    edit = client.post(reverse("admin:orders_reviewevent_change", args=[event.pk]), {"reason": "rewritten"})
    delete = client.post(reverse("admin:orders_reviewevent_delete", args=[event.pk]), {"post": "yes"})

    # then
    assert "rang the employer" in content
    assert content.count('class="review-event"') == 2
    assert (edit.status_code, delete.status_code) == (403, 403)
    event.refresh_from_db()
    assert event.reason == "rang the employer"


# --- Review through the page ---------------------------------------------------------------------


def test_claim_then_approve_through_the_page(client, reviewer):
    # given
    order = OrderFactory()
    client.force_login(reviewer)
    assert 'id="claim-button"' in client.get(_page(order)).content.decode()

    # when
    claimed = client.post(_review(order), {"action": "claim"}, follow=True)
    decided = client.post(_review(order), {"action": "decide", **_APPROVE, "reason": "ok"}, follow=True)

    # then
    assert "You are reviewing this order." in _messages(claimed)
    assert any("Approved" in message for message in _messages(decided))
    order.refresh_from_db()
    assert order.review_status == ReviewStatus.APPROVED
    assert list(ReviewEvent.objects.filter(order=order).values_list("kind", flat=True)) == [
        ReviewEventKind.CLAIM,
        ReviewEventKind.DECIDE,
    ]
    assert 'id="decision-form"' not in decided.content.decode()


def test_rejecting_without_a_reason_code_shows_the_error_and_changes_nothing(client, reviewer):
    # given
    order = OrderFactory()
    services.order_claim(order_id=order.pk, reviewer=reviewer)
    client.force_login(reviewer)

    # when
    response = client.post(_review(order), {"action": "decide", "status": "rejected", "reason": "x"}, follow=True)

    # then
    assert any("rejection reasons" in message for message in _messages(response))
    order.refresh_from_db()
    assert order.review_status == ReviewStatus.IN_REVIEW


_APPROVE = {"status": "approved", "approved_amount": "0.01", "approved_term": "30", "term_unit": "day"}


def _decision_form(content: str) -> str:
    start = content.index('id="decision-form"')
    return content[start : content.index("</form>", start)]


def test_no_decision_is_preselected(client, reviewer):
    # given
    order = OrderFactory()
    services.order_claim(order_id=order.pk, reviewer=reviewer)
    client.force_login(reviewer)

    # when
    form = _decision_form(client.get(_page(order)).content.decode())

    # then: the empty choice is the selected one, and it is not a decision
    status = form[form.index('name="status"') : form.index("</select>", form.index('name="status"'))]
    assert re.findall(r"<option ([^>]*)>", status)[0] == 'value="" selected'
    assert "selected" not in "".join(re.findall(r"<option ([^>]*)>", status)[1:])
    assert 'name="confirm_high_risk"' not in form  # no high-severity signal: nothing to confirm


def test_a_refused_decision_comes_back_with_what_was_chosen_and_typed(client, reviewer):
    # given
    order = OrderFactory()
    services.order_claim(order_id=order.pk, reviewer=reviewer)
    client.force_login(reviewer)

    # when: needs-information without a field to supply again, then the page reloaded once more
    data = {"action": "decide", "status": "needs_info", "reason": "payslip please"}
    response = client.post(_review(order), data, follow=True)
    form = _decision_form(response.content.decode())
    reloaded = _decision_form(client.get(_page(order)).content.decode())

    # then
    assert '<option value="needs_info" selected>' in form
    assert "payslip please</textarea>" in form
    assert re.search(r'<ul class="errorlist[^"]*"[^>]*><li>Pick at least one pushed field', form)
    assert '<option value="needs_info" selected>' not in reloaded  # the draft is shown once, not forever
    order.refresh_from_db()
    assert order.review_status == ReviewStatus.IN_REVIEW


def test_approving_a_high_severity_order_asks_for_the_confirmation_on_the_same_form(client, reviewer):
    # given: a simulator is a high-severity signal
    order = pushed_order(userAdditional__deviceInfo__isSimulator="1")
    services.order_claim(order_id=order.pk, reviewer=reviewer)
    client.force_login(reviewer)
    assert 'name="confirm_high_risk"' in _decision_form(client.get(_page(order)).content.decode())

    # when: approve without the box, then with it
    data = {"action": "decide", **_APPROVE, "reason": "rang the applicant"}
    refused = client.post(_review(order), data, follow=True)
    status_after_refusal = Order.objects.get(pk=order.pk).review_status
    approved = client.post(_review(order), {**data, "confirm_high_risk": "on"}, follow=True)

    # then
    form = _decision_form(refused.content.decode())
    assert '<option value="approved" selected>' in form
    assert "rang the applicant</textarea>" in form
    assert any("high-severity" in message for message in _messages(refused))
    assert status_after_refusal == ReviewStatus.IN_REVIEW
    assert any("Approved" in message for message in _messages(approved))
    assert Order.objects.get(pk=order.pk).review_status == ReviewStatus.APPROVED


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "decide", "status": "pending"}, "Choose a decision."),
        ({"action": "explode"}, "Unknown review action."),
        ({"action": "note", "text": " "}, "A note cannot be empty."),
    ],
)
def test_bad_review_posts_are_reported(client, reviewer, data, message):
    # given
    order = OrderFactory()
    services.order_claim(order_id=order.pk, reviewer=reviewer)
    client.force_login(reviewer)

    # when
    response = client.post(_review(order), data, follow=True)

    # then
    assert message in _messages(response)
    assert ReviewEvent.objects.count() == 1


def test_a_note_through_the_page(client, reviewer):
    # given
    order = OrderFactory()
    client.force_login(reviewer)

    # when
    client.post(_review(order), {"action": "note", "text": "applicant asked to call back"})

    # then
    assert ReviewEvent.objects.get().reason == "applicant asked to call back"


def test_decide_and_take_next_goes_to_the_next_order(client, reviewer):
    # given
    first, second = OrderFactory.create_batch(2)
    services.order_claim(order_id=first.pk, reviewer=reviewer)
    client.force_login(reviewer)

    # when
    response = client.post(
        _review(first), {"action": "decide", "status": "rejected", "reason_code": "other", "_next": "1"}
    )

    # then
    assert response.url == _page(second)
    second.refresh_from_db()
    assert second.assigned_to == reviewer


def test_analysts_can_neither_see_the_review_forms_nor_post_to_them(client):
    # given
    order = OrderFactory()
    client.force_login(AnalystFactory())

    # when
    page = client.get(_page(order)).content.decode()
    posted = client.post(_review(order), {"action": "claim"})

    # then
    assert 'id="claim-button"' not in page
    assert 'id="note-form"' not in page
    assert posted.status_code == 403
    assert not ReviewEvent.objects.exists()


def test_the_review_view_only_accepts_post(client, reviewer):
    client.force_login(reviewer)
    assert client.get(_review(OrderFactory())).status_code == 405


def test_the_review_view_of_a_missing_order_is_404(client, reviewer):
    client.force_login(reviewer)
    assert client.post(reverse("admin:orders_order_review", args=[424242]), {"action": "claim"}).status_code == 404


def test_claim_next_asks_on_get_and_claims_on_post(client, reviewer):
    # given
    order = OrderFactory()
    client.force_login(reviewer)
    url = reverse("admin:orders_order_claim_next")

    # when
    confirmation = client.get(url)
    claimed = client.post(url)
    empty = client.post(url, follow=True)

    # then
    assert confirmation.status_code == 200
    assert f'href="{reverse("admin:orders_order_changelist")}"'.encode() in confirmation.content  # breadcrumbs
    assert not ReviewEvent.objects.filter(kind="claim").count() > 1
    assert claimed.url == _page(order)
    assert "No unassigned pending orders are waiting." in _messages(empty)
    assert Order.objects.get().assigned_to == reviewer


def test_claim_next_is_forbidden_to_analysts(client):
    client.force_login(AnalystFactory())
    assert client.post(reverse("admin:orders_order_claim_next")).status_code == 403


# --- Bulk assignment -----------------------------------------------------------------------------


def test_supervisor_assigns_selected_orders_through_the_action(client, supervisor):
    # given
    orders = OrderFactory.create_batch(3)
    target = ReviewerFactory()
    client.force_login(supervisor)
    selection = {"action": "assign_to_reviewer", "_selected_action": [o.pk for o in orders[:2]], "index": "0"}

    # when
    form_page = client.post(reverse("admin:orders_order_changelist"), selection)
    applied = client.post(
        reverse("admin:orders_order_changelist"), {**selection, "apply": "1", "reviewer": target.pk}, follow=True
    )

    # then
    assert form_page.status_code == 200
    assert b"Assign orders to a reviewer" in form_page.content
    assert f'href="{reverse("admin:orders_order_changelist")}"'.encode() in form_page.content  # breadcrumbs
    assert any("2 order(s) assigned" in message for message in _messages(applied))
    assert set(Order.objects.filter(assigned_to=target).values_list("pk", flat=True)) == {o.pk for o in orders[:2]}


def test_the_assign_action_is_offered_only_to_supervisors(client, reviewer, supervisor):
    # given
    OrderFactory()
    changelist = reverse("admin:orders_order_changelist")

    # when
    client.force_login(reviewer)
    as_reviewer = client.get(changelist).content.decode()
    client.force_login(supervisor)
    as_supervisor = client.get(changelist).content.decode()

    # then
    assert "assign_to_reviewer" not in as_reviewer
    assert "assign_to_reviewer" in as_supervisor


def test_assigning_to_someone_who_cannot_review_is_refused(client, supervisor):
    # given
    order = OrderFactory()
    client.force_login(supervisor)

    # when
    response = client.post(
        reverse("admin:orders_order_changelist"),
        {"action": "assign_to_reviewer", "_selected_action": [order.pk], "apply": "1", "reviewer": AnalystFactory().pk},
    )

    # then: the form does not accept a non-reviewer; nothing is assigned
    assert response.status_code == 200
    assert b"Select a valid choice" in response.content
    order.refresh_from_db()
    assert order.assigned_to is None


def test_selecting_more_orders_than_the_service_assigns_at_once_is_refused_before_the_form(
    client, supervisor, monkeypatch
):
    # given: the limit is the service's
    monkeypatch.setattr(services.review, "MAX_ASSIGN_AT_ONCE", 2)  # where the service reads it
    orders = OrderFactory.create_batch(3)
    client.force_login(supervisor)

    # when
    response = client.post(
        reverse("admin:orders_order_changelist"),
        {"action": "assign_to_reviewer", "_selected_action": [o.pk for o in orders], "index": "0"},
        follow=True,
    )

    # then
    assert b"Assign orders to a reviewer" not in response.content
    assert any("Select at most 2 orders to assign at once." in message for message in _messages(response))
    assert not Order.objects.filter(assigned_to__isnull=False).exists()


# --- The other admin pages ----------------------------------------------------------------------


def test_address_book_list_filtered_to_one_order_masks_for_analysts(client):
    # given
    order = OrderFactory()
    AddressBookEntryFactory(order=order, phone="+86 139 1234 5678", phone_digits="13912345678")
    AddressBookEntryFactory()
    client.force_login(AnalystFactory())

    # when
    response = client.get(reverse("admin:orders_addressbookentry_changelist"), {"order__id__exact": order.pk})

    # then
    content = response.content.decode()
    assert len(response.context["cl"].result_list) == 1
    assert "861******5678" in content  # the number as pushed, masked like every phone (orders.pii)
    assert "1234 5678" not in content
    assert not PersonalDataAccess.objects.exists()


def test_address_book_list_is_masked_for_reviewers_too_a_list_is_a_bulk_read(client, reviewer):
    # given
    order = OrderFactory()
    entries = AddressBookEntryFactory.create_batch(3, order=order)
    client.force_login(reviewer)

    # when
    response = client.get(reverse("admin:orders_addressbookentry_changelist"), {"order__id__exact": order.pk})

    # then: reviewers see full numbers one order at a time (the order page), not in lists
    content = response.content.decode()
    assert all(entry.phone not in content for entry in entries)
    assert not PersonalDataAccess.objects.exists()


def test_personal_data_access_list_is_for_administrators(client, reviewer):
    # given
    order = OrderFactory(order_no="SEEN")
    other = OrderFactory()
    from orders.pii import personal_data_access_record

    personal_data_access_record(user=reviewer, order_ids=[order.pk, other.pk], context="test")
    url = reverse("admin:orders_personaldataaccess_changelist")

    # when
    client.force_login(reviewer)
    as_reviewer = client.get(url)
    client.force_login(UserFactory(is_superuser=True))
    by_order = client.get(url, {"order_no": "SEEN"})
    by_user = client.get(url, {"user__id__exact": reviewer.pk})

    # then
    assert as_reviewer.status_code == 403
    assert [access.order_id for access in by_order.context["cl"].result_list] == [order.pk]
    assert len(by_user.context["cl"].result_list) == 2


def test_the_admin_speaks_chinese_to_a_chinese_browser(client, reviewer):
    # given
    order = OrderFactory()
    client.force_login(reviewer)

    # when: (the middleware leaves the language active on this thread; override puts it back after)
    with translation.override("en"):
        response = client.get(_page(order), headers={"accept-language": "zh-CN,zh;q=0.9"})

    # then
    content = response.content.decode()
    assert "审核" in content  # "Review" section
    assert "推送记录" in content  # "Push history"
