"""Skills: folders holding a SKILL.md that teaches an agent a procedure. They live in the agent's
`<workspace>/skills/<folder>/` and in `OPENCLAW_HOME/skills/<folder>/`, shared by every agent (the
agent's own wins on a name clash). The system prompt lists them (name, description, path); the
model reads a SKILL.md with read_file when a task needs it.

Discovery is cheap while nothing changes: per model call one stat per skills directory and one
per SKILL.md; a directory is listed again only when it changed, a SKILL.md parsed again only when
its mtime, size or inode changed, so an edit on disk shows in the next turn. (Whatever changed in
the last two seconds is read again each time: a second change within one tick of the file
system's clock leaves the mtime as it was.) `discover` blocks on the file system: call it from a
worker thread. Safe in several threads (at worst a file is parsed twice).
"""

import logging
import os
import shutil
import stat
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, Protocol

from django.conf import settings

from agents.context import ListedSkill
from agents.skills_frontmatter import (
    MAX_DESCRIPTION,
    Requirements,
    SkillFormatError,
    parse_skill_md,
)

logger = logging.getLogger(__name__)

Source = Literal["workspace", "shared"]
Status = Literal["available", "unavailable", "denied", "shadowed", "malformed"]
SKILL_FILES = ("SKILL.md", "skill.md")  # ClawHub accepts both spellings
HEAD_BYTES = 64 * 1024  # the front matter must close within the file's first 64 KiB
Version = tuple[int, int, int]  # mtime_ns, size, inode
SETTLED_NS = 2_000_000_000
NO_REQUIREMENTS = Requirements()


@dataclass(frozen=True, slots=True)
class Skill:
    """A skill folder as found on disk. A malformed one has `problem` set (what to fix), its
    folder's name as `name` and no description. `unmet`: why its requirements are not met on
    this host ("" when they are), as `discover` last checked."""

    folder: str
    source: Source
    path: str  # SKILL.md's absolute path (the folder's when it has none)
    name: str
    description: str = ""
    requires: Requirements = NO_REQUIREMENTS
    problem: str = ""
    unmet: str = ""


@dataclass(frozen=True, slots=True)
class SkillState:
    """A skill as one agent sees it: usable (`available`), or why not."""

    skill: Skill
    status: Status
    reason: str = ""


class Named(Protocol):
    @property
    def name(self) -> str: ...


def shared_dir() -> Path:
    """The skills every agent sees: `OPENCLAW_HOME/skills`."""
    return Path(settings.OPENCLAW_HOME) / "skills"


# skills directory → (its version, its entries sorted by name: (folder name, is a symlink, its
# path, the paths its SKILL.md may have), joined once: each join costs as much as a stat)
Entry = tuple[str, bool, str, tuple[str, ...]]
_folders: dict[str, tuple[Version, tuple[Entry, ...]]] = {}
# SKILL.md path → (its version, the skill parsed from it)
_parsed: dict[str, tuple[Version, Skill]] = {}
_reported: set[tuple[str, str]] = set()  # (path, problem) already logged
# SKILL.md path → (the skill as parsed, the same with its unmet requirements)
_unmet: dict[str, tuple[Skill, Skill]] = {}
# (allow, deny, ids of the skills) → (the skills, kept alive so their ids stay theirs; the list)
_offered: dict[tuple[object, ...], tuple[tuple[Skill, ...], tuple[ListedSkill, ...]]] = {}
OFFERED_KEPT = 256


def _version(info: os.stat_result) -> Version:
    return (info.st_mtime_ns, info.st_size, info.st_ino)


def _trusted(cached: Version | None, version: Version) -> bool:
    """May a result read at `cached` stand for `version`? Not if it changed since, nor while
    it is so recent that a change in the same clock tick could hide behind the same mtime."""
    return cached == version and time.time_ns() - version[0] > SETTLED_NS


def discover(workspace: Path | str) -> tuple[Skill, ...]:
    """Every skill folder of the agent's workspace, then of the shared directory, each by
    folder name, with its requirements checked (`Skill.unmet`)."""
    # Plain strings: building Paths would cost more than the stats.
    own = os.path.join(workspace, "skills")
    shared = os.path.join(settings.OPENCLAW_HOME, "skills")
    found = scan(own, "workspace") + scan(shared, "shared")
    probe = _Path()
    checked = []
    for skill in found:
        unmet = "" if skill.problem else missing(skill.requires, probe)
        if unmet:  # the same object while nothing changed, so the prompt's list is kept
            known = _unmet.get(skill.path)
            if known is None or known[0] is not skill or known[1].unmet != unmet:
                known = _unmet[skill.path] = (skill, replace(skill, unmet=unmet))
            skill = known[1]
        checked.append(skill)
    return tuple(checked)


