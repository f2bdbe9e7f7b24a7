"""`manage.py dashboard` (issue 23, part 5): the web chat's link with the token in the fragment,
for the running gateway's port; `--open` hands it to the browser ($BROWSER here)."""

import stat
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.conftest import GatewayFactory
from tests.gateway_process import ROOT, TOKEN, base_env, prepare_home


def dashboard(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "dashboard", *args],
        cwd=ROOT,
        env=base_env(home, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_link_names_the_running_gateway_and_carries_the_token_in_the_fragment(
    gateway_factory: GatewayFactory,
) -> None:
    gateway = gateway_factory()
    proc = dashboard(gateway.home)
    assert proc.returncode == 0, proc.stderr
    link = proc.stdout.strip()
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{gateway.url}/"
    assert parts.query == "" and parse_qs(parts.fragment) == {"token": [TOKEN]}
    assert proc.stderr == ""


def test_open_hands_the_link_to_the_browser(migrated_home: Path, tmp_path: Path) -> None:
    home = prepare_home(migrated_home, tmp_path / "home")
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {opened}\n')
    browser.chmod(browser.stat().st_mode | stat.S_IXUSR)
    proc = dashboard(home, "--open", BROWSER=str(browser), OPENCLAW_GATEWAY_TOKEN="t/k+n=1")
    assert proc.returncode == 0, proc.stderr
    link = proc.stdout.strip()
    assert link == "http://127.0.0.1:8000/#token=t%2Fk%2Bn%3D1"
    assert "No gateway is running" in proc.stderr
    deadline = time.monotonic() + 10  # webbrowser may run the command in the background
    while not (opened.exists() and opened.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert opened.read_text() == link


def test_behind_a_proxy_the_link_is_the_public_address(migrated_home: Path, tmp_path: Path) -> None:
    home = prepare_home(migrated_home, tmp_path / "home")
    proc = dashboard(home, OPENCLAW_PUBLIC_URL="https://claw.example.com/")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"https://claw.example.com/#token={TOKEN}"
