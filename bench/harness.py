"""Shared bench machinery: the fake model and gateway processes, a minimal gateway client,
RSS and percentile helpers, and the `Row` every scenario reports its figures as."""

import contextlib
import itertools
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import websockets
from websockets.asyncio.client import ClientConnection

from tests.gateway_process import TOKEN, base_env, free_port, migrate

ROOT = Path(__file__).resolve().parent.parent
MODEL = "bench-model"
APP = "bench.bare_asgi:application"
FLOOR_APP = "bench.bare_asgi:floor_application"  # the floor of (b): see bench/bare_asgi.py
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
    """bench/fake_model.py in its own process (so it does not share a core's GIL with the
    client), with its control endpoints."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.fake_model", "--port", "0"],
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
        migrate(self.template)
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
        env |= {"OPENAI_BASE_URL": fake.base_url, "OPENCLAW_MODEL": MODEL}
    return env


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


@dataclass(frozen=True, slots=True)
class Turn:
    sent_ns: int
    final_ns: int
    run: str
    data: JSON
    frames: int  # received while waiting for the end: the `res`, deltas, the final...


class GatewayClient:
    """One WebSocket to `/ws/gateway/`; `chat` sends one message and waits for its end."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._ids = itertools.count(1)

    async def chat(self, text: str, session: str) -> Turn:
        request_id = str(next(self._ids))
        frame = {"type": "req", "id": request_id, "method": "chat.send"}
        frame["params"] = {"text": text, "session": session}  # type: ignore[assignment]
        payload = json.dumps(frame)
        run: str | None = None
        ended: dict[str, tuple[int, JSON]] = {}
        sent = time.monotonic_ns()
        await self.ws.send(payload)
        frames = 0
        while run is None or run not in ended:
            raw = await self.ws.recv()
            frames += 1
            now = time.monotonic_ns()
            message = json.loads(raw)
            if message["type"] == "res" and message["id"] == request_id:
                if not message["ok"]:
                    raise RuntimeError(f"chat.send refused: {message['error']}")
                run = message["result"]["run"]
            elif message["type"] == "event" and message["event"] in ("chat.final", "chat.error"):
                ended[message["data"]["run"]] = (now, message)
        final_ns, final = ended[run]
        if final["event"] == "chat.error":
            raise RuntimeError(f"run failed: {final['data']}")
        return Turn(sent, final_ns, run, final["data"], frames)


class _Server(Protocol):
    @property
    def ws_url(self) -> str: ...


@contextlib.asynccontextmanager
async def connect(gateway: _Server) -> AsyncIterator[GatewayClient]:
    async with websockets.connect(
        gateway.ws_url, open_timeout=30, ping_interval=None, max_size=2**24
    ) as ws:
        yield GatewayClient(ws)


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
    """The baseline: `daphne bench.bare_asgi:application`, no Django, no gateway."""

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