def scan(root: Path | str, source: Source) -> tuple[Skill, ...]:
    """The skill folders of one skills directory, by name (hidden ones skipped); () when the
    directory is missing or unreadable."""
    top = os.fspath(root)
    try:
        version = _version(os.stat(top))
    except OSError:
        if _folders.pop(top, None) is not None:
            _forget(top, ())
        return ()
    known = _folders.get(top)
    if known is None or not _trusted(known[0], version):
        known = _folders[top] = (version, _list(top))
        _forget(top, known[1])
    return tuple(_skill(entry, source) for entry in known[1])


def _forget(top: str, entries: tuple[Entry, ...]) -> None:
    """Drop what the caches hold for SKILL.md files of `top` no longer listed in it, so
    folders that come and go (an agent writing skills) do not grow them for the process's life."""
    kept = {path for entry in entries for path in (entry[2], *entry[3])}
    under = top + os.sep
    # Snapshots (copied in one step under the GIL): other threads may scan at the same time.
    for cache in (_parsed, _unmet):
        for path in [p for p in list(cache) if p.startswith(under) and p not in kept]:
            cache.pop(path, None)
    stale = {pair for pair in tuple(_reported) if pair[0].startswith(under) and pair[0] not in kept}
    _reported.difference_update(stale)


def _list(top: str) -> tuple[Entry, ...]:
    try:
        with os.scandir(top) as entries:
            found = [
                (entry.name, entry.is_symlink())
                for entry in entries
                if not entry.name.startswith(".")
                and (entry.is_symlink() or entry.is_dir(follow_symlinks=False))
            ]
    except OSError as exc:
        logger.warning("Skills directory %s is not readable: %s", top, exc.strerror or exc)
        return ()
    listed: list[Entry] = []
    for folder, linked in sorted(found):
        base = os.path.join(top, folder)
        listed.append((folder, linked, base, tuple(os.path.join(base, f) for f in SKILL_FILES)))
    return tuple(listed)


def _skill(entry: Entry, source: Source) -> Skill:
    folder, linked, base, paths = entry
    if linked:  # read_file never follows a link out of the skills directory
        return _problem(folder, source, base, "the folder is a symbolic link: copy it instead")
    for path in paths:
        try:
            info = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:
            return _problem(folder, source, path, f"cannot read SKILL.md: {exc.strerror}")
        version = _version(info)
        cached = _parsed.get(path)
        if cached is not None and _trusted(cached[0], version):
            return cached[1]
        skill = _parse(folder, source, path, info)
        _parsed[path] = (version, skill)
        return skill
    return _problem(folder, source, base, "no SKILL.md in the folder")


def _parse(folder: str, source: Source, path: str, info: os.stat_result) -> Skill:
    if stat.S_ISLNK(info.st_mode):
        return _problem(folder, source, path, "SKILL.md is a symbolic link: copy the file instead")
    if not stat.S_ISREG(info.st_mode):
        return _problem(folder, source, path, "SKILL.md is not a regular file")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError as exc:
        return _problem(folder, source, path, f"cannot read SKILL.md: {exc.strerror or exc}")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if len(head) < HEAD_BYTES or exc.start < len(head) - 3:
            return _problem(folder, source, path, "SKILL.md is not UTF-8 text")
        text = head[: exc.start].decode("utf-8")  # the head ends inside a character
    try:
        meta = parse_skill_md(text, folder)
    except SkillFormatError as exc:
        return _problem(folder, source, path, str(exc))
    except Exception as exc:  # the YAML parser failing in a way not foreseen must not stop a turn
        logger.exception("Parsing %s failed", path)
        return _problem(folder, source, path, f"cannot be parsed ({type(exc).__name__})")
    return Skill(folder, source, path, meta.name, meta.description, meta.requires)


def _problem(folder: str, source: Source, path: str, problem: str) -> Skill:
    """A malformed skill, logged once per path and problem."""
    if (path, problem) not in _reported:
        _reported.add((path, problem))
        logger.warning("Skill %s (%s) is not usable: %s", path, source, problem)
    return Skill(folder, source, path, folder, problem=problem)


def permitted(name: str, allow: Iterable[str], deny: Iterable[str]) -> bool:
    """May an agent with these skill lists use skill `name`? (allow empty: every skill)"""
    allowed = tuple(allow)
    return (not allowed or name in allowed) and name not in tuple(deny)


