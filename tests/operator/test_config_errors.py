"""A malformed setting stops every command with one line naming the variable, not a traceback."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.gateway_process import ROOT, base_env


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("OPENCLAW_PORT", "80OO", "OPENCLAW_PORT='80OO' is not a valid int."),
        ("OPENCLAW_RUN_DEADLINE", "ten", "OPENCLAW_RUN_DEADLINE='ten' is not a valid float."),
    ],
)
@pytest.mark.parametrize("command", ["doctor", "gateway"])
def test_a_malformed_setting_is_one_clear_line(
    tmp_path: Path, variable: str, value: str, message: str, command: str
) -> None:
    proc = subprocess.run(
        [sys.executable, "manage.py", command],
        cwd=ROOT,
        env=base_env(tmp_path / "home", **{variable: value}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"Configuration error: {message}"
    assert proc.stdout == ""
