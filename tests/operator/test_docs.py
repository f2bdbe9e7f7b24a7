"""The documentation keeps up with the code: every setting is in docs/configuration.md (and
nothing there is stale), the generated tables match .env.example, and every link between the
README and docs/ points at a file that exists."""

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SETTING_READ = re.compile(
    r"""(?:\benv(?:\.\w+)?|os\.environ\.get|os\.getenv)\(\s*["']([A-Z][A-Z0-9_]*)["']"""
)
DOC_ROW = re.compile(r"^\| `([A-Z][A-Z0-9_]*)` \|", re.MULTILINE)
EXAMPLE_LINE = re.compile(r"^([A-Z][A-Z0-9_]*)=", re.MULTILINE)
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def read(relative: str) -> str:
    return (ROOT / relative).read_text(encoding="utf-8")


def settings_read() -> set[str]:
    return set(SETTING_READ.findall(read("openclaw/settings.py")))


def test_the_setting_pattern_finds_the_ways_settings_read_the_environment() -> None:
    found = settings_read()
    assert {"OPENCLAW_HOME", "DATABASE_URL", "OPENCLAW_ENV_FILE", "DJANGO_DEBUG"} <= found


def test_every_setting_and_env_example_variable_is_documented_and_vice_versa() -> None:
    documented = set(DOC_ROW.findall(read("docs/configuration.md")))
    example = set(EXAMPLE_LINE.findall(read(".env.example")))
    known = settings_read() | example
    assert not settings_read() - documented, "read in settings.py, missing in configuration.md"
    assert not example - documented, "in .env.example, missing in docs/configuration.md"
    assert not documented - known, "documented but no longer a setting"
    assert not settings_read() - example, "read in settings.py, missing in .env.example"


def test_generated_tables_match_env_example() -> None:
    path = ROOT / "scripts" / "configuration_reference.py"
    spec = importlib.util.spec_from_file_location("configuration_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--check"]) == 0, (
        "docs/configuration.md is out of date: run python scripts/configuration_reference.py"
    )


def test_links_in_readme_and_docs_point_at_files_that_exist() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    broken = []
    for page in pages:
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} → {target}")
    assert not broken


DOCS = (
    "docs/architecture.md",
    "docs/protocol.md",
    "docs/configuration.md",
    "docs/platforms/slack.md",
    "docs/platforms/telegram.md",
    "docs/platforms/whatsapp.md",
    "docs/deployment.md",
    "docs/reliability.md",
    "docs/scaling.md",
)


def test_readme_links_the_docs() -> None:
    readme = read("README.md")
    missing = [doc for doc in DOCS if f"]({doc})" not in readme]
    assert not missing, f"README does not link {missing}"


def test_the_docs_index_links_every_page() -> None:
    index = read("docs/README.md")
    missing = [doc for doc in DOCS if f"]({doc.removeprefix('docs/')})" not in index]
    assert not missing, f"docs/README.md does not link {missing}"
    assert "](docs/README.md)" in read("README.md")


def test_the_docs_index_lists_every_management_command() -> None:
    commands = {
        path.stem
        for app in ("gateway", "agents", "memory")
        for path in (ROOT / app / "management" / "commands").glob("*.py")
        if not path.name.startswith("_")
    }
    index = read("docs/README.md")
    assert commands, "no management commands found"
    assert not [c for c in sorted(commands) if f"| `{c}`" not in index]


def test_the_readme_sets_up_a_fresh_machine_with_make_run_and_make_test() -> None:
    readme = read("README.md")
    setup = readme.split("\n## Set up", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", setup, re.DOTALL)
    assert [b.strip() for b in blocks] == ["make run", "make test"]
    targets = set(re.findall(r"^([a-z-]+):", read("Makefile"), re.MULTILINE))
    assert {"run", "test", "check", "test-services", "ci", "bench"} <= targets
