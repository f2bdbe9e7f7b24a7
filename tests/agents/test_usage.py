"""Per-turn usage counters (written as SQL for speed): the same sums on SQLite and PostgreSQL."""

from datetime import date
from decimal import Decimal

import pytest

from agents import services
from agents.models import DailyUsage, ModelPrice, Session
from agents.transcripts import Usage
from agents.usage import record_turn

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
