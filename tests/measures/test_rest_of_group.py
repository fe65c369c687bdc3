"""Issue 17.10, the rest of the group: a crawl of the demo's outputs below council level.

A percentage published with its group size also publishes the rest of the group (64 of 68 issued
on time shows that 4 were late), and none or all of a group of 5-10 children is a fact about every
child in it. Below council level (localities, former districts, health footprints, the rest of a
council) neither may be shown; council figures stay as the publisher shows them. Each output's
table is crawled as the page, download or board pack takes it: every shown part beside a shown
whole (its total over a breakdown, or the count it is a part of) is checked with
``disclosure.complement_suppress``, the rule's own definition, which its unit tests pin
(tests/stats/test_disclosure.py).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from send_metrics.catalogue import load_catalogue, measures_by_id
from send_metrics.measures import breakdowns, explore, footprints, localities, waiting_times
from send_metrics.measures.table_protection import ALL
from send_metrics.stats import disclosure


def _disclosed(part, whole, low, high) -> int:
    comp, group = disclosure.complement_suppress(np.asarray(part, float), np.asarray(whole, float), low, high)
    return int(comp.sum() + group.sum())


@pytest.fixture(scope="module")
def setting(demo_engine, demo_config):
    return demo_engine, demo_engine.below_council_areas(), demo_config.suppress_min, demo_config.suppress_max


def test_below_council_means_every_level_the_dashboard_makes_itself(setting):
    engine, below, _, _ = setting
    levels = engine._areas().set_index("area_code")["area_level"]
    assert {"LOC-MILLOM", "HF-SOUTH-CUMBRIA", "E07000029"} <= below
    assert not below & {"E06000063", "E06000064", "E92000001"}
    assert set(levels[levels.index.isin(below)]) <= {"locality", "former_district", "health_footprint",
                                                      "sub_icb", "icb", "district", "provider"}


def test_measure_table_shows_no_small_rest_of_group_below_council(setting):
    engine, below, low, high = setting
    t = engine.table()
    kinds = {m.id: (m.kind, m.disclosure) for m in load_catalogue()}
    prop = t["measure_id"].map(lambda i: kinds.get(i) == ("proportion", "numerator")).astype(bool)
    shown = t[prop & t["area_code"].isin(below) & ~t["suppressed"].astype(bool)]
    assert len(shown) > 5000  # the rule leaves most of the locality figures in place
    assert _disclosed(shown["numerator"], shown["denominator"], low, high) == 0
    # Councils keep the publisher's figures: the rule is not applied there.
    council = t[prop & t["area_level"].eq("council") & ~t["suppressed"].astype(bool)]
    assert _disclosed(council["numerator"], council["denominator"], low, high) > 0


def test_needs_breakdowns_show_no_small_rest_of_a_group_below_council(setting):
    engine, below, low, high = setting
    checked = 0
    for year in breakdowns.census_years(engine):
        for name, t in breakdowns.for_year(engine, year).items():
            by = breakdowns.BREAKDOWNS[name][1]
            total = t[(t["need"] == ALL) & ~t["suppressed"]][["area_code", by, "plans"]].rename(columns={"plans": "T"})
            parts = t[(t["need"] != ALL) & (t[by] != ALL) & t["area_code"].isin(below) & ~t["suppressed"]]
            parts = parts.merge(total, on=["area_code", by])
            checked += len(parts)
            assert _disclosed(parts["plans"], parts["T"], low, high) == 0, (year, name)
    assert checked > 1000


@pytest.mark.parametrize("dataset", ["ehcp_caseload", "ehcp_assessments", "waiting_activity", "outcomes"])
def test_explorer_shows_no_small_rest_of_a_group_below_council(setting, dataset):
    engine, below, low, high = setting
    sp = explore.spec(dataset)
    cache: dict = {}

    def grain(b):
        if b not in cache:
            cache[b] = explore.protected_table(engine.db, dataset, b, low, high, engine.hierarchies(), grain,
                                              below_council=below)
        return cache[b]
    optional = [b for b in sp.breakdowns if b not in sp.required]
    checked = 0
    for extra in [(), *[(b,) for b in optional]]:
        g = tuple(c for c in sp.breakdowns if c in sp.required or c in extra)
        t = grain(g)
        here = t["area_code"].isin(below).to_numpy()
        for ind in sp.indicators:
            part = np.where(here & ~t[f"{ind}__suppressed"].astype(bool).to_numpy(),
                            pd.to_numeric(t[ind], errors="coerce"), np.nan)
            wholes = [np.where(t[f"{w}__suppressed"].astype(bool), np.nan, arr)
                      for w, arr in explore.parts_of(dataset, t).get(ind, {}).items()]
            for b in extra:  # the total over b, as the coarser view shows it
                keys = [k for k in ["area_code", sp.period, *g] if k != b]
                c = grain(tuple(x for x in g if x != b))
                shown = c[keys].astype(str).assign(
                    _w=np.where(c[f"{ind}__suppressed"].astype(bool), np.nan, pd.to_numeric(c[ind], errors="coerce")))
                wholes.append(t[keys].astype(str).merge(shown, on=keys, how="left")["_w"].to_numpy(float))
            for whole in wholes:
                checked += int(np.isfinite(part).sum())
                assert _disclosed(part, whole, low, high) == 0, (dataset, g, ind)
    assert checked > 0


def test_waiting_bands_show_no_small_rest_of_a_list_below_council(setting):
    engine, below, low, high = setting
    db = engine.db
    months = db.query("SELECT DISTINCT CAST(month AS VARCHAR) AS m FROM waiting_list ORDER BY 1")["m"].tolist()
    checked = 0
    for service in ("AUTISM", "SLT", "OT"):
        for month in months[-3:]:
            raw = db.query_file("waiting_bands", {"service": service, "month": month})
            lists = engine.table([f"wait_list_{service}"], None, [month[:7]])
            cells = waiting_times.protect_bands(raw, service, month, lists.loc[lists["suppressed"], "area_code"], [],
                                                engine.hierarchies(), low, high, rest_of_group_areas=below)
            total = cells[(cells["wait_band"] == ALL) & ~cells["suppressed"]][["area_code", "ehcp_status", "waiting"]]
            parts = cells[(cells["wait_band"] != ALL) & cells["area_code"].isin(below) & ~cells["suppressed"]]
            parts = parts.merge(total.rename(columns={"waiting": "T"}), on=["area_code", "ehcp_status"])
            checked += len(parts)
            assert _disclosed(parts["waiting"], parts["T"], low, high) == 0, (service, month)
    assert checked > 100


def test_north_and_south_pooled_waits_show_no_small_rest(setting):
    engine, _, low, high = setting
    db = engine.db
    months = db.query("SELECT DISTINCT CAST(month AS VARCHAR) AS m FROM waiting_activity ORDER BY 1")["m"].tolist()
    raw = db.query_file("equity_activity", {"areas": ["HF-NORTH-CUMBRIA", "HF-SOUTH-CUMBRIA"],
                                            "first": months[-12], "last": months[-1]})
    t = footprints.pooled_activity(raw, low, high)
    shown = t[t["pct"].notna()]
    assert len(shown) > 10
    assert _disclosed(shown["seen_18"], shown["seen"], low, high) == 0
    hidden = t[t["seen_18_suppressed"].astype(bool)]
    assert hidden["seen_18"].isna().all()


def test_the_rest_of_a_council_is_below_council_level():
    m = measures_by_id()["timeliness_20wk_ex"]
    council = {"numerator": 70.0, "denominator": 80.0, "suppressed": False}
    # Millom 30 of 36: the rest of Cumberland is 40 of 44, so 4 late there
    got = localities.rest_of_parent(m, {"numerator": 30.0, "denominator": 36.0, "suppressed": False}, council)
    assert got["suppressed"] and "rest of the group" in got["suppression_reason"]
    assert np.isnan(got["value"])
    ok = localities.rest_of_parent(m, {"numerator": 30.0, "denominator": 30.0, "suppressed": False}, council)
    assert not ok["suppressed"] and ok["numerator"] == 40 and ok["denominator"] == 50
