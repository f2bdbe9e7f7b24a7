"""Shared bench machinery: the fake model, gateway and bare Daphne processes on the bench's own
ports, RSS, CPU and percentile helpers, and the `Row` every scenario reports its figures as."""

import contextlib
import itertools
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.gateway_process import TOKEN, base_env, migrate

ROOT = Path(__file__).resolve().parents[2]
MODEL = "bench-model"
APP = "bench.lib.bare_asgi:application"
FLOOR_APP = "bench.lib.bare_asgi:floor_application"  # the floor of (b): see bench/lib/bare_asgi.py
JSON = dict[str, Any]


@dataclass
class Row:
    """One printed figure: its value, the baseline measured in the same run, and the target."""

    scenario: str
    metric: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_label: str = ""
    target: str = ""
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or not self.baseline:
            return None
        return self.value / self.baseline


def at_most(value: float, limit: float) -> bool:
    return value <= limit


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def ms(ns: int) -> float:
    return ns / 1e6


def _bench_ports() -> Iterator[int]:
    """Ports for the bench's servers: below the kernel's ephemeral range (never handed to a
    socket bound to port 0) and above the blocks a test run's workers take from the bottom of
    that range (tests/gateway_process.py), so a test run sharing the machine cannot bind one
    between our pick and our server's bind (the server would fail, its readiness poll would
    find the test's server answering)."""
    low = 32768
    with contextlib.suppress(OSError, ValueError):
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for _ in range(2):  # a second pass: ports freed since the first
        yield from range(max(low - 1000, 1024), low)


_ports = _bench_ports()


def free_port() -> int:
    """A loopback port nothing listens on now, from the bench's own block."""
    for port in _ports:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port left in the bench's block")


def raise_nofile() -> int:
    """Raise this process's open-file limit to its hard limit (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MB (10^6 bytes), from /proc/<pid>/status (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) a process has used, from /proc/<pid>/stat: what
    a loaded machine does not inflate the way it inflates wall time."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def http_status(url: str, timeout: float = 1.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310  # loopback
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return err.code


def wait_http_ok(url: str, proc: subprocess.Popen[bytes], started: float, timeout: float) -> float:
    """Poll `url` every 5 ms until it answers 200; returns seconds since `started`."""
    while time.monotonic() - started < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited {proc.returncode} before {url} answered")
        with contextlib.suppress(OSError):
            if http_status(url) == 200:
                return time.monotonic() - started
        time.sleep(0.005)
    raise TimeoutError(f"{url} not ready after {timeout} s")


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


class FakeModel:
    """bench/lib/fake_model.py in its own process (so it does not share a core's GIL with the
    client), with its control endpoints."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.lib.fake_model", "--port", "0"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode().split()
        if len(line) != 2 or line[0] != "PORT":
            self.stop()
            raise RuntimeError(f"fake model did not start: {line}")
        self.port = int(line[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def configure(self, **changes: Any) -> None:
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{self.port}/bench/config"
            async with http.post(url, json=changes) as resp:
                resp.raise_for_status()

    async def log(self, *, clear: bool = True) -> list[JSON]:
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{self.port}/bench/log" + ("?clear=1" if clear else "")
            async with http.get(url) as resp:
                resp.raise_for_status()
                records: list[JSON] = await resp.json()
                return records

    def stop(self) -> None:
        stop_process(self.proc, timeout=5)


def _migrations() -> list[tuple[str, int]]:
    return sorted((str(p), p.stat().st_mtime_ns) for p in ROOT.glob("*/migrations/0*.py"))


class Homes:
    """Migrated OPENCLAW_HOME directories: one migration, copied for every gateway."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="openclaw-benchsuite-"))
        self.template = self.root / "template"
        self._migrated = _migrations()
        try:
            migrate(self.template)
        except BaseException:
            self.cleanup()
            raise
        self._n = itertools.count(1)

    def fresh(self) -> Path:
        if (current := _migrations()) != self._migrated:  # the code changed during the run
            migrate(self.template)
            self._migrated = current
        home = self.root / f"home-{next(self._n)}"
        shutil.copytree(self.template, home)
        return home

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def gateway_env(home: Path, fake: FakeModel | None, **extra: str) -> dict[str, str]:
    env = base_env(home, OPENCLAW_WS_RATE_LIMIT="1000000/second", **extra)
    if fake is not None:
        env |= {
            "OPENAI_BASE_URL": fake.base_url,
            "OPENAI_API_KEY": "bench",
            "ANTHROPIC_BASE_URL": fake.base_url.removesuffix("/v1"),
            "ANTHROPIC_API_KEY": "bench",
            "OPENCLAW_MODEL": f"openai/{MODEL}",  # OpenAI's provider, through its SDK
        }
    return env | extra


def manage(home: Path, *args: str) -> None:
    """Run a management command against `home` (e.g. `shell -c` to tune the agent)."""
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=gateway_env(home, None),
        check=True,
        timeout=120,
        stdout=subprocess.DEVNULL,
    )


@dataclass
class Gateway:
    """A real `manage.py gateway` process on a free port."""

    home: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    ready_seconds: float = 0.0
    ready_cpu_seconds: float = 0.0  # CPU the process used until /readyz answered
    command: tuple[str, ...] = ("manage.py", "gateway")  # a wrapper script can patch first

    def start(self, timeout: float = 30.0) -> "Gateway":
        log = (self.home / "gateway.log").open("ab")
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, *self.command, "--port", str(self.port)],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        try:
            self.ready_seconds = wait_http_ok(self.url("/readyz"), self.proc, started, timeout)
            self.ready_cpu_seconds = cpu_seconds(self.proc.pid)
        except (RuntimeError, TimeoutError) as exc:
            self.stop()
            raise RuntimeError(f"{exc}\n{self.log_tail()}") from None
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/gateway/?token={TOKEN}"

    def log_tail(self, lines: int = 30) -> str:
        path = self.home / "gateway.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)


@contextlib.contextmanager
def running_gateway(home: Path, fake: FakeModel | None, **extra: str) -> Iterator[Gateway]:
    gateway = Gateway(home, gateway_env(home, fake, **extra)).start()
    try:
        yield gateway
    finally:
        gateway.stop()


@dataclass
class Context:
    """What every scenario gets: the size of the run and the shared fake model and homes."""

    quick: bool
    fake: FakeModel
    homes: Homes


@dataclass
class Report:
    """A scenario's printed rows and the raw figures behind them (for the JSON file)."""

    rows: list[Row] = field(default_factory=list)
    details: JSON = field(default_factory=dict)


@dataclass
class BareDaphne:
    """The baseline: `daphne bench.lib.bare_asgi:application`, no Django, no gateway."""

    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    ready_seconds: float = 0.0
    app: str = APP
    env: dict[str, str] = field(default_factory=dict)

    def start(self, timeout: float = 30.0) -> "BareDaphne":
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), self.app],
            cwd=ROOT,
            env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"} | self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{self.port}/"
        self.ready_seconds = wait_http_ok(url, self.proc, started, timeout)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
