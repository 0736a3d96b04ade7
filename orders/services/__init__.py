"""State changes of the orders domain, one module per concern; the names callers use are re-exported here.

push: writing an accepted push. review: claiming, deciding, noting, assigning. staff_tokens: issuing and
revoking staff API tokens. pseudonyms: rewriting the devices' stored masks. retention: the personal-data purge.
sandbox: the daily purge of sandbox institutions' test orders.
"""

from orders.services.pseudonyms import device_stored_masks_recompute
from orders.services.push import address_book_write, order_create_from_push
from orders.services.retention import personal_data_purge
from orders.services.review import (
    DECISION_STATUSES,
    FINAL_STATUSES,
    MAX_ASSIGN_AT_ONCE,
    REASON_REQUIRED_STATUSES,
    AssignResult,
    ReviewError,
    order_add_note,
    order_assign,
    order_assign_selection,
    order_can_claim,
    order_can_decide,
    order_claim,
    order_claim_next,
    order_decide,
    order_has_high_risk,
)
from orders.services.sandbox import SandboxPurgeResult, sandbox_orders_purge
from orders.services.staff_tokens import IssuedStaffToken, staff_api_token_create, staff_api_token_revoke

__all__ = [
    "DECISION_STATUSES",
    "FINAL_STATUSES",
    "MAX_ASSIGN_AT_ONCE",
    "REASON_REQUIRED_STATUSES",
    "AssignResult",
    "IssuedStaffToken",
    "ReviewError",
    "SandboxPurgeResult",
    "address_book_write",
    "device_stored_masks_recompute",
    "order_add_note",
    "order_assign",
    "order_assign_selection",
    "order_can_claim",
    "order_can_decide",
    "order_claim",
    "order_claim_next",
    "order_create_from_push",
    "order_decide",
    "order_has_high_risk",
    "personal_data_purge",
    "sandbox_orders_purge",
    "staff_api_token_create",
    "staff_api_token_revoke",
]
