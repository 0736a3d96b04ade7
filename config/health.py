"""The health check (`GET /healthz`) that load balancers and monitoring probe."""

from django.db import DatabaseError, connection
from django.http import JsonResponse

from config.errors import outage_headers


def healthz(request):
    """200 when the database answers, 503 otherwise; for load balancers and monitoring."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503, headers=outage_headers())
    return JsonResponse({"status": "ok", "database": "ok"})
