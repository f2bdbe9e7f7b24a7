"""The YAML front matter of a SKILL.md, parsed into what the gateway uses: pure, no I/O.

Accepted spellings (Agent Skills and OpenClaw): `name` (defaults to the folder's name),
`description` (required), requirements under a top-level `requires` or under
`metadata.openclaw` (aliases `metadata.clawdbot`, `metadata.clawdis`; `metadata` may also be a
one-line JSON string): `requires.env`, `requires.bins`, `requires.anyBins`, and `os`. Other
keys (`license`, `allowed-tools`, `metadata.*`, `requires.config`, ...) are ignored.
"""

import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
METADATA_KEYS = ("openclaw", "clawdbot", "clawdis")
OS_NAMES = frozenset({"linux", "darwin", "win32"})
MAX_DESCRIPTION = 1024  # the Agent Skills limit; longer ones are cut in the prompt
_FENCE = re.compile(r"^---[ \t]*\r?$", re.MULTILINE)
_END = re.compile(r"^(?:---|\.\.\.)[ \t]*\r?$", re.MULTILINE)


class SkillFormatError(ValueError):
    """A SKILL.md whose front matter cannot be used; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class Requirements:
    """What a skill needs on this host: every `env` variable set (not empty), every binary in
    `bins` on PATH, at least one of `any_bins`, and one of `os` (sys.platform names), if given."""

    env: tuple[str, ...] = ()
    bins: tuple[str, ...] = ()
    any_bins: tuple[str, ...] = ()
    os: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FrontMatter:
    name: str
    description: str
    requires: Requirements


def front_matter_block(text: str) -> str:
    """The YAML between the opening `---` (the file's first line) and the closing `---`."""
    text = text.removeprefix("\ufeff")
    opening = _FENCE.match(text)
    if opening is None:
        raise SkillFormatError(
            "no front matter: SKILL.md must start with a '---' line, then YAML with name and "
            "description, then '---'"
        )
    closing = _END.search(text, opening.end())
    if closing is None:
        raise SkillFormatError("the front matter is not closed: add a '---' line after the YAML")
    return text[opening.end() : closing.start()]


def parse_skill_md(text: str, folder: str) -> FrontMatter:
    """The front matter of a SKILL.md found in `folder`; SkillFormatError if it is unusable."""
    block = front_matter_block(text)
    try:
        data = yaml.safe_load(block)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        # The block starts with the rest of the opening line: its line n is the file's n + 1.
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SkillFormatError(f"invalid YAML{where}: {problem}") from None
    except RecursionError:
        raise SkillFormatError("invalid YAML: nested too deeply") from None
    except (ValueError, TypeError) as exc:  # a value its constructors refuse: date 2026-13-45
        raise SkillFormatError(f"invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise SkillFormatError(
            "the front matter is not a mapping of keys (name: …, description: …)"
        )
    name = data.get("name", folder)
    if not isinstance(name, str) or not NAME.fullmatch(name.strip()):
        raise SkillFormatError(
            f"name {name!r} is not a skill name: 1-64 letters, digits, '-', '_' or '.'"
        )
    description = data.get("description")
    if not isinstance(description, str) or not description.strip():
        raise SkillFormatError("description is missing: say what the skill does and when to use it")
    return FrontMatter(name.strip(), " ".join(description.split()), _requirements(data))


def _requirements(data: dict[str, Any]) -> Requirements:
    found: dict[str, list[str]] = {"env": [], "bins": [], "any_bins": [], "os": []}
    blocks: list[tuple[str, Any]] = [("", data)]
    metadata = data.get("metadata")
    if isinstance(metadata, str):  # OpenClaw's docs write it as one line of JSON
        try:
            metadata = json.loads(metadata)
        except ValueError:
            metadata = None
    if isinstance(metadata, dict):
        blocks += [(f"metadata.{key}.", metadata.get(key)) for key in METADATA_KEYS]
    for prefix, block in blocks:
        if not isinstance(block, dict):
            continue
        found["os"] += _names(block.get("os"), f"{prefix}os")
        requires = block.get("requires")
        if requires is None:
            continue
        where = f"{prefix}requires"
        if not isinstance(requires, dict):
            raise SkillFormatError(f"{where} must be a mapping (env: [...], bins: [...])")
        found["env"] += _names(requires.get("env"), f"{where}.env")
        found["bins"] += _names(requires.get("bins"), f"{where}.bins")
        for spelling in ("anyBins", "any_bins", "any-bins"):
            found["any_bins"] += _names(requires.get(spelling), f"{where}.{spelling}")
    for env in found["env"]:
        if not ENV_NAME.fullmatch(env):
            raise SkillFormatError(f"requires.env: {env!r} is not an environment variable name")
    for system in found["os"]:
        if system not in OS_NAMES:
            raise SkillFormatError(f"os: {system!r} is not one of darwin, linux, win32")
    return Requirements(**{key: tuple(dict.fromkeys(names)) for key, names in found.items()})


def _names(value: Any, where: str) -> list[str]:
    """A name or a list of names (strings without control characters)."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise SkillFormatError(f"{where} must be a name or a list of names")
    names = [item.strip() for item in items]
    for name in names:
        if not name or any(ord(ch) < 32 for ch in name):
            raise SkillFormatError(f"{where}: {name!r} is not a usable name")
    return names
