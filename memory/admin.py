"""Admin for memory: a Markdown editor with preview and conflict detection, revision history
with restore, a search page, and curation runs to review (diff, Apply / Reject). Every change
goes through memory.services or memory.curation."""

import datetime as dt
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from agents.models import Agent
from memory import curation, services
from memory.index import Document
from memory.markdown import render_html
from memory.models import CurationRun, DailyLog, MemoryRevision, WorkingMemory
from memory.search import Hit
from memory.sync import MemoryConflict, doc_hash, sync_document
from openclaw.audit.admin import AuditedAdminMixin
from openclaw.audit.services import audit


class MemoryEditForm(forms.Form):
    content = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 28, "class": "vLargeTextField memory-editor"}),
        required=False,
        strip=False,
    )
    base_hash = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def clean_content(self) -> str:
        # Browsers send textarea lines with CRLF; the files use LF.
        return str(self.cleaned_data["content"]).replace("\r\n", "\n")


class MemorySearchForm(forms.Form):
    agent = forms.ModelChoiceField(
        Agent.objects.order_by("slug"), to_field_name="slug", empty_label=None
    )
    q = forms.CharField(label="Search", max_length=500, required=False)


class _MemoryDocumentAdmin[D: (WorkingMemory, DailyLog)](admin.ModelAdmin[D]):
    change_list_template = "admin/memory/change_list.html"
    list_select_related = ["agent"]
    list_filter = ["agent", "missing"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # memory files are created by writing them (tools, disk, this editor)

    def has_delete_permission(self, request: HttpRequest, obj: D | None = None) -> bool:
        return False  # a row follows its file: delete the file on disk instead

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}_restore"
        restore = self.admin_site.admin_view(require_POST(self.restore_view))
        return [
            path("<int:object_id>/restore/<int:revision_id>/", restore, name=name),
            *super().get_urls(),
        ]

    def _write(self, request: HttpRequest, doc: Document, content: str, base: str) -> None:
        actor = f"admin:{request.user.get_username()}"
        if doc.day is None:
            services.write_working_memory(doc.agent, content, base, actor)
        else:
            services.write_daily_log(doc.agent, doc.day, content, base, actor)
        audit(request.user, "memory.edited", doc, agent=doc.agent.slug, path=doc.path)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        doc = self.get_object(request, object_id)
        if doc is None:
            raise Http404(f"No {self.opts.verbose_name} with id {object_id!r}.")
        if not self.has_view_or_change_permission(request, doc):
            raise PermissionDenied
        can_change = self.has_change_permission(request, doc)
        sync_document(doc.agent, doc.day)  # show what is on disk now
        doc.refresh_from_db()
        preview = ""
        if request.method == "POST":
            if not can_change:
                raise PermissionDenied
            form = MemoryEditForm(request.POST)
            if form.is_valid():
                content, base = form.cleaned_data["content"], form.cleaned_data["base_hash"]
                if "_preview" in request.POST:
                    preview = render_html(content)
                else:
                    try:
                        self._write(request, doc, content, base)
                    except MemoryConflict as conflict:
                        form.add_error(None, str(conflict))
                    else:
                        self.message_user(request, f"Saved {doc.path}.", messages.SUCCESS)
                        return HttpResponseRedirect(request.path)
        else:
            form = MemoryEditForm(initial={"content": doc.content, "base_hash": doc_hash(doc)})
            preview = render_html(doc.content)
        cap = int(settings.OPENCLAW_MEMORY_MAX_CHARS)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": doc,
            "title": f"{doc.path} — {doc.agent}",
            "form": form,
            "preview": preview,
            "conflict": bool(form.non_field_errors()),
            "can_change": can_change,
            "over_cap": doc.day is None and len(doc.content) > cap,
            "cap": cap,
            "revisions": MemoryRevision.objects.filter(agent=doc.agent, path=doc.path)[:50],
            "restore_url": f"admin:{self.opts.app_label}_{self.opts.model_name}_restore",
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/memory/editor.html", context)

    def restore_view(self, request: HttpRequest, object_id: int, revision_id: int) -> HttpResponse:
        doc = self.get_object(request, str(object_id))
        if doc is None or not self.has_change_permission(request, doc):
            raise PermissionDenied
        revision = get_object_or_404(MemoryRevision, pk=revision_id, agent=doc.agent, path=doc.path)
        try:
            services.restore_revision(
                revision.pk,
                request.POST.get("base_hash", ""),
                f"admin:{request.user.get_username()}",
            )
        except MemoryConflict as conflict:
            self.message_user(request, str(conflict), messages.ERROR)
        else:
            audit(request.user, "memory.restored", doc, path=doc.path, revision=revision.pk)
            when = f"{revision.created_at:%Y-%m-%d %H:%M}"
            self.message_user(request, f"Restored {doc.path} as of {when}.", messages.SUCCESS)
        return HttpResponseRedirect(
            reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[doc.pk])
        )


