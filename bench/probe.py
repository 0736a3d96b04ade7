"""`python -m bench.probe`: inside Django, print what the runner reads through the project's own code, as JSON.

Today: the signal lock waits recorded in the database
(`orders.risk.locks.signal_lock_waits`), or null with the reason when this
version of the project does not record them.
"""

import json
import os

import django


def lock_waits() -> dict:
    try:
        from orders.risk.locks import signal_lock_waits
    except ImportError as error:
        return {"lock_waits": None, "lock_waits_note": f"n/a ({error})"}
    return {"lock_waits": int(signal_lock_waits()), "lock_waits_note": ""}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    print(json.dumps(lock_waits()))


if __name__ == "__main__":
    main()
