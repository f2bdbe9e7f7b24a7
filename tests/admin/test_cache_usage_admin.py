"""The admin shows the prompt cache's share of input: the dashboard's hit rate today and this
week (with cache writes), each daily usage row's and each session's hit rate, and the models'
cache-write prices."""

import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from agents.models import DailyUsage, ModelPrice, Session
from agents.services import ensure_default_agent, open_session
from agents.transcript_view import build_turns
from agents.transcripts import make_entry

pytestmark = pytest.mark.django_db


def _cell(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</td>', html, re.S)
    assert match, f"no #{element_id}"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def test_the_admin_shows_cache_hit_rates_and_write_prices(admin_client: Client) -> None:
    agent = ensure_default_agent()
    DailyUsage.objects.create(
        agent=agent,
        day=timezone.localdate(),
        model="anthropic/claude",
        turns=2,
        prompt_tokens=4_000,
        cached_tokens=3_000,
        cache_write_tokens=500,
    )
    ModelPrice.objects.create(
        model="anthropic/claude", input_per_mtok=Decimal(3), cache_write_per_mtok=Decimal("3.75")
    )
    ref, _ = open_session("agent:main:cached")
    Session.objects.filter(pk=ref.pk).update(tokens_in=1_000, tokens_cached=250)

    dashboard = admin_client.get(reverse("admin:index")).text
    assert _cell(dashboard, "dash-cache-today") == "75% hit rate today"
    assert _cell(dashboard, "dash-cache-week") == "75% this week · 500 tokens written"

    usage = admin_client.get(reverse("admin:agents_dailyusage_changelist")).text
    assert "cache hit rate" in usage.lower() and ">75%<" in usage
    prices = admin_client.get(reverse("admin:agents_modelprice_changelist")).text
    assert "cache write per mtok" in prices.lower() and "3.7500" in prices
    session = admin_client.get(reverse("admin:agents_session_change", args=[ref.pk])).text
    assert "25%" in session


def test_no_input_yet_shows_no_rate(admin_client: Client) -> None:
    dashboard = admin_client.get(reverse("admin:index")).text
    assert _cell(dashboard, "dash-cache-today") == "no input today"


def test_a_turns_cache_writes_are_summed_when_reported() -> None:
    usage = {"prompt_tokens": 900, "completion_tokens": 9, "cached_tokens": 600}
    writes = {**usage, "cache_creation_tokens": 250}
    written = make_entry("message", role="assistant", content="b", run="r", usage=writes)
    plain = make_entry("message", role="assistant", content="c", run="r", usage=usage)
    [turn] = build_turns([make_entry("message", role="user", content="a"), written, plain])
    assert turn.usage == {
        "prompt_tokens": 1_800,
        "completion_tokens": 18,
        "cached_tokens": 1_200,
        "cache_creation_tokens": 250,
    }
