"""Per-turn usage counters (written as SQL for speed): the same sums on SQLite and PostgreSQL."""

from datetime import date
from decimal import Decimal

import pytest

from agents import services
from agents.models import DailyUsage, ModelPrice, Session
from agents.transcripts import Usage
from agents.turn_inputs import add_usage
from agents.usage import cache_hit_rate, describe_cache, record_turn

pytestmark = [pytest.mark.django_db, pytest.mark.services]

DAY = date(2026, 3, 1)


def _usage(prompt: int, completion: int, cached: int = 0) -> Usage:
    usage: Usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if cached:
        usage["cached_tokens"] = cached
    return usage


def test_turns_add_tokens_and_cost_to_the_session_and_the_day() -> None:
    services.ensure_default_agent()
    ref, _ = services.open_session("agent:main:usage")
    ModelPrice.objects.create(
        model="priced",
        input_per_mtok=Decimal("2.50"),
        cached_input_per_mtok=Decimal("1.25"),
        output_per_mtok=Decimal("10"),
    )
    first = record_turn(ref.pk, "priced", _usage(1000, 100, cached=400), day=DAY)
    second = record_turn(ref.pk, "priced", _usage(3, 7), day=DAY)
    # (600 fresh * 2.5 + 400 cached * 1.25 + 100 out * 10) per million tokens
    assert first == Decimal("0.003")
    assert second == Decimal("0.0000775")
    session = Session.objects.get(pk=ref.pk)
    assert (session.turns, session.tokens_in, session.tokens_out, session.tokens_cached) == (
        2,
        1003,
        107,
        400,
    )
    assert session.cost == Decimal("0.003078")  # 6 decimal places: 0.0030775 rounded
    assert session.last_active_at is not None
    day = DailyUsage.objects.get(agent__slug="main", day=DAY, model="priced")
    assert (day.turns, day.prompt_tokens, day.completion_tokens, day.cached_tokens) == (
        2,
        1003,
        107,
        400,
    )
    assert day.cost == Decimal("0.003078")


def test_each_model_and_day_has_its_own_row() -> None:
    services.ensure_default_agent()
    ref, _ = services.open_session("agent:main:rows")
    record_turn(ref.pk, "a", _usage(1, 1), day=DAY)
    record_turn(ref.pk, "b", _usage(2, 2), day=DAY)
    record_turn(ref.pk, "a", _usage(4, 4), day=date(2026, 3, 2))
    record_turn(ref.pk, "", None, day=DAY)  # no model named, no usage reported
    rows = set(DailyUsage.objects.values_list("day", "model", "turns", "prompt_tokens"))
    assert rows == {
        (DAY, "a", 1, 1),
        (DAY, "b", 1, 2),
        (date(2026, 3, 2), "a", 1, 4),
        (DAY, "?", 1, 0),
    }
    assert Session.objects.get(pk=ref.pk).turns == 4


def test_first_title_stays_and_token_ratio_is_clamped() -> None:
    services.ensure_default_agent()
    ref, _ = services.open_session("agent:main:title")
    record_turn(ref.pk, "m", _usage(1, 1), title="it's the first", token_ratio=9.0)
    record_turn(ref.pk, "m", _usage(1, 1), title="second")
    session = Session.objects.get(pk=ref.pk)
    assert session.title == "it's the first"
    assert session.token_ratio == 4.0
    record_turn(ref.pk, "m", _usage(1, 1), token_ratio=0.01)
    assert Session.objects.get(pk=ref.pk).token_ratio == 0.25


def test_other_sessions_are_left_alone() -> None:
    services.ensure_default_agent()
    one, _ = services.open_session("agent:main:one")
    two, _ = services.open_session("agent:main:two")
    record_turn(one.pk, "m", _usage(5, 5), title="one", day=DAY)
    other = Session.objects.get(pk=two.pk)
    assert (other.turns, other.tokens_in, other.title) == (0, 0, "")


def test_cache_writes_are_counted_and_priced_apart() -> None:
    services.ensure_default_agent()
    ref, _ = services.open_session("agent:main:cache")
    ModelPrice.objects.create(
        model="anthropic/claude",
        input_per_mtok=Decimal(3),
        cached_input_per_mtok=Decimal("0.30"),
        cache_write_per_mtok=Decimal("3.75"),
        output_per_mtok=Decimal(15),
    )
    ModelPrice.objects.create(model="no-write-price", input_per_mtok=Decimal(3))
    usage = _usage(10_000, 100, cached=6_000)
    usage["cache_creation_tokens"] = 3_000
    # (1,000 fresh * 3 + 6,000 read * 0.30 + 3,000 written * 3.75 + 100 out * 15) / 1e6
    assert record_turn(ref.pk, "anthropic/claude", usage, day=DAY) == Decimal("0.01755")
    # No write price: writes cost what fresh input costs (4,000 * 3 / 1e6).
    assert record_turn(ref.pk, "no-write-price", usage, day=DAY) == Decimal("0.012")
    session = Session.objects.get(pk=ref.pk)
    assert (session.tokens_in, session.tokens_cached, session.tokens_cache_write) == (
        20_000,
        12_000,
        6_000,
    )
    day = DailyUsage.objects.get(day=DAY, model="anthropic/claude")
    assert (day.cached_tokens, day.cache_write_tokens) == (6_000, 3_000)


def test_the_cache_hit_rate_reads_as_a_sentence() -> None:
    assert cache_hit_rate(0, 0) is None
    assert cache_hit_rate(2_000, 1_600) == 0.8
    assert describe_cache(0, 0) == "cache hit rate: no input yet"
    assert describe_cache(2_000, 1_600) == (
        "cache hit rate 80% (1,600 of 2,000 input tokens cached)"
    )
    assert describe_cache(10_000, 6_000, 3_000) == (
        "cache hit rate 60% (6,000 of 10,000 input tokens cached; 3,000 written)"
    )


def test_turn_usage_sums_cache_reads_and_writes() -> None:
    one = _usage(100, 10, cached=40)
    two = _usage(200, 20)
    two["cache_creation_tokens"] = 150
    total = add_usage(add_usage(_usage(0, 0), one), two)
    assert total == {
        "prompt_tokens": 300,
        "completion_tokens": 30,
        "total_tokens": 330,
        "cached_tokens": 40,
        "cache_creation_tokens": 150,
    }
