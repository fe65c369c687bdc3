"""send_metrics.measures.benchmarking: what the Benchmarks page computes, without Streamlit (ranked
bars' sentence, spine summary, funnel limits and when they are widened or not drawn)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from send_metrics.catalogue import measures_by_id
from send_metrics.measures import benchmarking
from send_metrics.measures.benchmarking import ENGLAND

M = measures_by_id()
SIG = {"better": "▲ Better", "worse": "▼ Worse", "similar": "● Similar"}.get


def _published(values: list[tuple[str, float, float, float]], measure: str = "timeliness_20wk_ex") -> pd.DataFrame:
    """Published benchmark rows: (area_code, value, numerator, denominator)."""
    return pd.DataFrame([{"measure_id": measure, "area_code": c, "area_name": c, "area_level":
                          "country" if c == ENGLAND else "council", "value": v, "numerator": x, "denominator": n,
                          "source": "DfE"} for c, v, x, n in values],
                        columns=["measure_id", "area_code", "area_name", "area_level", "value", "numerator",
                                 "denominator", "source"])


def _loaded(rows: list[tuple[str, float, float, float]], measure: str = "timeliness_20wk_ex",
            england: float = 50.0) -> pd.DataFrame:
    return pd.DataFrame([{"measure_id": measure, "area_code": c, "area_name": c, "area_level": "council",
                          "value": v, "numerator": x, "denominator": n, "lower_95": np.nan, "upper_95": np.nan,
                          "suppressed": not np.isfinite(v), "england_value": england, "period_label": "2024",
                          "sig_england_95": "better"} for c, v, x, n in rows],
                        columns=["measure_id", "area_code", "area_name", "area_level", "value", "numerator",
                                 "denominator", "lower_95", "upper_95", "suppressed", "england_value",
                                 "period_label", "sig_england_95"])


def test_ranked_summary_ranks_and_compares_with_england():
    m = M["timeliness_20wk_ex"]
    loaded = _loaded([("A", 70.0, 70, 100)])
    published = _published([("B", 60.0, 60, 100), ("C", 80.0, 80, 100), (ENGLAND, 50.0, 5000, 10000)])
    comp = benchmarking.comparators(loaded, published, m, "A", ["B", "C", "D"])
    s = benchmarking.ranked_summary(comp, m, "A", "Area A", "2024", ["B", "C", "D"], None, SIG)
    assert set(s["bars"]["role"]) == {"selected", "neighbour"} and s["england"] == 50.0 and s["region"] is None
    assert "It ranks 2 of 3 (1 = best) among itself and its 2 statistical neighbours" in s["sentence"]
    assert "1 neighbours have no figure for this year" in s["sentence"]
    assert "England 50.0% (dashed line)" in s["sentence"]
    assert s["titles"][0] == "Area A ranks 2 of 3 with its neighbours"  # no interval: not compared with England
    with_ci = benchmarking.comparators(loaded.assign(lower_95=65.0, upper_95=75.0), published, m, "A", ["B", "C"])
    s = benchmarking.ranked_summary(with_ci, m, "A", "Area A", "2024", ["B", "C"], None, SIG)
    assert s["titles"][0] == "Area A better than England: 70.0% vs 50.0%"
    assert "Area A: 70.0% in 2024 (95% CI 65.0% to 75.0%), ▲ Better: better than England" in s["sentence"]
    assert s["data"]["value"].tolist() == [70.0, 60.0, 80.0, 50.0]
    none = benchmarking.ranked_summary(comp[comp["role"] == "England"], m, "A", "Area A", "2024", [], None, SIG)
    assert none["bars"] is None


def test_ranked_summary_says_not_loaded_rather_than_suppressed():
    m = M["timeliness_20wk_ex"]
    comp = benchmarking.comparators(_loaded([]), _published([("B", 60.0, 60, 100)]), m, "A", ["B"])
    s = benchmarking.ranked_summary(comp, m, "A", "Area A", "2024", ["B"], "not loaded: needs assessments", SIG)
    assert "Area A's own figure is not loaded: needs assessments for 2024" in s["sentence"]
    s = benchmarking.ranked_summary(comp, m, "A", "Area A", "2024", ["B"], None, SIG)
    assert "suppressed or not available" in s["sentence"]


def test_spine_summary_counts_the_verdicts():
    spine = pd.DataFrame({"measure_id": ["a", "b", "c"], "measure_title": ["A", "B", "C"], "unit": ["%"] * 3,
                          "value": [1.234, 2.0, 3.0], "benchmark": [1.0] * 3, "min": [0.0] * 3, "q25": [0.5] * 3,
                          "q75": [2.5] * 3, "max": [4.0] * 3, "n_comparators": [5] * 3,
                          "sig": ["better", "worse", "higher"], "period_label": ["2024"] * 3})
    s = benchmarking.spine_summary(spine, "Area A", "2024", SIG)
    assert s["titles"][0] == "Area A: 3 of 3 measures differ significantly from England"
    assert "better on 1, worse on 1, and higher or lower on 1 that carry no judgement" in s["sentence"]
    assert s["data"]["value"].iloc[0] == 1.23 and s["columns"]["value"] == "Area A"


def _councils(n: int, spread: float, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    den = rng.integers(200, 2000, n)
    p = np.clip(0.5 + rng.normal(0, spread, n), 0.01, 0.99)
    num = np.round(p * den)
    return _published([(f"E0{i:07d}", num[i] / den[i] * 100, num[i], den[i]) for i in range(n)])


def test_funnel_is_not_drawn_without_enough_councils_or_for_counts():
    m = M["timeliness_20wk_ex"]
    few = _councils(10, 0.01)
    s = benchmarking.funnel_summary(_loaded([]), few, m, "A", "Area A", "2024", "% issued")
    assert s["info"].startswith("**Funnel plot not drawn:**") and "and 10 are loaded" in s["info"]
    assert "(and no England value)" in s["info"] and s["icon"] == ":material/info:"
    count = benchmarking.funnel_summary(_loaded([]), few, M["new_plans"], "A", "Area A", "2024", "x")
    assert "A funnel plot compares rates" in count["info"] and "icon" not in count


def test_funnel_widens_the_limits_only_when_councils_vary_more_than_chance():
    m = M["timeliness_20wk_ex"]
    for spread, widened in ((0.0, False), (0.15, True)):
        pub = pd.concat([_councils(40, spread), _published([(ENGLAND, 50.0, 5000, 10000)])], ignore_index=True)
        s = benchmarking.funnel_summary(_loaded([]), pub, m, "E00000003", "Council 3", "2024", "% issued")
        assert s["info"] is None and len(s["points"]) == 40 and s["benchmark"] == 50.0
        assert s["titles"][0].endswith("(widened)") == widened
        assert ("multiplicative overdispersion" in s["source"]) == widened
        assert ("Wilson score" in s["source"]) == (not widened)
        out = int(s["points"]["outside_998"].sum())
        assert s["titles"][0].startswith(f"{out} of 40 councils outside the 99.8% limits")
        assert "Council 3: " in s["sentence"]


def test_funnel_drops_published_small_counts():
    m = M["timeliness_20wk_ex"]
    pub = pd.concat([_councils(30, 0.0), _published([("E0SMALL", 75.0, 3, 4), (ENGLAND, 50.0, 5000, 10000)])],
                    ignore_index=True)
    s = benchmarking.funnel_summary(_loaded([]), pub, m, "E0SMALL", "Small", "2024", "% issued")
    assert "E0SMALL" not in set(s["points"]["area_code"]) and len(s["points"]) == 30
    assert "Small is not a council or has no figure" in s["sentence"]


def test_mean_funnel_needs_the_pupils_spread():
    m = M["ks4_att8_ehc_plan"]
    loaded = _loaded([(f"E0{i:07d}", 30.0, 300.0, 10) for i in range(25)], measure=m.id, england=30.0)
    s = benchmarking.funnel_summary(loaded, _published([]), m, "A", "Area A", "2024", "x")
    assert "limits for an average need the standard deviation" in s["info"]
    s = benchmarking.funnel_summary(loaded.assign(sd=10.0), _published([]), m, "A", "Area A", "2024", "x")
    assert s["info"] is None and "σ = 10.0 points" in s["source"]
