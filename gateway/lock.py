"""Single-instance locks: an exclusive file lock in the state directory, plus a PostgreSQL
advisory lock so two hosts sharing one database cannot both run the gateway."""

import fcntl
import os
from pathlib import Path
from typing import Any

from django.db import connections

ADVISORY_LOCK_KEY = 0x6F70656E636C6177 & 0x7FFFFFFFFFFFFFFF  # "openclaw"


class AlreadyRunning(RuntimeError):
    pass


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
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
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
