"""Admin for scheduled jobs: reminders from the cron tool or written here, and the agents'
heartbeats (their schedule follows the agent's heartbeat settings). Enable, disable, run now."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from agents import scheduled_jobs
from agents.models import ScheduledJob
from agents.schedule_specs import ScheduleError
from openclaw.audit.admin import AuditedAdminMixin
from openclaw.audit.services import audit


class ScheduledJobForm(forms.ModelForm[ScheduledJob]):
    class Meta:
        model = ScheduledJob
        fields = [
            "agent",
            "name",
            "purpose",
            "enabled",
            "text",
            "kind",
            "spec",
            "timezone",
            "next_run_at",
            "delete_after_run",
            "session_key",
            "channel",
            "account_id",
            "chat_id",
            "thread_id",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        job: ScheduledJob = self.instance
        if data.get("agent") is None or not data.get("kind") or not data.get("spec"):
            return data
        probe = ScheduledJob(
            agent=data["agent"],
            kind=data["kind"],
            spec=data["spec"],
            timezone=data.get("timezone", ""),
        )
        try:
            scheduled_jobs.prepare(probe, now=timezone.now())
        except ScheduleError as exc:
            self.add_error("spec", str(exc))
            return data
        data["spec"] = probe.spec
        # A changed schedule (or a re-enabled job) takes its next run from the schedule.
        if {"kind", "spec", "timezone", "enabled"} & set(self.changed_data) or not job.pk:
            data["next_run_at"] = probe.next_run_at
        return data


@admin.register(ScheduledJob)
class ScheduledJobAdmin(AuditedAdminMixin, admin.ModelAdmin[ScheduledJob]):
    form = ScheduledJobForm
    list_display = [
        "__str__",
        "agent",
        "purpose",
        "kind",
        "spec",
        "next_run_at",
        "last_run_at",
        "last_status",
        "run_count",
        "enabled",
    ]
    list_filter = ["enabled", "purpose", "kind", "last_status", "agent"]
    search_fields = ["name", "text", "session_key", "spec"]
    list_select_related = ["agent"]
    actions = ["run_now", "enable", "disable"]
    readonly_fields = LAST_RUN = [
        "last_run_at",
        "last_status",
        "last_error",
        "last_run_id",
        "run_count",
        "created_by",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["agent", "name", "purpose", "enabled", "text"]}),
        ("Schedule", {"fields": ["kind", "spec", "timezone", "next_run_at", "delete_after_run"]}),
        ("Delivery", {"fields": ["session_key", "channel", "account_id", "chat_id", "thread_id"]}),
        ("Last run", {"fields": [*LAST_RUN]}),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.purpose == ScheduledJob.Purpose.HEARTBEAT:
            # Follows the agent's heartbeat settings; edit it there.
            fields += ["agent", "purpose", "kind", "spec", "session_key", "text"]
        return fields

    def save_model(self, request: HttpRequest, obj: ScheduledJob, form: Any, change: bool) -> None:
        if not change and not obj.created_by:
            obj.created_by = f"admin:{request.user.get_username()}"
        super().save_model(request, obj, form, change)

    @admin.action(description="Run the selected jobs now")
    def run_now(self, request: HttpRequest, queryset: QuerySet[ScheduledJob]) -> None:
        pks = list(queryset.values_list("pk", flat=True))
        count = scheduled_jobs.run_now(pks)
        audit(request.user, "scheduledjob.run_now", ",".join(map(str, pks)))
        self.message_user(
            request, f"{count} job(s) due now; the gateway runs them within seconds.", messages.INFO
        )

    @admin.action(description="Enable the selected jobs")
    def enable(self, request: HttpRequest, queryset: QuerySet[ScheduledJob]) -> None:
        now, count = timezone.now(), 0
        for job in queryset.select_related("agent"):
            try:
                scheduled_jobs.prepare(job, now=now)
            except ScheduleError as exc:
                self.message_user(request, f"{job}: {exc}", messages.ERROR)
                continue
            job.enabled = True
            job.save(update_fields=["enabled", "spec", "next_run_at", "updated_at"])
            audit(request.user, "scheduledjob.enabled", job)
            count += 1
        self.message_user(request, f"{count} job(s) enabled.", messages.INFO)

    @admin.action(description="Disable the selected jobs")
    def disable(self, request: HttpRequest, queryset: QuerySet[ScheduledJob]) -> None:
        for job in queryset:
            audit(request.user, "scheduledjob.disabled", job)
        count = queryset.update(enabled=False)
        self.message_user(request, f"{count} job(s) disabled.", messages.INFO)
