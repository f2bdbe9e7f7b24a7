"""`manage.py status` finds the running gateway on any port (issue 23, part 5): the gateway writes
its address into its lock file; a lock file nobody holds any more is ignored. It also shows the
Celery worker's heartbeat and warns when no worker has been seen."""

import fcntl
import json
import os
from pathlib import Path

from gateway.lock import InstanceLock, running_gateway
from gateway.operator.statusreport import render_status
from tests.conftest import GatewayFactory
from tests.gateway_process import manage
from tests.operator.test_status import report


def test_status_finds_a_gateway_on_a_port_other_than_the_configured_one(
    gateway_factory: GatewayFactory,
) -> None:
    gateway = gateway_factory()
    assert gateway.port != 8000  # status is not told the port: OPENCLAW_PORT stays 8000
    assert gateway.proc is not None
    lock = (gateway.home / "gateway.lock").read_text().splitlines()
    assert lock == [str(gateway.proc.pid), f"http://127.0.0.1:{gateway.port}"]

    out = manage(gateway.home, {}, "status")
    assert out.startswith("Gateway: running"), out
    data = json.loads(manage(gateway.home, {}, "status", "--json"))
    assert data["gateway"]["runtime"] == "running"
    assert any("No Celery worker has ever been seen" in f["what"] for f in data["background"])

    gateway.terminate()
    out = manage(gateway.home, {}, "status")
    assert "Gateway: not running (nothing answers http://127.0.0.1:8000/readyz)" in out


def test_a_lock_file_left_behind_names_no_gateway(tmp_path: Path) -> None:
    path = tmp_path / "gateway.lock"
    path.write_text("4242\nhttp://127.0.0.1:9\n")  # a gateway that crashed
    assert running_gateway(path) is None

    held = InstanceLock(path)
    held.acquire()
    try:
        held.publish("http://127.0.0.1:18080")
        holder = running_gateway(path)
        assert holder is not None
        assert (holder.pid, holder.address) == (str(os.getpid()), "http://127.0.0.1:18080")
    finally:
        held.release()
    assert running_gateway(path) is None


def test_a_lock_held_by_an_older_gateway_gives_its_pid_only(tmp_path: Path) -> None:
    path = tmp_path / "gateway.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.pwrite(fd, b"4242\n", 0)  # no address line: falls back to the settings
        holder = running_gateway(path)
        assert holder is not None and (holder.pid, holder.address) == ("4242", "")
    finally:
        os.close(fd)


def test_status_shows_the_worker_and_warns_with_the_fix() -> None:
    lines = render_status(
        report(
            background=[
                {"severity": "ok", "what": "Celery worker seen just now.", "fix": ""},
                {
                    "severity": "warning",
                    "what": "The last curation ran 3 days ago.",
                    "fix": "Check the schedules.",
                },
            ]
        )
    )
    assert "Background: Celery worker seen just now." in lines
    assert "WARNING: The last curation ran 3 days ago." in lines
    assert "  fix: Check the schedules." in lines
