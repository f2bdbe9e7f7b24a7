"""Reading an OpenClaw state directory: `openclaw.json` (JSON5, `$include`d files merged), its
agents in either shape (the older `agents.list` array, the keyed `agents.entries`) over
`agents.defaults`, and where each agent keeps its workspace and sessions. Reads only."""

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import json5

CONFIG_NAME = "openclaw.json"
MAX_CONFIG_BYTES = 4 * 1024 * 1024
MAX_INCLUDE_DEPTH = 10
_ENV_REF = re.compile(r"^\$\{([A-Z_][A-Z0-9_]*)(?::-[^${}]*)?\}$")
_SLUG = re.compile(r"[^a-z0-9_-]+")

JSON = dict[str, Any]


class SourceError(Exception):
    """The directory is no OpenClaw state directory, or its configuration cannot be read."""


def _load(path: Path, root: Path, depth: int) -> Any:
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise SourceError(f"{path} is larger than {MAX_CONFIG_BYTES // 1024 // 1024} MB.")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceError(f"{path} cannot be read: {exc.strerror or exc}.") from None
    try:
        value = json5.loads(text)
    except ValueError as exc:
        raise SourceError(f"{path} is not valid JSON5: {exc}.") from None
    return _resolve_includes(value, path.parent, root, depth)


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for key, value in over.items():
            merged[key] = _merge(merged.get(key), value)
        return merged
    return over


def _resolve_includes(value: Any, folder: Path, root: Path, depth: int) -> Any:
    """`{"$include": "x.json5", ...siblings}`: the included file(s), siblings merged over them
    (OpenClaw's rule); paths stay inside the configuration's folder."""
    if isinstance(value, list):
        return [_resolve_includes(item, folder, root, depth) for item in value]
    if not isinstance(value, dict):
        return value
    result: Any = {}
    include = value.get("$include")
    if include is not None:
        if depth >= MAX_INCLUDE_DEPTH:
            raise SourceError(f"$include nested deeper than {MAX_INCLUDE_DEPTH} levels.")
        for name in [include] if isinstance(include, str) else list(include):
            target = (folder / str(name)).resolve()
            if not target.is_relative_to(root):
                raise SourceError(f"$include {name!r} leads outside {root}.")
            result = _merge(result, _load(target, root, depth + 1))
    siblings = {
        key: _resolve_includes(item, folder, root, depth)
        for key, item in value.items()
        if key != "$include"
    }
    return _merge(result, siblings) if include is not None else siblings


def env_reference(value: object) -> str | None:
    """The variable a `${VAR}` string or an `{source: "env", id: VAR}` SecretRef names."""
    if isinstance(value, str):
        found = _ENV_REF.match(value.strip())
        return found[1] if found else None
    if (
        isinstance(value, dict)
        and value.get("source") == "env"
        and isinstance(value.get("id"), str)
    ):
        return str(value["id"])
    return None


def expand(path_text: str, home: Path) -> Path:
    """A path as OpenClaw writes it: `~` is the user's home, a relative path is taken from the
    state directory."""
    path = Path(os.path.expanduser(path_text))
    return path if path.is_absolute() else home / path


def slug_for(agent_id: str) -> str:
    """Our agent slug for an OpenClaw agent id (its ids are already lower-case words)."""
    slug = _SLUG.sub("-", agent_id.strip().lower()).strip("-")[:64]
    return slug or "agent"


@dataclass(frozen=True)
class AgentEntry:
    """One OpenClaw agent with `agents.defaults` applied where the entry is silent."""

    id: str
    slug: str
    raw: JSON
    defaults: JSON
    is_default: bool

    def get(self, key: str) -> Any:
        return self.raw[key] if key in self.raw else self.defaults.get(key)

    @property
    def name(self) -> str:
        identity = self.raw.get("identity")
        named = identity.get("name") if isinstance(identity, dict) else None
        return str(self.raw.get("name") or named or self.id)


@dataclass
class Source:
    """An OpenClaw state directory and its parsed configuration."""

    home: Path
    config: JSON
    agents: list[AgentEntry] = field(default_factory=list)

    def section(self, *keys: str) -> JSON:
        value: Any = self.config
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return value if isinstance(value, dict) else {}

    @property
    def default_agent(self) -> AgentEntry | None:
        return next((a for a in self.agents if a.is_default), None)

    def agent(self, agent_id: str) -> AgentEntry | None:
        return next((a for a in self.agents if a.id == agent_id), None)

    def workspace_of(self, agent: AgentEntry) -> Path | None:
        """The agent's workspace folder: its own setting, else the first of OpenClaw's default
        places (they changed between versions) that exists; None when none does."""
        own = agent.raw.get("workspace")
        if isinstance(own, str) and own:
            return expand(own, self.home)
        root = self.section("agents", "defaults").get("workspace")
        candidates = []
        if isinstance(root, str) and root and len(self.agents) > 1:
            candidates.append(expand(root, self.home) / agent.id)
        candidates.append(self.home / f"workspace-{agent.id}")
        if agent.is_default or len(self.agents) == 1:
            shared = expand(root, self.home) if isinstance(root, str) and root else None
            candidates.append(shared or self.home / "workspace")
        return next((path for path in candidates if _holds_workspace(path)), None)

    def sessions_dir(self, agent: AgentEntry) -> Path:
        return self.home / "agents" / agent.id / "sessions"


WORKSPACE_MARKS = ("AGENTS.md", "SOUL.md", "USER.md", "IDENTITY.md", "MEMORY.md", "memory")


def _holds_workspace(path: Path) -> bool:
    """A folder with a workspace's files (a shared root holding only agents' folders has none)."""
    return path.is_dir() and any((path / mark).exists() for mark in WORKSPACE_MARKS)


def _agent_entries(config: JSON) -> list[AgentEntry]:
    section = config.get("agents") if isinstance(config.get("agents"), dict) else {}
    assert isinstance(section, dict)  # noqa: S101  # narrowed just above
    defaults = section.get("defaults") if isinstance(section.get("defaults"), dict) else {}
    raw: list[tuple[str, JSON]] = []
    for item in section.get("list") or []:
        if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"].strip():
            raw.append((item["id"].strip(), item))
    entries = section.get("entries")
    if isinstance(entries, dict):
        for key, item in entries.items():
            if isinstance(item, dict) and not any(known == key for known, _ in raw):
                raw.append((str(key), item))
    if not raw:  # OpenClaw runs one implicit agent, `main`, when none is configured
        raw.append(("main", {}))
    system = defaults.get("systemAgent") if isinstance(defaults, dict) else None
    named_default = next((i for i, item in raw if item.get("default") is True), None)
    if named_default is None and isinstance(system, dict):
        named_default = system.get("agentId")
    if named_default is None:
        named_default = "main" if any(i == "main" for i, _ in raw) else raw[0][0]
    return [
        AgentEntry(agent_id, slug_for(agent_id), item, defaults or {}, agent_id == named_default)
        for agent_id, item in raw
    ]


def read_source(home: Path) -> Source:
    """Parse `home/openclaw.json`; `SourceError` says what is wrong."""
    home = home.expanduser().resolve()
    if not home.is_dir():
        raise SourceError(f"{home} is not a directory.")
    config_path = home / CONFIG_NAME
    if not config_path.is_file():
        raise SourceError(
            f"{home} has no {CONFIG_NAME}: give the OpenClaw state directory (usually ~/.openclaw)."
        )
    config = _load(config_path, home, 0)
    if not isinstance(config, dict):
        raise SourceError(f"{config_path} does not hold an object.")
    return Source(home, config, _agent_entries(config))
