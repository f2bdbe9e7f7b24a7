"""Load and checks shared by the crash and shutdown tests: turns in flight across web chat
sockets and Telegram chats on a real gateway, then "every message answered exactly once",
"every transcript parses" and "memory files and rows agree", read from the gateway's state."""

import asyncio
import hashlib
import json
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fakes.openai_server import JSON, FakeOpenAI, Reply, Text, ToolCall, ToolCalls, said
from tests.fakes.telegram_server import FakeTelegram
from tests.gateway_process import Gateway, manage
from tests.wsclient import ProtocolClient

TELEGRAM_TOKEN = "123:fake"
FILLER = "lorem ipsum dolor sit amet consectetur adipiscing elit"
FINISHED = ("stop", "length", "no_reply")  # an answer the user got (not aborted, not partial)


def gateway_env(telegram: FakeTelegram, **extra: str) -> dict[str, str]:
    return {
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_API_URL": telegram.url,
        "TELEGRAM_POLL_TIMEOUT": "1",
        "OPENCLAW_STREAM_EDIT_SECONDS": "0.05",
        "OPENCLAW_WS_RATE_LIMIT": "10000/minute",
        "OPENCLAW_INBOUND_RATE_PER_SENDER": "10000/minute",
        "OPENCLAW_INBOUND_RATE_PER_ACCOUNT": "10000/minute",
        **extra,
    }


def configure(home: Path, env: dict[str, str], chats: list[int]) -> None:
    """The Telegram account from `env`, the test chats let in, one run per message."""
    code = (
        "from gateway.platforms import ensure_default_accounts\n"
        "from gateway.models import ChannelAccount\n"
        "from agents.models import Agent\n"
        "ensure_default_accounts()\n"
        f"ChannelAccount.objects.filter(channel='telegram').update(allow_from={[str(c) for c in chats]!r})\n"
        "Agent.objects.update(queue_mode='followup')\n"
    )
    manage(home, env, "shell", "-c", code)


@dataclass
class Pace:
    """Seconds between streamed chunks of the fake model; change it between phases."""

    chunk_delay: float


def slow_model(fake: FakeOpenAI, pace: Pace) -> None:
    """Every answer streams "answer to <message>: …" in 11 chunks; a message containing
    "remember" first makes the model call memory_append (a memory write inside the turn)."""

    def reply(body: JSON) -> Reply:
        messages = body.get("messages", [])
        users = [m for m in messages if m.get("role") == "user"]
        text = said(users[-1].get("content", "")) if users else ""  # without its time stamp
        if "remember" in text and messages and messages[-1].get("role") == "user":
            args = json.dumps({"text": f"note for {text}"})
            return ToolCalls(ToolCall("memory_append", args), chunk_delay=pace.chunk_delay)
        return Text(f"answer to {text}: {FILLER}", chunk_delay=pace.chunk_delay)

    fake.script(*[reply] * 5000)


@dataclass
class Load:
    """Unique message texts: web ones per session (with their idempotency keys), Telegram
    ones per chat."""

    web: dict[str, list[str]] = field(default_factory=dict)
    telegram: dict[int, list[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, web_sessions: int, chats: list[int], per_conversation: int) -> "Load":
        load = cls()
        for s in range(web_sessions):
            texts = [
                f"web{s}-m{m}" + (" remember" if m == 2 else "") for m in range(per_conversation)
            ]
            load.web[f"agent:main:web:load{s}"] = texts
        for chat in chats:
            texts = [
                f"tg{chat}-m{m}" + (" remember" if m == 3 else "") for m in range(per_conversation)
            ]
            load.telegram[chat] = texts
        return load

    @property
    def messages(self) -> list[str]:
        return [t for ts in self.web.values() for t in ts] + [
            t for ts in self.telegram.values() for t in ts
        ]


def key_of(text: str) -> str:
    return "key-" + text.split(" ")[0]


async def send_web(gateway: Gateway, load: Load) -> dict[str, str]:
    """One socket per session sends all its messages at once; returns text → run once every
    `chat.send` was answered (the message is journaled). The sockets then close: the runs go
    on without them, as when a browser tab is closed."""

    async def one_session(session: str, texts: list[str]) -> dict[str, str]:
        async with gateway.connect() as ws:
            client = ProtocolClient(ws)
            runs = {}
            for text in texts:
                res = await client.request(
                    "chat.send", {"text": text, "session": session, "idempotencyKey": key_of(text)}
                )
                assert res["ok"], res
                runs[text] = res["result"]["run"]
            return runs

    results = await asyncio.gather(*(one_session(s, ts) for s, ts in load.web.items()))
    return {text: run for runs in results for text, run in runs.items()}


async def resend_web(gateway: Gateway, load: Load) -> list[dict[str, Any]]:
    """Send every web message again with its key (a client retrying after a reconnect)."""
    async with gateway.connect() as ws:
        client = ProtocolClient(ws)
        results = []
        for session, texts in load.web.items():
            for text in texts:
                params = {"text": text, "session": session, "idempotencyKey": key_of(text)}
                res = await client.request("chat.send", params)
                assert res["ok"], res
                results.append(res["result"])
        return results


async def history_answers(gateway: Gateway, load: Load) -> dict[str, list[str]]:
    """What a reconnecting web client sees: the final answers in each session's history."""
    async with gateway.connect() as ws:
        client = ProtocolClient(ws)
        seen: dict[str, list[str]] = {}
        for session in load.web:
            res = await client.request("sessions.history", {"session": session, "limit": 500})
            assert res["ok"], res
            seen[session] = [
                e.get("content", "")
                for e in res["result"]["entries"]
                if e.get("role") == "assistant" and e.get("stop_reason") in FINISHED
            ]
        return seen


def push_telegram(telegram: FakeTelegram, load: Load) -> None:
    for chat, texts in load.telegram.items():
        for text in texts:
            telegram.push_update(telegram.text(chat, text))


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 40.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.05)


