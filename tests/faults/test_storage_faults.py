"""Storage faults through a real gateway: the disk refuses a transcript write (full, or the
transcript directory turned read-only), or another process holds SQLite's write lock for a
while. The user gets an answer or a clear error, the
session answers its next message, what was accepted stays, and the gateway keeps running."""

import asyncio
import ctypes
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agents.transcripts import read_entries
from tests.conftest import GatewayFactory
from tests.fakes.openai_server import FakeOpenAI
from tests.gateway_process import Gateway
from tests.wsclient import ProtocolClient

pytestmark = pytest.mark.e2e

FILE_LIMIT = 16 * 1024 * 1024  # far above the database and the log; the transcript is padded


def file_size_limit(limit: int) -> Callable[[], None]:
    """For the gateway's child process: files may not grow past `limit` bytes (the kernel
    answers EFBIG, as a full disk answers ENOSPC), and SIGXFSZ does not kill the process."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def alive(gateway: Gateway) -> None:
    assert gateway.proc is not None and gateway.proc.poll() is None, gateway.output()
    assert gateway.get("/readyz")[0] == 200


async def chat(gateway: Gateway, text: str, session: str) -> tuple[dict[str, Any], list[str]]:
    async with gateway.connect() as ws:
        return await ProtocolClient(ws).chat(text, session=session)


def transcript_of(gateway: Gateway) -> Path:
    [path] = (gateway.home / "sessions").glob("*/*.jsonl")
    return path


async def test_a_full_disk_on_a_transcript_write_is_a_clear_error_and_the_session_recovers(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    gateway = gateway_factory(start=False)
    gateway.preexec = file_size_limit(FILE_LIMIT)
    gateway.start()
    session = "agent:main:diskfull"
    end, _ = await chat(gateway, "first", session)
    assert end["event"] == "chat.final" and end["data"]["text"] == "echo: first"

    path = transcript_of(gateway)
    before = path.stat().st_size
    with path.open("ab") as handle:  # fill the "disk" up to 40 bytes short of the limit
        handle.write(b" " * (FILE_LIMIT - before - 41) + b"\n")
    full = path.stat().st_size

    end, _ = await chat(gateway, "second", session)
    assert end["event"] == "chat.error", end
    assert end["data"]["code"] == "storage"
    assert "could not be saved (File too large)" in end["data"]["message"]
    assert path.stat().st_size == full  # the part that fitted was cut back: no torn line
    assert len(fake_openai.requests) == 1  # the model was not asked to answer the unsaved turn
    alive(gateway)

    with path.open("r+b") as handle:  # room again
        handle.truncate(before)
    end, _ = await chat(gateway, "third", session)
    assert end["event"] == "chat.final" and end["data"]["text"] == "echo: third"
    said = [e.get("content") for e in read_entries(path) if e["type"] == "message"]
    assert said == ["first", "echo: first", "third", "echo: third"]
    alive(gateway)


MS_REC, MS_PRIVATE = 0x4000, 0x40000


def own_mount_namespace() -> None:
    """For the gateway's child process: a mount namespace of its own with private propagation,
    so a read-only bind mount made in it (through nsenter) is seen by the gateway alone and goes
    away with the process."""
    os.unshare(os.CLONE_NEWNS)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        raise OSError(ctypes.get_errno(), "mount --make-rprivate /")


def may_mount() -> bool:
    if shutil.which("nsenter") is None or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False)
    return probe.returncode == 0


def in_gateway_namespace(gateway: Gateway, *command: str) -> None:
    assert gateway.proc is not None
    pid = str(gateway.proc.pid)
    subprocess.run(["nsenter", "-t", pid, "-m", "--", *command], check=True, timeout=30)


@pytest.mark.skipif(not may_mount(), reason="needs mount namespaces (root or CAP_SYS_ADMIN)")
async def test_a_read_only_transcript_directory_is_a_clear_error_and_the_session_recovers(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    gateway = gateway_factory(start=False)
    gateway.preexec = own_mount_namespace
    gateway.start()
    session = "agent:main:readonly"
    end, _ = await chat(gateway, "first", session)
    assert end["event"] == "chat.final" and end["data"]["text"] == "echo: first"
    path = transcript_of(gateway)
    before = path.read_bytes()

    folder = str(path.parent)  # writes there now fail with EROFS, as on a disk remounted ro
    in_gateway_namespace(gateway, "mount", "--bind", "-o", "ro", folder, folder)
    end, _ = await chat(gateway, "second", session)
    assert end["event"] == "chat.error", end
    assert end["data"]["code"] == "storage"
    assert "could not be saved (Read-only file system)" in end["data"]["message"]
    assert path.read_bytes() == before  # not a byte written
    assert len(fake_openai.requests) == 1  # the model was not asked to answer the unsaved turn
    alive(gateway)

    in_gateway_namespace(gateway, "umount", folder)  # writable again
    end, _ = await chat(gateway, "third", session)
    assert end["event"] == "chat.final" and end["data"]["text"] == "echo: third"
    said = [e.get("content") for e in read_entries(path) if e["type"] == "message"]
    assert said == ["first", "echo: first", "third", "echo: third"]
    alive(gateway)


class WriteLock:
    """Another process's view of SQLite: an IMMEDIATE transaction holds the write lock until
    `release()` (readers go on in WAL mode; writers wait up to their busy timeout)."""

    def __init__(self, database: Path) -> None:
        self.connection = sqlite3.connect(database, timeout=30, check_same_thread=False)
        self.connection.isolation_level = None
        self.connection.execute("BEGIN IMMEDIATE")
        self.connection.execute("CREATE TABLE IF NOT EXISTS fault_probe (n INTEGER)")

    def release(self) -> None:
        self.connection.execute("ROLLBACK")
        self.connection.close()


async def test_a_locked_database_delays_turns_and_nothing_is_lost(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    gateway = gateway_factory()
    old = "agent:main:before-the-lock"
    end, _ = await chat(gateway, "warm up", old)
    assert end["event"] == "chat.final"

    lock = WriteLock(gateway.home / "openclaw.sqlite3")
    timer = threading.Timer(3.0, lock.release)  # well inside the gateway's 20 s busy timeout
    timer.start()
    try:
        # A new session needs a row (waits for the lock); an old one writes usage after its
        # answer (waits too). Both complete once the lock goes.
        new_end, old_end = await asyncio.gather(
            chat(gateway, "during the lock", "agent:main:new-during-lock"),
            chat(gateway, "old session during the lock", old),
        )
    finally:
        timer.join()
    assert new_end[0]["event"] == "chat.final", new_end
    assert new_end[0]["data"]["text"] == "echo: during the lock"
    assert old_end[0]["event"] == "chat.final", old_end
    assert old_end[0]["data"]["text"] == "echo: old session during the lock"

    end, _ = await chat(gateway, "after the lock", old)  # the lane is free
    assert end["data"]["text"] == "echo: after the lock"
    alive(gateway)
