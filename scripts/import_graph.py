"""Check the project's structure from its import graph: no import cycle, layers depend downwards
(openclaw < agents, memory < gateway), no module over 400 lines. Exits 1 on any finding;
`--json` for machine output, `--import-each` imports every module alone after django.setup()."""

import argparse
import ast
import json
import os
import signal
import sys
import traceback
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("openclaw", "agents", "memory", "gateway")
LAYER = {"openclaw": 0, "agents": 1, "memory": 1, "gateway": 2}
# openclaw's wiring plugs the apps together, so it may import any of them.
WIRING = frozenset(
    {
        "openclaw.settings",
        "openclaw.urls",
        "openclaw.asgi",
        "openclaw.routing",
        "openclaw.admin",
        "openclaw.celery",
    }
)
MAX_LINES = 400

Scope = Literal["module", "function", "type-checking"]


@dataclass(frozen=True)
class Import:
    """One project import: `source` imports `target` at `path:line`; `scope` says when it runs
    (at import time, when `function` is called, or never: only for the type checker)."""

    source: str
    target: str
    path: str
    line: int
    scope: Scope
    function: str = ""
    comment: str = ""


@dataclass
class Report:
    cycles: list[list[Import]] = field(default_factory=list)
    violations: list[Import] = field(default_factory=list)
    long_modules: list[tuple[str, int]] = field(default_factory=list)
    function_imports: list[Import] = field(default_factory=list)
    type_checking_imports: list[Import] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.cycles or self.violations or self.long_modules)


def discover(root: Path = ROOT) -> dict[str, Path]:
    """Module name → file, for every module of the four packages except migrations."""
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if "migrations" in parts or "__pycache__" in parts:
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _statements(
    body: list[ast.stmt], scope: Scope, function: str
) -> Iterator[tuple[ast.Import | ast.ImportFrom, Scope, str]]:
    """Every import statement under `body`, with the scope it runs in and its function's name."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, scope, function
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            name = f"{function}.{node.name}" if function else node.name
            inner: Scope = "type-checking" if scope == "type-checking" else "function"
            yield from _statements(node.body, inner, name)
        elif isinstance(node, ast.ClassDef):  # its body runs where the class statement runs
            name = f"{function}.{node.name}" if function else node.name
            yield from _statements(node.body, scope, name)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _statements(node.body, "type-checking", function)
            yield from _statements(node.orelse, scope, function)
        else:
            for child in ast.iter_fields(node):
                value = child[1]
                if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                    yield from _statements(value, scope, function)
                elif isinstance(value, list):  # try's handlers, match's cases
                    for item in value:
                        if isinstance(item, ast.ExceptHandler | ast.match_case):
                            yield from _statements(item.body, scope, function)


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The deepest project module that `import name` names, if any."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def _targets(
    node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: dict[str, Path]
) -> list[str]:
    if isinstance(node, ast.Import):
        found = [_resolve(alias.name, modules) for alias in node.names]
        return [target for target in found if target]
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        anchor = package[: len(package) - (node.level - 1)]
        base = ".".join([*anchor, base]) if base else ".".join(anchor)
    targets: list[str] = []
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        target = submodule if submodule in modules else _resolve(base, modules)
        if target and target not in targets:
            targets.append(target)
    return targets


def _comment(lines: list[str], node: ast.stmt) -> str:
    """The reason an import sits in a function: the `# …` comment on its own line(s), else the
    comment lines right above it or above the group of imports it belongs to."""
    own = lines[node.lineno - 1 : node.end_lineno or node.lineno]
    if found := " ".join(line.split("#", 1)[1].strip() for line in own if "#" in line).strip():
        return found
    above: list[str] = []
    number = node.lineno - 2
    while number >= 0 and lines[number].strip().startswith(("from ", "import ")):
        number -= 1
    while number >= 0 and lines[number].strip().startswith("#"):
        above.insert(0, lines[number].strip().lstrip("#").strip())
        number -= 1
    return " ".join(above)


def imports(root: Path = ROOT) -> tuple[list[Import], dict[str, int]]:
    """Every project import of the four packages, and each module's line count."""
    modules = discover(root)
    found: list[Import] = []
    sizes: dict[str, int] = {}
    for module, path in modules.items():
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        sizes[module] = len(lines)
        tree = ast.parse(text, filename=str(path))
        relative = path.relative_to(root).as_posix()
        for node, scope, function in _statements(tree.body, "module", ""):
            for target in _targets(node, module, path.name == "__init__.py", modules):
                if target == module:
                    continue
                if scope == "function":
                    comment = _comment(lines, node)
                    edge = Import(module, target, relative, node.lineno, scope, function, comment)
                else:
                    edge = Import(module, target, relative, node.lineno, scope)
                found.append(edge)
    return found, sizes


