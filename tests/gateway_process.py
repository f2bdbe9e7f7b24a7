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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_env(home: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENCLAW_", "OPENAI_", "DJANGO_")) and k != "DATABASE_URL"
    }
    if "DATABASE_URL" in os.environ and extra.pop("share_database", "") == "1":
        env["DATABASE_URL"] = os.environ["DATABASE_URL"]
    env.update(
        {
            "OPENCLAW_HOME": str(home),
            "OPENCLAW_GATEWAY_TOKEN": TOKEN,
            "OPENCLAW_ENV_FILE": os.devnull,
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
            [sys.executable, "manage.py", "gateway", "--port", str(self.port)],
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
