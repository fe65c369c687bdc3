"""The measure table's speed-ups (issue 19: derived tables at national scale) give what the plain
per-row or per-series computation gives: look-ups once per distinct value (engine.by_value), the
recent trends of every series of a measure at once (engine.trends), queries started ahead
(engine.prefetch) and the whole-table check remembered by content (linear_repair)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from send_metrics.catalogue import load_catalogue
from send_metrics.measures import linear_repair
from send_metrics.measures.engine import trends as engine_trends
from send_metrics.measures.engine.by_value import map_values, starts_with
from send_metrics.measures.engine.prefetch import Prefetching
from send_metrics.stats import trends


def test_look_ups_by_value_equal_the_per_row_ones():
    s = pd.Series(["a", "b", None, "a", np.nan, "secondary: x", "c", "b"], dtype=object)
    mapping = {"a": "numerator", "b": None, "c": "denominator"}
    assert pd.Series(map_values(s, mapping)).equals(pd.Series(s.map(mapping).to_numpy(object)))
    want = s.str.startswith("secondary").fillna(False).to_numpy(dtype=bool)
    assert starts_with(s, "secondary").tolist() == want.tolist()
    text = pd.Series(["need_share_ASD", "setting_special_pct", "need_share_SLD"], dtype="str")
    assert starts_with(text, "need_share_").tolist() == [True, False, True]
    assert map_values(text.iloc[:0], mapping).shape == (0,)


def test_every_series_at_once_gives_each_series_own_trend():
    by_id = {m.id: m for m in load_catalogue()}
    prop, rate = by_id["reviews_on_time_pct"], by_id["ehcp_rate_0_25"]
    rng = np.random.default_rng(3)
    rows = []
    for mid in (prop.id, rate.id):
        for a in range(12):
            years = [y for y in range(2012, 2012 + int(rng.integers(3, 12))) if rng.random() > 0.08]
            for y in years:
                n = float(rng.integers(30, 900))
                x = float(rng.binomial(int(n), 0.4 + 0.02 * (y - 2012) * (a % 3 - 1)))
                x = np.nan if rng.random() < 0.05 else x
                value = x / n * 100
                rows.append({"measure_id": mid, "area_code": f"A{a:02d}", "period": str(y), "numerator": x,
                             "denominator": n, "value": value, "lower_95": value - 3 - a % 2 * rng.random(),
                             "upper_95": value + 3})
    base = pd.DataFrame(rows).sample(frac=1, random_state=1).reset_index(drop=True)
    got = engine_trends.add_trends(base, by_id)
    for (mid, _), g in got.groupby(["measure_id", "area_code"], sort=False):
        m = by_id[mid]
        year = g["period"].astype(int).to_numpy(float)
        want = ["not_enough_data"] * len(g)
        if len(g) >= 5:
            if m.kind == "proportion":
                t = engine_trends.rolling_proportion_trend(g["numerator"], g["denominator"], year)
            else:
                t = engine_trends.rolling_recent_trend(g["value"], g["lower_95"], g["upper_95"], years=year)
            want[4:] = list(t)
        assert g["trend"].tolist() == want
        assert g["trend_verdict"].tolist() == [trends.trend_verdict(x, m.polarity) for x in want]


class _CountingDb:
    def __init__(self):
        self.calls = []

    def query(self, sql, params=None):
        self.calls.append(("sql", sql))
        return pd.DataFrame({"x": [1, 2], "q": [sql, sql]})

    def query_file(self, name, params=None, **identifiers):
        self.calls.append(("file", name))
        return pd.DataFrame({"x": [3], "q": [name]})

    load_id = "L1"


def test_queries_started_ahead_are_handed_over_as_fresh_copies():
    db = _CountingDb()
    listed = [("sql", "SELECT 1", None), ("file", "published_benchmarks", None), ("file", "published_benchmarks", None)]
    with Prefetching(db, listed) as pre:
        first = pre.query_file("published_benchmarks")
        first["x"] = 99  # a step changes its own copy ...
        assert pre.query_file("published_benchmarks")["x"].tolist() == [3]  # ... never the next step's
        assert pre.query("SELECT 1").equals(db.query("SELECT 1"))
        assert pre.query("SELECT 2")["q"].tolist() == ["SELECT 2", "SELECT 2"]  # not listed: asked now
        assert pre.query_file("published_benchmarks", {"year": 1})["q"].tolist() == ["published_benchmarks"]
        assert pre.query_file("published_benchmarks")["x"].tolist() == [3]  # asked more often than listed
        assert pre.load_id == "L1"
    assert db.calls.count(("file", "published_benchmarks")) == 3  # ahead once, then with other params, then again
    assert db.calls.count(("sql", "SELECT 1")) == 2  # ahead, and the test's own


def test_a_repaired_set_remembered_gives_the_same_cells_and_warnings(monkeypatch):
    # parts 1, 2 and total 3; 4 + 5 = 9: the lone hidden 1 needs a complement
    equations = [(2, [0, 1], "t"), (5, [3, 4], "u")]
    vals = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 9.0])
    known = np.ones(6, dtype=bool)

    def run():
        sup = np.array([True, False, False, False, False, False])
        reason = np.array(["primary", None, None, None, None, None], dtype=object)
        lost = linear_repair.linear_repair(equations, vals, known, sup, reason)
        return sup.tolist(), reason.tolist(), lost
    linear_repair._REPAIRED.clear()
    first = run()
    calls = []
    real = linear_repair.linear_repair_connected
    monkeypatch.setattr(linear_repair, "linear_repair_connected", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert run() == first and not calls  # remembered
    assert first[0] == [True, True, False, False, False, False]
    # a warning of the repair comes again when the set is looked up
    monkeypatch.setattr(linear_repair, "linear_repair_connected", real)
    for _ in range(2):
        sup = np.array([True, False, False, False, False, False])
        reason = np.array(["primary", None, None, None, None, None], dtype=object)
        with pytest.warns(RuntimeWarning, match="stopped before every cell was safe"):
            linear_repair.linear_repair(equations, vals, known, sup, reason, max_rounds=0)
