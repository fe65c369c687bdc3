"""The package's shape is the architecture (ARCHITECTURE.md): these tests keep it so.

* imports flow one way: presentation -> measures -> statistics, ingest -> store; the declarations
  at the top (config, contract, catalogue) import no stage; ``stats`` imports nothing else of the
  project;
* no import cycle between modules (imports inside functions count: a cycle hidden in a function
  is still a cycle a reader has to untangle; imports for type annotations only, under
  ``if TYPE_CHECKING:``, do not run and do not count);
* pages hold widgets, layout and calls only (no page over 250 lines), and no module is over 600.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "send_metrics"

# What each part of the package may import from the project (besides itself).
ALLOWED = {
    "config": set(),
    "code_key": {"config"},
    "contract": set(),
    "catalogue": {"contract"},
    "stats": set(),
    "ingest": {"config", "code_key", "contract", "catalogue"},
    "db": {"config", "contract", "ingest"},
    "measures": {"config", "code_key", "contract", "catalogue", "db", "ingest", "stats"},
    "present": {"config", "contract", "catalogue", "db", "ingest", "stats", "measures"},
    # An upload is staged and checked, loaded, then its derived tables computed: it runs the stages in
    # order, as the command line's `load` does.
    "upload": {"config", "contract", "catalogue", "db", "ingest", "measures"},
    # The tools (benchmark, demo generators) and the command line sit above everything.
    "tools": {"config", "code_key", "contract", "catalogue", "db", "ingest", "stats", "measures", "present"},
    "cli": {"config", "code_key", "contract", "catalogue", "db", "ingest", "stats", "measures", "present",
            "tools", "upload"},
    "__main__": {"cli"},
    "__init__": set(),
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Project modules ``name`` imports anywhere in its file (absolute or relative)."""
    is_package = path.name == "__init__.py"
    package = name.split(".") if is_package else name.split(".")[:-1]
    tree = ast.parse(path.read_text())
    type_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                 and getattr(block.test, "id", None) == "TYPE_CHECKING" for n in ast.walk(block)}
    out = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                full = f"{module}.{alias.name}"
                out.add(full if full in MODULES else module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m in MODULES and m != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _part(module: str) -> str:
    """The part of the package a module belongs to: its subpackage, or its own name at the top."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_part_is_declared():
    assert {_part(m) for m in MODULES} <= set(ALLOWED), "a new part of the package needs its rule in ALLOWED"


def test_imports_flow_one_way():
    wrong = []
    for module, imported in GRAPH.items():
        part = _part(module)
        for other in imported:
            other_part = _part(other)
            if other_part != part and other_part not in ALLOWED[part] and other != "send_metrics":
                wrong.append(f"{module} imports {other}")
    assert not wrong, "\n".join(sorted(wrong))


def test_stats_imports_nothing_else_of_the_project():
    outside = {f"{m} imports {o}" for m, imported in GRAPH.items() if _part(m) == "stats"
               for o in imported if _part(o) != "stats"}
    assert not outside


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle():
    assert _cycles() == []


def test_the_cycle_finder_finds_a_cycle(monkeypatch):
    monkeypatch.setitem(GRAPH, "send_metrics.config", {"send_metrics.code_key"})
    assert ["send_metrics.code_key", "send_metrics.config"] in _cycles()


@pytest.mark.parametrize("folder,limit", [("pages", 250), ("send_metrics", 600), ("dashboard", 600)])
def test_no_file_is_too_long(folder, limit):
    long = {str(p.relative_to(ROOT)): n for p in sorted((ROOT / folder).rglob("*.py"))
            if (n := len(p.read_text().splitlines())) > limit}
    assert not long, f"over {limit} lines: {long}"


def test_every_subpackage_says_what_it_owns():
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        doc = (ast.get_docstring(ast.parse(init.read_text())) or "").lower()
        assert "may import" in doc, f"{init.relative_to(ROOT)}: say what it owns and what it may import"
