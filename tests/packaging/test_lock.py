"""The lock files pin what pyproject.toml asks for: every dependency and PostgreSQL's driver
(and, in the dev lock, every dev extra) at a version its specifier allows, with hashes, so
`make install` and `make install-dev` install exactly what was tested. A dependency added to
pyproject.toml without `make lock` fails here, naming it."""

import re
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.gateway_process import ROOT

PIN = re.compile(
    r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+) \\\n((?:    --hash=sha256:[0-9a-f]{64}.*\n)+)", re.M
)


def pins(lock: str) -> dict[str, str]:
    text = (ROOT / lock).read_text(encoding="utf-8")
    found: dict[str, str] = {canonicalize_name(n): v for n, v, _ in PIN.findall(text)}
    unhashed = [
        line for line in text.splitlines() if "==" in line and not line.startswith(("#", " "))
    ]
    assert len(found) == len(unhashed), f"{lock}: a pin without hashes"
    return found


def requirements(*, dev: bool) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    listed = project["dependencies"] + extras["postgres"] + (extras["dev"] if dev else [])
    return [Requirement(spec) for spec in listed]


@pytest.mark.parametrize(
    ("lock", "dev"), [("requirements.lock", False), ("requirements-dev.lock", True)]
)
def test_lock_pins_every_dependency_within_its_specifier_with_hashes(lock: str, dev: bool) -> None:
    pinned = pins(lock)
    missing, outside = [], []
    for requirement in requirements(dev=dev):
        version = pinned.get(canonicalize_name(requirement.name))
        if version is None:
            missing.append(str(requirement))
        elif not requirement.specifier.contains(version, prereleases=True):
            outside.append(f"{requirement} (locked {version})")
    assert not missing and not outside, (
        f"{lock} is stale, run `make lock`: missing {missing}, outside the specifier {outside}"
    )
