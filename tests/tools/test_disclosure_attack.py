"""Issue 17.10, the attack across outputs: every output publishes from one protected version of
each table (``measures.release``), so no small count can be worked out from any combination.

`send_metrics.tools.disclosure_attack` collects every cell the demo's outputs publish or withhold
for the EHC plan caseload as pages serve them (the measure table, the explorer at every grain, the
Needs tables), writes each as a sum of basic counts, and tests every withheld cell for exact
recovery (rank test).
"""
from __future__ import annotations

import numpy as np
import pytest

from send_metrics.stats.nonnegative_bounds import robust_svd
from send_metrics.tools import disclosure_attack as da


def test_the_rank_test_finds_a_planted_recovery_and_not_a_protected_cell():
    # Cells over three basic counts a, b, c: published a + b and b; withheld a (recoverable: the
    # difference) and c (nothing published touches it).
    published = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    withheld = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    _, s, vt = robust_svd(published)
    q = vt[s > 1e-9 * s.max()]
    resid = np.linalg.norm(withheld - (withheld @ q.T) @ q, axis=1)
    assert (resid < 1e-7).tolist() == [True, False]


@pytest.fixture(scope="module")
def caseload_attack(demo_engine):
    cells = da.collect(demo_engine, ("ehcp_caseload",))
    return cells, da.attack(demo_engine, cells, lp=False, datasets=("ehcp_caseload",))["ehcp_caseload"]


def test_every_output_of_the_caseload_is_collected(caseload_attack):
    cells, _ = caseload_attack
    sources = {c.source.split(" ")[0] for c in cells}
    assert {"measures", "explorer", "needs"} <= sources
    grains = {c.source for c in cells if c.source.startswith("explorer")}
    assert len(grains) == 7  # totals, three single columns, three pairs


def _small_or_primary(res, low=1, high=4):
    return da.disclosed(res, low, high)


def test_no_small_count_can_be_worked_out_across_outputs(caseload_attack):
    """Before the release (2026-12-07) 909 small counts could be worked out from the demo's
    caseload outputs (1,377 before the rest-of-group rule)."""
    _, res = caseload_attack
    small = _small_or_primary(res)
    assert res.withheld > 10_000
    assert not small, f"{len(small)} small counts can be worked out across outputs: {small[:5]}"


@pytest.mark.parametrize("dataset", ["waiting_list", "waiting_activity", "outcomes", "school_census",
                                     "ehcp_assessments", "ehcp_ceased"])
def test_no_small_count_of_any_other_table_can_be_worked_out(demo_engine, dataset):
    """Every other count table the demo loads, every period, exact rank test over every served
    output (the waiting list: 4,350 small counts before the release, 38 after it until the measure
    table kept the Waiting bands' small bands unrecoverable, 2026-12-07)."""
    cells = da.collect(demo_engine, (dataset,))
    res = da.attack(demo_engine, cells, lp=False, datasets=(dataset,))[dataset]
    assert res.withheld > 0
    found = _small_or_primary(res)
    assert not found, f"{len(found)} small counts can be worked out: {found[:5]}"


def test_the_publishers_own_figures_are_known_to_the_attacker(demo_engine):
    """DfE's SEN2 release shows every council's caseload, assessments and ceased plans unsuppressed,
    so the attack (and the release) take them as known: Cumbria's up to January 2023, Cumberland's
    and Westmorland and Furness's (and their sum) from January 2024. Cumberland's figures for 2015-2023
    are built back from its localities and are the dashboard's own, to protect like theirs."""
    from send_metrics.measures.release_cells import published_figures
    caseload = published_figures(demo_engine, "ehcp_caseload")
    assert {"E10000006"} <= caseload["2019"] and not {"E06000063", "E06000064"} & caseload["2019"]
    assert {"E06000063", "E06000064", "CMB-CUMBRIA-2COUNCILS"} <= caseload["2024"]
    assert "E10000006" not in caseload["2024"]
    local = {"LOC-ALLERDALE", "LOC-MILLOM", "HF-NORTH-CUMBRIA", "HF-SOUTH-CUMBRIA", "E38000215", "E07000029"}
    assert not local & set().union(*caseload.values())
    assert "E06000063" in published_figures(demo_engine, "ehcp_assessments")["2023"]  # calendar 2023
    assert published_figures(demo_engine, "school_census") == {}  # the census's own release suppresses


@pytest.mark.parametrize("dataset,period", [
    ("ehcp_caseload", "2024"), ("ehcp_caseload", "2025"), ("ehcp_caseload", "2019"), ("ehcp_assessments", "2024"),
    ("ehcp_ceased", "2024"), ("outcomes", "2024"), ("school_census", "2024"),
    ("waiting_activity", "2025-06"), ("waiting_list", "2025-06")])
def test_no_small_count_can_be_pinned_to_within_one(demo_engine, dataset, period):
    """The linear-programming bound (HiGHS): given every published cell of the period, counts never
    negative and parts never above their wholes, no withheld small count (nor a rest of a group,
    nor a group of 5-10 with none or all) is confined to a range 1 wide. The release widens every
    such range (``union_protection.widen_ranges``); before it did (2026-12-07), these periods had
    small counts pinned: caseload 2019 50, school census 2024 12, waiting activity June 2025 4,
    ceased plans and outcomes 2024 2 each, waiting list June 2025 2. One period per table (two
    programmes per cell: every period of the demo would take the better part of an hour).
    The publisher's own council figures are known to the attacker (``published_figures``): with
    them, before the release took them as known and the load wrote a locality's missing categories
    as zeros (2026-12-08), 1,273 small caseload counts below council level could be worked out with
    every council-level figure known (South Lakeland 2015, other needs = 1: Cumbria's published
    figure less the other five districts'), and 145 were still, with the release taking them as
    known but a missing row saying 0 (Allerdale 2024, need unknown = 2). A count the publisher's figures alone confine to a range 1 wide (a council's
    published 1: each locality 0 or 1) is reported apart, as the publisher's statement."""
    cells = [c for c in da.collect(demo_engine, (dataset,)) if c.period.startswith(period)]
    res = da.attack(demo_engine, cells, lp=True, datasets=(dataset,), lp_sensitive_only=True)[dataset]
    assert res.withheld > 50
    found = _small_or_primary(res)
    assert not found, f"{len(found)} small counts can be worked out or pinned: {found[:5]}"
