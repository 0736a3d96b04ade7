"""State changes of the orders domain, one module per concern; the names callers use are re-exported here.

push: writing an accepted push. revisions: an order supplied again. review: claiming, noting, assigning.
decisions: deciding with terms. staff_tokens: issuing and
revoking staff API tokens. pseudonyms: rewriting the devices' stored masks. retention: the personal-data purge.
sandbox: the daily purge of sandbox institutions' test orders.
"""

from orders.services.decisions import (
    DecisionTerms,
    DecisionTermsError,
    decision_terms_errors,
    order_decide,
    order_has_high_risk,
    order_supplementable_paths,
)
from orders.services.pseudonyms import device_stored_masks_recompute
from orders.services.push import address_book_write, order_create_from_push
from orders.services.retention import personal_data_purge
from orders.services.review import (
    DECISION_STATUSES,
    FINAL_STATUSES,
    MAX_ASSIGN_AT_ONCE,
    AssignResult,
    ReviewError,
    order_add_note,
    order_assign,
    order_assign_selection,
    order_can_claim,
    order_can_decide,
    order_claim,
    order_claim_next,
)
from orders.services.revisions import order_revise_from_push
from orders.services.sandbox import SandboxPurgeResult, sandbox_orders_purge
from orders.services.staff_tokens import IssuedStaffToken, staff_api_token_create, staff_api_token_revoke

__all__ = [
    "DECISION_STATUSES",
    "FINAL_STATUSES",
    "MAX_ASSIGN_AT_ONCE",
    "AssignResult",
    "DecisionTerms",
    "DecisionTermsError",
    "IssuedStaffToken",
    "ReviewError",
    "SandboxPurgeResult",
    "address_book_write",
    "decision_terms_errors",
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
    "order_revise_from_push",
    "order_supplementable_paths",
    "personal_data_purge",
    "sandbox_orders_purge",
    "staff_api_token_create",
    "staff_api_token_revoke",
]
