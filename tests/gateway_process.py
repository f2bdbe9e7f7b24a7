"""Start a real gateway (`manage.py gateway`) in a subprocess for end-to-end tests."""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import websockets
from websockets.asyncio.client import ClientConnection

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "e2e-test-token"


def _port_block() -> Iterator[int]:
    """Ports for servers a test starts in a child process, below the kernel's ephemeral range.

    A port found by binding to port 0 and closing can be handed to any other socket that binds
    to 0 (a fake server in another pytest-xdist worker) before the child binds it. Ports below
    the ephemeral range are never handed out that way, and each worker takes its own block, so
    only this worker's tests use its ports; they are taken in turn, skipping ports in use.
    """
    low = 32768
    with contextlib.suppress(OSError, ValueError):
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    size = max((low - 10_000) // 16, 0)
    start = 10_000 + (index % 16) * size
    for _ in range(2 if size else 0):  # a second pass: ports freed since the first
        yield from range(start, start + size)


_ports = _port_block()


def free_port() -> int:
    """A port nothing listens on now, that no other test process will pick meanwhile."""
    for port in _ports:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as sock:  # no room below the ephemeral range: the kernel's pick
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# The model providers' variables (agents.providers): a developer's own keys never reach a test.
PROVIDER_PREFIXES: tuple[str, ...] = ("OPENAI_", "AZURE_OPENAI_", "ANTHROPIC_", "GEMINI_")
PROVIDER_PREFIXES += ("OLLAMA_", "OPENROUTER_", "VLLM_")


def base_env(home: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith((*PROVIDER_PREFIXES, "OPENCLAW_", "DJANGO_")) and k != "DATABASE_URL"
    }
    if "DATABASE_URL" in os.environ and extra.pop("share_database", "") == "1":
        env["DATABASE_URL"] = os.environ["DATABASE_URL"]
    env.update(
        {
            "OPENCLAW_HOME": str(home),
            "OPENCLAW_GATEWAY_TOKEN": TOKEN,
            "OPENCLAW_ENV_FILE": os.devnull,
            # No embedded Celery worker unless a test asks for one (tests/operator/test_worker.py):
            # a worker per gateway would cost every end-to-end test a second process.
            "OPENCLAW_WORKER": "0",
            "DJANGO_SETTINGS_MODULE": "openclaw.settings",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def migrate(home: Path) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"],
        cwd=ROOT,
        env=base_env(home),
        check=True,
        timeout=120,
    )


def manage(home: Path, env: dict[str, str], *args: str) -> str:
    """`manage.py <args>` on a state directory (with `env` added); its output, or the test fails
    with its error output."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=base_env(home, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@dataclass
class Gateway:
    home: Path
    port: int
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    _log_handle: object = field(default=None, repr=False)
    # Runs in the child before exec (fault tests set resource limits there).
    preexec: Callable[[], None] | None = field(default=None, repr=False)
    args: tuple[str, ...] = ()  # more options of `manage.py gateway`

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, token: str | None = TOKEN) -> str:
        query = f"?token={token}" if token else ""
        return f"ws://127.0.0.1:{self.port}/ws/gateway/{query}"

    def start(self, *, wait: bool = True) -> "Gateway":
        handle = open(self.log, "ab")  # noqa: SIM115  # closed in stop()
        self._log_handle = handle
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "gateway", "--port", str(self.port), *self.args],
            cwd=ROOT,
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            preexec_fn=self.preexec,
        )
        if wait:
            self.wait_ready()
        return self

    def get(self, path: str) -> tuple[int, dict[str, object]]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=2) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"gateway exited {self.proc.returncode}:\n{self.output()}")
            with contextlib.suppress(OSError):
                if self.get("/readyz")[0] == 200:
                    return
            time.sleep(0.05)
        raise AssertionError(f"gateway not ready after {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def terminate(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        self._close_log()
        return code

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._close_log()

    def _close_log(self) -> None:
        if self._log_handle is not None:
            self._log_handle.close()  # type: ignore[attr-defined]
            self._log_handle = None

    def connect(self, token: str | None = TOKEN, **kwargs: object) -> ClientConnection:
        return websockets.connect(self.ws_url(token), open_timeout=5, **kwargs)  # type: ignore[arg-type, return-value]


def prepare_home(template: Path, target: Path) -> Path:
    shutil.copytree(template, target)
    return target


@contextlib.contextmanager
def running_gateway(home: Path, **env: str) -> Iterator[Gateway]:
    gateway = Gateway(
        home=home, port=free_port(), env=base_env(home, **env), log=home / "gateway.log"
    )
    try:
        yield gateway.start()
    finally:
        gateway.kill()
