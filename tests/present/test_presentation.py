"""Presentation details of issue 19 (send_metrics.present.charts, no Streamlit): SPC letters only on
special-cause points, limits as steps within 0-100% for percentages, fixed need colours whatever
their rank, an anchored map scale, labels that wrap for phones, trend axes that end with the data."""
from __future__ import annotations

import numpy as np
import pandas as pd

from send_metrics.present import charts, maps, spc_charts


def _spc_frame():
    dates = pd.date_range("2024-01-01", periods=8, freq="MS")
    return pd.DataFrame({"date": dates, "value": [95, 96, 97, 99, 98, 60, 97, 96],
                         "variation": ["common_cause"] * 5 + ["special_cause_concern"] + ["common_cause"] * 2,
                         "rule": [None] * 5 + ["outside_limits"] + [None] * 2,
                         "mean": [95.0] * 8, "upper_limit": [104.0] * 4 + [110.0] * 4,
                         "lower_limit": [86.0] * 4 + [70.0] * 4})


def test_spc_letters_only_on_special_causes_and_limits_clipped_as_steps():
    fig = spc_charts.spc_chart(_spc_frame(), x="date", y_title="%", target=92)
    points = [t for t in fig.data if "markers" in (t.mode or "")]
    common = [t for t in points if t.name == "Common cause"]
    special = [t for t in points if t.name != "Common cause"]
    assert common and all(not t.text for t in common)
    assert special and all(set(t.text) == {"C"} for t in special)
    upper = next(t for t in fig.data if t.name == "Upper process limit")
    assert max(upper.y) == 100 and upper.line.shape == "hv"
    assert next(t for t in fig.data if str(t.name).startswith("Target")).name == "Target 92%"
    weeks = spc_charts.spc_chart(_spc_frame(), x="date", y_title="weeks")
    assert max(next(t for t in weeks.data if t.name == "Upper process limit").y) == 110


def test_spc_letter_only_where_a_run_starts_and_on_the_latest_point():
    """Issue 19: a monthly series in a long shift put a C on every point. A letter marks the first
    point of each run of one special-cause variation (broken by another variation, a gap or a
    rebase) and the latest point when it is special; the other special points keep colour, shape
    and rule on hover."""
    dates = pd.date_range("2023-01-01", periods=24, freq="MS")
    variation = (["common_cause"] * 6 + ["special_cause_concern"] * 9 + ["common_cause"] * 2
                 + ["special_cause_improvement"] * 3 + [None] + ["special_cause_improvement"] * 3)
    frame = pd.DataFrame({"date": dates, "value": np.arange(24.0), "variation": variation,
                          "rule": [None if v in (None, "common_cause") else "shift" for v in variation],
                          "segment": [0] * 21 + [1] * 3, "mean": 10.0, "upper_limit": 20.0, "lower_limit": 0.0})
    letters = list(spc_charts.spc_letters(frame))
    assert [(i, t) for i, t in enumerate(letters) if t] == [(6, "C"), (17, "I"), (21, "I"), (23, "I")]
    fig = spc_charts.spc_chart(frame, x="date", y_title="%")
    concern = next(t for t in fig.data if t.name == spc_charts.SPC_NAMES["special_cause_concern"])
    assert len(concern.x) == 9 and list(concern.text) == ["C"] + [""] * 8
    assert all(r == "shift" for r in concern.customdata)


