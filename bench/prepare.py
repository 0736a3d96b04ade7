"""`python -m bench.prepare`: inside Django, issue the benchmark's credentials and print them as JSON.

Run by the runner against each benchmark database: an institution (through the
service, with a rate limit high enough not to throttle the benchmark), a
superuser and an analyst, each with a logged-in session for the admin and the export.
"""

import json
import os
import time

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    from orders.institutions import institution_create

    institution, credentials = institution_create(
        code=f"bench-{int(time.time())}-{os.getpid()}", name="Benchmark", rate_limit_per_minute=10**9
    )
    user_model = get_user_model()
    user = user_model.objects.filter(username="bench-admin").first()
    if user is None:
        user = user_model.objects.create_superuser("bench-admin", "bench@example.com", None)
    # An analyst sees every list and export masked: the export is measured as both.
    analyst, _ = user_model.objects.get_or_create(username="bench-analyst", defaults={"is_staff": True})
    analyst.groups.add(Group.objects.get(name="analyst"))
    cookie = settings.SESSION_COOKIE_NAME

    def session(someone) -> str:
        client = Client()
        client.force_login(someone)
        return f"{cookie}={client.cookies[cookie].value}"

    print(
        json.dumps(
            {
                "institution_id": institution.pk,
                "api_token": credentials.api_token,
                "session_cookie": session(user),
                "analyst_session_cookie": session(analyst),
            }
        )
    )


if __name__ == "__main__":
    main()
