"""Statistical process control charts (Making Data Count XmR) and what goes beside them: the chart
with its mean, stepped process limits, coloured points and letters, the data table of every point
with the rule that flags it, and an active title from the SPC verdict.

Apart from the common charts (`charts`) because SPC has its own vocabulary (variation, rules,
assurance), shared by the Trends and Waiting times pages and the board pack.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from send_metrics.measures.summary import IMPROVEMENT
from send_metrics.present.charts import (
    _arr,
    _figure,
    _line_layout,
    _spanning_line,
    fit_title,
)
from send_metrics.stats.spc import spc, spc_summary

SPC_NAMES = {"special_cause_improvement": "Special cause: improvement (I)",
             "special_cause_concern": "Special cause: concern (C)",
             "special_cause_neutral": "Special cause: neither (N)", "common_cause": "Common cause"}
SPC_COLOURS = {"special_cause_improvement": "#00b0f0", "special_cause_concern": "#e46c0a",
               "common_cause": "#a6a6a6", "special_cause_neutral": "#490092"}
SPC_LETTERS = {"special_cause_improvement": "I", "special_cause_concern": "C",
               "common_cause": "", "special_cause_neutral": "N"}


def spc_letters(spc_df: pd.DataFrame) -> pd.Series:
    """The letter to print on each point of an SPC frame (same index): I, C or N on the first point
    of each run of one special-cause variation (a run ends at another variation, a gap or a
    rebase) and on the latest point when it is special; "" elsewhere. Which rule a point breaks
    is in its hover text."""
    var = np.array([v if isinstance(v, str) else None for v in spc_df["variation"]], dtype=object)
    seg = spc_df["segment"].to_numpy() if "segment" in spc_df else np.zeros(len(var))
    special = np.array([v is not None and v != "common_cause" for v in var], dtype=bool)
    new_run = np.ones(len(var), dtype=bool)
    new_run[1:] = (var[1:] != var[:-1]) | (seg[1:] != seg[:-1])
    mark = special & new_run
    valid = np.flatnonzero([v is not None for v in var])
    if len(valid) and special[valid[-1]]:
        mark[valid[-1]] = True
    return pd.Series([SPC_LETTERS.get(v, "") if m else "" for v, m in zip(var, mark)], index=spc_df.index,
                     dtype=object)


def spc_chart(spc_df: pd.DataFrame, *, x: str = "date", y_title: str = "", target: float | None = None,
              rebase_dates: list | None = None, bounds: tuple[float | None, float | None] | None = None) -> go.Figure:
    """Making Data Count XmR chart: mean, process limits, coloured points; a letter (I, C, N) only
    where a run of special-cause points starts and on the latest point when it is special (see
    ``spc_letters``), so a monthly series in a long shift is not a row of letters; every special
    point keeps its colour, shape and rule on hover.

    Limits are drawn as steps (a rebase starts new limits at its point, not a diagonal from the
    old ones) and kept within the values the measure can take: ``bounds`` (default 0 to 100 for
    a percentage; at least 0 when no value is negative)."""
    if bounds is None:  # a series with negative values is a gap or a change: no floor
        values = pd.to_numeric(spc_df["value"], errors="coerce")
        floor = 0.0 if bool((values.dropna() >= 0).all()) else None
        bounds = (floor, 100.0) if y_title == "%" else (floor, None)
    lo_b, hi_b = bounds
    xs = _arr(spc_df[x] if x in spc_df else spc_df.index)
    spc_df = spc_df.assign(_letter=spc_letters(spc_df).to_numpy())
    traces = [dict(type="scatter", x=xs, y=_arr(spc_df["value"]), mode="lines", line=dict(color="#a6a6a6", width=2),
                   name="Value", showlegend=False, hoverinfo="skip")]
    for var, g in spc_df.groupby("variation", sort=False):
        gx = g[x] if x in g else g.index
        special = var != "common_cause"
        traces.append(dict(
            type="scatter", x=_arr(gx), y=_arr(g["value"]), mode="markers+text" if special else "markers",
            name=SPC_NAMES.get(var, str(var).replace("_", " ").capitalize()),
            text=_arr(g["_letter"]) if special else None, textposition="top center",
            textfont=dict(color=SPC_COLOURS.get(var, "#3D3D3D"), size=13) if special else None,
            marker=dict(color=SPC_COLOURS.get(var, "#a6a6a6"), size=10 if special else 7,
                        symbol="circle" if var == "common_cause" else "diamond"),
            customdata=_arr(g["rule"].fillna("none")),
            hovertemplate="%{x}: %{y:,.1f}<br>rule: %{customdata}<extra></extra>"))
    for col, name, dash in (("mean", "Mean", "solid"), ("upper_limit", "Upper process limit", "dash"),
                            ("lower_limit", "Lower process limit", "dash")):
        if col in spc_df:
            y = pd.to_numeric(spc_df[col], errors="coerce").clip(lower=lo_b, upper=hi_b)
            traces.append(dict(type="scatter", x=xs, y=_arr(y), mode="lines", name=name,
                               line=dict(color="#3D3D3D", dash=dash, width=1.5, shape="hv")))
    if target is not None:
        unit = "%" if y_title == "%" else (f" {y_title}" if y_title else "")
        traces.append(dict(type="scatter", x=xs, y=[target] * len(spc_df), mode="lines",
                           name=f"Target {target:g}{unit}", line=dict(color="#801650", dash="dot", width=2)))
    lines = [_spanning_line("vline", d, line=dict(color="#12436D", dash="dot"), annotation_text="Rebase")
             for d in rebase_dates or []]
    return _figure(traces, y_title, **(_line_layout({}, lines) if lines else {}))


SPC_RULE_TEXT = {
    ("outside_limits", "high"): "Above the upper process limit",
    ("outside_limits", "low"): "Below the lower process limit",
    ("trend", "high"): "Part of 7 rising points in a row",
    ("trend", "low"): "Part of 7 falling points in a row",
    ("two_in_three", "high"): "2 of 3 points close to the upper limit",
    ("two_in_three", "low"): "2 of 3 points close to the lower limit",
    ("shift", "high"): "Part of 7 points in a row above the mean",
    ("shift", "low"): "Part of 7 points in a row below the mean",
}
SPC_VARIATION_TEXT = {"common_cause": "~ Common cause", "special_cause_improvement": "I Improvement",
                      "special_cause_concern": "C Concern", "special_cause_neutral": "N Special cause (neutral)"}


def spc_table(frame: pd.DataFrame, period_labels, fmt_digits: int = 2) -> pd.DataFrame:
    """The data table beside an SPC chart: every point with its limits and the rule that flags it."""
    return pd.DataFrame({
        "Period": list(period_labels),
        "Value": frame["value"].round(fmt_digits),
        "Mean": frame["mean"].round(fmt_digits),
        "Lower process limit": frame["lower_limit"].round(fmt_digits),
        "Upper process limit": frame["upper_limit"].round(fmt_digits),
        "Target": frame["target"],
        "Variation": frame["variation"].map(lambda v: SPC_VARIATION_TEXT.get(v, "")),
        "Rule that flags the point": [SPC_RULE_TEXT.get((r, d), "None (common cause)")
                                      for r, d in zip(frame["rule"], frame["direction"])],
        "Segment": frame["segment"] + 1,
        "Trial limits": frame["trial_limits"].map({True: "yes", False: "no"}),
    })


def spc_title(name: str, summary: dict, latest_label: str) -> str:
    """Active title for an SPC chart from spc.spc_summary (ten words or fewer)."""
    variation = summary.get("variation") or "common_cause"
    if variation == "common_cause":
        return fit_title(f"{name}: common-cause variation only, no signal",
                         f"{name}: no signal of real change", "No signal of real change")
    word = {"special_cause_improvement": "improvement", "special_cause_concern": "concern",
            "special_cause_neutral": "variation"}.get(variation, "variation")
    return fit_title(f"{name}: special-cause {word} in {latest_label}", f"{name}: special-cause {word}",
                     f"Special-cause {word} in {latest_label}")


def measure_spc(values, dates, m, rebase_dates: list) -> tuple[pd.DataFrame, dict, go.Figure]:
    """One catalogue measure's series as an SPC frame (improvement read from its polarity, its target),
    the frame's summary and its chart: what the Trends and Waiting pages show."""
    improvement = IMPROVEMENT[m.polarity]
    frame = spc(np.asarray(values, dtype=float), improvement=improvement, target=m.target, dates=dates,
                rebase=rebase_dates or None)
    summary = spc_summary(frame, improvement, m.target, fmt=m.format_value)
    return frame, summary, spc_chart(frame, x="date", y_title=m.unit, target=m.target, rebase_dates=rebase_dates)