class _Path:
    """Binaries on PATH, looked up again only when PATH or one of its directories changed."""

    cache: tuple[tuple[object, ...], dict[str, bool]] = ((), {})

    def __init__(self) -> None:
        self.found: dict[str, bool] | None = None

    def has(self, binary: str) -> bool:
        if self.found is None:
            path = os.environ.get("PATH", os.defpath)
            key: tuple[object, ...] = (path, *(_mtime(d) for d in path.split(os.pathsep)))
            if _Path.cache[0] != key:
                _Path.cache = (key, {})
            self.found = _Path.cache[1]
        if binary not in self.found:
            self.found[binary] = shutil.which(binary) is not None
        return self.found[binary]


def _mtime(directory: str) -> int:
    try:
        return os.stat(directory or ".").st_mtime_ns
    except OSError:
        return 0


def missing(requires: Requirements, probe: _Path | None = None) -> str:
    """Why a skill cannot be used on this host now ("" when it can): variables not set,
    binaries not on PATH, another operating system."""
    probe = probe or _Path()
    reasons = []
    if requires.os and sys.platform not in requires.os:
        reasons.append(f"runs only on {', '.join(requires.os)}")
    if env := [name for name in requires.env if not os.environ.get(name)]:
        reasons.append(f"needs environment variable{'s' * (len(env) > 1)} {', '.join(env)}")
    if bins := [name for name in requires.bins if not probe.has(name)]:
        reasons.append(f"needs {', '.join(bins)} on PATH")
    if requires.any_bins and not any(probe.has(name) for name in requires.any_bins):
        reasons.append(f"needs one of {', '.join(requires.any_bins)} on PATH")
    return "; ".join(reasons)


def states(skills: Sequence[Skill], allow: Iterable[str], deny: Iterable[str]) -> list[SkillState]:
    """Each skill's state for an agent with these allow and deny lists, sorted by name (then
    the workspace's before the shared one): malformed, shadowed by an earlier skill of the same
    name (the workspace's come first), denied, unavailable on this host, or available. Pure:
    the file system was read by `discover`."""
    allow, deny = tuple(allow), tuple(deny)
    winners: dict[str, Skill] = {}
    for skill in skills:
        if not skill.problem:
            winners.setdefault(skill.name, skill)
    found = []
    for skill in skills:
        winner = winners.get(skill.name)
        if skill.problem:
            found.append(SkillState(skill, "malformed", skill.problem))
        elif winner is not skill and winner is not None:
            where = f"{winner.source} skill {winner.folder}/"
            found.append(SkillState(skill, "shadowed", f"the {where} has the same name"))
        elif not permitted(skill.name, allow, deny):
            why = (
                "in the agent's skills deny list" if skill.name in deny else "not in its allow list"
            )
            found.append(SkillState(skill, "denied", why))
        elif skill.unmet:
            found.append(SkillState(skill, "unavailable", skill.unmet))
        else:
            found.append(SkillState(skill, "available"))
    found.sort(key=_order)
    return found


def _order(state: SkillState) -> tuple[str, str, bool, str]:
    skill = state.skill
    return (skill.name.casefold(), skill.name, skill.source != "workspace", skill.folder)


def prompt_path(skill: Skill) -> str:
    """The path read_file takes for a skill's file: relative for the workspace's, absolute
    (inside the shared skills directory, read-only) for a shared one."""
    if skill.source == "workspace":
        return f"skills/{skill.folder}/{os.path.basename(skill.path)}"
    return skill.path


def offered_skills(
    skills: Sequence[Skill], allow: Iterable[str], deny: Iterable[str], tools: Iterable[Named]
) -> tuple[ListedSkill, ...]:
    """The skills list of a turn's system prompt: the agent's usable and unavailable skills
    (with the reason), by name; none when the turn may not use read_file to read them."""
    if not any(tool.name == "read_file" for tool in tools):
        return ()
    skills, allow, deny = tuple(skills), tuple(allow), tuple(deny)
    # An unchanged tree gives the same Skill objects (`scan`'s cache): the same list, kept.
    key = (allow, deny, tuple(map(id, skills)))  # ids stay theirs while `_offered` holds them
    if (known := _offered.get(key)) is not None:
        return known[1]
    listed = tuple(
        ListedSkill(
            state.skill.name,
            _short(state.skill.description),
            prompt_path(state.skill),
            state.reason if state.status == "unavailable" else "",
        )
        for state in states(skills, allow, deny)
        if state.status in ("available", "unavailable")
    )
    if len(_offered) >= OFFERED_KEPT:
        del _offered[next(iter(_offered))]  # the oldest
    _offered[key] = (skills, listed)
    return listed


def _short(description: str) -> str:
    if len(description) <= MAX_DESCRIPTION:
        return description
    return description[: MAX_DESCRIPTION - 1].rstrip() + "…"
