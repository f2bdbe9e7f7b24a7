"""The structure holds: no import cycle, layers depend downwards, no module over 400 lines, and
every module imports on its own (scripts/import_graph.py does the work; these tests run it)."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.import_graph import MAX_LINES, ROOT, Report, analyse, describe, discover, imports


@pytest.fixture(scope="module")
def report() -> Report:
    return analyse()


def test_no_import_cycle(report: Report) -> None:
    found = [
        f"cycle of {len({edge.source for edge in cycle})} modules:\n"
        + "\n".join(f"  {describe(edge)}" for edge in cycle)
        for cycle in report.cycles
    ]
    assert not found, "import cycles (function-level imports count):\n" + "\n".join(found)


def test_layers_depend_downwards(report: Report) -> None:
    found = [describe(edge) for edge in report.violations]
    assert not found, (
        "openclaw < agents, memory < gateway; only openclaw's wiring imports upwards:\n"
        + "\n".join(found)
    )


def test_no_module_over_the_line_limit(report: Report) -> None:
    found = [f"{module}: {count} lines" for module, count in report.long_modules]
    assert not found, f"modules over {MAX_LINES} lines:\n" + "\n".join(found)


# What `gateway.state` may import from the gateway: nothing that imports it back.
STATE_DEPENDS_ON = {"gateway.lanes", "gateway.messages", "gateway.supervisor"}
WRITES = {"create", "update", "delete", "bulk_create", "bulk_update", "get_or_create", "save"}


def test_gateway_state_is_a_leaf() -> None:
    found, _ = imports()
    upward = [
        describe(edge)
        for edge in found
        if edge.source == "gateway.state"
        and edge.target.startswith("gateway.")
        and edge.target not in STATE_DEPENDS_ON
    ]
    assert not upward, "gateway.state must stay a leaf:\n" + "\n".join(upward)


def test_only_the_server_starts_and_stops_the_gateway() -> None:
    found, _ = imports()
    others = [
        describe(edge)
        for edge in found
        if edge.target == "gateway.lifecycle" and edge.source != "gateway.server"
    ]
    assert not others, "gateway.lifecycle is imported only by gateway.server:\n" + "\n".join(others)


def _on_inbound_records(node: ast.expr) -> bool:
    """`InboundRecord.objects…` (a chain of attributes and calls rooted at the model)."""
    while isinstance(node, ast.Attribute | ast.Call):
        node = node.value if isinstance(node, ast.Attribute) else node.func
    return isinstance(node, ast.Name) and node.id == "InboundRecord"


def _writes_inbound_records(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        sql = node.value.lower()  # SQL naming its table
        return "inboundrecord" in sql and any(
            verb in sql for verb in ("insert ", "update ", "delete ")
        )
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    if node.func.attr == "insert":  # openclaw.perf.rows.insert(InboundRecord, ...)
        return any(isinstance(a, ast.Name) and a.id == "InboundRecord" for a in node.args)
    return node.func.attr in WRITES and _on_inbound_records(node.func.value)


def test_the_journal_is_the_only_writer_of_inbound_records() -> None:
    """Writes to `InboundRecord` (ORM calls, `rows.insert`, SQL naming its table) appear in
    gateway/journal.py only."""
    offenders = []
    for module, path in discover().items():
        if module == "gateway.journal" or ".migrations" in module:
            continue
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            if _writes_inbound_records(node):
                text = ast.get_source_segment(source, node) or ""
                offenders.append(f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}: {text}")
    assert not offenders, "inbound records written outside gateway/journal.py:\n" + "\n".join(
        offenders
    )


def test_every_module_imports_alone() -> None:
    """Each module imported first in a process that has only run django.setup(): an import
    that works only after some other module was loaded fails here."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "import_graph.py"), "--import-each", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert result.stdout.strip(), result.stderr
    failures: dict[str, str] = json.loads(result.stdout)
    listed = "\n".join(f"{module}:\n{output}" for module, output in failures.items())
    assert not failures, f"modules that fail to import alone:\n{listed}"
    assert result.returncode == 0, result.stderr


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_checker_finds_what_it_must(tmp_path: Path) -> None:
    """A planted cycle (through a function-level relative import), two layer violations (one
    type-only) and a long module are found; a type-only cycle, wiring and migrations are not."""
    _tree(
        tmp_path,
        {
            "openclaw/__init__.py": "",
            "openclaw/settings.py": "import gateway.views\n",
            "openclaw/util.py": "def f():\n    # apps first\n    import os\n    from agents import loop\n",
            "agents/__init__.py": "",
            "agents/loop.py": (
                "from typing import TYPE_CHECKING\nfrom . import tools\n"
                "if TYPE_CHECKING:\n    from gateway import views\n"
            ),
            "agents/tools.py": "class T:\n    def g(self):\n        from .loop import x  # late\n",
            "memory/__init__.py": "",
            "memory/big.py": "x = 1\n" * (MAX_LINES + 1),
            "memory/migrations/0001_initial.py": "import gateway.views\n",
            "gateway/__init__.py": "",
            "gateway/views.py": "import typing\nif typing.TYPE_CHECKING:\n    import gateway.state\n",
            "gateway/state.py": "from gateway.views import *\n",
        },
    )
    found = analyse(tmp_path)
    assert [[(e.source, e.target, e.scope) for e in cycle] for cycle in found.cycles] == [
        [("agents.loop", "agents.tools", "module"), ("agents.tools", "agents.loop", "function")]
    ]
    assert [(e.source, e.target, e.scope) for e in found.violations] == [
        ("openclaw.util", "agents.loop", "function"),
        ("agents.loop", "gateway.views", "type-checking"),
    ]
    assert found.long_modules == [("memory.big", MAX_LINES + 1)]
    late = {(e.function, e.comment) for e in found.function_imports}
    assert late == {("f", "apps first"), ("T.g", "late")}
    assert found.failed
