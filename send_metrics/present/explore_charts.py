"""The Data explorer's figures: the chosen indicator over time (one line per series) or, for one
period, as bars largest first; and the areas table's count by level.

Apart from ``charts`` because they draw the explorer's own protected view (``measures.explore``),
whose series are already labelled and cut to the largest few. Suppressed values are NaN: a gap in
a line, no bar.
"""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from send_metrics.present import charts


def _bars(values, labels, *, x_title: str, text, min_height: int, hovertemplate: str | None = None) -> go.Figure:
    """Horizontal bars in the house font, one per label, in the order given (bottom to top).
    One Figure with its layout (the default template is set once in charts): passing template=
    or updating the layout afterwards re-validates the figure."""
    return go.Figure(go.Bar(x=values, y=labels, orientation="h", marker_color=charts.PALETTE[0], text=text,
                            textposition="auto", hovertemplate=hovertemplate),
                     layout=dict(height=max(min_height, 34 * len(labels) + 80), margin=dict(l=10, r=10, t=30, b=10),
                                 xaxis=dict(title=dict(text=x_title)),
                                 font=dict(family="Arial, sans-serif", size=14, color="#0B0C0C")))


def view_chart(data: pd.DataFrame, indicator: str, ind_label: str, monthly: bool) -> go.Figure:
    """The chart of the explorer's view (``measures.explore.chart_series``): lines when it spans
    several periods, else bars."""
    if data["period"].nunique() > 1:
        return trend(data, indicator, ind_label, monthly)
    return latest(data, indicator, ind_label)


def trend(data: pd.DataFrame, indicator: str, ind_label: str, monthly: bool) -> go.Figure:
    """One line per ``series`` over ``period`` (years, or months as 'YYYY-MM')."""
    data = data.sort_values("period")
    # Numbers (years) or dates (months) on the x axis: numeric-looking category labels would be
    # misplaced by the end-of-line labels.
    data["x"] = pd.to_datetime(data["period"] + "-01") if monthly else data["period"].astype(int)
    fig = charts.trend_lines(data, x="x", y=indicator, group="series", y_title=ind_label)
    if not monthly:
        fig.update_xaxes(dtick=1, tickformat="d")
    return fig


def latest(data: pd.DataFrame, indicator: str, ind_label: str) -> go.Figure:
    """One bar per ``series`` with a value, largest at the top."""
    d = data.dropna(subset=[indicator]).sort_values(indicator)
    return _bars(d[indicator].to_numpy(), d["series"].to_numpy(), x_title=ind_label,
                 text=[f"{v:,.0f}" for v in d[indicator]], min_height=260,
                 hovertemplate="%{y}: %{x:,.0f}<extra></extra>")


def areas_by_level(counts: pd.DataFrame) -> go.Figure:
    """How many areas are at each level (``measures.data_quality.areas_by_level``)."""
    return _bars(counts["areas"].to_numpy(), counts["level"].to_numpy(), x_title="areas",
                 text=counts["areas"].to_numpy(), min_height=240)
