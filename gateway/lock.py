"""Single-instance locks: an exclusive file lock in the state directory, plus a PostgreSQL
advisory lock so two hosts sharing one database cannot both run the gateway.

The lock file also says who holds it: the gateway's pid on the first line and, once it serves,
its address (`http://host:port`) on the second, so `status`, `chat` and `dashboard` find a
gateway on any port. Only a held lock's content counts (a crashed gateway's stays behind).
"""

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import connections

ADVISORY_LOCK_KEY = 0x6F70656E636C6177 & 0x7FFFFFFFFFFFFFFF  # "openclaw"


class AlreadyRunning(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Holder:
    """The running gateway, as its lock file names it."""

    pid: str  # "unknown" when the file is blank
    address: str = ""  # "" until it serves


def _parse(content: bytes) -> Holder:
    lines = content.decode("ascii", "replace").split("\n")
    address = lines[1].strip() if len(lines) > 1 else ""
    return Holder(lines[0].strip() or "unknown", address)


def held_by(fd: int) -> Holder | None:
    """Who holds the lock open as `fd` (tested without blocking), None when it is free."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return _parse(os.pread(fd, 512, 0))
    fcntl.flock(fd, fcntl.LOCK_UN)
    return None


def running_gateway(path: Path) -> Holder | None:
    """The gateway holding the lock file at `path`, None when none runs (or no file)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return None
    try:
        return held_by(fd)
    finally:
        os.close(fd)


class InstanceLock:
    """Held for the life of the gateway process; released by `release()` or process exit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._pg: Any = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _parse(os.pread(fd, 512, 0)).pid
            os.close(fd)
            raise AlreadyRunning(
                f"Another gateway (pid {holder}) holds the lock file {self.path}; "
                "stop it first, or use another OPENCLAW_HOME."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        try:
            self._acquire_database_lock()
        except Exception:
            self.release()
            raise

    def publish(self, address: str) -> None:
        """Add the address the gateway serves on (after the pid) for `running_gateway`."""
        if self._fd is not None:
            content = f"{os.getpid()}\n{address}\n".encode()
            os.pwrite(self._fd, content, 0)
            os.ftruncate(self._fd, len(content))

    def _acquire_database_lock(self) -> None:
        wrapper = connections["default"]
        if wrapper.vendor != "postgresql":
            return
        # A connection of its own: Django's per-thread connections come and go.
        conn = wrapper.get_new_connection(wrapper.get_connection_params())
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
            (locked,) = cursor.fetchone()
        if not locked:
            conn.close()
            raise AlreadyRunning(
                "Another gateway holds the PostgreSQL advisory lock on this database "
                f"({wrapper.settings_dict.get('NAME')}); only one gateway may use it."
            )
        self._pg = conn

    def release(self) -> None:
        if self._pg is not None:
            self._pg.close()
            self._pg = None
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
