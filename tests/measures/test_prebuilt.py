"""The derived tables shipped with the demo (send_metrics/prebuilt/demo, issue 19 "ready in seconds")
are exactly what a fresh computation gives, are current with the code, and are used only for the
load and code they were computed from (send_metrics.measures.prebuilt)."""
from __future__ import annotations

import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT

STALE = ("the shipped derived tables of the demo were made by other code or from other data: run "
         "`python -m send_metrics prebuild` and commit send_metrics/prebuilt/demo")


def _demo_load(tmp_path, change=None):
    """A fresh load of a copy of data/demo (``change`` edits the copy first)."""
    from send_metrics.config import load_config
    from send_metrics.db import Database
    from send_metrics.ingest.store import load
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data" / "demo", data / "demo")
    if change:
        change(data / "demo")
    config = replace(load_config(data), store_dir=tmp_path / "store")
    assert load(config, force=True).load_id
    db = Database(config)
    db.refresh()
    return db


def _equal(a: pd.DataFrame, b: pd.DataFrame, where: str) -> None:
    """Same columns, rows and order; text, flags and codes exactly equal; numbers equal to 1e-9
    relative (the loader's parallel DOUBLE roll-ups differ in their last bits between two loads
    of the same files, so two fresh computations differ there too)."""
    assert list(a.columns) == list(b.columns), where
    assert len(a) == len(b), f"{where}: {len(a)} rows, {len(b)} shipped"
    for col in a.columns:
        x, y = a[col], b[col]
        if pd.api.types.is_float_dtype(x) and pd.api.types.is_float_dtype(y):
            xv, yv = x.to_numpy(float), y.to_numpy(float)
            ok = np.isclose(xv, yv, rtol=1e-9, atol=1e-12, equal_nan=True)
            assert ok.all(), f"{where}.{col}: first difference at row {int(np.flatnonzero(~ok)[0])}"
        else:
            xs = x.astype(object).where(x.notna(), None).tolist()
            ys = y.astype(object).where(y.notna(), None).tolist()
            diff = next((i for i, (p, q) in enumerate(zip(xs, ys)) if p != q), None)
            assert diff is None, f"{where}.{col}: row {diff}: {xs[diff]!r} computed, {ys[diff]!r} shipped"


@pytest.mark.timeout(1800)  # a full computation: about a minute on a quiet machine, far more on a busy one
def test_shipped_tables_are_current_and_identical_to_fresh(tmp_path):
    from send_metrics.measures import prebuilt
    from send_metrics.measures.engine import Engine
    assert prebuilt.shipped_key() is not None, STALE
    db = _demo_load(tmp_path)
    engine = Engine(db, 1, 4)
    assert prebuilt.key(engine) == prebuilt.shipped_key(), STALE
    # Computed afresh, without the shortcut.
    engine.compute_afresh = True
    engine.compute_derived(needs=True)
    for stem in prebuilt.stems():
        _equal(pd.read_parquet(engine.derived_path(stem)), pd.read_parquet(prebuilt.PREBUILT_DIR / f"{stem}.parquet"),
               stem)


def test_a_fresh_demo_load_adopts_them(tmp_path):
    from send_metrics.measures import prebuilt
    from send_metrics.measures.engine import Engine
    if prebuilt.shipped_key() is None:
        pytest.fail(STALE)
    db = _demo_load(tmp_path)
    engine = Engine(db, 1, 4)
    if prebuilt.key(engine) != prebuilt.shipped_key():
        pytest.fail(STALE)
    assert not engine.derived_complete()
    assert engine.adopt_prebuilt(db.load_id)
    assert engine.derived_complete()
    shipped = pd.read_parquet(prebuilt.PREBUILT_DIR / "measures.parquet")
    assert len(engine.full_table()) == len(shipped)


def test_changed_data_is_not_given_them(tmp_path):
    """One changed figure in one demo file: the content hash differs and the tables are computed."""
    from send_metrics.measures import prebuilt
    from send_metrics.measures.engine import Engine

    def change(folder):
        path = folder / "population.csv"
        lines = path.read_text().splitlines()
        cells = lines[1].split(",")
        cells[-1] = str(int(float(cells[-1])) + 1)
        path.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")

    db = _demo_load(tmp_path, change)
    engine = Engine(db, 1, 4)
    assert prebuilt.content_hash(db) != (prebuilt.shipped_key() or {}).get("content")
    assert not engine.adopt_prebuilt(db.load_id)
    assert not engine.derived_complete()


