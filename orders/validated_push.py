"""`ValidatedPush`: a push that passed every rule, as the doors hand it to the orders domain to record."""

from dataclasses import dataclass

from orders import normalizers


@dataclass(frozen=True)
class ValidatedPush:
    """A push that passed every rule, in the shape of the models it becomes."""

    order: dict
    device: dict
    contacts: list[dict]
    employer: dict | None
    address_book: list[normalizers.AddressBookEntry]

    @property
    def order_no(self) -> str:
        return self.order["order_no"]