def _components(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    result.append(sorted(component))
    return sorted(result)


def _violates(edge: Import) -> bool:
    source, target = edge.source.split(".")[0], edge.target.split(".")[0]
    return LAYER[target] > LAYER[source] and edge.source not in WIRING


def _is_test(module: str) -> bool:
    parts = module.split(".")
    return "tests" in parts or parts[-1].startswith("test_")


def analyse(root: Path = ROOT) -> Report:
    found, sizes = imports(root)
    runtime = [edge for edge in found if edge.scope != "type-checking"]
    graph: dict[str, set[str]] = {module: set() for module in sizes}
    for edge in runtime:
        graph[edge.source].add(edge.target)
    report = Report()
    for component in _components(graph):
        members = set(component)
        report.cycles.append(
            [edge for edge in runtime if edge.source in members and edge.target in members]
        )
    # A type-only import of an upper layer is still a dependency on it: it counts here.
    report.violations = [edge for edge in found if _violates(edge)]
    report.long_modules = sorted(
        (module, count)
        for module, count in sizes.items()
        if count > MAX_LINES and not _is_test(module)
    )
    report.function_imports = [edge for edge in found if edge.scope == "function"]
    report.type_checking_imports = [edge for edge in found if edge.scope == "type-checking"]
    return report


def describe(edge: Import) -> str:
    where = f" in {edge.function}()" if edge.function else ""
    why = f"  # {edge.comment}" if edge.comment else ""
    kind = "" if edge.scope == "module" else f" [{edge.scope}]"
    return f"{edge.source} -> {edge.target}{kind}  ({edge.path}:{edge.line}{where}){why}"


def render(report: Report) -> str:
    out: list[str] = []
    out.append(f"(a) import cycles: {len(report.cycles)}")
    for number, cycle in enumerate(report.cycles, 1):
        members = sorted({edge.source for edge in cycle})
        out.append(f"  cycle {number}: {len(members)} modules: {', '.join(members)}")
        out.extend(f"    {describe(edge)}" for edge in cycle)
    out.append(f"(b) layer violations: {len(report.violations)}")
    out.extend(f"  {describe(edge)}" for edge in report.violations)
    out.append(f"(c) modules over {MAX_LINES} lines: {len(report.long_modules)}")
    out.extend(f"  {module}: {count} lines" for module, count in report.long_modules)
    out.append(f"(d) function-level project imports: {len(report.function_imports)}")
    out.extend(f"  {describe(edge)}" for edge in report.function_imports)
    out.append(f"type-checking-only imports (no cycle): {len(report.type_checking_imports)}")
    out.extend(f"  {describe(edge)}" for edge in report.type_checking_imports)
    return "\n".join(out)


def import_each(modules: list[str], timeout: int = 30) -> dict[str, str]:
    """Import each module in a process of its own, forked from one that has run django.setup()
    and nothing else: the state of `python -c "import django; django.setup(); import <module>"`
    at a fraction of the cost. Returns module → traceback for those that fail."""
    import django

    django.setup()
    failures: dict[str, str] = {}
    for module in modules:
        read, write = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: import, report, leave without running the parent's exit hooks
            os.close(read)
            os.dup2(2, 1)  # whatever an import prints stays out of the parent's (JSON) output
            signal.alarm(timeout)
            status = 0
            try:
                __import__(module)
            except BaseException:
                os.write(write, traceback.format_exc().encode())
                status = 1
            os._exit(status)
        os.close(write)
        with os.fdopen(read, "rb") as pipe:
            output = pipe.read().decode(errors="replace")
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code == -signal.SIGALRM:
            failures[module] = f"{output}still importing after {timeout} s"
        elif code != 0:
            failures[module] = output or f"exit status {code}"
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--import-each",
        action="store_true",
        help="import every module alone after django.setup() (DJANGO_SETTINGS_MODULE must be set)",
    )
    args = parser.parse_args(argv)
    if args.import_each:
        sys.path[0] = str(ROOT)  # the project, not scripts/, as `python -c` would have it
        failures = import_each(sorted(discover()))
        if args.json:
            print(json.dumps(failures, indent=2))
        else:
            for module, output in failures.items():
                print(f"{module}:\n{output}")
            print(f"{len(failures)} of {len(discover())} modules failed to import alone")
        return 1 if failures else 0
    report = analyse()
    if args.json:
        data = asdict(report)
        data["failed"] = report.failed
        print(json.dumps(data, indent=2))
    else:
        print(render(report))
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
