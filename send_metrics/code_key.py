"""Which source files can change a shipped artefact, and one hash of them.

The demo ships two artefacts made by the code (``ingest.snapshot``: the load; ``measures.prebuilt``:
the derived tables). Each is adopted only when the code that would make it afresh is the code that
made it: the files a starting module imports, followed through the package, plus the SQL, the
catalogue and the reference tables. Imports are read with regular expressions, not syntax trees:
this runs on a first start, where every tenth of a second counts.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

from send_metrics.config import PACKAGE_DIR, PROJECT_ROOT, REFERENCE_DIR, SQL_DIR

_FROM = re.compile(r"^\s*from\s+(\.*)([\w.]*)\s+import\s+(\([^)]*\)|[^\n]*)", re.M)
_IMPORT = re.compile(r"^\s*import\s+send_metrics\.([\w.]+)", re.M)
# Data the code reads beside the modules, whatever imports what.
CATALOGUE = PACKAGE_DIR / "catalogue.toml"


def _module_files(parts: list[str]) -> list[Path]:
    """The files of module ``send_metrics.<parts>``: a module file, or a package's __init__."""
    base = PACKAGE_DIR.joinpath(*parts) if parts else PACKAGE_DIR
    out = []
    if base.with_suffix(".py").is_file():
        out.append(base.with_suffix(".py"))
    if (base / "__init__.py").is_file():
        out.append(base / "__init__.py")
    return out


def imported_files(path: Path) -> set[Path]:
    """``send_metrics`` source files a source file imports (at top level or inside functions),
    with the packages on the way (their ``__init__``) and relative imports resolved."""
    text = path.read_text()
    here = list(path.relative_to(PACKAGE_DIR).parent.parts)
    out: set[Path] = set()
    for dotted in _IMPORT.findall(text):
        parts = dotted.split(".")
        for i in range(1, len(parts) + 1):
            out.update(_module_files(parts[:i]))
    for dots, module, names in _FROM.findall(text):
        if dots:
            up = len(dots) - 1
            if up > len(here):
                continue
            parts = here[:len(here) - up] + [p for p in module.split(".") if p]
        elif module == "send_metrics" or module.startswith("send_metrics."):
            parts = module.split(".")[1:]
        else:
            continue
        for i in range(1, len(parts) + 1):
            out.update(_module_files(parts[:i]))
        for name in names.strip("()").replace("\n", ",").split(","):
            name = name.split("#")[0].split(" as ")[0].strip()
            if name:
                out.update(_module_files(parts + [name]))  # ``from pkg import x``: x may be a module
    return out


def code_files(start: list[Path], not_followed: tuple[Path, ...] = ()) -> list[Path]:
    """The source files ``start`` imports, transitively (files in ``not_followed`` are kept but their
    imports are not followed), plus every SQL file, the catalogue and the reference tables."""
    todo = list(start)
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        if path not in not_followed:
            todo.extend(imported_files(path) - seen)
    files = seen | set(SQL_DIR.glob("*.sql")) | {CATALOGUE}
    files |= {p for p in REFERENCE_DIR.rglob("*") if p.is_file()}
    return sorted(files)


def files_hash(paths: list[Path]) -> str:
    """One hash of the files' paths (relative to the project) and contents."""
    h = hashlib.sha256()
    for path in paths:
        h.update(path.relative_to(PROJECT_ROOT).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).hexdigest().encode() + b"\n")
    return h.hexdigest()
