"""Media retention follows the transcript archive: day folders past OPENCLAW_RETENTION_DAYS move
to archive/media/ in the nightly run, and their paths still resolve."""

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings

from agents.media import store
from agents.media.retention import archive_old_media
from gateway.retention import apply_retention

NOW = dt.datetime(2026, 12, 8, 3, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def home(tmp_path: Path) -> Iterator[Path]:
    with override_settings(OPENCLAW_HOME=tmp_path, OPENCLAW_RETENTION_DAYS=30):
        yield tmp_path


def _file(home: Path, day: str, name: str = "a1b2.jpg") -> str:
    folder = home / "media" / "main" / day
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(b"data")
    return f"media/main/{day}/{name}"


def test_old_days_move_to_the_archive_and_still_resolve(home: Path) -> None:
    old, recent = _file(home, "2026-10-01"), _file(home, "2026-12-01")
    assert archive_old_media(now=NOW) == 1
    assert not (home / "media" / "main" / "2026-10-01").exists()
    assert store.resolve(old) == home / "archive" / "media" / "main" / "2026-10-01" / "a1b2.jpg"
    assert store.resolve(recent) == home / "media" / "main" / "2026-12-01" / "a1b2.jpg"
    assert archive_old_media(now=NOW) == 0  # idempotent


def test_a_run_cut_short_is_completed(home: Path) -> None:
    _file(home, "2026-10-01", "one.jpg")
    done = home / "archive" / "media" / "main" / "2026-10-01"
    done.mkdir(parents=True)
    (done / "two.jpg").write_bytes(b"moved before the crash")
    assert archive_old_media(now=NOW) == 1
    assert sorted(p.name for p in done.iterdir()) == ["one.jpg", "two.jpg"]


@pytest.mark.django_db
def test_the_nightly_run_reports_media_days(home: Path) -> None:
    _file(home, "2020-01-01")
    assert apply_retention(now=NOW)["media_days_archived"] == 1


def test_zero_days_keeps_everything(home: Path) -> None:
    _file(home, "2020-01-01")
    assert archive_old_media(days=0, now=NOW) == 0
    assert (home / "media" / "main" / "2020-01-01").exists()
