"""The import graph of `src/`: no cycles, and storage imports nothing above it.

Every import counts, at module level and inside functions (an import run on first use is still a
dependency); only the body of an `if TYPE_CHECKING:` block is left out. `from pkg import name` is an edge to
the module `pkg.name` when there is one, else to `pkg`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

STORAGE = "costwarden.storage"
ABOVE_STORAGE = (
    "costwarden.budgets",
    "costwarden.reports",
    "costwarden.quotas",
    "costwarden.importers",
    "costwarden.integrations",
    "costwarden.cli",
    "costwarden.warden",
)


def modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in (SRC / "costwarden").rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _type_checking(child.test):
            for other in child.orelse:
                yield from _imports(other)
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        yield from _imports(child)


def _targets(name: str, path: Path, node: ast.Import | ast.ImportFrom, known: dict[str, Path]) -> set[str]:
    if isinstance(node, ast.Import):
        wanted = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join([*package, *([base] if base else [])])
        wanted = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
    out: set[str] = set()
    for dotted in wanted:
        target = dotted
        while target not in known and "." in target:
            target = target.rsplit(".", 1)[0]
        if target in known and target != name:
            out.add(target)
    return out


def import_graph() -> dict[str, set[str]]:
    known = modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in _imports(tree):
            graph[name] |= _targets(name, path, node, known)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_src_has_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_the_check_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_type_checking_imports_are_left_out_and_function_imports_count() -> None:
    code = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import costwarden.warden\n"
        "def f():\n    import costwarden.quotas\n"
    )
    known = {
        "costwarden.x": Path("x.py"),
        "costwarden.warden": Path("w.py"),
        "costwarden.quotas": Path("q.py"),
    }
    found = set()
    for node in _imports(ast.parse(code)):
        found |= _targets("costwarden.x", Path("x.py"), node, known)
    assert found == {"costwarden.quotas"}


def test_storage_imports_nothing_above_it() -> None:
    graph = import_graph()
    wrong = sorted(
        (source, target)
        for source, targets in graph.items()
        if source == STORAGE or source.startswith(f"{STORAGE}.")
        for target in targets
        if any(target == above or target.startswith(f"{above}.") for above in ABOVE_STORAGE)
    )
    assert wrong == []
    assert len([m for m in graph if m.startswith(f"{STORAGE}.")]) >= 25  # the check sees the storage modules


def test_reports_and_views_render_nothing() -> None:
    """Rich rendering lives in `costwarden.render` (and the CLI): the read side stays pure."""
    wrong: list[tuple[str, str]] = []
    for name, path in modules().items():
        if not name.startswith(("costwarden.reports", "costwarden.views")):
            continue
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            targets = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            wrong += [(name, t) for t in targets if t.split(".")[0] in ("rich", "typer")]
            wrong += [(name, t) for t in targets if t.startswith(("costwarden.render", "costwarden.cli"))]
    assert wrong == []
