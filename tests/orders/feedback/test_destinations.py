"""SSRF: only https to public addresses, unless FEEDBACK_ALLOWED_HOSTS says otherwise, checked before every attempt."""

import socket

import pytest

from orders.feedback import sender, services
from orders.feedback.destinations import Allowed, DestinationRefusedError, destination_check, feedback_url_problem
from orders.models import DeliveryErrorKind, DeliveryStatus, FeedbackMode
from tests.orders.feedback.conftest import decided, feedback_institution, record

NONE_ALLOWED = Allowed.parse([])
LOOPBACK_ALLOWED = Allowed.parse(["127.0.0.1"])
PUBLIC = "93.184.216.34"


def resolving_to(*addresses):
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    "url",
    [
        "http://lender.example.com/feedback",  # plain http
        "ftp://lender.example.com/feedback",
        "https://user:pw@lender.example.com/feedback",
        "https://10.0.0.5/feedback",
        "https://127.0.0.1:8443/feedback",
        "https://[::1]/feedback",
        "https://169.254.169.254/latest/meta-data",
        "not a url",
    ],
)
def test_urls_refused_before_any_name_is_resolved(url):
    assert feedback_url_problem(url, NONE_ALLOWED) is not None


@pytest.mark.parametrize(
    ("entries", "url"),
    [
        ([], "https://lender.example.com/feedback"),
        (["127.0.0.1"], "http://127.0.0.1:8000/feedback"),
        (["10.1.0.0/16"], "https://10.1.2.3/feedback"),
        (["receiver.internal"], "http://receiver.internal/feedback"),
    ],
)
def test_urls_accepted(entries, url):
    assert feedback_url_problem(url, Allowed.parse(entries)) is None


@pytest.mark.parametrize(
    "address",
    ["10.0.0.5", "127.0.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "::1", "::ffff:10.0.0.5", "0.0.0.0"],
)
def test_a_name_resolving_to_a_private_address_is_refused(address):
    with pytest.raises(DestinationRefusedError):
        destination_check("https://lender.example.com/", resolver=resolving_to(address), allowed=NONE_ALLOWED)


def test_a_name_resolving_to_public_and_private_addresses_is_refused():
    with pytest.raises(DestinationRefusedError):
        destination_check(
            "https://lender.example.com/", resolver=resolving_to(PUBLIC, "10.0.0.5"), allowed=NONE_ALLOWED
        )


def test_the_checked_address_is_the_one_connected_to():
    # when
    destination = destination_check(
        "https://lender.example.com:8443/hook?a=1", resolver=resolving_to(PUBLIC), allowed=NONE_ALLOWED
    )

    # then: the Host header and TLS use the name, the connection goes to the checked address
    assert (destination.host, destination.address, destination.port, destination.target) == (
        "lender.example.com",
        PUBLIC,
        8443,
        "/hook?a=1",
    )


def test_an_allowed_network_admits_its_resolved_addresses():
    allowed = Allowed.parse(["10.1.0.0/16"])
    assert destination_check("https://lender.example.com/", resolver=resolving_to("10.1.9.9"), allowed=allowed)
    with pytest.raises(DestinationRefusedError):
        destination_check("https://lender.example.com/", resolver=resolving_to("10.2.0.1"), allowed=allowed)


@pytest.mark.django_db
def test_a_loopback_receiver_not_allowed_is_never_contacted(receiver, enqueued, settings):
    # given: the receiver listens on loopback, which the setting no longer allows
    settings.FEEDBACK_ALLOWED_HOSTS = []
    delivery = record(decided(feedback_institution(FeedbackMode.CHANNEL, receiver.url)))

    # when
    attempt = services.delivery_attempt(delivery_id=delivery.pk)

    # then
    assert attempt.error_kind == DeliveryErrorKind.DESTINATION_REFUSED
    assert receiver.received == []


@pytest.mark.django_db
def test_a_dns_answer_that_changes_to_a_private_address_is_refused_before_connecting(enqueued, monkeypatch):
    # given: a name that resolved to a public address, then to an internal one (DNS rebinding)
    connected = []
    monkeypatch.setattr(
        services, "post", lambda destination, **kwargs: connected.append(destination.address) or sender.Answer(500)
    )
    monkeypatch.setattr(socket, "create_connection", lambda *args, **kwargs: pytest.fail("connected"))
    delivery = record(decided(feedback_institution(FeedbackMode.CHANNEL, "https://lender.example.com/feedback")))
    answers = iter([[PUBLIC], ["10.0.0.5"]])
    resolver = lambda host, port: next(answers)  # noqa: E731

    # when
    first = services.delivery_attempt(delivery_id=delivery.pk, resolver=resolver)
    delivery.refresh_from_db()
    second = services.delivery_attempt(
        delivery_id=delivery.pk, resolver=resolver, clock=lambda: delivery.next_attempt_at
    )

    # then: the second attempt never connected, and the delivery is still retried (the DNS may be fixed)
    assert connected == [PUBLIC]
    assert first.http_status == 500
    assert second.error_kind == DeliveryErrorKind.DESTINATION_REFUSED
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING


@pytest.mark.django_db
def test_a_name_that_does_not_resolve_is_a_dns_error(enqueued):
    # given
    delivery = record(decided(feedback_institution(FeedbackMode.CHANNEL, "https://lender.example.com/feedback")))

    def unresolvable(host, port):
        raise socket.gaierror("Name or service not known")

    # when
    attempt = services.delivery_attempt(delivery_id=delivery.pk, resolver=unresolvable)

    # then
    assert attempt.error_kind == DeliveryErrorKind.DNS
