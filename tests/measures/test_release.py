"""measures.release: every output built on one count table publishes from one protected version of
it (issue 17.10). The attack across outputs is tests/tools/test_disclosure_attack.py; here, the
release's own promises on the demo, and that pages serve nothing else."""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from send_metrics.measures import explore, release
from send_metrics.measures.release_cells import OwnOutputs, collect, explorer_grains
from send_metrics.measures.release_systems import systems

ROOT = Path(__file__).resolve().parents[2]


def test_pages_serve_every_protected_output_through_the_release():
    """Fail closed: an output's own protection alone is never served. Its own functions are called
    only by the release (and the explorer's own cache, which the release wraps)."""
    own_calls = {r"breakdowns\.(for_year|compute_year)\(": set(), r"waiting_times\.(bands|protect_bands)\(": set(),
                 r"explore\.protected_table\(": {"dashboard/explore_views.py"}}
    found = []
    for path in [*ROOT.glob("pages/*.py"), *ROOT.glob("dashboard/*.py"), *ROOT.glob("app.py"),
                 *ROOT.glob("send_metrics/present/**/*.py"), *ROOT.glob("send_metrics/cli.py")]:
        text = path.read_text()
        rel = path.relative_to(ROOT).as_posix()
        for pattern, allowed in own_calls.items():
            if re.search(pattern, text) and rel not in allowed:
                found.append(f"{rel}: {pattern}")
    assert not found
    views = (ROOT / "dashboard/explore_views.py").read_text()
    assert "release.explorer_table(" in views


@pytest.fixture(scope="module")
def caseload_release(demo_engine):
    return release.withheld(demo_engine, "ehcp_caseload")


def test_the_demo_caseload_needs_a_release_and_it_never_touches_the_measure_table(caseload_release):
    assert len(caseload_release) > 100
    kinds = {k.split(release.KEY_SEP)[0] for k in caseload_release}
    assert "measures" not in kinds
    assert {"needs age", "needs setting"} & kinds and any(k.startswith("explorer:") for k in kinds)
    assert set(caseload_release.values()) <= {release.SAME_COUNT, release.ACROSS}


def test_the_measure_table_keeps_every_local_areas_caseload(demo_engine):
    """An area's whole caseload is a headline on every page: the measure table's own pass keeps it
    whenever the other cells can protect (with the publisher's figures known, its first cut of
    2024 withheld the caseload of every locality and footprint, 2026-12-08)."""
    table = demo_engine.full_table()
    local = release.local_areas(demo_engine)
    rows = table[(table["measure_id"] == "ehcp_caseload") & table["area_code"].astype(str).isin(local)]
    true = demo_engine.db.query("SELECT area_code, CAST(year AS VARCHAR) AS period, sum(ehc_plans) AS plans "
                                "FROM ehcp_caseload GROUP BY ALL")
    merged = rows.assign(period=rows["period"].astype(str).str[:4]).merge(true, on=["area_code", "period"])
    assert len(merged) > 150
    withheld = merged[merged["suppressed"].astype(bool) & (merged["plans"] > 10)]
    assert withheld.empty, withheld[["area_code", "period", "suppression_reason"]].to_string()


def test_served_needs_tables_withhold_every_released_cell(demo_engine, caseload_release):
    year = 2024
    served = release.needs_year(demo_engine, year)
    keys = set()
    for name, frame in served.items():
        for cell, (_, row) in zip(release.needs_frame_cells(frame, name), frame.iterrows()):
            if cell.key() in caseload_release:
                keys.add(cell.key())
                assert row["suppressed"] and np.isnan(row["plans"]) and row["suppression_reason"] == caseload_release[cell.key()]
    assert keys  # 2024 has released cells


def test_one_count_has_one_status_across_served_outputs(demo_engine):
    """The same count (same basic counts, same period) is never shown by one output and withheld
    by another, except where the measure table shows it (it decides its own figures)."""
    local = release.local_areas(demo_engine)
    cells = collect(demo_engine, ("ehcp_caseload",), outputs=release.ServedOutputs(demo_engine, areas=local))
    conflicts = 0
    for system in systems(demo_engine, cells, "ehcp_caseload"):
        status = defaultdict(set)
        engine_shows = set()
        for v, c in zip(system.vectors, system.cells):
            key = v.tobytes()
            status[key].add(c.suppressed)
            if c.source == "measures" and not c.suppressed:
                engine_shows.add(key)
        conflicts += sum(1 for k, s in status.items() if len(s) > 1 and k not in engine_shows)
    assert conflicts == 0


def test_own_outputs_of_the_local_areas_are_those_of_the_whole_table(demo_engine):
    """The release protects the outputs as computed for the hierarchies' areas alone; a page
    computes them for every area. Both must give the same rows there."""
    local = release.local_areas(demo_engine)
    whole, part = OwnOutputs(demo_engine), OwnOutputs(demo_engine, areas=local)
    for grain in [(), ("primary_need",), ("primary_need", "setting_type")]:
        a = whole.explorer("ehcp_caseload", grain)
        a = a[a["area_code"].astype(str).isin(local)].reset_index(drop=True)
        b = part.explorer("ehcp_caseload", grain).reset_index(drop=True)
        assert a.equals(b), grain
    for name, frame in whole.needs(2024).items():
        a = frame[frame["area_code"].astype(str).isin(local)].reset_index(drop=True)
        b = part.needs(2024)[name].reset_index(drop=True)
        assert a[["area_code", "need", "plans", "suppressed"]].equals(b[["area_code", "need", "plans", "suppressed"]])


