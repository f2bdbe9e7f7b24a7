"""The supervisor restarts a crashed task with a doubling delay, quick again after a healthy run."""

import asyncio

import pytest

from gateway.supervisor import Supervisor


async def test_backoff_doubles_and_resets_after_a_healthy_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def record(delay: float) -> None:
        slept.append(delay)
        await real_sleep(0)

    # Crash at once three times, then after a run longer than healthy_after, then finish.
    runs = iter([0.0, 0.0, 0.0, 0.05, 0.0, None])

    async def task() -> None:
        length = next(runs)
        if length is None:
            return
        if length:
            await real_sleep(length)
        raise RuntimeError("boom")

    supervisor = Supervisor(max_backoff=60.0, healthy_after=0.04)
    monkeypatch.setattr(asyncio, "sleep", record)  # the task itself sleeps through real_sleep
    supervisor.add("t", task)
    entry = supervisor.tasks["t"]
    assert entry.task is not None
    await asyncio.wait_for(entry.task, 5)
    assert slept == [1.0, 2.0, 4.0, 1.0, 2.0]
    assert supervisor.report()["t"] == {
        "state": "finished",
        "restarts": 5,
        "last_error": "RuntimeError: boom",
    }
