"""The demo's load shipped made (send_metrics/prebuilt/demo_load, issue 19 "ready in seconds"): it holds
what reading the demo files gives, is current with the code, and is taken only for exactly the files,
code and limits it was made from (send_metrics.ingest.snapshot)."""
from __future__ import annotations

import shutil
from dataclasses import asdict, replace

import duckdb
import pytest

from conftest import ROOT

STALE = ("the shipped load of the demo was made by other code or from other data: run "
         "`python -m send_metrics prebuild` and commit send_metrics/prebuilt/demo_load")


@pytest.fixture(autouse=True)
def _no_geography(tmp_path, monkeypatch):
    """As in a fresh clone, which has no ../shared geography (the snapshot is made so)."""
    monkeypatch.setenv("SEND_GEO_DIR", str(tmp_path / "no-geography"))


def _config(tmp_path, change=None):
    from send_metrics.config import load_config
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data" / "demo", data / "demo")
    if change:
        change(data / "demo")
    return replace(load_config(data), store_dir=tmp_path / "store")


def _info(config) -> dict:
    from send_metrics.ingest.stored_loads import current_load_dir, read_load_info
    return read_load_info(current_load_dir(config.store_dir))


def _shipped(config) -> bool:
    return bool(_info(config).get("shipped_snapshot"))


def _change_population(folder):
    path = folder / "population.csv"
    lines = path.read_text().splitlines()
    cells = lines[1].split(",")
    cells[-1] = str(int(float(cells[-1])) + 1)
    path.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")


def _rows(config, name: str, drop=()) -> list:
    """Every row of a table of the current load, sorted (a load's row order is not part of its content)."""
    from send_metrics.ingest.stored_loads import current_load_dir, sql_literal
    path = sql_literal((current_load_dir(config.store_dir) / f"{name}.parquet").as_posix())
    con = duckdb.connect()
    try:
        exclude = f" EXCLUDE ({', '.join(drop)})" if drop else ""
        return sorted(map(repr, con.execute(f"SELECT *{exclude} FROM read_parquet({path})").fetchall()))
    finally:
        con.close()


def test_the_shipped_load_is_current_and_equal_to_a_fresh_load(tmp_path):
    """The same demo files loaded twice: once from the files (force) and once as a first start does
    (taking the shipped load). Every table the figures read has the same content hash (as the
    prebuilt derived tables' key: pseudonymous ids by which rows share one), the loader's own
    tables (manifest, quarantine, reconciliation) the same rows, and the load the same notes and
    file reports."""
    from send_metrics.measures import prebuilt
    from send_metrics.ingest import snapshot
    from send_metrics.db import Database
    from send_metrics.ingest.store import load
    meta = snapshot._shipped()
    assert meta is not None, STALE
    fresh_config = _config(tmp_path / "fresh")
    fresh = load(fresh_config, force=True)
    assert not _shipped(fresh_config)
    from send_metrics.ingest.data_folder import discover, file_sha256
    hashes = {p.relative_to(fresh_config.data_dir).as_posix(): file_sha256(p) for p in discover(fresh_config.data_dir)}
    assert snapshot.key(hashes) == meta["key"], STALE

    shipped_config = _config(tmp_path / "shipped")
    taken = load(shipped_config)
    assert _shipped(shipped_config), "a first start of the demo takes the shipped load"
    assert taken.notes[:-1] == fresh.notes and "shipped copy" in taken.notes[-1]
    assert [asdict(r) for r in taken.reports] == [asdict(r) for r in fresh.reports]
    assert _info(shipped_config)["checksums"].keys() == _info(fresh_config)["checksums"].keys()

    dbs = [Database(fresh_config), Database(shipped_config)]
    try:
        contents = [prebuilt.content_hash(db) for db in dbs]
    finally:
        for db in dbs:
            db.close()
    assert contents[0] == contents[1] == meta["content"]
    for name, drop in (("manifest", ("loaded_at", "seconds")), ("quarantine", ()), ("reconciliation", ())):
        assert _rows(shipped_config, name, drop) == _rows(fresh_config, name, drop), name


def test_a_first_start_takes_it_and_says_so(tmp_path):
    import datetime as dt

    from send_metrics.ingest.store import load
    config = _config(tmp_path)
    before = dt.datetime.now() - dt.timedelta(seconds=1)
    result = load(config)
    assert result.load_id and _shipped(config)
    info = _info(config)
    assert info["demo"] and any("shipped copy" in n for n in info["notes"])
    con = duckdb.connect()
    try:
        from send_metrics.ingest.stored_loads import current_load_dir
        stamps = con.execute("SELECT DISTINCT loaded_at FROM read_parquet($p)",
                             {"p": str(current_load_dir(config.store_dir) / "manifest.parquet")}).fetchall()
    finally:
        con.close()
    assert len(stamps) == 1 and stamps[0][0] >= before, "the manifest says when this load was made"
    # Nothing changed: the next load keeps it.
    assert not load(config).changed


