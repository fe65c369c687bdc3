"""Derived tables shipped prebuilt with the demo, so a fresh clone's first start does not wait for them.

The tables kept beside a load (the measure table with its statistics and disclosure control, and
the needs breakdowns by age and setting; see ``Engine.compute_derived``) take tens of seconds to
compute, mostly secondary suppression. They depend only on two things, and the key of a prebuilt
set is a hash of both:

- the load's content: every table the database reads, hashed row by row in an order-free way
  (DuckDB's ``hash`` of each row, summed), except the manifest, quarantine and reconciliation
  (file names, days and reports that no derived table reads). Pseudonymous ids (keyed per install)
  count by which rows share one, not by their values (see ``content_hash``). Floating-point columns are hashed
  rounded to 6 decimals: the loader's parallel roll-up sums of DOUBLE columns (outcomes) differ
  in their last bits from one load of the same files to the next;
- the code and settings that compute them: the source of ``send_metrics.measures.engine`` and
  ``send_metrics.measures.breakdowns`` and every ``send_metrics`` module they import (found by reading
  their imports, not by guessing), every SQL file, the catalogue, the reference files, and the
  suppression range.

The content hash takes a good part of a second on the demo; a load taken from the shipped demo
load (send_metrics.ingest.snapshot) is not hashed again: its files are checked to be the shipped files,
whose content hash ``prebuild`` recorded beside them.

A load whose key equals the shipped key gets a copy of the shipped tables; any other load (real
data, a changed demo file, changed code or settings) computes its own as before. The shipped
tables are made by ``python -m send_metrics prebuild`` from a fresh load of ``data/demo``, and
``tests/measures/test_prebuilt.py`` proves them identical to freshly computed tables and current with the
code (it fails, naming this command, when the code has changed since they were made).
"""
from __future__ import annotations

import hashlib
import json
import shutil
from functools import lru_cache
from pathlib import Path

from send_metrics import code_key
from send_metrics.config import PACKAGE_DIR, PROJECT_ROOT, PREBUILT_DIR as PREBUILT_ROOT

PREBUILT_DIR = PREBUILT_ROOT / "demo"
KEY_FILE = "key.json"
# Tables no derived table reads (file names, modification days, reports): left out of the key.
NOT_READ = ("manifest", "quarantine", "reconciliation")
# Modules whose effect on a derived table comes only through the load's content (already in the
# key): the import walk does not follow them.
THROUGH_THE_LOAD = (PACKAGE_DIR / "ingest" / "store.py",)


def stems() -> list[str]:
    """The shipped tables: the measure table, the Needs breakdowns and the releases
    (``measures.release``; the same in every process since their systems are built in one order,
    which tests/measures/test_prebuilt.py checks against a fresh computation)."""
    from send_metrics.measures.breakdowns import BREAKDOWNS
    from send_metrics.measures.release import stems as release_stems
    return ["measures", *(f"needs-{n}" for n in BREAKDOWNS), *release_stems()]


def code_files() -> list[Path]:
    """The source files that can change a derived table (see the module docstring)."""
    start = [PACKAGE_DIR / "measures" / "engine" / "__init__.py", PACKAGE_DIR / "measures" / "breakdowns.py",
             PACKAGE_DIR / "measures" / "release.py"]
    return code_key.code_files(start, not_followed=THROUGH_THE_LOAD)


@lru_cache(maxsize=1)
def code_hash() -> str:
    return code_key.files_hash(code_files())


def pseudonym_columns() -> frozenset[str]:
    """The contract's pseudonymous identifier columns (person and request ids of a person-level
    return): keyed hashes whose values differ from one install to the next (the key is per install)."""
    from send_metrics import contract
    return frozenset(c.name for ds in contract.DATASETS.values() for c in ds.columns
                     if c.kind == "text" and "seudonym" in c.description)