def test_a_need_keeps_its_colour_whatever_its_rank():
    labels = {"ASD": "Autism", "SLCN": "Speech", "SEMH": "Social"}
    colours, patterns = charts.need_colours(labels)
    a = pd.DataFrame({"x": ["2024"] * 3, "need": ["Autism", "Speech", "Social"], "y": [50, 30, 20]})
    b = a.iloc[::-1]  # another area where the order of the needs differs
    for df in (a, b):
        fig = charts.stacked_share(df, x="x", colour="need", y="y", colours=colours, patterns=patterns)
        by_name = {t.name: t.marker.color for t in fig.data}
        assert by_name == {"Autism": charts.NEED_COLOURS["ASD"], "Speech": charts.NEED_COLOURS["SLCN"],
                           "Social": charts.NEED_COLOURS["SEMH"]}
    assert set(charts.NEED_COLOURS.values()) >= set(charts.PALETTE)
    assert len({charts.SETTING_COLOURS[k] for k in ("mainstream", "special", "alternative_provision",
                                                    "independent", "post16", "other")}) == 6


def test_map_scale_is_anchored():
    geo = {"features": [{"properties": {"locality_code": c}, "geometry": {"type": "Polygon", "coordinates": [
        [[0 + i, 54], [1 + i, 54], [1 + i, 55], [0 + i, 54]]]}} for i, c in enumerate(["A", "B"])]}
    df = pd.DataFrame({"area_code": ["A", "B"], "value": [78.0, 81.5], "label": ["A", "B"]})
    fig = maps.locality_map(geo, df, scale=(0, 100))
    bar = next(t for t in fig.data if t.marker.showscale)
    assert (bar.marker.cmin, bar.marker.cmax) == (0, 100)
    fills = [t.fillcolor for t in fig.data if t.fill == "toself"]
    assert fills[0] != charts.SEQUENTIAL[2] and fills[1] != charts.SEQUENTIAL[0]  # not the two extremes


def test_long_labels_wrap_and_trend_axis_ends_with_the_data():
    text = "% of EHC plans issued within 20 weeks (excl. exceptions)"
    wrapped = charts.wrap_label(text)
    assert all(len(line) <= 28 for line in wrapped.split("<br>")) and wrapped.replace("<br>", " ") == text
    df = pd.DataFrame({"x": [2015, 2020, 2025], "value": [1.0, 2.0, 3.0], "area_name": ["A"] * 3})
    fig = charts.trend_lines(df, x="x", group="area_name")
    lo, hi = fig.layout.xaxis.range
    assert lo < 2015 and 2025 < hi <= 2028
    assert np.isfinite([lo, hi]).all()


def test_end_labels_close_together_are_nudged_apart_and_too_many_give_way_to_the_legend():
    years = [2022, 2023, 2024, 2025]

    def fig_of(series: dict[str, list[float]]):
        df = pd.DataFrame({"x": years * len(series), "value": [v for vs in series.values() for v in vs],
                           "area_name": [n for n in series for _ in years]})
        return charts.trend_lines(df, x="x")

    # Far apart: each label sits at its line's last point, as before.
    apart = fig_of({"A": [1.0, 2.0, 3.0, 4.0], "B": [10.0, 11.0, 12.0, 13.0]})
    assert [a.showarrow for a in apart.layout.annotations] == [False, False]
    assert [a.y for a in apart.layout.annotations] == [4.0, 13.0]
    # Ending 0.2 apart on a 0-40 scale: at least one moves, tied to its point by a leader line,
    # and the two centres end up at least a label's height apart (in the chart's pixel estimate).
    close = fig_of({"North": [0.0, 10.0, 20.0, 40.0], "South": [1.0, 11.0, 21.0, 39.8]})
    anns = close.layout.annotations
    assert any(a.showarrow for a in anns) and all(a.y in (40.0, 39.8) for a in anns)
    px = charts.END_LABEL_PLOT_PX / (40 * 1.1)
    centres = [a.y * px - (a.ay or 0) for a in anns]
    assert abs(centres[0] - centres[1]) >= charts.END_LABEL_LINE_PX - 1
    # Six long names (four lines each) cannot fit beside the plot: no end labels, the legend names them.
    many = fig_of({f"Cumberland · need number {i} with a long name": [float(i)] * 4 for i in range(6)})
    assert len(many.layout.annotations) == 0 and all(t.showlegend is not False for t in many.data if t.mode)
