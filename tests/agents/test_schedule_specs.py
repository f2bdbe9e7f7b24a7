"""Schedule math: parsing "at"/"every"/"cron" specs and next runs in the agent's time zone,
across the DST changes of Europe/Berlin and America/New_York. Pure code, no database."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agents.schedule_specs import (
    Schedule,
    ScheduleError,
    describe,
    next_cron,
    parse,
    parse_duration,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def runs(expression: str, zone: ZoneInfo, start: datetime, count: int) -> list[str]:
    """`count` consecutive runs after `start`, shown in local time with the UTC offset."""
    shown, after = [], start
    for _ in range(count):
        after = next_cron(expression, zone, after)
        shown.append(after.astimezone(zone).strftime("%m-%d %H:%M%z"))
    return shown


@pytest.mark.parametrize(
    ("expression", "zone", "start", "expected"),
    [
        # Spring forward, Berlin 2026-03-29 02:00 CET → 03:00 CEST: 02:30 does not exist that
        # day; it runs once, shifted by the gap, and the days around keep 02:30.
        (
            "30 2 * * *",
            BERLIN,
            datetime(2026, 3, 27, 12, 0, tzinfo=UTC),
            ["03-28 02:30+0100", "03-29 03:30+0200", "03-30 02:30+0200"],
        ),
        # Fall back, Berlin 2026-10-25 03:00 CEST → 02:00 CET: 02:30 happens twice; once here.
        (
            "30 2 * * *",
            BERLIN,
            datetime(2026, 10, 23, 12, 0, tzinfo=UTC),
            ["10-24 02:30+0200", "10-25 02:30+0200", "10-26 02:30+0100"],
        ),
        # A daily 09:00 job stays at 09:00 local time on both sides of each change.
        (
            "0 9 * * *",
            BERLIN,
            datetime(2026, 3, 27, 12, 0, tzinfo=UTC),
            ["03-28 09:00+0100", "03-29 09:00+0200", "03-30 09:00+0200"],
        ),
        (
            "0 9 * * *",
            BERLIN,
            datetime(2026, 10, 23, 12, 0, tzinfo=UTC),
            ["10-24 09:00+0200", "10-25 09:00+0100", "10-26 09:00+0100"],
        ),
        # New York: 2026-03-08 02:00 EST → 03:00 EDT and 2026-11-01 02:00 EDT → 01:00 EST.
        (
            "30 2 * * *",
            NEW_YORK,
            datetime(2026, 3, 6, 17, 0, tzinfo=UTC),
            ["03-07 02:30-0500", "03-08 03:30-0400", "03-09 02:30-0400"],
        ),
        (
            "30 1 * * *",
            NEW_YORK,
            datetime(2026, 10, 30, 17, 0, tzinfo=UTC),
            ["10-31 01:30-0400", "11-01 01:30-0400", "11-02 01:30-0500"],
        ),
        (
            "0 9 * * 1-5",
            NEW_YORK,
            datetime(2026, 3, 5, 17, 0, tzinfo=UTC),
            ["03-06 09:00-0500", "03-09 09:00-0400", "03-10 09:00-0400"],
        ),
        # Every 30 minutes through the skipped hour: no burst and no duplicate.
        (
            "*/30 * * * *",
            BERLIN,
            datetime(2026, 3, 29, 0, 0, tzinfo=UTC),
            ["03-29 01:30+0100", "03-29 03:00+0200", "03-29 03:30+0200"],
        ),
    ],
)
def test_cron_runs_on_wall_clock_time_across_dst(
    expression: str, zone: ZoneInfo, start: datetime, expected: list[str]
) -> None:
    assert runs(expression, zone, start, len(expected)) == expected


def test_a_repeated_hour_runs_a_fixed_time_once_even_from_its_second_occurrence() -> None:
    # 02:10 CET is in the repeated hour (after the 02:30 CEST run); the next run is tomorrow.
    second_pass = datetime(2026, 10, 25, 1, 10, tzinfo=UTC)
    assert second_pass.astimezone(BERLIN).strftime("%H:%M%z") == "02:10+0100"
    following = next_cron("30 2 * * *", BERLIN, second_pass)
    assert following == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)


def test_cron_in_the_agents_zone_is_not_utc() -> None:
    schedule = parse("cron", "0 9 * * *", "America/New_York", now=NOW, min_interval=60)
    assert schedule.next_after(NOW) == datetime(2026, 3, 20, 13, 0, tzinfo=UTC)  # 09:00 EDT


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("15m", 900), ("+2h", 7200), ("1d", 86400), ("1W", 604800)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


def test_at_takes_local_iso_times_offsets_and_delays() -> None:
    local = parse("at", "2026-03-21 09:30", "Europe/Berlin", now=NOW, min_interval=60)
    assert local.spec == "2026-03-21T09:30:00+01:00"
    assert local.next_after(NOW) == datetime(2026, 3, 21, 8, 30, tzinfo=UTC)
    offset = parse("at", "2026-03-21T09:30:00+00:00", "Europe/Berlin", now=NOW, min_interval=60)
    assert offset.next_after(NOW) == datetime(2026, 3, 21, 9, 30, tzinfo=UTC)
    delay = parse("at", "+20m", "Europe/Berlin", now=NOW, min_interval=60)
    assert delay.next_after(NOW) == NOW + timedelta(minutes=20)
    assert delay.next_after(NOW + timedelta(minutes=20)) is None  # once only


def test_at_a_time_skipped_by_dst_moves_forward_by_the_gap() -> None:
    at = parse("at", "2026-03-29T02:30", "Europe/Berlin", now=NOW, min_interval=60)
    assert at.next_after(NOW) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST


def test_every_keeps_its_cadence_and_skips_missed_ticks() -> None:
    every = parse("every", "1h", "UTC", now=NOW, min_interval=60)
    assert every.spec == "3600"
    due = NOW
    assert every.next_after_run(due, due + timedelta(seconds=3)) == due + timedelta(hours=1)
    # Down for five hours and a half: one run now, the next on the original cadence.
    late = due + timedelta(hours=5, minutes=30)
    assert every.next_after_run(due, late) == due + timedelta(hours=6)


def test_a_missed_cron_job_next_runs_after_now_not_at_the_missed_times() -> None:
    schedule = Schedule("cron", "0 * * * *", ZoneInfo("UTC"))
    due = datetime(2026, 3, 20, 1, 0, tzinfo=UTC)
    now = datetime(2026, 3, 20, 7, 20, tzinfo=UTC)
    assert schedule.next_after_run(due, now) == datetime(2026, 3, 20, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kind", "spec", "message"),
    [
        ("cron", "61 * * * *", "not a cron expression"),
        ("cron", "0 9 * *", "not a cron expression"),
        ("cron", "* * * * * *", "not a cron expression"),  # no seconds field
        ("cron", "0 0 31 2 *", "never runs"),
        ("every", "30s", "shortest interval is 60 s"),
        ("every", "soon", "not a duration"),
        ("every", "400d", "longest interval"),
        ("at", "2026-03-19T09:00", "in the past"),
        ("at", "tomorrow", "not a time"),
        ("at", "   ", "empty"),
        ("weekly", "x", "Unknown kind"),
    ],
)
def test_bad_specs_are_refused_with_a_clear_message(kind: str, spec: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        parse(kind, spec, "Europe/Berlin", now=NOW, min_interval=60)


def test_cron_more_often_than_the_minimum_is_refused() -> None:
    with pytest.raises(ScheduleError, match="too often"):
        parse("cron", "* * * * *", "UTC", now=NOW, min_interval=300)
    assert parse("cron", "*/5 * * * *", "UTC", now=NOW, min_interval=300).spec == "*/5 * * * *"


def test_an_unknown_zone_is_refused() -> None:
    with pytest.raises(ScheduleError, match="IANA"):
        parse("cron", "0 9 * * *", "Mars/Olympus", now=NOW, min_interval=60)


def test_describe() -> None:
    assert describe("every", "7200") == "every 2h"
    assert describe("every", "90") == "every 90s"
    assert describe("cron", "0 9 * * *") == "cron 0 9 * * *"
    assert describe("at", "2026-03-21T09:30:00+01:00") == "at 2026-03-21 09:30 +0100"
