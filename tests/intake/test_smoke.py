"""A first end-to-end push of each sample."""

import pytest

from orders.models import Order
from tests.factories import PushPayloadFactory, sample


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["push-ios-office-worker.json", "push-android-no-employer.json"])
def test_sample_is_accepted(push, name):
    response = push(sample(name))
    assert response.status_code == 201, response.json()
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_factory_payload_is_accepted(push):
    response = push(PushPayloadFactory(userAdditional__addressBook__size=50))
    assert response.status_code == 201, response.json()
    assert Order.objects.get().address_book.count() == 50
