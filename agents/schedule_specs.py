"""Schedule specs of scheduled jobs ("at" a time, "every" an interval, a "cron" expression) and
their next run, computed in the job's time zone. Pure: no ORM, no clock (callers pass `now`).

Cron runs on wall-clock time. A time skipped when DST starts (02:30 on a spring-forward night)
runs once, shifted forward by the gap (03:30); a time repeated when DST ends runs once, at its
first occurrence. "every" is a fixed real interval, anchored on the first run.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter  # type: ignore[import-untyped]  # no stubs

Kind = Literal["at", "every", "cron"]
KINDS: Final = ("at", "every", "cron")
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\+?\s*(\d+)\s*([smhdw]?)$", re.IGNORECASE)
MAX_INTERVAL = 366 * 86400


class ScheduleError(ValueError):
    """A spec that cannot be scheduled; the message says what to write instead."""


@dataclass(frozen=True, slots=True)
class Schedule:
    """A validated spec. `spec` is its normal form: an ISO time with offset for "at", a number
    of seconds for "every", the five-field expression for "cron"."""

    kind: Kind
    spec: str
    zone: ZoneInfo

    def next_after(self, after: datetime) -> datetime | None:
        """The first run strictly after `after` (aware), in UTC; None when there is none."""
        if self.kind == "at":
            when = datetime.fromisoformat(self.spec).astimezone(UTC)
            return when if when > after else None
        if self.kind == "every":
            return after.astimezone(UTC) + timedelta(seconds=int(self.spec))
        return next_cron(self.spec, self.zone, after)

    def next_after_run(self, due: datetime, now: datetime) -> datetime | None:
        """The run after one that was due at `due` and ran at `now`: "every" keeps its cadence
        and skips the ticks missed meanwhile (a job missed while the gateway was down runs
        once, not once per tick); "at" runs once (even when run early); cron takes its first
        time after `now`."""
        if self.kind == "at":
            return None
        if self.kind == "cron":
            return self.next_after(max(due, now))
        step = timedelta(seconds=int(self.spec))
        missed = max(0, int((now - due) / step))
        following = due + step * (missed + 1)
        return following if following > now else following + step


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"{name!r} is not an IANA time zone (e.g. Europe/Berlin).") from None


def parse_duration(text: str) -> int:
    """Seconds in "90", "90s", "15m", "2h", "1d", "1w" (a leading "+" is allowed)."""
    found = _DURATION.match(text.strip())
    if found is None:
        raise ScheduleError(
            f"{text!r} is not a duration: write seconds or a number with s, m, h, d or w "
            "(e.g. 30m, 2h, 1d)."
        )
    return int(found[1]) * _UNITS[(found[2] or "s").lower()]


def parse(kind: str, spec: str, zone_name: str, *, now: datetime, min_interval: int) -> Schedule:
    """Validate a spec written by a person or a model. "at" takes an ISO time (without an
    offset: in the zone) or a delay like "+20m"; it must lie in the future. "every" takes a
    duration of at least `min_interval` seconds; "cron" five fields, runs at least
    `min_interval` seconds apart."""
    tz = zone(zone_name)
    spec = spec.strip()
    if not spec:
        raise ScheduleError("The schedule is empty.")
    if kind == "at":
        return Schedule("at", _parse_at(spec, tz, now).isoformat(), tz)
    if kind == "every":
        seconds = parse_duration(spec)
        if seconds < min_interval:
            raise ScheduleError(f"every {spec}: the shortest interval is {min_interval} s.")
        if seconds > MAX_INTERVAL:
            raise ScheduleError(f"every {spec}: the longest interval is 366 days.")
        return Schedule("every", str(seconds), tz)
    if kind == "cron":
        expression = " ".join(spec.split())
        if len(expression.split(" ")) != 5 or not croniter.is_valid(expression):
            raise ScheduleError(
                f"{spec!r} is not a cron expression: five fields, minute hour day-of-month "
                "month day-of-week (e.g. '0 9 * * 1-5' for 09:00 on weekdays)."
            )
        schedule = Schedule("cron", expression, tz)
        first = schedule.next_after(now)
        second = first and schedule.next_after(first)
        if first is None or second is None:
            raise ScheduleError(f"{spec!r} never runs.")
        if (second - first).total_seconds() < min_interval:
            raise ScheduleError(f"{spec!r} runs too often: at most once per {min_interval} s.")
        return schedule
    raise ScheduleError(f"Unknown kind {kind!r}: use one of {', '.join(KINDS)}.")


def _parse_at(spec: str, tz: ZoneInfo, now: datetime) -> datetime:
    if spec.startswith("+"):
        return (now + timedelta(seconds=parse_duration(spec))).astimezone(tz)
    try:
        when = datetime.fromisoformat(spec.replace(" ", "T", 1))
    except ValueError:
        raise ScheduleError(
            f"{spec!r} is not a time: write an ISO time like 2026-05-01T09:30 (in the "
            "agent's time zone unless it has an offset) or a delay like +20m."
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz)  # fold=0: a skipped time moves forward by the gap
    if when <= now:
        shown = now.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
        raise ScheduleError(f"{spec} is in the past (it is now {shown}).")
    return when.astimezone(tz)


def next_cron(expression: str, tz: ZoneInfo, after: datetime) -> datetime:
    """The first instant strictly after `after` whose wall-clock time in `tz` matches."""
    naive = after.astimezone(tz).replace(tzinfo=None)
    runs = croniter(expression, naive, max_years_between_matches=8)
    for _ in range(1000):  # a skipped or repeated hour costs a step or two
        try:
            candidate: datetime = runs.get_next(datetime)
        except CroniterBadDateError:
            break
        when = candidate.replace(tzinfo=tz).astimezone(UTC)  # fold=0: see the module doc
        if when > after:
            return when
    raise ScheduleError(f"{expression!r} never runs.")


def describe(kind: str, spec: str) -> str:
    """A short human form: "at 2026-05-01 09:30 +02:00", "every 2h", "cron 0 9 * * *"."""
    if kind == "every" and spec.isdigit():
        seconds = int(spec)
        for unit in ("w", "d", "h", "m"):
            if seconds % _UNITS[unit] == 0:
                return f"every {seconds // _UNITS[unit]}{unit}"
        return f"every {seconds}s"
    if kind == "at":
        try:
            return "at " + datetime.fromisoformat(spec).strftime("%Y-%m-%d %H:%M %z")
        except ValueError:
            return f"at {spec}"
    return f"{kind} {spec}"
