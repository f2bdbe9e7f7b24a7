"""`cp .env.example .env` works: every variable left as the example has it (most of them empty)
means its default, so `check`, `migrate` and the gateway run, with the state in the default
`~/.openclaw` (here a temporary home) and nothing written to the current folder."""

import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.gateway_process import ROOT, Gateway, free_port
from tests.packaging.env import ENV_EXAMPLE, fresh_env

pytestmark = [pytest.mark.e2e]


def run(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_env_example_copied_verbatim_runs_check_migrate_and_the_gateway(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    shutil.copyfile(ENV_EXAMPLE, work / ".env")
    env = fresh_env(tmp_path / "home", OPENCLAW_ENV_FILE=str(work / ".env"))
    state = tmp_path / "home" / ".openclaw"

    checked = run(work, env, "check")
    assert checked.returncode == 0, checked.stderr
    migrated = run(work, env, "migrate", "--no-input", "-v0")
    assert migrated.returncode == 0, migrated.stderr
    assert (state / "openclaw.sqlite3").is_file()
    assert sorted(p.name for p in work.iterdir()) == [".env"], "state written to the cwd"

    gateway = Gateway(home=state, port=free_port(), env=env, log=tmp_path / "gateway.log")
    try:
        gateway.start()
        with urllib.request.urlopen(gateway.url + "/", timeout=5) as page:
            assert page.status == 200
            assert b"/static/gateway/chat.js" in page.read()
        assert gateway.terminate() == 0
    finally:
        gateway.kill()
    assert (state / "gateway.token").is_file()
