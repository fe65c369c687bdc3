"""send_metrics.measures.waiting_times: the wait bands by EHC plan status and the every-service
overview, without Streamlit. Small counts stay hidden (and cannot be worked out from the totals);
shares never show a single hidden band."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from send_metrics.catalogue import measures_by_id
from send_metrics.measures import waiting_times
from send_metrics.measures.waiting_times import SUPPRESSED

M = measures_by_id()
HIER = [("P", ["L1", "L2"])]
BANDS = ["0to13wk", "13to18wk", "18to52wk", "52plus"]


def _raw(counts: dict, service: str = "SLT") -> pd.DataFrame:
    """{area: {status: [four band counts]}} as sql/waiting_bands.sql rows for one service and month."""
    return pd.DataFrame([{"area_code": a, "month": pd.Timestamp("2024-06-01"), "service": service, "ehcp_status": st,
                          "wait_band": b, "waiting": n}
                         for a, by in counts.items() for st, ns in by.items() for b, n in zip(BANDS, ns)])


def _children(l1: list[int], l2: list[int]) -> dict:
    base = {"L1": {"ehc_plan": l1, "no_ehc_plan": [40, 30, 20, 10]},
            "L2": {"ehc_plan": l2, "no_ehc_plan": [50, 25, 15, 10]}}
    base["P"] = {s: [a + b for a, b in zip(base["L1"][s], base["L2"][s])] for s in ("ehc_plan", "no_ehc_plan")}
    return base


def test_protect_bands_hides_small_counts_and_what_gives_them_away():
    raw = _raw(_children([20, 10, 3, 12], [30, 15, 10, 8]))
    cells = waiting_times.protect_bands(raw, "SLT", "2024-06-01", [], [], HIER, 1, 4)
    shown = cells.loc[~cells["suppressed"], "waiting"]
    assert not shown.between(1, 4).any()
    key = cells.set_index(["area_code", "ehcp_status", "wait_band"])
    assert key.loc[("L1", "ehc_plan", "18to52wk"), "suppressed"]
    assert np.isnan(key.loc[("L1", "ehc_plan", "18to52wk"), "waiting"])
    # L1's with-plan total (45) is published, so another of its bands is hidden too...
    assert key.loc[[("L1", "ehc_plan", b) for b in BANDS], "suppressed"].sum() >= 2
    # ...and the parent's row, which L2 and P would give away, is protected across areas.
    assert key.loc[[(a, "ehc_plan", "18to52wk") for a in ("L2", "P")], "suppressed"].any()
    # Every area's list size is published by the measure engine anyway: never a complement here.
    assert not key.xs("ALL", level="wait_band").xs("ALL", level="ehcp_status")["suppressed"].any()
    assert set(cells["month"]) == {"2024-06-01"} and set(cells["service"]) == {"SLT"}


def test_protect_bands_starts_from_what_the_engine_suppressed():
    raw = _raw(_children([20, 10, 30, 12], [30, 15, 10, 8]), "AUTISM")
    cells = waiting_times.protect_bands(raw, "AUTISM", "2024-06-01", ["L1"], ["L2"], HIER, 1, 4)
    key = cells.set_index(["area_code", "ehcp_status", "wait_band"])
    assert key.loc[("L1", "ALL", "ALL"), "suppressed"]
    assert key.loc[("L1", "ALL", "ALL"), "suppression_reason"] == "suppressed in the published measure"
    assert "OVER13" not in set(cells["wait_band"])  # the engine's 13+ weeks sum protects, but is not returned
    # L2's count waiting 13 weeks or more is hidden at its source: its 13+ bands can't all be shown.
    assert key.loc[[("L2", "ALL", b) for b in BANDS[1:]], "suppressed"].any()
    assert waiting_times.protect_bands(raw[raw["ehcp_status"] == "all"], "SLT", "2024-06-01", [], [], HIER, 1,
                                       4).empty


def test_bands_summary_groups_hidden_bands_and_reads_the_shares():
    raw = _raw(_children([20, 10, 30, 40], [30, 15, 10, 8]))
    cells = waiting_times.protect_bands(raw, "SLT", "2024-06-01", [], [], HIER, 1, 4)
    s = waiting_times.bands_summary(cells[cells["area_code"] == "L1"], "Locality 1", "Speech and language therapy",
                                    "Jun 2024")
    shares = s["shares"]
    assert shares.groupby("ehcp_status")["share"].sum().to_numpy() == pytest.approx([100.0] * 3)
    with_plan = shares[shares["ehcp_status"] == "ehc_plan"].set_index("wait_band")["share"]
    assert with_plan[["18to52wk", "52plus"]].sum() == pytest.approx(70.0)
    assert s["titles"][0] == "70% with a plan wait 18+ weeks, 30% without"
    assert "200 children were waiting." in s["sentence"]
    assert s["sentence"].startswith("Children waiting for speech and language therapy in Locality 1 at the end of "
                                    "Jun 2024")
    assert list(s["table"]["% of status"].dropna().round(0).head(1)) == [20.0]

    small = waiting_times.protect_bands(_raw(_children([20, 10, 3, 12], [30, 15, 10, 8])), "SLT", "2024-06-01", [],
                                        [], HIER, 1, 4)
    s = waiting_times.bands_summary(small[small["area_code"] == "L1"], "Locality 1", "SLT", "Jun 2024")
    hidden = s["shares"][s["shares"]["wait_band"] == SUPPRESSED]
    assert len(hidden) and hidden["waiting"].isna().all() and not hidden["ehcp_status"].duplicated().any()
    l1 = small[(small["area_code"] == "L1") & (small["wait_band"] != "ALL")]
    for status in hidden["ehcp_status"]:  # one grouped segment per status, never one hidden count
        assert l1.loc[l1["ehcp_status"] == status, "suppressed"].sum() >= 2
    assert "never shows a single hidden count" in s["sentence"]
    assert not s["titles"][0].startswith("70% with a plan")  # the with-plan share is not readable
    assert s["table"].loc[s["table"]["Band"] != "All bands", "Children waiting"].dropna().gt(4).all()


def test_band_labels():
    assert waiting_times.band_label("52plus") == "52 weeks or more"
    assert waiting_times.band_label("not-a-band") == "not-a-band"


def test_overview_rows_take_the_latest_published_month_and_its_variation():
    periods = [f"2024-{m:02d}-01" for m in range(1, 9)]
    values = [100, 101, 99, 100, 102, 98, 100, np.nan]  # the last month suppressed
    t = pd.DataFrame({"measure_id": "wait_list_SLT", "period": periods, "value": values,
                      "period_label": [f"M{m}" for m in range(1, 9)]})
    out = waiting_times.overview_rows(t, ["SLT", "OT"], M, {"common_cause": "~ Common cause"}).set_index("Service")
    assert out.loc["Speech and language therapy", "Children waiting"] == "100 (M7) ~ Common cause"
    assert out.loc["Speech and language therapy", "Median weeks waited"] == "not available"
    assert (out.loc["Occupational therapy"] == "not available").all()
