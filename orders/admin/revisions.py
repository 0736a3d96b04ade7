"""What changed when an institution supplied an order again, as the order page shows it (through `orders.pii`)."""

from dataclasses import dataclass, field

from orders import pii
from orders.models import OrderRevision
from orders.push_fields import PHONE_LIST


@dataclass(frozen=True)
class ChangeShown:
    path: str
    old: str
    new: str
    added: list[str] = field(default_factory=list)
    added_count: int = 0
    removed: list[str] = field(default_factory=list)
    removed_count: int = 0

    @property
    def is_address_book(self) -> bool:
        return self.path == PHONE_LIST


@dataclass(frozen=True)
class RevisionShown:
    revision: OrderRevision
    changes: list[ChangeShown]

    @property
    def truncated(self) -> bool:
        return self.revision.change_count > len(self.changes)


def masked_at(path: str, value):
    """`value` masked as the push's masking rules treat the key at `path` (a push body's rules, by key)."""
    keys = path.split(".")
    document = value
    for key in reversed(keys):
        document = {key: document}
    masked = pii.mask_document(document)
    for key in keys:
        if not isinstance(masked, dict) or key not in masked:
            return pii.MASKED
        masked = masked[key]
    return masked


def _change_shown(change: dict, unmasked: bool) -> ChangeShown:
    path = str(change.get("path", ""))
    show = (lambda value: value) if unmasked else (lambda value: masked_at(path, value))
    added, removed = list(change.get("added") or []), list(change.get("removed") or [])
    is_book = path == PHONE_LIST
    return ChangeShown(
        path=path,
        # The address book's old and new are counts; its samples are what is personal.
        old=str(change.get("old", "")) if is_book else str(show(change.get("old", ""))),
        new=str(change.get("new", "")) if is_book else str(show(change.get("new", ""))),
        added=list(show(added)) if added else [],
        added_count=int(change.get("added_count") or 0),
        removed=list(show(removed)) if removed else [],
        removed_count=int(change.get("removed_count") or 0),
    )


def revisions_shown(revisions: list[OrderRevision], user) -> list[RevisionShown]:
    """The revisions with every value as `user` may see it on one order's page (masked without the right)."""
    unmasked = pii.can_view_personal_data(user)
    return [
        RevisionShown(revision, [_change_shown(change, unmasked) for change in revision.changes or []])
        for revision in revisions
    ]
