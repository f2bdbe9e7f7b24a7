"""`manage.py import-openclaw`: the hand-written OpenClaw state directory in
tests/fixtures/openclaw_home imports into a fresh home (agents, workspaces and memory, the
Telegram account with its allowlist, a peer binding, transcripts, a cron job), everything that
cannot be mapped is listed with its reason, a second run changes nothing and a dry run writes
nothing. The originals are never touched."""

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from pytest_django.fixtures import Settings

from agents.context import history_messages, split_at_compaction
from agents.models import Agent, ScheduledJob, Session
from agents.services import ensure_default_agent, open_session
from agents.transcripts import read_entries
from gateway.models import Binding, ChannelAccount
from gateway.operator.openclaw_import.runner import apply, build_plan
from memory.models import DailyLog, MemoryNote, WorkingMemory
from tests.gateway_process import ROOT, base_env

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "openclaw_home"
TOKEN = "700100:fixture-token-not-a-real-one"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "dot-openclaw"))


@pytest.fixture
def home(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh state directory as `migrate` leaves it: the default agent and its templates."""
    path = tmp_path / "home"
    path.mkdir()
    settings.OPENCLAW_HOME = path
    settings.OPENCLAW_WORKSPACES = path / "workspaces"
    settings.OPENCLAW_SECRETS_FILE = ""
    settings.OPENCLAW_DEFAULT_AGENT = "main"
    settings.TIME_ZONE = "UTC"
    for name in [n for n in os.environ if n.startswith("TELEGRAM_")]:
        monkeypatch.delenv(name)
    ensure_default_agent()
    return path


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("import-openclaw", *args, stdout=out)
    return out.getvalue()


def digest(folder: Path, *, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Every file under `folder` (relative path → content hash and mode)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_file() and not relative.startswith(skip):
            mode = oct(path.stat().st_mode & 0o777)
            found[relative] = hashlib.sha256(path.read_bytes()).hexdigest() + mode
    return found


def database() -> dict[str, list[dict[str, Any]]]:
    return {
        model._meta.label: list(model._default_manager.order_by("pk").values())
        for model in apps.get_models()
        if model._meta.app_label in ("agents", "gateway", "memory", "mcp")
    }


def test_fixture_imports_into_a_fresh_home(source: Path, home: Path) -> None:
    originals = digest(source)
    out = run(str(source))

    main, research = Agent.objects.get(slug="main"), Agent.objects.get(slug="research")
    assert (main.name, main.model, main.timezone) == ("Pip", "openai/gpt-fake", "Europe/Oslo")
    assert main.fallback_models == ["anthropic/claude-sonnet-4-5"]
    assert main.reasoning_effort == "low"
    assert research.model == "gemini/gemini-2.5-flash"
    assert research.fallback_models == ["openai/gpt-fake"]  # the alias `fake`, resolved
    assert research.skills_allow == ["tide-tables"]

    workspace = home / "workspaces" / "main"
    assert (workspace / "MEMORY.md").read_text() == (FIXTURE / "workspace/MEMORY.md").read_text()
    assert (workspace / "SOUL.md").read_text().startswith("# Soul")  # template replaced
    assert (workspace / "skills/tide-tables/SKILL.md").is_file()
    assert (workspace / "memory/2026-11-02-meeting.md").is_file()
    assert not (workspace / "BOOTSTRAP.md").exists()
    assert "Sjøsprøyt-42" in WorkingMemory.objects.get(agent=main).content
    assert DailyLog.objects.filter(agent=main, date="2026-11-01").exists()
    note = MemoryNote.objects.get(agent=main, name="2026-11-02-meeting.md")
    assert "3,150 NOK" in note.content
    assert "brackish" in WorkingMemory.objects.get(agent=research).content

    account = ChannelAccount.objects.get(channel="telegram", account_id="default")
    assert account.agent == main
    assert (account.dm_policy, account.group_policy) == ("allowlist", "allowlist")
    assert account.allow_from == ["111222333", "444555666"]
    assert account.owner_ids == ["111222333", "444555666"]  # dmScope main: DMs to main sessions
    assert account.group_allowlist == ["-1001234567890"]
    assert account.group_sender_allowlist == ["111222333"]
    assert account.mention_patterns == [r"\bpip\b"]
    assert account.credentials == {"bot_token": "TELEGRAM_BOT_TOKEN"}
    secrets = home / "secrets.env"
    assert f"TELEGRAM_BOT_TOKEN='{TOKEN}'" in secrets.read_text()
    assert secrets.stat().st_mode & 0o777 == 0o600
    assert TOKEN not in repr(database()) and TOKEN not in out
    binding = Binding.objects.get(account=account)
    assert (binding.peer, binding.agent) == ("444555666", research)

    session = Session.objects.get(key="agent:main:main", status="active")
    assert session.turns == 2 and session.tokens_out == 200
    assert session.created_at.isoformat().startswith("2026-11-02T08:55")
    entries = read_entries(session.transcript_file)
    assert entries[0]["meta"]["session_key"] == "agent:main:main"
    assert [e["ts"][:19] for e in entries[1:3]] == ["2026-11-02T09:00:00", "2026-11-02T09:00:03"]
    history = history_messages(entries, 100_000)
    assert [m["role"] for m in history] == ["user", "assistant", "tool", "assistant"] * 1 + [
        "user",
        "assistant",
    ]
    assert history[1]["tool_calls"][0]["function"]["name"] == "read"
    assert "abandoned branch" not in repr(history)
    research_session = Session.objects.get(key="agent:research:main")
    summary, _ = split_at_compaction(read_entries(research_session.transcript_file))
    assert summary is not None and "paywalled" in summary

    job = ScheduledJob.objects.get(agent=main, purpose="reminder")
    assert (job.kind, job.spec, job.timezone) == ("cron", "30 6 * * 1-5", "Europe/Oslo")
    assert job.session_key == "agent:main:main" and job.next_run_at is not None

    for reason in (
        "channel whatsapp: OpenClaw's WhatsApp is a linked WhatsApp Web device",
        "'@somebody': only telegram ids are matched here",
        "provider 'minimax' has no counterpart here",
        "sandbox: no sandboxes here",
        "BOOTSTRAP.md",
        "agent:main:telegram:group:-1001234567890: its transcript file is missing",
        "Weekly digest to a webhook: webhook delivery does not exist here",
        "setting gateway:",
    ):
        assert reason in out
    assert digest(source) == originals  # the OpenClaw directory was only read


def test_a_second_import_changes_nothing(source: Path, home: Path) -> None:
    run(str(source))
    files, rows = digest(home, skip=("test.sqlite3",)), database()
    out = run(str(source))
    assert digest(home, skip=("test.sqlite3",)) == files
    assert database() == rows
    assert "0 changed, 9 already imported, 4 not imported" in out
    assert "[already imported] transcript main agent:main:main" in out


def test_dry_run_writes_nothing(source: Path, home: Path) -> None:
    files, rows = digest(home), database()
    out = run(str(source), "--dry-run")
    assert digest(home) == files
    assert database() == rows
    assert "[would import] channel telegram:default" in out
    assert "(dry run: nothing was written)" in out
    assert TOKEN not in out


def test_an_agent_already_configured_here_keeps_its_settings(source: Path, home: Path) -> None:
    Agent.objects.filter(slug="main").update(name="Mine", model="anthropic/claude-sonnet-4-5")
    out = run(str(source))
    main = Agent.objects.get(slug="main")
    assert (main.name, main.model) == ("Mine", "anthropic/claude-sonnet-4-5")
    assert main.timezone == "Europe/Oslo"  # empty here: filled
    assert "model stays 'anthropic/claude-sonnet-4-5' (OpenClaw: 'openai/gpt-fake')" in out


def test_keyed_agents_entries_with_defaults(tmp_path: Path, home: Path) -> None:
    source = tmp_path / "keyed"
    source.mkdir()
    (source / "openclaw.json").write_text(
        """{
          agents: {
            defaults: { model: "anthropic/claude-opus-4-6", workspace: "shared" },
            entries: {
              home: { name: "Home", },
              work: { model: { primary: "ollama/llama3.1", fallbacks: [] }, thinkingDefault: "high" },
            },
          },
          channels: {
            slack: { botToken: "${SLACK_BOT_TOKEN}", appToken: "${SLACK_APP_TOKEN}",
                     dmPolicy: "open", allowFrom: ["*"], channels: { C0123: {} } },
            whatsapp: { accounts: { shop: { accessToken: { source: "env", id: "WHATSAPP_SHOP" },
                                            phoneNumberId: "1098765", allowFrom: ["+4790011223"] } } },
            discord: { token: "x" },
          },
        }"""
    )
    (source / "cron").mkdir()
    (source / "cron" / "jobs.json").write_text(
        json.dumps(
            {
                "version": 1,
                "jobs": [
                    {
                        "id": "past",
                        "agentId": "work",
                        "schedule": {"kind": "at", "at": "2020-01-01T00:00:00Z"},
                        "payload": {"kind": "systemEvent", "text": "too late"},
                    },
                    {
                        "id": "hourly",
                        "agentId": "work",
                        "name": "Check the build",
                        "enabled": False,
                        "schedule": {"kind": "every", "everyMs": 3_600_000},
                        "sessionTarget": "isolated",
                        "payload": {"kind": "agentTurn", "message": "Is the build green?"},
                        "delivery": {"mode": "announce", "channel": "slack", "to": "channel:C0123"},
                    },
                ],
            }
        )
    )
    (source / "skills" / "deploy").mkdir(parents=True)
    (source / "skills" / "deploy" / "SKILL.md").write_text("---\nname: deploy\n---\nShip it.\n")
    (source / "shared" / "work").mkdir(parents=True)
    (source / "shared" / "work" / "MEMORY.md").write_text("- the work agent's memory\n")
    out = run(str(source))
    home_agent, work = Agent.objects.get(slug="home"), Agent.objects.get(slug="work")
    assert (home_agent.name, home_agent.model) == ("Home", "anthropic/claude-opus-4-6")
    assert (work.model, work.reasoning_effort) == ("ollama/llama3.1", "high")
    assert (home / "workspaces/work/MEMORY.md").read_text() == "- the work agent's memory\n"
    assert "workspace home: no workspace folder found" in out
    assert (home / "skills/deploy/SKILL.md").read_text().endswith("Ship it.\n")  # for all agents
    assert (home / "workspaces/home/AGENTS.md").is_file()  # ours, from the templates
    slack = ChannelAccount.objects.get(channel="slack")
    assert slack.credentials == {"bot_token": "SLACK_BOT_TOKEN", "app_token": "SLACK_APP_TOKEN"}
    assert (slack.dm_policy, slack.allow_from, slack.group_allowlist) == ("open", [], ["C0123"])
    assert slack.agent == home_agent  # no binding: OpenClaw's default agent, the first entry
    assert not (home / "secrets.env").exists()  # only variable names: nothing to write
    shop = ChannelAccount.objects.get(channel="whatsapp", account_id="shop")
    assert shop.credentials == {"access_token": "WHATSAPP_SHOP"}
    assert (shop.options, shop.allow_from) == ({"phone_number_id": "1098765"}, ["4790011223"])
    assert "channel discord: no discord support here" in out
    assert "cron job past: 2020-01-01T00:00:00Z is in the past" in out
    job = ScheduledJob.objects.get(created_by="openclaw-import:hourly")
    assert (job.kind, job.spec, job.enabled) == ("every", "3600", False)
    assert (job.session_key, job.channel, job.chat_id) == (
        "agent:work:cron:hourly",
        "slack",
        "C0123",
    )


def test_a_token_that_would_replace_another_value_gets_a_name_of_its_own(
    source: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "999:another-bot")
    out = run(str(source))
    account = ChannelAccount.objects.get(channel="telegram")
    assert account.credentials == {"bot_token": "TELEGRAM_BOT_TOKEN_IMPORTED"}
    assert f"TELEGRAM_BOT_TOKEN_IMPORTED='{TOKEN}'" in (home / "secrets.env").read_text()
    assert "set OPENCLAW_SECRETS_FILE=" in out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "has no openclaw.json"),
        ("{ agents: [ }", "is not valid JSON5"),
        ('{ $include: "../outside.json5" }', "leads outside"),
    ],
)
def test_an_unreadable_directory_is_a_clear_error(
    tmp_path: Path, home: Path, text: str | None, message: str
) -> None:
    source = tmp_path / "broken"
    source.mkdir()
    if text is not None:
        (source / "openclaw.json").write_text(text)
    rows = database()
    with pytest.raises(CommandError, match=message):
        run(str(source))
    assert database() == rows


def test_before_migrate_the_command_says_to_migrate(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "import-openclaw", str(FIXTURE)],
        cwd=ROOT,
        env=base_env(tmp_path / "never-migrated"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "run manage.py migrate first" in done.stderr
    assert not (tmp_path / "never-migrated" / "workspaces").exists()


def test_an_active_session_here_keeps_its_key_and_the_imported_one_is_archived(
    source: Path, home: Path
) -> None:
    open_session("agent:main:main")
    out = run(str(source))
    active = Session.objects.get(key="agent:main:main", status="active")
    assert not read_entries(active.transcript_file)  # ours, untouched
    imported = Session.objects.get(key="agent:main:main", status="archived")
    assert imported.turns == 2
    assert "(archived: this key already has an active session here)" in out


def test_a_job_over_our_limit_is_listed_not_failed(
    source: Path, home: Path, settings: Settings
) -> None:
    settings.OPENCLAW_CRON_MAX_JOBS = 0
    out = run(str(source))  # no CommandError: nothing failed
    assert not ScheduledJob.objects.filter(purpose="reminder").exists()
    assert "[not imported] cron job 7d1f0c2e-5a44-4c0b-b1aa-2f9e6d3c8b70" in out
    assert "the limit is 0" in out


def test_a_session_the_gateway_opens_while_importing_keeps_its_key(
    source: Path, home: Path
) -> None:
    plan = build_plan(source)
    open_session("agent:main:main")  # a message arrived between the plan and its apply
    assert apply(plan) == 0
    [step] = [s for s in plan.steps if s.kind == "transcript" and s.name == "main agent:main:main"]
    assert step.detail.endswith("; archived: this key got an active session here meanwhile")
    assert Session.objects.get(key="agent:main:main", status="archived").turns == 2
    assert not read_entries(
        Session.objects.get(key="agent:main:main", status="active").transcript_file
    )
