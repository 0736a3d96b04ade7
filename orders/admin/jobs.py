"""The job engine's tables in the admin, for administrators: queued, running, failed and finished jobs, schedules.

django-q2 registers admin pages of its own; they are replaced here so that:
- only superusers see them: jobs are the platform's plumbing, not a reviewer's business;
- queued and running jobs are told apart: on the ORM broker a job row whose lease
  (`lock`) lies in the future is held by a worker (running, or its worker died and
  the job comes back when the lease ends);
- nothing personal is shown: a job's arguments are ids (config.jobs), a finished
  job's return value is not shown, and a failure shows its exception's type and the
  first line of its message, phone numbers masked, never the traceback or a database
  error's DETAIL line (which quotes the row); the full traceback is in the worker's log;
- "Retry" records a failed job again on its own queue, through config.jobs, and
  removes the failure, in one transaction;
- like every admin of the project, they read only documented query parameters.
"""

import re

from django.conf import settings
from django.contrib import admin, messages
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django_q.admin import ScheduleAdmin
from django_q.models import Failure, OrmQ, Schedule, Success

from config.admin import DocumentedQueryStringAdminMixin, ReadOnlyAdminMixin
from config.jobs import enqueue
from orders.pii import mask_phones_in_text

ERROR_SUMMARY_LENGTH = 200
# The exception line of a traceback, `module.Error: message`; a class name has a lowercase
# letter, which tells it from PostgreSQL's `DETAIL:` / `HINT:` lines that follow it.
_EXCEPTION_LINE_RE = re.compile(r"^((?:[A-Za-z_]\w*\.)*(?=[A-Z_]*[a-z])[A-Za-z_]\w*)(?::|$)")


def job_error_summary(result) -> str:
    """What the admin shows of a failed job: `Type: first line of the message`, phones masked, bounded.

    The engine stores `"<message> : <traceback>"`; the message may run over several
    lines (PostgreSQL adds `DETAIL: Key (phone)=(...)`), so only its first is kept.
    """
    text = str(result or "")
    message, _, trace = text.partition(" : Traceback")
    kind = ""
    for line in trace.splitlines():
        found = _EXCEPTION_LINE_RE.match(line)
        if found and not line.startswith(" "):
            kind = found.group(1).rsplit(".", 1)[-1]
    first_line = message.strip().splitlines()[0] if message.strip() else ""
    summary = f"{kind}: {first_line}" if kind else first_line
    summary = mask_phones_in_text(summary)
    return summary if len(summary) <= ERROR_SUMMARY_LENGTH else summary[: ERROR_SUMMARY_LENGTH - 1] + "…"


class AdministratorsOnlyMixin(DocumentedQueryStringAdminMixin, ReadOnlyAdminMixin):
    """Seen by superusers only, whatever permissions a staff account holds on the engine's tables; read-only."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)


class JobStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("queued", _("queued")), ("running", _("running"))]

    def queryset(self, request, queryset):
        if self.value() == "queued":
            return queryset.filter(lock__lte=timezone.now())
        if self.value() == "running":
            return queryset.filter(lock__gt=timezone.now())
        return queryset


def _queue_unregister(*models) -> None:
    for model in models:
        if admin.site.is_registered(model):
            admin.site.unregister(model)


# django-q2's own pages (its admin module is imported first: its app comes first in INSTALLED_APPS).
_queue_unregister(OrmQ, Success, Failure, Schedule)


@admin.register(OrmQ)
class QueuedJobAdmin(AdministratorsOnlyMixin, admin.ModelAdmin):
    """Jobs waiting for a worker, and those a worker holds (their lease in the future)."""

    list_display = ["id", "state", "key", "job_func", "job_args", "lock"]
    list_display_links = None
    list_filter = [JobStateFilter, "key"]
    ordering = ["id"]
    fields = ["key", "state", "lock", "job_func", "job_args"]

    @admin.display(description=_("state"))
    def state(self, job: OrmQ) -> str:
        if job.lock and job.lock > timezone.now():
            return gettext("running (leased until %(time)s)") % {
                "time": date_format(timezone.localtime(job.lock), "H:i:s")
            }
        return gettext("queued")

    @admin.display(description=_("function"))
    def job_func(self, job: OrmQ) -> str:
        return job.func() or ""

    @admin.display(description=_("arguments"))
    def job_args(self, job: OrmQ) -> str:
        return _arguments(job.args(), job.kwargs())


def _arguments(args, kwargs) -> str:
    # Ids and counters by the rule of config.jobs; masked anyway, as a last line of defence.
    shown = [repr(arg) for arg in args or ()] + [f"{key}={value!r}" for key, value in (kwargs or {}).items()]
    return mask_phones_in_text(", ".join(shown))


class _FinishedJobAdmin(AdministratorsOnlyMixin, admin.ModelAdmin):
    list_display = ["name", "func", "cluster", "arguments", "started", "stopped"]
    list_filter = ["cluster"]
    search_fields = ["func"]
    date_hierarchy = "stopped"
    fields = ["name", "func", "cluster", "arguments", "started", "stopped", "attempt_count"]
    readonly_fields = fields

    @admin.display(description=_("arguments"))
    def arguments(self, job) -> str:
        return _arguments(job.args, job.kwargs)


@admin.register(Success)
class FinishedJobAdmin(_FinishedJobAdmin):
    """Jobs that ended well (the newest `JOB_FINISHED_KEPT`); what they returned is not shown."""


@admin.register(Failure)
class FailedJobAdmin(_FinishedJobAdmin):
    """Jobs that failed for good (after their own retries), kept `JOB_FAILED_KEPT_DAYS` days; "Retry" runs one again."""

    list_display = ["name", "func", "cluster", "arguments", "stopped", "error"]
    fields = [*_FinishedJobAdmin.fields, "error"]
    readonly_fields = fields
    actions = ["retry"]

    @admin.display(description=_("error"))
    def error(self, job: Failure) -> str:
        return job_error_summary(job.result)

    @admin.action(description=_("Retry the selected jobs"))
    def retry(self, request, queryset):
        with transaction.atomic():
            failures = list(queryset.select_for_update())
            retired = sorted({str(failure.cluster) for failure in failures} - set(settings.JOB_QUEUES))
            if retired:
                message = gettext("Queue %(queues)s is no longer configured; nothing was retried.")
                self.message_user(request, message % {"queues": ", ".join(retired)}, messages.ERROR)
                return
            for failure in failures:
                enqueue(failure.func, *(failure.args or ()), queue=failure.cluster, **(failure.kwargs or {}))
            Failure.objects.filter(pk__in=[failure.pk for failure in failures]).delete()
        count = len(failures)
        self.message_user(
            request, ngettext("%(count)d job queued again.", "%(count)d jobs queued again.", count) % {"count": count}
        )


@admin.register(Schedule)
class JobScheduleAdmin(AdministratorsOnlyMixin, ScheduleAdmin):
    """Periodic jobs (`settings.JOB_SCHEDULES`, kept in line by every migrate) and delayed retries."""
