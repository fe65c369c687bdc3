"""The Board's Fingertips-style summary (send_metrics.measures.summary.summary_table), without Streamlit:
one row per headline measure, every number as text with its unit, a red/amber/green mark in words
and symbols, a trend arrow with words, a sparkline, the SPC verdict, most concerning first."""
from __future__ import annotations

import numpy as np
import pandas as pd

from send_metrics.measures import summary
from send_metrics.catalogue import measures_by_id


def _tile(mid: str, value=50.0, sig_e="similar", sig_n="not_compared", trend="no_significant_change",
          variation="common_cause", suppressed=False, series=(40.0, 45.0, 50.0), assurance=None):
    m = measures_by_id()[mid]
    s = pd.DataFrame({"value": list(series), "period": [f"{2020 + i}" for i in range(len(series))]})
    return summary.Tile(measure=m, area_code="E06000063", period_label="2025", value=value, lower_95=value - 2,
                        upper_95=value + 2, england_value=48.0, sig_england=sig_e, neighbours_value=np.nan,
                        sig_neighbours=sig_n, trend_verdict=trend, variation=variation, variation_icon=None,
                        assurance=assurance, assurance_icon=None, suppressed=suppressed, sentence="A sentence.",
                        series=s, spc_frame=None)


def test_values_carry_their_unit_and_precision():
    by_id = measures_by_id()
    assert summary.with_unit(by_id["ehcp_rate_0_25"], 39.3514) == "39.4 per 1,000"
    assert summary.with_unit(by_id["pupils_ehcp_pct"], 5.4321) == "5.4%"
    assert summary.with_unit(by_id["ehcp_caseload"], 2893.0) == "2,893 plans"
    assert summary.with_unit(by_id["wait_median_AUTISM"], 34.66) == "34.7 weeks"
    assert summary.with_unit(by_id["ehcp_rate_0_25"], None) == "not available"
    assert summary.with_unit(by_id["ehcp_rate_0_25"], np.nan) == "not available"
    assert summary.interval_text(by_id["ehcp_rate_0_25"], 37.9, 40.84) == "37.9 to 40.8 per 1,000"
    assert summary.interval_text(by_id["pupils_ehcp_pct"], 5.3, 5.7) == "5.3% to 5.7%"
    assert summary.target_text(by_id["wait_18wk_SLT"]) == "92%"


def test_rag_trend_and_spc_in_words_and_symbols():
    t = _tile("timeliness_20wk_ex", sig_e="worse", trend="getting_worse", variation="special_cause_concern")
    row = summary.summary_table([t]).iloc[0]
    assert row["Against benchmark"] == "▼ Worse than England" and row["rag"] == "red"
    assert row["Trend"] == "↓ Getting worse"  # higher is better: getting worse means falling
    assert row["SPC"].startswith("(C) Special cause: concern")
    lower_better = summary.summary_table([_tile("autism_over_13wk_pct", trend="getting_worse")]).iloc[0]
    assert lower_better["Trend"] == "↑ Getting worse"
    neighbours = summary.summary_table([_tile("timeliness_20wk_ex", sig_e="not_compared", sig_n="better")]).iloc[0]
    assert neighbours["Against benchmark"] == "▲ Better than neighbours" and neighbours["rag"] == "green"
    similar = summary.summary_table([_tile("timeliness_20wk_ex")]).iloc[0]
    assert similar["Against benchmark"] == "● Similar to England" and similar["rag"] == "amber"
    # no colour without words: every RAG key has a word and a symbol
    for sig, (key, text) in summary.RAG.items():
        assert text[0] in "▼●▲◆" and text[2:].isalpha()


def test_ordered_by_concern_and_suppressed_last():
    tiles = [_tile("pupils_ehcp_pct", sig_e="similar"),
             _tile("reviews_on_time_pct", suppressed=True, value=np.nan),
             _tile("timeliness_20wk_ex", sig_e="worse", variation="special_cause_concern"),
             _tile("wait_18wk_SLT", sig_e="better", variation="special_cause_improvement")]
    table = summary.summary_table(tiles)
    assert table["measure_id"].tolist() == ["timeliness_20wk_ex", "pupils_ehcp_pct", "wait_18wk_SLT",
                                            "reviews_on_time_pct"]
    last = table.iloc[-1]
    assert last["Value"] == "suppressed (small numbers)" and last["Against benchmark"] == "– Not compared"
    assert np.isnan(last["value"])


def test_sparkline_and_csv():
    assert summary.sparkline([1, 2, 3, 2, 5]) == "▁▃▅▃█"
    assert summary.sparkline([3, 3, 3]) == "▄▄▄"
    assert summary.sparkline([np.nan, 1]) == ""
    table = summary.summary_table([_tile("timeliness_20wk_ex", series=(np.nan, 40.0, 45.0, 50.0))])
    assert table.iloc[0]["series"] == [40.0, 45.0, 50.0]
    csv = summary.summary_csv_frame(table)
    assert "series" not in csv and "rag" not in csv
    assert csv.iloc[0]["RAG"] == "Amber"
    assert list(csv.columns[:3]) == ["Measure", "Period", "Value"]


def test_demo_board_summary(demo_engine):
    """On the demo: one row per headline measure with data, each number formatted (no raw floats,
    None or snake_case words)."""
    tiles = summary.tiles(demo_engine, "E06000063", "2025")
    table = summary.summary_table(tiles)
    assert len(table) == len(tiles) >= 12
    shown = table[["Value", "95% interval", "England", "Neighbours", "Against benchmark", "Trend", "SPC"]]
    text = " ".join(shown.astype(str).to_numpy().ravel())
    assert "None" not in text and "nan" not in text and "_" not in text
    assert not any(len(x.split(".")[-1].split()[0].rstrip("%")) > 1 for x in table["Value"] if "." in x)
    assert table["Concern"].is_monotonic_decreasing