def content_hash(db) -> str:
    """An order-free hash of every table the load gives the derived tables (see NOT_READ).

    A pseudonymous id's value is left out, its equality structure kept: the rows of a table with
    one are grouped by the id and each group hashed as the order-free hash of its rows without the
    id, so the key says which rows share an id (a child linked across returns) but not what the id
    is, and the demo's key is the same on every install. No derived table reads an id's value (they
    read the caseload the person rows are counted into, ``person_cells.sql``, which groups them away)."""
    db.refresh()
    names = [r[0] for r in db.rows("SELECT table_name FROM information_schema.tables ORDER BY table_name")]
    ids = pseudonym_columns()
    h = hashlib.sha256()
    for name in names:
        if name in NOT_READ:
            continue
        quoted = '"' + name.replace('"', '""') + '"'
        cols = db.rows(f"SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $n "
                       "ORDER BY ordinal_position", {"n": name})
        idents = [('"' + c.replace('"', '""') + '"', t) for c, t in cols if c not in ids]
        exprs = [f"round({c}, 6)" if t in ("DOUBLE", "FLOAT", "REAL") else c for c, t in idents]
        row = f"hash({', '.join(exprs)})" if exprs else "0"
        grouped = ['"' + c.replace('"', '""') + '"' for c, _t in cols if c in ids]
        if grouped:
            sql = (f"SELECT sum(n)::BIGINT, coalesce(sum(hash(n, g)::HUGEINT), 0) FROM (SELECT count(*) AS n, "
                   f"coalesce(sum({row}::HUGEINT), 0) AS g FROM {quoted} t GROUP BY {', '.join(grouped)})")
        else:
            sql = f"SELECT count(*), coalesce(sum({row}::HUGEINT), 0) FROM {quoted} t"
        n, total = db.rows(sql)[0]
        h.update(f"{name}\0{cols}\0{n or 0}\0{total}\n".encode())
    return h.hexdigest()


def key(engine, content: str | None = None) -> dict:
    return {"content": content or content_hash(engine.db), "code": code_hash(),
            "suppress": [engine.suppress_min, engine.suppress_max]}


def shipped_key() -> dict | None:
    try:
        return json.loads((PREBUILT_DIR / KEY_FILE).read_text())["key"]
    except (OSError, ValueError, KeyError):
        return None


def adopt(engine, load_id: str) -> bool:
    """Copy the shipped tables beside load ``load_id`` when its key is the shipped key (a demo
    load with unchanged code and settings); True when they are now in place. Only a demo load is
    looked at (hashing a large real load would cost time for nothing)."""
    if not engine.db.load_info.get("demo") or engine.db.load_id != load_id:
        return False
    wanted = shipped_key()
    if wanted is None or wanted.get("suppress") != [engine.suppress_min, engine.suppress_max]:
        return False
    from send_metrics.ingest import snapshot
    # A load taken from the shipped demo load has that load's content, whose hash was recorded
    # when both were made (checked file by file, see snapshot.shipped_content): not hashed again.
    content = snapshot.shipped_content(engine.db)
    if wanted != key(engine, content) or engine.db.load_id != load_id:
        return False
    for stem in stems():
        src = PREBUILT_DIR / f"{stem}.parquet"
        dest = engine.derived_path(stem, load_id)
        if dest is None or not src.exists():
            return False
        if not dest.exists():
            tmp = dest.with_suffix(".prebuilt.tmp")
            shutil.copyfile(src, tmp)
            tmp.replace(dest)  # atomic, as Engine.save_derived
    return True


def build(engine) -> dict:
    """Compute the derived tables of the engine's (demo) load and keep them as the shipped set."""
    engine.db.refresh()
    if not engine.db.load_info.get("demo"):
        raise ValueError("prebuilt tables are made from a load of the demo data only")
    engine.compute_afresh = True  # computed, never copied from the shipped set
    rows, years = engine.compute_derived(needs=True)
    PREBUILT_DIR.mkdir(parents=True, exist_ok=True)
    (PREBUILT_DIR / KEY_FILE).unlink(missing_ok=True)  # no key while the tables are replaced
    for stem in stems():
        tmp = PREBUILT_DIR / f"{stem}.parquet.tmp"
        shutil.copyfile(engine.derived_path(stem), tmp)
        tmp.replace(PREBUILT_DIR / f"{stem}.parquet")
    k = key(engine)
    (PREBUILT_DIR / KEY_FILE).write_text(json.dumps(
        {"key": k, "made_by": "python -m send_metrics prebuild", "measure_rows": rows, "census_years": years,
         "code_files": [p.relative_to(PROJECT_ROOT).as_posix() for p in code_files()]}, indent=1) + "\n")
    return k