def test_a_changed_data_file_is_not_given_it(tmp_path):
    from send_metrics.ingest.store import load
    config = _config(tmp_path, _change_population)
    assert load(config).load_id
    assert not _shipped(config)


def test_an_added_or_removed_file_is_not_given_it(tmp_path):
    from send_metrics.ingest.store import load

    def add(folder):
        shutil.copy(folder / "population.csv", folder / "population_copy.csv")

    def remove(folder):
        (folder / "population.csv").unlink()

    for name, change in (("added", add), ("removed", remove)):
        config = _config(tmp_path / name, change)
        assert load(config).load_id
        assert not _shipped(config), name


def test_changed_code_or_limits_are_not_given_it(tmp_path, monkeypatch):
    from send_metrics.ingest import snapshot
    from send_metrics.ingest.store import load
    monkeypatch.setattr(snapshot, "code_hash", lambda: "other code")
    config = _config(tmp_path / "code")
    assert load(config).load_id and not _shipped(config)
    monkeypatch.undo()
    monkeypatch.setenv("SEND_MAX_LINE_KB", "2")
    config = _config(tmp_path / "limits")
    load(config)
    assert not _shipped(config)


def test_force_reads_the_files(tmp_path):
    from send_metrics.ingest.store import load
    config = _config(tmp_path)
    assert load(config, force=True).load_id and not _shipped(config)


def test_a_damaged_shipped_file_is_a_normal_load(tmp_path, monkeypatch):
    """A shipped Parquet file whose checksum does not match (damaged, or edited by hand) is never
    used: the load reads the files, and its figures are those of a fresh load."""
    from send_metrics.ingest import snapshot
    from send_metrics.ingest.store import load
    copy = tmp_path / "shipped"
    shutil.copytree(snapshot.SNAPSHOT_DIR, copy)
    target = copy / "ehcp_caseload.parquet"
    con = duckdb.connect()
    try:
        con.execute(f"COPY (SELECT * REPLACE (ehc_plans + 1 AS ehc_plans) FROM read_parquet('{target}')) "
                    f"TO '{target}.tmp' (FORMAT parquet)")
    finally:
        con.close()
    (copy / "ehcp_caseload.parquet.tmp").replace(target)
    monkeypatch.setattr(snapshot, "SNAPSHOT_DIR", copy)
    config = _config(tmp_path / "load")
    result = load(config)
    assert result.load_id and not _shipped(config)
    assert not any("shipped copy" in n for n in result.notes)
    fresh = _config(tmp_path / "fresh")
    load(fresh, force=True)
    assert _rows(config, "ehcp_caseload", ("source_row",)) == _rows(fresh, "ehcp_caseload", ("source_row",))


def test_a_failure_while_taking_it_is_a_normal_load_and_keeps_the_previous(tmp_path, monkeypatch):
    """A failure half-way through the copy falls back to reading the files; a failure of that too
    leaves the previous load serving (as any failed load)."""
    from send_metrics.ingest import snapshot
    from send_metrics.ingest.store import load
    from send_metrics.ingest.stored_loads import current_load_dir

    def half_way(meta, work):
        shutil.copyfile(snapshot.SNAPSHOT_DIR / "areas.parquet", work / "areas.parquet")
        raise OSError("disk full")

    monkeypatch.setattr(snapshot, "_copy", half_way)
    config = _config(tmp_path)
    first = load(config)
    assert first.load_id and not _shipped(config)
    monkeypatch.undo()

    _change_population(config.data_dir / "demo")
    import send_metrics.ingest.store as store

    def broken(*args, **kwargs):
        raise RuntimeError("the build failed")

    monkeypatch.setattr(store, "_build", broken)
    with pytest.raises(RuntimeError):
        load(config)
    assert current_load_dir(config.store_dir).name == first.load_id
    assert not list((config.store_dir / "loads").glob("*.partial"))


