"""The one filtering language for orders (docs/contract.md §4), shared by the read API, its CSV exports and the admin.

Every filter validates strictly: a value it cannot read is an error naming the
parameter, never a filter silently dropped (an analyst would otherwise export
the whole table believing it filtered).
"""

import re
from datetime import date, datetime, time, timedelta

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders.choices import OsKind, ReviewStatus
from orders.models import Institution, Order
from orders.normalizers import MOBILE_RE, ORDER_NO_MAX_LENGTH, phone_digits
from orders.risk import filter_by_flag, signal_choices

_DATE_ONLY_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
# `+08:00` in a query string that was not percent-encoded arrives as ` 08:00`.
_DECODED_PLUS_OFFSET_RE = re.compile(r"(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)")
_PHONE_JUNK_RE = re.compile(r"[^\d\s\-+()]")
_TRI_STATE = {"true": True, "1": True, "false": False, "0": False, "unknown": None, "null": None}


class DateOrDateTimeField(forms.Field):
    """An ISO 8601 date (`2024-05-01`) or datetime (`2024-05-01T08:30`, `...+08:00`, `...Z`).

    Returns a `date` for a date and an aware `datetime` for a datetime; naive
    times are Beijing time, the time analysts and institutions think in.
    """

    default_error_messages = {
        "invalid": _("Enter an ISO 8601 date (2024-05-01) or datetime (2024-05-01T08:30:00+08:00)."),
    }

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        try:
            if _DATE_ONLY_RE.fullmatch(text):
                return date.fromisoformat(text)
            moment = datetime.fromisoformat(_DECODED_PLUS_OFFSET_RE.sub(r"\1+\2", text))
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, timezone.get_default_timezone())
        return moment


def _start_of_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


class ReceivedAtFilter(django_filters.Filter):
    """`received_at` bound; a date covers its whole day (Beijing time), both bounds inclusive."""

    field_class = DateOrDateTimeField

    def __init__(self, *args, upper: bool, **kwargs):
        self.upper = upper
        super().__init__(*args, field_name="received_at", **kwargs)

    def filter(self, qs, value):
        if value is None:
            return qs
        if isinstance(value, datetime):
            return qs.filter(received_at__lte=value) if self.upper else qs.filter(received_at__gte=value)
        if self.upper:
            return qs.filter(received_at__lt=_start_of_day(value + timedelta(days=1)))
        return qs.filter(received_at__gte=_start_of_day(value))


class MobilePhoneField(forms.CharField):
    """A mainland mobile as people type it, cleaned to the 11 digits `Order.user_phone` holds."""

    default_error_messages = {
        "invalid": _("Enter a mainland mobile number, e.g. 13812340000 or +86 138-1234-0000."),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)

    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return text
        digits = phone_digits(text)
        if _PHONE_JUNK_RE.search(text) or not MOBILE_RE.fullmatch(digits):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return digits


class MobilePhoneFilter(django_filters.CharFilter):
    field_class = MobilePhoneField


class StrictIntegerFilter(django_filters.Filter):
    """An integer bound; `django_filters.NumberFilter` would accept `1.5` fen."""

    field_class = forms.IntegerField


class TriStateField(forms.ChoiceField):
    def to_python(self, value):
        return super().to_python(value).strip().lower()


class TriStateFilter(django_filters.Filter):
    """A nullable boolean: `true`/`1`, `false`/`0`, or `unknown` (the sender did not say).

    `django_filters.BooleanFilter` turns an unreadable value into "no filter";
    this one refuses it.
    """

    field_class = TriStateField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("choices", [(key, key) for key in _TRI_STATE])
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value in ("", None):
            return qs
        state = _TRI_STATE[value]
        if state is None:
            return qs.filter(**{f"{self.field_name}__isnull": True})
        return qs.filter(**{self.field_name: state})


# `sandbox`: which institutions' orders a list shows. Absent, production only: sandbox institutions'
# test orders never reach a list, export or statistic unless asked for by name.
SANDBOX_PARAMETER = "sandbox"
SANDBOX_CHOICES = {"false": False, "0": False, "true": True, "1": True, "all": None}


class SandboxFilter(django_filters.Filter):
    """`false` (the default, also when absent), `true` (sandbox test orders only) or `all`."""

    field_class = TriStateField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("choices", [(key, key) for key in SANDBOX_CHOICES])
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        sandbox = SANDBOX_CHOICES[value] if value not in ("", None) else False
        return qs if sandbox is None else qs.filter(sandbox=sandbox)


def production_only(queryset):
    """`queryset` as the FilterSet shows it when `sandbox` is not given."""
    return queryset.filter(sandbox=False)


class OrderFilterSet(django_filters.FilterSet):
    institution = django_filters.ModelChoiceFilter(
        queryset=Institution.objects.all(),
        to_field_name="code",
        help_text=_("Institution code (ua)."),
    )
    order_no = django_filters.CharFilter(max_length=ORDER_NO_MAX_LENGTH, help_text=_("Exact orderNo."))
    user_phone = MobilePhoneFilter(help_text=_("Applicant's mobile; +86, spaces and dashes are ignored."))
    received_after = ReceivedAtFilter(upper=False, help_text=_("ISO date or datetime, inclusive."))
    received_before = ReceivedAtFilter(upper=True, help_text=_("ISO date (the whole day) or datetime, inclusive."))
    loan_amount_min = StrictIntegerFilter(
        field_name="loan_amount_fen", lookup_expr="gte", min_value=0, help_text=_("Fen, inclusive.")
    )
    loan_amount_max = StrictIntegerFilter(
        field_name="loan_amount_fen", lookup_expr="lte", min_value=0, help_text=_("Fen, inclusive.")
    )
    os_type = django_filters.ChoiceFilter(field_name="device__os_kind", choices=OsKind.choices)
    is_root = TriStateFilter(field_name="device__is_root")
    is_simulator = TriStateFilter(field_name="device__is_simulator")
    review_status = django_filters.ChoiceFilter(choices=ReviewStatus.choices)
    # Choices are read per form, so labels follow the active language; an unknown code is refused.
    risk_flag = django_filters.ChoiceFilter(
        choices=signal_choices,
        method="filter_risk_flag",
        help_text=_("Orders carrying this risk signal (its code, e.g. shared_device)."),
    )
    sandbox = SandboxFilter(
        help_text=_("Absent or false: production orders only; true: sandbox test orders only; all: both.")
    )

    class Meta:
        model = Order
        fields = []

    def filter_risk_flag(self, queryset, name, value):
        return filter_by_flag(queryset, value)
