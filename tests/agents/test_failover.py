"""Failover that learns: cooldowns grow exponentially up to a cap and end on success; a cooling
model is skipped for its fallbacks (the soonest free is tried when all are cooling); a 429 moves
to the provider's next key at once. The model here is a scripted `ChatModel`."""

from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from django.test import override_settings

from agents import failover
from agents.cooldowns import Cooldowns
from agents.llm import Finished, Message, ModelError, ModelEvent, ModelSettings, TextDelta


class ScriptedModel:
    """Answers each call with the next scripted outcome: a text or a `ModelError`."""

    def __init__(self, *outcomes: str | ModelError) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[ModelSettings] = []

    async def stream(
        self,
        messages: Sequence[Message],
        settings: ModelSettings,
        tools: Sequence[dict[str, Any]] | None = None,
    ) -> AsyncIterator[ModelEvent]:
        self.calls.append(settings)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, ModelError):
            raise outcome
        yield TextDelta(outcome)
        yield Finished("stop")


def call(model: str, key_env: str = "OPENAI_API_KEY", key: str = "sk-1") -> ModelSettings:
    return ModelSettings(model=model, base_url="", api_key=key, api_key_env=key_env)


async def answer(model: ScriptedModel, chain: list[ModelSettings], retries: int = 0) -> str:
    policy = failover.RetryPolicy(retries=retries, base_delay=0.0)
    events = failover.stream_with_failover(model, [], chain, policy=policy)
    return "".join([e.text async for e in events if isinstance(e, TextDelta)])


DEAD = ModelError("model_error", "HTTP 404: no such model", False, 404)
BUSY = ModelError("model_error", "HTTP 500", True, 500)


def test_cooldown_doubles_up_to_the_cap_and_a_success_forgets_it() -> None:
    now = [0.0]
    cooling = Cooldowns(base=30, cap=100, clock=lambda: now[0])
    assert [cooling.fail("m") for _ in range(4)] == [30, 60, 100, 100]
    assert cooling.until("m") == 100
    now[0] = 101
    assert cooling.until("m") is None  # over, but remembered: the next failure waits longer
    assert cooling.fail("m") == 100
    cooling.succeed("m")
    assert cooling.until("m") is None and cooling.fail("m") == 30
    assert cooling.fail("r", at_least=45) == 45  # a provider's Retry-After, when longer


def test_order_puts_cooling_keys_last_soonest_free_first() -> None:
    now = [0.0]
    cooling = Cooldowns(base=10, cap=100, clock=lambda: now[0])
    cooling.fail("a")
    cooling.fail("a")  # 20 s
    cooling.fail("b")  # 10 s
    assert cooling.order(["a", "b", "c"]) == ["c", "b", "a"]


async def test_a_model_that_failed_for_good_is_skipped_until_its_cooldown_ends() -> None:
    chain = [call("primary"), call("backup")]
    model = ScriptedModel(DEAD, "from backup", "backup again")
    assert await answer(model, chain) == "from backup"
    assert await answer(model, chain) == "backup again"
    assert [c.model for c in model.calls] == ["primary", "backup", "backup"]
    failover.models_cooling.clear()  # the cooldown ended: the primary is first again
    model.outcomes.append("primary is back")
    assert await answer(model, chain) == "primary is back"


async def test_the_model_that_answered_is_named_for_its_prices() -> None:
    chain = [call("primary"), call("backup")]
    model = ScriptedModel(DEAD, "from backup", "backup again")
    answered: list[str] = []
    for _ in range(2):  # the fallback after a failure, then the fallback first (cooling)
        events = failover.stream_with_failover(
            model,
            [],
            chain,
            policy=failover.RetryPolicy(retries=0),
            on_answer=lambda c: answered.append(c.model),
        )
        [e async for e in events]
    assert answered == ["backup", "backup"]


async def test_exhausted_retries_cool_the_model_down_too() -> None:
    chain = [call("primary"), call("backup")]
    model = ScriptedModel(BUSY, BUSY, "from backup", "backup again")
    assert await answer(model, chain, retries=1) == "from backup"
    assert await answer(model, chain, retries=1) == "backup again"
    assert [c.model for c in model.calls] == ["primary", "primary", "backup", "backup"]


async def test_when_every_model_cools_down_the_one_free_soonest_is_tried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [0.0]
    monkeypatch.setattr(failover, "models_cooling", Cooldowns(clock=lambda: now[0]))
    chain = [call("primary"), call("backup")]
    model = ScriptedModel(DEAD, DEAD, DEAD, "backup answers")
    with pytest.raises(ModelError):
        await answer(model, chain)  # both fail: each cools down until 30
    failover.models_cooling.fail(failover.model_key(chain[1]))  # backup: until 60
    with pytest.raises(ModelError):
        await answer(model, chain)  # only the primary (free soonest) is tried
    now[0] = 10.0  # the primary failed again at 0: until 60; backup until 60
    failover.models_cooling.fail(failover.model_key(chain[0]))  # primary: until 10 + 120
    assert await answer(model, chain) == "backup answers"
    assert [c.model for c in model.calls] == ["primary", "backup", "primary", "backup"]


async def test_a_context_length_error_cools_nothing_down() -> None:
    model = ScriptedModel(ModelError("context_length", "too long"), "fits now")
    with pytest.raises(ModelError):
        await answer(model, [call("primary"), call("backup")])
    assert failover.chain_order([call("primary")]) == [call("primary")]


@override_settings(
    OPENCLAW_PROVIDER_KEYS={
        "OPENAI_API_KEY": "sk-1",
        "OPENAI_API_KEY_3": "sk-3",
        "OPENAI_API_KEY_2": "sk-2",
        "OPENAI_API_KEY_X": "not a rotation key",
        "ANTHROPIC_API_KEY_2": "sk-ant-2",
    }
)
async def test_a_rate_limited_key_rotates_to_the_next_at_once() -> None:
    assert failover.key_family("OPENAI_API_KEY") == [
        "OPENAI_API_KEY",
        "OPENAI_API_KEY_2",
        "OPENAI_API_KEY_3",
    ]
    assert failover.key_family("ANTHROPIC_API_KEY") == ["ANTHROPIC_API_KEY_2"]
    limited = ModelError("rate_limited", "HTTP 429: slow down", True, 429)
    quota = ModelError("insufficient_quota", "HTTP 429: out of credit", False, 429)
    model = ScriptedModel(limited, quota, "third key answers", "third again")
    assert await answer(model, [call("m")]) == "third key answers"  # no retry spent
    assert await answer(model, [call("m")]) == "third again"
    assert [(c.api_key_env, c.api_key) for c in model.calls] == [
        ("OPENAI_API_KEY", "sk-1"),
        ("OPENAI_API_KEY_2", "sk-2"),
        ("OPENAI_API_KEY_3", "sk-3"),
        ("OPENAI_API_KEY_3", "sk-3"),
    ]


async def test_a_call_without_a_key_is_not_rotated() -> None:
    local = ModelSettings(
        model="llama3.1", base_url="http://127.0.0.1:1/v1", api_key="", api_key_env=""
    )
    assert failover.key_order(local) == [local]
