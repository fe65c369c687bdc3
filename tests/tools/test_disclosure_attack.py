"""Issue 17.10, the attack across outputs: every output publishes from one protected version of
each table (``measures.release``), so no small count can be worked out from any combination.

`send_metrics.tools.disclosure_attack` collects every cell the demo's outputs publish or withhold
for the EHC plan caseload as pages serve them (the measure table, the explorer at every grain, the
Needs tables), writes each as a sum of basic counts, and tests every withheld cell for exact
recovery (rank test).
"""
from __future__ import annotations

import re

import numpy as np
import pytest

from send_metrics.tools import disclosure_attack as da
from send_metrics.tools.attack_algebra import robust_svd


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


def test_no_small_count_can_be_worked_out_across_outputs(caseload_attack):
    """Before the release (2026-12-07) 909 small counts could be worked out from the demo's
    caseload outputs (1,377 before the rest-of-group rule)."""
    _, res = caseload_attack
    values = [float(re.search(r"= (-?[\d.]+)$", e).group(1)) for e in res.exact]
    small = [e for e, v in zip(res.exact, values) if 1 <= v <= 4]
    assert res.withheld > 10_000
    assert not small, f"{len(small)} small counts can be worked out across outputs: {small[:5]}"