def _db(home: Path) -> sqlite3.Connection:
    return sqlite3.connect(home / "openclaw.sqlite3", timeout=10)


def entries(home: Path, status: str) -> int:
    """Journal entries in `status` (accepted: not answered yet; delivered: answered)."""
    with _db(home) as db:
        row = db.execute(
            "SELECT COUNT(*) FROM gateway_inboundrecord WHERE status = ?", (status,)
        ).fetchone()
    return int(row[0])


def journal_count(home: Path) -> int:
    with _db(home) as db:
        return int(db.execute("SELECT COUNT(*) FROM gateway_inboundrecord").fetchone()[0])


def model_turns(fake: FakeOpenAI) -> int:
    return sum(r.path.endswith("/chat/completions") for r in fake.requests)


@dataclass
class Transcripts:
    bad_lines: list[str] = field(default_factory=list)
    runs_of: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    final_of: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    aborted: int = 0

    def answers(self, text: str) -> list[str]:
        """The finished answers of the runs that carried `text` (one per answered run)."""
        return [a for run in sorted(self.runs_of[text]) for a in self.final_of[run]]


def read_transcripts(home: Path) -> Transcripts:
    """Every line of every transcript must parse on its own (no torn or merged lines)."""
    found = Transcripts()
    for path in sorted((home / "sessions").rglob("*.jsonl")):
        for number, line in enumerate(path.read_bytes().splitlines(), start=1):
            try:
                entry = json.loads(line)
            except ValueError:
                found.bad_lines.append(f"{path.name}:{number}: {line[:80]!r}")
                continue
            run = entry.get("run", "")
            if entry.get("type") != "message" or not run:
                continue
            if entry.get("role") == "user":
                found.runs_of[entry.get("content", "")].add(run)
            elif entry.get("stop_reason") in FINISHED:
                found.final_of[run].append(entry.get("content", ""))
            elif entry.get("stop_reason") == "aborted":
                found.aborted += 1
    return found


@dataclass
class Figures:
    messages: int
    answered_once: int
    lost: list[str]
    duplicated: list[str]
    telegram_mismatch: list[str]

    def line(self) -> str:
        return (
            f"messages={self.messages} answered_once={self.answered_once} "
            f"lost={len(self.lost)} duplicated={len(self.duplicated)} "
            f"telegram_mismatch={len(self.telegram_mismatch)}"
        )


def exactly_once(found: Transcripts, telegram: FakeTelegram, load: Load) -> Figures:
    """Each message is in exactly one answered run; each Telegram chat shows exactly the
    answers of its runs, one bot message each (no second copy, no stray partial message)."""
    lost = [t for t in load.messages if not found.answers(t)]
    duplicated = [t for t in load.messages if len(found.answers(t)) > 1]
    mismatch = []
    for chat, texts in load.telegram.items():
        runs = {run for text in texts for run in found.runs_of[text] if found.final_of[run]}
        expected = sorted(a for run in runs for a in found.final_of[run])
        shown = sorted(m.text for m in telegram.messages(chat))
        if shown != expected:
            mismatch.append(f"chat {chat}: bot messages {shown} != answers {expected}")
    once = len(load.messages) - len(lost) - len(duplicated)
    return Figures(len(load.messages), once, lost, duplicated, mismatch)


def memory_disagreements(home: Path) -> list[str]:
    """Every memory file has a row with its hash and content, every present row its file."""
    problems = []
    with _db(home) as db:
        rows = db.execute(
            "SELECT a.slug, NULL, m.content, m.content_hash, m.missing FROM memory_workingmemory m "
            "JOIN agents_agent a ON a.id = m.agent_id UNION ALL "
            "SELECT a.slug, d.date, d.content, d.content_hash, d.missing FROM memory_dailylog d "
            "JOIN agents_agent a ON a.id = d.agent_id"
        ).fetchall()
    known = {}
    for slug, date, content, digest, missing in rows:
        rel = "MEMORY.md" if date is None else f"memory/{date}.md"
        known[(slug, rel)] = (content, digest, bool(missing))
    for workspace in sorted((home / "workspaces").iterdir()):
        files = [workspace / "MEMORY.md", *sorted((workspace / "memory").glob("*.md"))]
        for path in files:
            if not path.exists():
                continue
            rel = path.relative_to(workspace).as_posix()
            content = path.read_text(encoding="utf-8")
            row = known.pop((workspace.name, rel), None)
            if row is None:
                problems.append(f"{workspace.name}/{rel}: no row")
            elif (
                row[2]
                or row[1] != hashlib.sha256(content.encode()).hexdigest()
                or row[0] != content
            ):
                problems.append(f"{workspace.name}/{rel}: row differs from the file")
    problems += [f"{slug}/{rel}: row without file" for (slug, rel), r in known.items() if not r[2]]
    return problems


def memory_notes(home: Path) -> list[str]:
    """The notes memory_append wrote today (any day), one line each."""
    notes = []
    for path in (home / "workspaces").glob("*/memory/*.md"):
        notes += [
            line for line in path.read_text(encoding="utf-8").splitlines() if "note for" in line
        ]
    return notes