def test_the_measure_table_gives_away_no_small_waiting_band(demo_engine):
    """The Waiting bands are protected after the measure table and cannot withhold its counts, so
    the measure table's own pass keeps their small bands unrecoverable: the count waiting 13 to 18
    weeks (autism: 13 weeks or more, less 18 weeks or more) and 18 to 52 weeks (18 or more, less 52
    or more) are never a difference of two counts it shows (the demo had such cases in Carlisle,
    North Cumbria and Copeland)."""
    from send_metrics.contract.codes import SERVICES
    t = demo_engine.full_table()
    local = release.local_areas(demo_engine)
    t = t[t["area_code"].astype(str).isin(local)]

    def shown(mid_of):
        rows = t[t["measure_id"].isin({mid_of(s) for s in SERVICES})]
        rows = rows[rows["numerator"].notna()]
        service = rows["measure_id"].map({mid_of(s): s for s in SERVICES})
        return dict(zip(zip(service, rows["area_code"].astype(str), rows["period"].astype(str).str[:10]),
                        rows["numerator"]))
    over13 = shown(lambda s: "autism_over_13wk_pct" if s == "AUTISM" else f"-{s}")
    over18 = shown(lambda s: f"wait_over18_{s}")
    over52 = shown(lambda s: f"wait_over52_{s}")
    pairs = [(over13, over18), (over18, over52)]
    checked, small = 0, []
    for more, less in pairs:
        for key, value in more.items():
            if key in less:
                checked += 1
                if demo_engine.suppress_min <= value - less[key] <= demo_engine.suppress_max:
                    small.append((key, value - less[key]))
    assert checked > 1000
    assert not small, small[:10]


# -- issue 19: national scale ----------------------------------------------------------------------
def _with_another_council(db, monkeypatch, code: str = "E06999999") -> None:
    """Every explorer grain of the demo with a copy of its cells for one more council outside the
    hierarchies (the demo has none): a national load in small, where a grain of every area is
    larger than the localities' part of it."""
    query_file = db.query_file

    def grouped(name, params=None, **identifiers):
        out = query_file(name, params, **identifiers)
        return pd.concat([out, out.assign(area_code=code)], ignore_index=True) if name == "explorer_grouped" else out
    monkeypatch.setattr(db, "query_file", grouped)


def _grain_size(engine, dataset: str, grain: tuple[str, ...], areas) -> int:
    """The cells of a grain that explore.protected_table counts against explore.MAX_CELLS."""
    cells = engine.db.query_file("explorer_grouped", **explore.grouped_sql(explore.spec(dataset), grain))
    return int(cells["area_code"].astype(str).isin(areas).sum())


def _cells(cells) -> list[tuple]:
    return [(c.source, c.key(), c.suppressed, c.reason) for c in cells]


GRAIN = ("waiting_activity", ("service", "ehcp_status"))  # the demo's largest grain of that table


def test_the_release_protects_the_localities_cells_of_a_grain_too_big_for_every_area(demo_engine, monkeypatch):
    """At national scale an explorer grain of every council can be over explore.MAX_CELLS (164,394
    and 201,240 cells) while the localities' part of it, all the release protects, is not: the
    release collects (and so protects) the same cells as when every grain fits, and a page, which
    asks for every area, still gets the explorer's own message."""
    dataset, grain = GRAIN
    local = release.local_areas(demo_engine)
    want = _cells(collect(demo_engine, (dataset,), outputs=OwnOutputs(demo_engine, areas=local)))
    _with_another_council(demo_engine.db, monkeypatch)
    largest = max(_grain_size(demo_engine, dataset, g, local) for g in explorer_grains(dataset))
    monkeypatch.setattr(explore, "MAX_CELLS", largest)
    with pytest.raises(explore.TooBig, match="choose fewer breakdown columns"):
        OwnOutputs(demo_engine).explorer(dataset, grain)
    got = _cells(collect(demo_engine, (dataset,), outputs=OwnOutputs(demo_engine, areas=local)))
    assert got == want


def test_a_grain_too_big_even_for_the_localities_is_left_out_of_the_release(demo_engine, monkeypatch):
    """A grain too big even for the localities alone is refused for every area too (a page's grain
    holds every cell of theirs), so it publishes nothing: the release leaves it out and still
    collects every other output's cells, instead of failing the Needs and Waiting pages with it."""
    dataset, grain = GRAIN
    local = release.local_areas(demo_engine)
    full = collect(demo_engine, (dataset,), outputs=OwnOutputs(demo_engine, areas=local))
    sizes = {g: _grain_size(demo_engine, dataset, g, local) for g in explorer_grains(dataset)}
    others = max(n for g, n in sizes.items() if g != grain)
    assert others < sizes[grain]
    monkeypatch.setattr(explore, "MAX_CELLS", others)
    with pytest.raises(explore.TooBig, match="choose fewer breakdown columns"):
        OwnOutputs(demo_engine).explorer(dataset, grain)
    refused = f"explorer {'x'.join(grain)}"
    assert any(c.source == refused for c in full)
    got = collect(demo_engine, (dataset,), outputs=OwnOutputs(demo_engine, areas=local))
    assert _cells(got) == _cells([c for c in full if c.source != refused])
