"""Rewriting the devices' stored masked columns, after the pseudonym key changed."""

from django.db import transaction

from orders.models import Device
from orders.pii import STORED_MASK_FIELDS, STORED_MASK_SOURCES, device_stored_masks


def device_stored_masks_recompute(*, model=Device, batch_size: int = 2000, progress=None) -> int:
    """Rewrite every device's stored masked columns (pseudonyms under the current PII_PSEUDONYM_KEY), a batch per
    transaction (keyset on the primary key, one bulk UPDATE per batch); returns the count.

    `model` lets the migration that adds the columns pass its historical model."""
    done, last_pk = 0, 0
    while True:
        with transaction.atomic():
            rows = model.objects.filter(pk__gt=last_pk).order_by("pk").only("pk", *STORED_MASK_SOURCES)
            batch = list(rows[:batch_size])
            if not batch:
                return done
            for device in batch:
                for name, value in device_stored_masks(device).items():
                    setattr(device, name, value)
            model.objects.bulk_update(batch, STORED_MASK_FIELDS)
        done += len(batch)
        last_pk = batch[-1].pk
        if progress:
            progress(done)