def test_changed_code_or_settings_are_not_given_them(tmp_path, monkeypatch):
    from send_metrics.measures import prebuilt
    from send_metrics.measures.engine import Engine
    db = _demo_load(tmp_path)
    assert not Engine(db, 1, 9).adopt_prebuilt(db.load_id)  # another suppression range
    monkeypatch.setattr(prebuilt, "code_hash", lambda: "other code")
    engine = Engine(db, 1, 4)
    assert not engine.adopt_prebuilt(db.load_id)
    assert not engine.derived_complete()


def test_the_code_hash_covers_what_computes_the_tables():
    """The import walk finds the modules the derived tables run (not a hand-kept list)."""
    from send_metrics.measures import prebuilt
    from send_metrics.config import PACKAGE_DIR
    # Paths from the repository's root: the SQL lives beside the package (sql/), not in it.
    names = {p.relative_to(PACKAGE_DIR.parent).as_posix() for p in prebuilt.code_files()}
    for module in ("measures/engine/__init__.py", "measures/engine/protect.py", "measures/breakdowns.py",
                   "stats/disclosure.py",
                   "measures/table_protection.py", "measures/linear_repair.py", "stats/intervals.py",
                   "stats/recoverability.py", "catalogue.py", "contract/__init__.py", "contract/codes.py", "db.py",
                   "catalogue.toml", "reference/areas.csv"):
        assert f"send_metrics/{module}" in names, module
    assert any(n.startswith("sql/") and n.endswith(".sql") for n in names)
    assert not any(n.startswith("send_metrics/tools/") for n in names) and "send_metrics/cli.py" not in names


def test_the_demo_key_is_the_same_under_any_pseudonym_key(tmp_path, monkeypatch):
    """The demo's person-level return gives pseudonymous ids keyed per install: two installs (two
    keys) load different ids, yet the same content key, so a fresh clone adopts the shipped tables."""
    from send_metrics.measures import prebuilt
    hashes, ids = [], []
    for name in ("a", "b"):
        monkeypatch.setenv("SEND_PSEUDONYM_KEY_FILE", str(tmp_path / f"{name}.key"))
        (tmp_path / f"{name}.key").write_text(name * 64)
        db = _demo_load(tmp_path / name)
        ids.append(set(r[0] for r in db.rows("SELECT person_id FROM ehcp_persons")))
        hashes.append(prebuilt.content_hash(db))
        db.close()
    assert ids[0] and not ids[0] & ids[1]  # the ids themselves differ
    assert hashes[0] == hashes[1]


class _Db:
    def __init__(self, con):
        self.con = con

    def refresh(self):
        pass

    def rows(self, sql, params=None):
        return self.con.execute(sql, params or {}).fetchall()


def test_the_content_hash_keeps_which_rows_share_an_id():
    """Renaming every id alike keeps the hash; moving a row to another child's id changes it."""
    import duckdb

    from send_metrics.measures import prebuilt

    def content(rows):
        con = duckdb.connect()
        con.execute("CREATE TABLE ehcp_persons (year INTEGER, person_id VARCHAR, primary_need VARCHAR)")
        con.executemany("INSERT INTO ehcp_persons VALUES (?, ?, ?)", rows)
        return prebuilt.content_hash(_Db(con))

    base = [(2024, "P1", "ASD"), (2025, "P1", "ASD"), (2024, "P2", "SEMH"), (2025, "P3", "SEMH")]
    renamed = [(y, {"P1": "Px", "P2": "Py", "P3": "Pz"}[p], n) for y, p, n in base]
    relinked = [(2024, "P1", "ASD"), (2025, "P1", "ASD"), (2024, "P2", "SEMH"), (2025, "P2", "SEMH")]
    assert content(base) == content(renamed)
    assert content(base) != content(relinked)
    assert content(base) != content(base[:3])
