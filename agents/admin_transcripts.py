"""Session admin and its transcript viewer: the JSONL transcript read as a conversation, a page of
turns at a time, Markdown rendered safely, tool calls folded, usage per turn."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from agents.models import ModelPrice, Session
from agents.transcript_view import Item, Turn, build_turns
from agents.transcripts import Usage, read_entries
from agents.usage import cache_hit_rate, cost_at
from memory.markdown import render_html
from openclaw.redact import redact_text

TURNS_PER_PAGE = 20
MARKDOWN_KINDS = ("user", "assistant", "compaction", "context")


@dataclass(frozen=True, slots=True)
class ShownItem:
    """An item ready for the template: secrets masked, Markdown already rendered to safe HTML."""

    item: Item
    html: SafeString | None
    text: str
    result: str | None


@dataclass(frozen=True, slots=True)
class ShownTurn:
    number: int
    items: list[ShownItem]
    usage: dict[str, int] | None
    cost: Decimal | None


def _show_item(item: Item) -> ShownItem:
    text = redact_text(item.text)
    result = None if item.result is None else redact_text(item.result)
    # render_html escapes raw HTML and refuses script links: its output is safe to mark so.
    html = mark_safe(render_html(text)) if item.kind in MARKDOWN_KINDS else None  # noqa: S308
    return ShownItem(item, html, text, result)


def _show_turn(turn: Turn, price: ModelPrice | None) -> ShownTurn:
    usage = turn.usage if turn.has_usage else None
    cost = None
    if usage is not None and price is not None:
        tokens = Usage(
            prompt_tokens=usage["prompt_tokens"],
            completion_tokens=usage["completion_tokens"],
            total_tokens=usage["prompt_tokens"] + usage["completion_tokens"],
            cached_tokens=usage["cached_tokens"],
            cache_creation_tokens=usage.get("cache_creation_tokens", 0),
        )
        cost = cost_at(price, tokens)
    return ShownTurn(turn.number, [_show_item(i) for i in turn.items], usage, cost)


def _page_number(request: HttpRequest, paginator: Paginator[Turn]) -> int | str | None:
    wanted = request.GET.get("page")
    return paginator.num_pages if wanted == "last" else wanted


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin[Session]):
    change_form_template = "admin/agents/session/change_form.html"
    list_display = [
        "key",
        "agent",
        "channel",
        "title",
        "status",
        "is_group",
        "turns",
        "tokens_in",
        "tokens_out",
        "cost",
        "last_active_at",
        "transcript_link",
    ]
    list_filter = ["status", "channel", "agent", "is_group", "last_active_at"]
    list_select_related = ["agent"]
    search_fields = ["key", "title", "peer"]
    readonly_fields = [
        "session_id",
        "transcript_path",
        "created_at",
        "last_active_at",
        "turns",
        "tokens_in",
        "tokens_out",
        "tokens_cached",
        "tokens_cache_write",
        "cache_hits",
        "cost",
        "token_ratio",
    ]
    date_hierarchy = "last_active_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # sessions start when someone writes; chat.send or /new makes one

    def get_readonly_fields(self, request: HttpRequest, obj: Session | None = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:  # what identifies the conversation is fixed once it exists
            fields += ["key", "agent", "channel", "peer", "is_group"]
        return fields

    @admin.display(description="cache hit rate")
    def cache_hits(self, obj: Session) -> str | None:
        rate = cache_hit_rate(obj.tokens_in, obj.tokens_cached)
        return None if rate is None else f"{rate:.0%}"

    @admin.display(description="transcript")
    def transcript_link(self, obj: Session) -> str:
        url = reverse("admin:agents_session_transcript", args=[obj.pk])
        return format_html('<a href="{}?page=last">read</a>', url)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.transcript_view)
        return [
            path("<int:object_id>/transcript/", view, name="agents_session_transcript"),
            *super().get_urls(),
        ]

    def transcript_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        session = self.get_object(request, str(object_id))
        if session is None:
            raise Http404(f"No session with id {object_id}.")
        if not self.has_view_permission(request, session):
            raise PermissionDenied
        skipped: list[int] = []
        transcript = session.transcript_file
        try:
            entries, unreadable = read_entries(transcript, skipped), ""
        except (OSError, EOFError) as exc:  # e.g. a damaged archive (.jsonl.gz)
            entries, unreadable = [], f"{type(exc).__name__}: {exc}"
        paginator = Paginator(build_turns(entries), TURNS_PER_PAGE)
        page = paginator.get_page(_page_number(request, paginator))
        model = session.model_override or session.agent.model or settings.OPENCLAW_MODEL
        price = ModelPrice.objects.filter(model=model).first()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": session,
            "title": f"Transcript of {session.key}",
            "transcript": transcript,
            "exists": transcript.exists(),
            "unreadable": unreadable,
            "entry_count": len(entries),
            "skipped": skipped,
            "page": page,
            "page_range": paginator.get_elided_page_range(page.number),
            "turns": [_show_turn(t, price) for t in page.object_list],
            "price_model": model if price is not None else "",
        }
        return TemplateResponse(request, "admin/agents/session/transcript.html", context)
