"""`manage.py status` rendering: a readable report from the gathered data (gateway, lanes, today's
usage, channel accounts with the running gateway's live state, sessions, pairings, tasks)."""

from typing import Any

from gateway.operator.statusreport import render_status


def report(**changes: Any) -> dict[str, Any]:
    status: dict[str, Any] = {
        "channels": [
            {
                "channel": "telegram",
                "account": "default",
                "name": "",
                "enabled": True,
                "state": "connecting",  # as last saved in the database
                "last_error": "",
            }
        ],
        "sessions_active_today": 1234,
        "recent_sessions": [
            {
                "key": "agent:main:main",
                "turns": 12,
                "tokens": 45678,
                "last_active": "2026-12-01T09:30:00+00:00",
            }
        ],
        "usage_today": {
            "day": "2026-12-01",
            "turns": 12,
            "prompt_tokens": 40000,
            "completion_tokens": 5678,
            "cost": "0.123456",
        },
        "pending_pairing": [
            {
                "code": "K7Q2MX",
                "channel": "telegram",
                "account": "default",
                "sender": "4242",
                "expires": "2026-12-01T10:30:00+00:00",
            }
        ],
        "prices_set": True,
        "gateway": {
            "runtime": "running",
            "database": "ok",
            "runs_busy": 2,
            "runs_queued": 3,
            "channels": {"telegram:default": {"state": "connected", "error": ""}},
            "tasks": {"scheduler": {"state": "running", "restarts": 1, "last_error": "boom"}},
            "broker": {"state": "unreachable"},
        },
    }
    status.update(changes)
    return status


def test_status_shows_every_part_readably() -> None:
    text = "\n".join(render_status(report()))
    assert "Gateway: running (database ok, Celery broker unreachable)" in text
    assert "Lanes: 2 busy, 3 messages queued" in text
    assert "Sessions active today: 1,234" in text
    assert "12 turns, 40,000 prompt + 5,678 completion tokens, cost 0.1235" in text
    assert "no model prices" not in text
    rows = text.splitlines()
    account = next(line for line in rows if line.startswith("telegram"))
    assert "connected" in account.split() and "connecting" not in account  # the live state
    assert any(line.startswith("agent:main:main  12") and "45,678" in line for line in rows)
    assert "Pending pairing requests (manage.py pairing approve CODE)" in text
    assert any(line.startswith("K7Q2MX") for line in rows)
    assert any(line.split()[:3] == ["scheduler", "running", "1"] for line in rows)


def test_status_without_gateway_accounts_or_prices_says_so() -> None:
    text = "\n".join(
        render_status(
            report(
                gateway=None, channels=[], pending_pairing=[], recent_sessions=[], prices_set=False
            )
        )
    )
    assert "Gateway: not running (nothing answers http://" in text
    assert "Lanes" not in text and "Gateway tasks" not in text
    assert "none configured: the web chat and `manage.py chat` only" in text
    assert "(no model prices set: Agents > Model prices in the admin)" in text
    assert "Pending pairing requests: none" in text


def test_one_turn_is_not_plural() -> None:
    usage = {"day": "2026-12-01", "turns": 1, "prompt_tokens": 1, "completion_tokens": 1}
    text = "\n".join(render_status(report(usage_today={**usage, "cost": "0"})))
    assert "Today (2026-12-01): 1 turn, 1 prompt + 1 completion tokens" in text
