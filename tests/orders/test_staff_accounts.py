"""`create_staff_user`: an administrator makes a staff account; its holder logs in and opens what the role allows."""

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from orders.models import Order, PersonalDataAccess
from tests.factories import DeviceFactory, OrderFactory, UserFactory

User = get_user_model()


def create_staff_user(*args) -> str:
    out = StringIO()
    call_command("create_staff_user", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def printed_password(output: str) -> str:
    (password,) = re.findall(r"^password=(\S+)$", output, flags=re.MULTILINE)
    return password


def logged_in(username: str, password: str) -> Client:
    """A browser that logged in through the admin's login form, as the person would."""
    browser = Client()
    response = browser.post("/admin/login/", {"username": username, "password": password, "next": "/admin/"})
    assert response.status_code == 302, "the login was refused"
    assert response["Location"] == "/admin/"
    return browser


@pytest.fixture
def order(db):
    order = OrderFactory(user_phone="13761234508")
    DeviceFactory(order=order)
    return order


# --- The command ------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["reviewer", "supervisor", "analyst"])
def test_a_generated_password_is_printed_once_and_logs_the_new_staff_user_in(monkeypatch, role):
    monkeypatch.delenv("STAFF_USER_PASSWORD", raising=False)

    output = create_staff_user("mei", "--role", role)

    password = printed_password(output)
    assert len(password) >= 16
    assert output.count(password) == 1
    user = User.objects.get(username="mei")
    assert (user.is_staff, user.is_superuser, user.is_active) == (True, False, True)
    assert list(user.groups.values_list("name", flat=True)) == [role]
    assert logged_in("mei", password).get("/admin/").status_code == 200


@pytest.mark.django_db
def test_the_password_from_the_environment_is_used_and_never_printed(monkeypatch):
    monkeypatch.setenv("STAFF_USER_PASSWORD", "lantern-Quarry-42-ferry")

    output = create_staff_user("jun", "--role", "analyst", "--email", "jun@example.com")

    assert "lantern-Quarry-42-ferry" not in output
    assert "password=" not in output
    assert "STAFF_USER_PASSWORD" in output
    assert User.objects.get(username="jun").email == "jun@example.com"
    assert logged_in("jun", "lantern-Quarry-42-ferry").get("/admin/").status_code == 200


@pytest.mark.django_db
def test_a_weak_password_from_the_environment_is_refused_and_nothing_is_created(monkeypatch):
    monkeypatch.setenv("STAFF_USER_PASSWORD", "12345678")

    with pytest.raises(CommandError, match=r"STAFF_USER_PASSWORD is refused: .*too common"):
        create_staff_user("lin", "--role", "reviewer")

    assert not User.objects.filter(username="lin").exists()


@pytest.mark.django_db
def test_an_unknown_role_is_refused_naming_the_roles():
    with pytest.raises(CommandError, match=r"invalid choice: 'admin' .*'reviewer', 'supervisor', 'analyst'"):
        create_staff_user("lin", "--role", "admin")

    assert not User.objects.filter(username="lin").exists()


@pytest.mark.django_db
def test_an_existing_username_is_refused_and_keeps_its_password(monkeypatch):
    monkeypatch.delenv("STAFF_USER_PASSWORD", raising=False)
    first = printed_password(create_staff_user("mei", "--role", "reviewer"))

    with pytest.raises(CommandError, match=r"'mei' already exists.*--reset-password"):
        create_staff_user("mei", "--role", "analyst")

    assert list(User.objects.get(username="mei").groups.values_list("name", flat=True)) == ["reviewer"]
    logged_in("mei", first)


@pytest.mark.django_db
def test_reset_password_issues_a_new_one_and_makes_the_role_the_only_one(monkeypatch):
    monkeypatch.delenv("STAFF_USER_PASSWORD", raising=False)
    old = printed_password(create_staff_user("mei", "--role", "reviewer"))

    new = printed_password(create_staff_user("mei", "--role", "supervisor", "--reset-password"))

    assert new != old
    assert list(User.objects.get(username="mei").groups.values_list("name", flat=True)) == ["supervisor"]
    assert Client().post("/admin/login/", {"username": "mei", "password": old}).status_code == 200  # form again
    logged_in("mei", new)


@pytest.mark.django_db
def test_reset_password_refuses_an_unknown_user_and_an_administrator():
    UserFactory(username="root", is_superuser=True)

    with pytest.raises(CommandError, match="No user 'ghost'"):
        create_staff_user("ghost", "--role", "reviewer", "--reset-password")
    with pytest.raises(CommandError, match=r"administrator.*changepassword root"):
        create_staff_user("root", "--role", "reviewer", "--reset-password")

    assert User.objects.get(username="root").groups.count() == 0


# --- What each role can open ------------------------------------------------------------------------

# The HTTP status of each page for each role (the assign action: whether its form opens); {id} is the order's.
PAGES = {
    "admin order list": ("GET", "/admin/orders/order/"),
    "admin order page": ("GET", "/admin/orders/order/{id}/change/"),
    "admin CSV export": ("GET", "/admin/orders/order/export.csv"),
    "push log": ("GET", "/admin/orders/pushlog/"),
    "institutions": ("GET", "/admin/orders/institution/"),
    "staff accounts": ("GET", "/admin/auth/user/"),
    "API list": ("GET", "/api/v1/orders/"),
    "API detail": ("GET", "/api/v1/orders/{id}/"),
    "API CSV": ("GET", "/api/v1/orders/?format=csv"),
    "assign": ("POST", "/admin/orders/order/"),
}
EXPECTED = {
    "reviewer": {
        "admin order list": 200,
        "admin order page": 200,
        "admin CSV export": 403,
        "push log": 200,
        "institutions": 403,
        "staff accounts": 403,
        "API list": 200,
        "API detail": 200,
        "API CSV": 403,
        "assign": "refused",  # the action is not offered: nothing assigned
    },
    "supervisor": {
        "admin order list": 200,
        "admin order page": 200,
        "admin CSV export": 403,
        "push log": 200,
        "institutions": 403,
        "staff accounts": 403,
        "API list": 200,
        "API detail": 200,
        "API CSV": 403,
        "assign": "form",  # the form choosing the reviewer
    },
    "analyst": {
        "admin order list": 200,
        "admin order page": 200,
        "admin CSV export": 200,
        "push log": 403,
        "institutions": 403,
        "staff accounts": 403,
        "API list": 200,
        "API detail": 200,
        "API CSV": 200,
        "assign": "refused",
    },
}


@pytest.mark.django_db
@pytest.mark.parametrize("role", EXPECTED)
def test_each_role_opens_what_it_is_allowed_and_nothing_else(monkeypatch, order, role):
    monkeypatch.delenv("STAFF_USER_PASSWORD", raising=False)
    browser = logged_in("staff1", printed_password(create_staff_user("staff1", "--role", role)))

    statuses = {}
    for page, (method, url) in PAGES.items():
        url = url.format(id=order.pk)
        if method == "POST":
            data = {"action": "assign_to_reviewer", "_selected_action": [order.pk], "index": 0}
            response = browser.post(url, data)
            assert response.status_code in (200, 302)
            statuses[page] = "form" if b'name="apply"' in response.content else "refused"
        else:
            response = browser.get(url)
            if hasattr(response, "streaming_content"):
                b"".join(response.streaming_content)
            statuses[page] = response.status_code

    assert statuses == EXPECTED[role]
    assert Order.objects.get().assigned_to is None


@pytest.mark.django_db
def test_a_supervisor_assigns_an_order_to_a_reviewer(monkeypatch, order):
    monkeypatch.delenv("STAFF_USER_PASSWORD", raising=False)
    create_staff_user("wei", "--role", "reviewer")
    browser = logged_in("boss", printed_password(create_staff_user("boss", "--role", "supervisor")))
    reviewer = User.objects.get(username="wei")

    response = browser.post(
        "/admin/orders/order/",
        {
            "action": "assign_to_reviewer",
            "_selected_action": [order.pk],
            "index": 0,
            "apply": "1",
            "reviewer": reviewer.pk,
            "reason": "first day",
        },
    )

    assert response.status_code == 302
    assert Order.objects.get().assigned_to == reviewer


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "sees_phone", "records"), [("reviewer", True, 1), ("analyst", False, 0)])
def test_a_reviewer_sees_the_applicants_phone_with_a_record_and_an_analyst_does_not(
    monkeypatch, order, role, sees_phone, records
):
    monkeypatch.delenv("STAFF_USER_PASSWORD", raising=False)
    browser = logged_in("staff1", printed_password(create_staff_user("staff1", "--role", role)))

    page = browser.get(f"/admin/orders/order/{order.pk}/change/").content.decode()

    assert ("13761234508" in page) is sees_phone
    assert PersonalDataAccess.objects.filter(user__username="staff1").count() == records
