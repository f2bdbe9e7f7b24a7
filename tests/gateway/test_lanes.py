"""Lanes: serial per session, parallel across sessions, always released, drained on stop."""

import asyncio
from dataclasses import dataclass, field

import pytest

from gateway.lanes import Lanes, LanesClosed


@dataclass
class Probe:
    run_id: str
    log: list[str]
    delay: float = 0.0
    fail: bool = False
    hang: bool = False
    answered: bool = False
    skipped: list[str] = field(default_factory=list)

    async def run(self) -> None:
        self.log.append(f"start {self.run_id}")
        if self.hang:
            await asyncio.Event().wait()
        await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("tool exploded")
        self.log.append(f"end {self.run_id}")

    async def skip(self, reason: str) -> None:
        self.skipped.append(reason)

    def absorb(self, other: object) -> bool:
        return False

    def steer(self, other: object) -> bool:
        return False


async def wait_idle(lanes: Lanes) -> None:
    for _ in range(200):
        if not lanes.busy and not lanes.queued:
            await asyncio.sleep(0)
            return
        await asyncio.sleep(0.01)
    raise AssertionError("lanes never went idle")


async def test_runs_of_one_session_are_serial_and_in_order() -> None:
    lanes, log = Lanes(max_concurrent=8, backstop_seconds=5), list[str]()
    for i in range(3):
        lanes.submit("s", Probe(f"r{i}", log, delay=0.01))
    await wait_idle(lanes)
    assert log == ["start r0", "end r0", "start r1", "end r1", "start r2", "end r2"]


async def test_sessions_run_in_parallel() -> None:
    lanes, log = Lanes(max_concurrent=8, backstop_seconds=5), list[str]()
    lanes.submit("a", Probe("a", log, delay=0.05))
    lanes.submit("b", Probe("b", log, delay=0.05))
    await asyncio.sleep(0.02)
    assert log == ["start a", "start b"]
    await wait_idle(lanes)


async def test_global_cap_bounds_concurrent_runs() -> None:
    lanes, log = Lanes(max_concurrent=2, backstop_seconds=5), list[str]()
    for key in "abcd":
        lanes.submit(key, Probe(key, log, delay=0.05))
    await asyncio.sleep(0.02)
    assert lanes.busy == 2
    await wait_idle(lanes)
    assert sorted(x for x in log if x.startswith("end")) == ["end a", "end b", "end c", "end d"]


async def test_a_failing_run_releases_the_lane() -> None:
    lanes, log = Lanes(max_concurrent=8, backstop_seconds=5), list[str]()
    lanes.submit("s", Probe("bad", log, fail=True))
    lanes.submit("s", Probe("good", log))
    await wait_idle(lanes)
    assert log[-1] == "end good"


async def test_a_hung_run_is_cancelled_at_the_backstop_and_the_lane_moves_on() -> None:
    lanes, log = Lanes(max_concurrent=8, backstop_seconds=0.1), list[str]()
    lanes.submit("s", Probe("hang", log, hang=True))
    lanes.submit("s", Probe("next", log))
    await wait_idle(lanes)
    assert log == ["start hang", "start next", "end next"]


async def test_abort_cancels_a_running_run_and_drops_a_queued_one() -> None:
    lanes, log = Lanes(max_concurrent=8, backstop_seconds=5), list[str]()
    running, queued = Probe("r1", log, hang=True), Probe("r2", log)
    lanes.submit("s", running)
    lanes.submit("s", queued)
    await asyncio.sleep(0.01)
    assert lanes.abort("r2") is True
    assert lanes.abort("r1") is True
    assert lanes.abort("unknown") is False
    await wait_idle(lanes)
    assert log == ["start r1"]
    assert queued.skipped == ["aborted"]


async def test_drain_waits_for_runs_then_refuses_new_ones() -> None:
    lanes, log = Lanes(max_concurrent=8, backstop_seconds=5), list[str]()
    lanes.submit("s", Probe("r1", log, delay=0.05))
    await lanes.drain(deadline=2)
    assert log == ["start r1", "end r1"]
    with pytest.raises(LanesClosed):
        lanes.submit("s", Probe("late", log))


async def test_drain_past_its_deadline_cancels_and_skips() -> None:
    lanes, log = Lanes(max_concurrent=8, backstop_seconds=50), list[str]()
    queued = Probe("r2", log)
    lanes.submit("s", Probe("r1", log, hang=True))
    lanes.submit("s", queued)
    await asyncio.sleep(0.01)
    await lanes.drain(deadline=0.05)
    assert queued.skipped == ["shutdown"]
    assert lanes.busy == 0


async def test_a_run_whose_answer_went_out_is_not_stopped() -> None:
    lanes = Lanes(max_concurrent=4, backstop_seconds=30)
    log: list[str] = []
    winding_down = Probe("r1", log, delay=0.2, answered=True)  # only bookkeeping left
    lanes.submit("s", winding_down)
    await asyncio.sleep(0.05)
    assert lanes.abort_session("s") == 0
    assert lanes.abort("r1") is False
    await asyncio.sleep(0.3)
    assert log == ["start r1", "end r1"]  # it finished, uncancelled
