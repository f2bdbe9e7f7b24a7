"""Regenerate the variable tables of docs/configuration.md from .env.example (its sections,
comments and defaults): `python scripts/configuration_reference.py`; `--check` exits 1 when the
document is out of date. tests/operator/test_docs.py runs the check."""

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV_EXAMPLE = ROOT / ".env.example"
DOC = ROOT / "docs" / "configuration.md"
BEGIN = "<!-- BEGIN generated from .env.example by scripts/configuration_reference.py -->"
END = "<!-- END generated -->"
SECTION = re.compile(r"^# -{3} (?P<title>.+?) -*$")
VARIABLE = re.compile(r"^(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")


@dataclass
class Variable:
    name: str
    default: str
    about: str


@dataclass
class Section:
    title: str
    variables: list[Variable] = field(default_factory=list)


def parse(text: str) -> list[Section]:
    """Sections of `# --- Title ---` lines; each variable takes the comment lines above it."""
    sections: list[Section] = []
    comment: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if heading := SECTION.match(line):
            sections.append(Section(heading["title"]))
            comment = []
        elif line.startswith("#"):
            comment.append(line.lstrip("#").strip())
        elif variable := VARIABLE.match(line):
            if not sections:
                raise ValueError(f"{variable['name']} comes before the first section heading")
            about = " ".join(comment)
            shared = sections[-1].variables
            if not about and shared:  # a variable right under another shares its comment
                about = f"See `{shared[-1].name}`."
            shared.append(Variable(variable["name"], variable["value"], about))
            comment = []
        else:
            comment = []
    return sections


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(sections: list[Section]) -> str:
    parts = [BEGIN]
    for section in sections:
        parts += ["", f"### {section.title}", "", "| variable | default | what it does |"]
        parts.append("| --- | --- | --- |")
        for var in section.variables:
            default = f"`{_cell(var.default)}`" if var.default else "(empty)"
            parts.append(f"| `{var.name}` | {default} | {_cell(var.about)} |")
    parts += ["", END]
    return "\n".join(parts)


def updated(document: str, block: str) -> str:
    start, end = document.index(BEGIN), document.index(END) + len(END)
    return document[:start] + block + document[end:]


def main(argv: list[str]) -> int:
    document = DOC.read_text(encoding="utf-8")
    fresh = updated(document, render(parse(ENV_EXAMPLE.read_text(encoding="utf-8"))))
    if "--check" in argv:
        if fresh != document:
            print(f"{DOC} is out of date: run python scripts/configuration_reference.py")
            return 1
        return 0
    DOC.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
