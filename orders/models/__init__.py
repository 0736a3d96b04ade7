"""The orders app's models, one module per concern, re-exported here so `orders.models.X` keeps working."""

from orders.models.audit import ExportLog, PersonalDataAccess, PersonalDataPurge
from orders.models.decisions import Decision, OrderRevision, RejectionReason
from orders.models.institutions import Institution, PushLog, PushOutcome
from orders.models.orders import AddressBookEntry, Contact, Device, Employer, Order
from orders.models.review import ReviewEvent
from orders.models.risk import RiskSignal
from orders.models.staff_tokens import StaffApiToken

__all__ = [
    "AddressBookEntry",
    "Contact",
    "Decision",
    "Device",
    "Employer",
    "ExportLog",
    "Institution",
    "Order",
    "OrderRevision",
    "PersonalDataAccess",
    "PersonalDataPurge",
    "PushLog",
    "PushOutcome",
    "RejectionReason",
    "ReviewEvent",
    "RiskSignal",
    "StaffApiToken",
]
