"""What administrators read about deliveries: an order's newest delivery, and each institution's delivery health."""

from datetime import datetime

from django.db.models import Count, Exists, F, Min, OuterRef, Q, QuerySet, Subquery

from orders.models import Delivery, DeliveryAttempt, DeliveryStatus, FeedbackMode, Institution


def order_delivery(*, order_id: int) -> Delivery | None:
    """The delivery of the order's newest decision (earlier ones are superseded or were delivered before it)."""
    return Delivery.objects.filter(order_id=order_id).order_by("-created_at", "-id").first()


def delivery_health(*, since: datetime) -> QuerySet[Institution]:
    """Institutions that take feedback or have deliveries, with their deliveries' health since `since`, in one query.

    `delivered` and `failed` count deliveries decided since `since` that ended
    so (the success rate is delivered / (delivered + failed)); `pending` and
    `oldest_pending` are over every pending delivery, however old.
    """
    recent = Q(deliveries__created_at__gte=since)
    last_failure = DeliveryAttempt.objects.filter(delivery__institution=OuterRef("pk"), delivered=False).order_by(
        "-started_at", "-id"
    )
    return (
        Institution.objects.filter(
            ~Q(feedback_mode=FeedbackMode.OFF) | Exists(Delivery.objects.filter(institution=OuterRef("pk")))
        )
        .annotate(
            delivered=Count("deliveries", filter=recent & Q(deliveries__status=DeliveryStatus.DELIVERED)),
            failed=Count("deliveries", filter=recent & Q(deliveries__status=DeliveryStatus.FAILED)),
            pending=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
            oldest_pending=Min("deliveries__created_at", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
            last_error_kind=Subquery(last_failure.values("error_kind")[:1]),
            last_error_at=Subquery(last_failure.values("started_at")[:1]),
        )
        .order_by(F("oldest_pending").asc(nulls_last=True), "code")
    )


def success_rate(institution: Institution) -> float | None:
    finished = institution.delivered + institution.failed
    return institution.delivered / finished if finished else None
