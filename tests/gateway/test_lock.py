"""Single-instance locks: the state-directory file lock, and PostgreSQL's advisory lock."""

from pathlib import Path

import pytest
from django.db import connection

from gateway.lock import AlreadyRunning, InstanceLock


def test_the_file_lock_refuses_a_second_holder_and_names_the_pid(tmp_path: Path) -> None:
    first = InstanceLock(tmp_path / "gateway.lock")
    first.acquire()
    try:
        with pytest.raises(AlreadyRunning, match=r"pid \d+\).*gateway\.lock"):
            InstanceLock(tmp_path / "gateway.lock").acquire()
    finally:
        first.release()
    again = InstanceLock(tmp_path / "gateway.lock")
    again.acquire()
    again.release()


@pytest.mark.services
@pytest.mark.django_db
def test_two_hosts_sharing_one_postgresql_database_cannot_both_run(tmp_path: Path) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the advisory lock only exists on PostgreSQL (this run uses SQLite)")
    host_a = InstanceLock(tmp_path / "a" / "gateway.lock")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    host_a.acquire()
    try:
        with pytest.raises(AlreadyRunning, match="advisory lock"):
            InstanceLock(tmp_path / "b" / "gateway.lock").acquire()
    finally:
        host_a.release()
    host_b = InstanceLock(tmp_path / "b" / "gateway.lock")
    host_b.acquire()
    host_b.release()
