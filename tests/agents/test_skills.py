"""Skills: SKILL.md front matter, discovery in the workspace and the shared directory, the
agent's own winning a name clash, requirements, allow/deny, the prompt's list, and the
cache that sees a change on disk at the next look."""

import dataclasses
import logging
import os
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st
from pytest_django.fixtures import Settings

from agents import skills
from agents.context import GUARDRAILS, ListedSkill, PromptInputs, skills_section, stable_prefix
from agents.services import AgentConfig
from agents.skills_frontmatter import Requirements, SkillFormatError, parse_skill_md
from agents.tools.catalog import tools_for
from agents.trust import Trust
from tests.agents.tool_context import make_ctx

HOUR_AGO = time.time() - 3600


def write_skill(root: Path, folder: str, front: str, body: str = "Do it step by step.\n") -> Path:
    path = root / folder / "SKILL.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\n{front}\n---\n{body}", encoding="utf-8")
    return path


def age(*paths: Path) -> None:
    """Back-date files and folders past the cache's settling time."""
    for path in paths:
        os.utime(path, (HOUR_AGO, HOUR_AGO))


@pytest.fixture
def home(settings: Settings, tmp_path: Path) -> Path:
    settings.OPENCLAW_HOME = tmp_path / "home"
    (tmp_path / "home" / "skills").mkdir(parents=True)
    return tmp_path / "home"


@pytest.mark.parametrize(
    ("front", "name", "description", "requires"),
    [
        (
            "name: pdf-forms\ndescription: Fill PDF forms.",
            "pdf-forms",
            "Fill PDF forms.",
            Requirements(),
        ),
        ("description: >\n  Folded\n  text.", "folder", "Folded text.", Requirements()),
        (
            "name: todo\ndescription: Tasks.\nrequires:\n  env: [TODO_KEY]\n  bins: curl",
            "todo",
            "Tasks.",
            Requirements(env=("TODO_KEY",), bins=("curl",)),
        ),
        (  # OpenClaw: metadata.openclaw, in YAML
            "name: t\ndescription: d\nmetadata:\n  openclaw:\n    requires:\n      env:\n"
            "        - A_KEY\n      anyBins: [docker, podman]\n    os: [linux]",
            "t",
            "d",
            Requirements(env=("A_KEY",), any_bins=("docker", "podman"), os=("linux",)),
        ),
        (  # OpenClaw's docs: metadata as one line of JSON (alias clawdbot)
            'name: t\ndescription: d\nmetadata: \'{"clawdbot": {"requires": {"bins": ["uv"]}}}\'',
            "t",
            "d",
            Requirements(bins=("uv",)),
        ),
        (  # Agent Skills' optional keys are accepted and ignored
            "name: t\ndescription: d\nlicense: MIT\nallowed-tools: Bash Read\nmetadata:\n  author: me",
            "t",
            "d",
            Requirements(),
        ),
    ],
)
def test_front_matter_spellings_are_accepted(
    front: str, name: str, description: str, requires: Requirements
) -> None:
    parsed = parse_skill_md(f"---\n{front}\n---\n# Body\n", "folder")
    assert (parsed.name, parsed.description, parsed.requires) == (name, description, requires)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# Just markdown\n", "no front matter"),
        ("---\nname: x\ndescription: y\n", "not closed"),
        ("---\nname: x\ndescription: [unclosed\n---\n", "invalid YAML at line"),
        ("---\n- a\n- b\n---\n", "not a mapping"),
        ("---\nname: x\n---\n", "description is missing"),
        ("---\nname: x\ndescription: 2026-13-45\n---\n", "invalid YAML: month must be"),
        ("---\nname: has spaces\ndescription: y\n---\n", "not a skill name"),
        ("---\nname: x\ndescription: y\nrequires: curl\n---\n", "requires must be a mapping"),
        ("---\nname: x\ndescription: y\nrequires:\n  env: [1-BAD]\n---\n", "not an environment"),
        ("---\nname: x\ndescription: y\nrequires:\n  bins: {a: b}\n---\n", "list of names"),
        ("---\nname: x\ndescription: y\nos: [beos]\n---\n", "not one of"),
    ],
)
def test_malformed_front_matter_says_what_to_fix(text: str, message: str) -> None:
    with pytest.raises(SkillFormatError, match=message):
        parse_skill_md(text, "folder")


