"""Helpers for the upstream-shape tests: what to say when a library changed under a perf module,
and a fingerprint of an upstream function that a perf module copies or replaces."""

import ast
import hashlib
import importlib.util
import inspect
import textwrap
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any


def revisit(module: str, library: str, what: str) -> str:
    """The failure message: which upstream shape changed and which perf module to revisit."""
    return (
        f"{library} {version(library)} changed {what}: revisit {module} (it relies on that "
        f"shape), then the bound on {library} in pyproject.toml and this test."
    )


def fingerprint(fn: Callable[..., Any] | ast.AST) -> str:
    """A digest of `fn`'s code as parsed (formatting, comments and docstrings left out): it
    changes when upstream changes what the function does. `fn` may be a parsed definition."""
    tree = fn if isinstance(fn, ast.AST) else ast.parse(textwrap.dedent(inspect.getsource(fn)))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            body.pop(0)
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()[:16]


def method_source(module: str, cls: str, name: str) -> ast.FunctionDef:
    """A method's definition read from a module's source without importing the module (for
    modules whose import has side effects, such as `daphne.server` installing a reactor)."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, f"{module} is not installed"
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == cls:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == name:
                    return item
    raise AssertionError(f"{module}.{cls}.{name} not found")