def test_person_rows_are_never_carried_forward_from_it(tmp_path):
    """Its pseudonymous ids were made with another install's key: a later load does not carry its
    person-level rows forward (other rows still are)."""
    from send_metrics import contract
    from send_metrics.ingest.store import _carry_forward, _create_tables, load
    from send_metrics.ingest.stored_loads import current_load_dir
    config = _config(tmp_path)
    load(config)
    assert _shipped(config)
    previous = current_load_dir(config.store_dir)
    con = duckdb.connect()
    try:
        _create_tables(con)
        persons = con.execute("SELECT DISTINCT source_file FROM read_parquet($p)",
                              {"p": str(previous / "ehcp_persons.parquet")}).fetchall()
        assert persons
        for (display,) in persons:
            assert _carry_forward(con, previous, display) == 0, display
        population = con.execute("SELECT DISTINCT source_file FROM read_parquet($p) WHERE source_row IS NOT NULL",
                                 {"p": str(previous / "population.parquet")}).fetchall()
        assert sum(_carry_forward(con, previous, d) for (d,) in population) > 0
    finally:
        con.close()
    assert any(ds.person_level for ds in contract.DATASETS.values())


def test_the_code_hash_covers_what_makes_a_load():
    """The import walk finds the loader's modules, the adapters included (not a hand-kept list)."""
    from send_metrics.ingest import snapshot
    names = {p.relative_to(ROOT).as_posix() for p in snapshot.code_files()}
    for f in ("send_metrics/ingest/store.py", "send_metrics/ingest/validate.py", "send_metrics/ingest/readers.py",
              "send_metrics/contract/__init__.py", "send_metrics/contract/codes.py", "send_metrics/ingest/recognise.py",
              "send_metrics/ingest/sen2_blade.py", "send_metrics/ingest/adapters/__init__.py",
              "send_metrics/ingest/adapters/blade.py", "send_metrics/ingest/adapters/sen2/__init__.py",
              "send_metrics/ingest/snapshot.py", "send_metrics/reference/areas.csv", "send_metrics/catalogue.toml"):
        assert f in names, f
    assert any(n.startswith("sql/blade") for n in names) and any(n.startswith("sql/rollup") for n in names)
    assert "send_metrics/measures/engine/__init__.py" not in names and "send_metrics/cli.py" not in names


def test_the_key_covers_the_geography_lookup(tmp_path, monkeypatch):
    """The SEN2 reader places children through the geography folder's LSOA lookup when there is one:
    a load with it is not a load without it, so the key says which (its hash, or absent)."""
    from send_metrics.ingest import snapshot
    monkeypatch.setenv("SEND_GEO_DIR", str(tmp_path / "none"))
    without = snapshot.key({"demo/x.csv": "0"})
    geo = tmp_path / "geo"
    geo.mkdir()
    (geo / "cumbria_lsoa21_lookup.csv").write_text("lsoa21cd,locality_code\nE01019000,LOC-CARLISLE\n")
    monkeypatch.setenv("SEND_GEO_DIR", str(geo))
    with_geo = snapshot.key({"demo/x.csv": "0"})
    assert without != with_geo and without["outside"] == {"geo_dir/cumbria_lsoa21_lookup.csv": None}
    monkeypatch.setenv("SEND_DEBUG", "1")
    assert snapshot.key({"demo/x.csv": "0"}) != with_geo


# What the loader's code may read besides the data files and its own code: each line here is in the
# key (a setting in LIMIT_SETTINGS or "debug", a file in OUTSIDE_INPUTS) or does not change what a load
# writes. A new one fails this test until the key covers it.
KNOWN_OUTSIDE_READS = {
    ("blade_files.py", "data_dir = load_config().data_dir.resolve()"),  # lookups inside the data folder only
    ("blade_files.py", 'path = load_config().geo_dir / "cumbria_lsoa21_lookup.csv"'),  # OUTSIDE_INPUTS
    # how many returns are read at a time: the same load either way (test_blade_reader_identical)
    ("blade.py", "return load_config().duckdb_threads"),
    ("sen2_blade.py", "env = os.environ.get(KEY_ENV)"),  # the pseudonym key: ids by structure only
    ("sen2_blade.py", 'return Path(env) if env else Path.home() / ".config" / "send-dashboard" / "pseudonym.key"'),
    ("validate.py", "detail = f\" (engine message: {str(exc).splitlines()[0]})\" if os.environ.get(\"SEND_DEBUG\") else \\"),
    ("store.py", "config = config or load_config()"),  # the config passed to load
}


def test_the_loader_reads_no_other_setting_or_outside_file():
    import re

    from send_metrics.ingest import snapshot
    found = set()
    for p in snapshot.code_files():
        if p.suffix != ".py" or p.name in ("config.py", "snapshot.py"):
            continue
        for line in p.read_text().splitlines():
            if re.search(r"environ|getenv|load_config\(|Path\.home|expanduser|geo_dir|_get\(\"SEND", line):
                found.add((p.name, line.strip()))
    assert found <= KNOWN_OUTSIDE_READS, sorted(found - KNOWN_OUTSIDE_READS)