def test_workspace_and_shared_skills_are_found_and_the_agents_own_wins(
    home: Path, tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    write_skill(workspace / "skills", "pdf", "name: pdf\ndescription: Mine.")
    write_skill(home / "skills", "pdf", "name: pdf\ndescription: Shared.")
    write_skill(home / "skills", "weather", "name: weather\ndescription: Forecasts.")
    (home / "skills" / "weather" / "SKILL.md").rename(home / "skills" / "weather" / "skill.md")
    found = skills.states(skills.discover(workspace), (), ())
    assert [(s.skill.name, s.skill.source, s.status) for s in found] == [
        ("pdf", "workspace", "available"),
        ("pdf", "shared", "shadowed"),
        ("weather", "shared", "available"),
    ]
    assert found[1].reason == "the workspace skill pdf/ has the same name"
    listed = skills.offered_skills(skills.discover(workspace), (), (), [ReadFile()])
    assert listed == (
        ListedSkill("pdf", "Mine.", "skills/pdf/SKILL.md"),
        ListedSkill("weather", "Forecasts.", str(home / "skills" / "weather" / "skill.md")),
    )


class ReadFile:
    name = "read_file"


def test_a_turn_without_read_file_lists_no_skills(home: Path, tmp_path: Path) -> None:
    write_skill(home / "skills", "pdf", "name: pdf\ndescription: d")
    assert skills.offered_skills(skills.discover(tmp_path), (), (), []) == ()


def test_malformed_and_broken_folders_are_reported_once_never_raised(
    home: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "ws" / "skills"
    write_skill(root, "bad-yaml", "name: x\ndescription: a: b")
    (root / "empty").mkdir()
    (root / "notes.txt").write_text("not a folder")  # ignored: not a skill folder
    (root / "linked").symlink_to(home / "skills")
    (root / ".hidden").mkdir()
    (root / "binary").mkdir()
    (root / "binary" / "SKILL.md").write_bytes(b"---\nname: \xff\xfe\n---\n")
    with caplog.at_level(logging.WARNING, logger="agents.skills"):
        first = skills.states(skills.discover(tmp_path / "ws"), (), ())
        skills.states(skills.discover(tmp_path / "ws"), (), ())
    reasons = {s.skill.folder: (s.status, s.reason) for s in first}
    assert reasons["bad-yaml"][0] == "malformed"
    assert reasons["bad-yaml"][1].startswith("invalid YAML at line 3")
    assert reasons["empty"] == ("malformed", "no SKILL.md in the folder")
    assert reasons["linked"][1].startswith("the folder is a symbolic link")
    assert reasons["binary"] == ("malformed", "SKILL.md is not UTF-8 text")
    assert set(reasons) == {"bad-yaml", "empty", "linked", "binary"}
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == 4  # once each, not once per look
    assert any("bad-yaml" in line and "invalid YAML" in line for line in logged)
    assert skills.offered_skills(skills.discover(tmp_path / "ws"), (), (), [ReadFile()]) == ()


def test_missing_requirements_make_a_skill_unavailable_with_the_reason(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SKILL_TEST_TOKEN", raising=False)
    shared = home / "skills"
    write_skill(
        shared, "deploy", "name: deploy\ndescription: d\nrequires:\n  env: [SKILL_TEST_TOKEN]"
    )
    write_skill(shared, "ocr", "name: ocr\ndescription: d\nrequires: {bins: [no-such-binary-x1]}")
    write_skill(shared, "box", "name: box\ndescription: d\nrequires: {anyBins: [no-such-y, sh]}")
    found = {s.skill.name: s for s in skills.states(skills.discover(tmp_path), (), ())}
    assert (found["deploy"].status, found["deploy"].reason) == (
        "unavailable",
        "needs environment variable SKILL_TEST_TOKEN",
    )
    assert found["ocr"].reason == "needs no-such-binary-x1 on PATH"
    assert found["box"].status == "available"
    listed = skills.offered_skills(skills.discover(tmp_path), (), (), [ReadFile()])
    text = skills_section(listed)
    assert f"- box: d ({shared / 'box' / 'SKILL.md'})" in text
    assert (
        "Unavailable on this host now: deploy (needs environment variable SKILL_TEST_TOKEN); "
        "ocr (needs no-such-binary-x1 on PATH)." in text
    )
    monkeypatch.setenv("SKILL_TEST_TOKEN", "set")
    found = {s.skill.name: s for s in skills.states(skills.discover(tmp_path), (), ())}
    assert found["deploy"].status == "available"


def test_allow_and_deny_lists_choose_the_agents_skills(home: Path, tmp_path: Path) -> None:
    for name in ("alpha", "beta", "gamma"):
        write_skill(home / "skills", name, f"name: {name}\ndescription: d")
    found = skills.discover(tmp_path)

    def offered(allow: tuple[str, ...], deny: tuple[str, ...]) -> list[str]:
        return [s.name for s in skills.offered_skills(found, allow, deny, [ReadFile()])]

    assert offered((), ()) == ["alpha", "beta", "gamma"]
    assert offered((), ("beta",)) == ["alpha", "gamma"]
    assert offered(("beta", "gamma"), ("gamma",)) == ["beta"]
    states = {s.skill.name: s for s in skills.states(found, ("beta",), ("gamma",))}
    assert (states["alpha"].status, states["alpha"].reason) == ("denied", "not in its allow list")
    assert states["gamma"].reason == "in the agent's skills deny list"


def test_an_unchanged_tree_is_served_from_the_cache_and_a_change_is_seen_at_once(
    home: Path, tmp_path: Path
) -> None:
    root = tmp_path / "ws" / "skills"
    path = write_skill(root, "pdf", "name: pdf\ndescription: First.")
    needy = write_skill(root, "ocr", "name: ocr\ndescription: d\nrequires: {bins: [no-such-x2]}")
    age(path, path.parent, needy, needy.parent, root, home / "skills")
    first = skills.discover(tmp_path / "ws")
    again = skills.discover(tmp_path / "ws")
    assert again[0] is first[0] and again[1] is first[1]  # not parsed or checked again
    assert first[0].unmet == "needs no-such-x2 on PATH"
    listed = skills.offered_skills(first, (), (), [ReadFile()])
    assert skills.offered_skills(again, (), (), [ReadFile()]) is listed  # kept, not rebuilt
    (root / "ocr" / "SKILL.md").unlink()
    (root / "ocr").rmdir()
    path.write_text("---\nname: pdf\ndescription: Second, longer.\n---\n", encoding="utf-8")
    assert skills.discover(tmp_path / "ws")[0].description == "Second, longer."
    write_skill(root, "new", "name: new\ndescription: Added.")
    assert [s.name for s in skills.discover(tmp_path / "ws")] == ["new", "pdf"]
    (root / "new" / "SKILL.md").unlink()
    (root / "new").rmdir()
    assert [s.name for s in skills.discover(tmp_path / "ws")] == ["pdf"]


def test_the_prompt_lists_skills_after_the_guardrails_and_stays_byte_identical(
    home: Path, tmp_path: Path
) -> None:
    write_skill(home / "skills", "zeta", "name: zeta\ndescription: Last.")
    write_skill(tmp_path / "ws" / "skills", "Alpha", "name: Alpha\ndescription: First.")

    def prompt() -> str:
        listed = skills.offered_skills(skills.discover(tmp_path / "ws"), (), (), [ReadFile()])
        inputs = PromptInputs(
            agent_name="Main",
            instructions="",
            files=(),
            file_cap=1000,
            channel="web",
            session_key="agent:main:main",
            memory="- likes tea",
            skills=listed,
        )
        return stable_prefix(inputs)

    first, second = prompt(), prompt()
    assert first == second
    assert first.index(GUARDRAILS) < first.index("## Skills") < first.index("## MEMORY.md")
    assert first.index("- Alpha: First. (skills/Alpha/SKILL.md)") < first.index("- zeta: Last.")


def test_a_long_description_is_cut_in_the_prompt(home: Path, tmp_path: Path) -> None:
    write_skill(home / "skills", "long", "name: long\ndescription: " + "word " * 400)
    (listed,) = skills.offered_skills(skills.discover(tmp_path), (), (), [ReadFile()])
    assert len(listed.description) == 1024
    assert listed.description.endswith("…")


def test_deeply_nested_yaml_is_reported_not_raised() -> None:
    with pytest.raises(SkillFormatError, match="nested too deeply"):
        parse_skill_md("---\ndescription: " + "[" * 30_000 + "\n---\n", "folder")


@examples(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.sampled_from(["", "---\n", "---\nname: x\n"]))
def test_any_text_parses_or_is_reported_as_malformed(text: str, head: str) -> None:
    try:
        parsed = parse_skill_md(head + text + "\n---\n", "folder")
    except SkillFormatError as exc:
        message = str(exc)
    else:
        message = ""
        assert parsed.description and "\n" not in parsed.description
    assert message or parsed


def test_strangers_and_groups_get_no_skills_list_unless_they_may_read_files(
    home: Path, tmp_path: Path
) -> None:
    write_skill(home / "skills", "pdf", "name: pdf\ndescription: d")
    agent = make_ctx(tmp_path).agent
    found = skills.discover(tmp_path)

    def names(config: AgentConfig, trust: Trust) -> list[str]:
        offered = skills.offered_skills(found, (), (), tools_for(config, trust))
        return [s.name for s in offered]

    assert names(agent, "owner") == ["pdf"]
    assert names(agent, "paired") == []
    assert names(agent, "group") == []
    reader = dataclasses.replace(agent, group_tools=("read_file",))
    assert names(reader, "group") == ["pdf"]


def test_skills_that_come_and_go_leave_nothing_in_the_caches(home: Path, tmp_path: Path) -> None:
    root = tmp_path / "ws" / "skills"
    write_skill(root, "keep", "name: keep\ndescription: d")
    for n in range(5):  # an agent writing and removing skills
        path = write_skill(
            root, f"temp-{n}", f"name: temp-{n}\ndescription: d\nrequires: {{bins: [no-x{n}]}}"
        )
        (root / "broken").mkdir(exist_ok=True)
        assert f"temp-{n}" in [s.name for s in skills.discover(tmp_path / "ws")]
        path.unlink()
        path.parent.rmdir()
        (root / "broken").rmdir()
        os.utime(root, ns=(time.time_ns() + n + 1, time.time_ns() + n + 1))  # a new listing
        assert [s.name for s in skills.discover(tmp_path / "ws")] == ["keep"]
    held = [*skills._parsed, *skills._unmet, *(path for path, _ in skills._reported)]
    assert [p for p in held if p.startswith(str(root))] == [str(root / "keep" / "SKILL.md")]