@admin.register(WorkingMemory)
class WorkingMemoryAdmin(_MemoryDocumentAdmin[WorkingMemory]):
    list_display = ["agent", "size", "missing", "updated_by", "updated_at"]

    def get_urls(self) -> list[URLPattern]:
        search = self.admin_site.admin_view(self.search_view)
        return [path("search/", search, name="memory_search"), *super().get_urls()]

    def search_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = MemorySearchForm(request.GET or None)
        result, hits = None, []
        if form.is_valid():
            agent: Agent = form.cleaned_data["agent"]
            result = services.search_memory(agent, form.cleaned_data["q"], 20)
            hits = _with_links(agent, result.hits)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Search memory",
            "form": form,
            "result": result,
            "hits": hits,
        }
        return TemplateResponse(request, "admin/memory/search.html", context)


def _with_links(agent: Agent, hits: list[Hit]) -> list[tuple[Hit, str]]:
    """Each hit with the URL of its file's editor ("" if the row is gone)."""
    days = {h.date for h in hits if h.date is not None}
    urls: dict[dt.date | None, str] = {
        date: reverse("admin:memory_dailylog_change", args=[pk])
        for pk, date in DailyLog.objects.filter(agent=agent, date__in=days).values_list(
            "pk", "date"
        )
    }
    working = WorkingMemory.objects.filter(agent=agent).values_list("pk", flat=True).first()
    if working is not None:
        urls[None] = reverse("admin:memory_workingmemory_change", args=[working])
    return [(hit, urls.get(hit.date, "")) for hit in hits]


@admin.register(DailyLog)
class DailyLogAdmin(_MemoryDocumentAdmin[DailyLog]):
    list_display = ["date", "agent", "size", "missing", "updated_by", "updated_at"]
    date_hierarchy = "date"


def diff_lines(diff: str) -> list[tuple[str, str]]:
    """Each line of a unified diff with its CSS class (the template escapes the text)."""
    kinds = {"+": "diff-add", "-": "diff-del", "@": "diff-hunk"}
    out = []
    for line in diff.splitlines():
        kind = "diff-meta" if line.startswith(("+++", "---")) else kinds.get(line[:1], "")
        out.append((kind, line))
    return out


@admin.register(CurationRun)
class CurationRunAdmin(AuditedAdminMixin, admin.ModelAdmin[CurationRun]):
    list_display = ["day", "agent", "status", "tokens_in", "tokens_out", "created_at", "decided_by"]
    list_filter = ["agent", "status", "day"]
    list_select_related = ["agent"]
    search_fields = ["agent__slug", "summary", "error", "model"]
    date_hierarchy = "day"
    actions = ["apply_selected", "reject_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # runs come from the nightly task or `manage.py curate`

    def get_urls(self) -> list[URLPattern]:
        def decide(view: Any) -> Any:
            return self.admin_site.admin_view(require_POST(view))

        return [
            path("<int:run_id>/apply/", decide(self.apply_view), name="memory_curationrun_apply"),
            path(
                "<int:run_id>/reject/", decide(self.reject_view), name="memory_curationrun_reject"
            ),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        run = self.get_object(request, object_id)
        if run is None:
            raise Http404(f"No curation run with id {object_id!r}.")
        if not self.has_view_or_change_permission(request, run):
            raise PermissionDenied
        if request.method == "POST":
            raise PermissionDenied  # a run changes only through Apply / Reject
        pending = run.status == CurationRun.Status.PENDING
        stale = pending and services.read_working_memory(run.agent).content_hash != run.base_hash
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": run,
            "title": f"Curation of {run.day:%Y-%m-%d} — {run.agent}",
            "diff": diff_lines(run.diff),
            "can_decide": pending and self.has_change_permission(request, run),
            "stale": stale,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/memory/curationrun.html", context)

    def _decide(self, request: HttpRequest, run_id: int, apply: bool) -> HttpResponse:
        run = get_object_or_404(CurationRun, pk=run_id)
        if not self.has_change_permission(request, run):
            raise PermissionDenied
        self._decide_one(request, run, apply)
        return HttpResponseRedirect(reverse("admin:memory_curationrun_change", args=[run.pk]))

    def _decide_one(self, request: HttpRequest, run: CurationRun, apply: bool) -> bool:
        label = f"curation of {run.day:%Y-%m-%d} ({run.agent.slug})"
        try:
            if apply:
                curation.apply_run(run.pk, request.user)
            else:
                curation.reject_run(run.pk, request.user)
        except MemoryConflict as conflict:
            self.message_user(request, f"Not applied: {label}: {conflict}", messages.ERROR)
            return False
        except (curation.CurationRefused, services.MemoryRefused) as refused:
            self.message_user(request, f"{label}: {refused}", messages.ERROR)
            return False
        done = "Applied to MEMORY.md" if apply else "Rejected"
        self.message_user(request, f"{done}: {label}.", messages.SUCCESS)
        return True

    def apply_view(self, request: HttpRequest, run_id: int) -> HttpResponse:
        return self._decide(request, run_id, apply=True)

    def reject_view(self, request: HttpRequest, run_id: int) -> HttpResponse:
        return self._decide(request, run_id, apply=False)

    @admin.action(description="Apply the selected pending runs", permissions=["change"])
    def apply_selected(self, request: HttpRequest, queryset: QuerySet[CurationRun]) -> None:
        for run in queryset.select_related("agent").order_by("day"):
            self._decide_one(request, run, apply=True)

    @admin.action(description="Reject the selected pending runs", permissions=["change"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[CurationRun]) -> None:
        for run in queryset.select_related("agent"):
            self._decide_one(request, run, apply=False)
