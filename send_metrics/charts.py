"""Plotly figures for the dashboard and the board pack (no Streamlit here).

Accessibility rules (Government Analysis Function): the accessible palette, no more than two
coloured lines without direct labels, significance shown by symbol and text as well as colour,
short active titles set by the caller. Every function takes tables that have already been
through disclosure control; a suppressed value is NaN and is drawn as a gap, never as zero.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

PALETTE = ["#12436D", "#28A197", "#801650", "#F46A25", "#3D3D3D", "#A285D1"]
SEQUENTIAL = ["#12436D", "#2073BC", "#6BACE6"]
GREY = "#BFBFBF"
SPC_COLOURS = {"special_cause_improvement": "#00b0f0", "special_cause_concern": "#e46c0a",
               "common_cause": "#a6a6a6", "special_cause_neutral": "#490092"}
SPC_LETTERS = {"special_cause_improvement": "I", "special_cause_concern": "C",
               "common_cause": "", "special_cause_neutral": "N"}
SIG_SYMBOL = {"better": "triangle-up", "worse": "triangle-down", "similar": "circle",
              "higher": "triangle-up", "lower": "triangle-down", "not_compared": "circle-open"}
SIG_COLOUR = {"better": "#28A197", "worse": "#801650", "similar": "#F46A25", "higher": "#12436D",
              "lower": "#12436D", "not_compared": "#3D3D3D"}


def _layout(fig: go.Figure, y_title: str = "", x_title: str = "", height: int = 420) -> go.Figure:
    fig.update_layout(
        template="plotly_white", height=height, margin=dict(l=10, r=10, t=30, b=10),
        font=dict(family="Arial, sans-serif", size=14, color="#0B0C0C"),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
        yaxis_title=y_title, xaxis_title=x_title, hovermode="x unified")
    return fig


def trend_lines(df: pd.DataFrame, *, x: str = "period_label", y: str = "value", group: str = "area_name",
                lower: str = "lower_95", upper: str = "upper_95", y_title: str = "",
                benchmark: pd.DataFrame | None = None) -> go.Figure:
    """One line per group with its 95% interval as a band; lines labelled at their end."""
    fig = go.Figure()
    for i, (name, g) in enumerate(df.groupby(group, sort=False)):
        colour = PALETTE[i % len(PALETTE)]
        if lower in g and g[lower].notna().any():
            fig.add_trace(go.Scatter(x=list(g[x]) + list(g[x])[::-1],
                                     y=list(g[upper]) + list(g[lower])[::-1], fill="toself",
                                     fillcolor=_rgba(colour, 0.15), line=dict(width=0), hoverinfo="skip",
                                     showlegend=False, name=f"{name} 95% interval"))
        fig.add_trace(go.Scatter(x=g[x], y=g[y], mode="lines+markers", name=str(name),
                                 line=dict(color=colour, width=3),
                                 marker=dict(symbol=["circle", "square", "diamond", "triangle-up",
                                                     "x", "star"][i % 6], size=8)))
        last = g.dropna(subset=[y]).tail(1)
        if len(last):
            fig.add_annotation(x=last[x].iloc[0], y=last[y].iloc[0], text=f" {name}", showarrow=False,
                               xanchor="left", font=dict(color=colour, size=12))
    if benchmark is not None and len(benchmark):
        fig.add_trace(go.Scatter(x=benchmark[x], y=benchmark[y], mode="lines", name="England",
                                 line=dict(color="#3D3D3D", dash="dash", width=2)))
    return _layout(fig, y_title)


def ranked_bars(df: pd.DataFrame, *, label: str = "area_name", value: str = "value",
                lower: str = "lower_95", upper: str = "upper_95", highlight: str | None = None,
                x_title: str = "", benchmark: float | None = None, benchmark_name: str = "England",
                sig: str | None = None) -> go.Figure:
    """Horizontal bars, largest first, with 95% interval whiskers and an optional benchmark line."""
    d = df.dropna(subset=[value]).sort_values(value)
    colours = [PALETTE[0] if (highlight is None or row[label] == highlight) else GREY for _, row in d.iterrows()]
    err = None
    if lower in d and d[lower].notna().any():
        err = dict(type="data", symmetric=False, array=(d[upper] - d[value]).clip(lower=0),
                   arrayminus=(d[value] - d[lower]).clip(lower=0), color="#3D3D3D", thickness=1.5)
    text = None
    if sig and sig in d:
        text = [f"{_sig_word(s)}" for s in d[sig]]
    fig = go.Figure(go.Bar(x=d[value], y=d[label], orientation="h", marker_color=colours, error_x=err,
                           text=text, textposition="inside", insidetextanchor="start",
                           hovertemplate="%{y}: %{x:,.1f}<extra></extra>"))
    if benchmark is not None and np.isfinite(benchmark):
        fig.add_vline(x=benchmark, line=dict(color="#3D3D3D", dash="dash"),
                      annotation_text=f"{benchmark_name} {benchmark:,.1f}", annotation_position="top")
    return _layout(fig, x_title=x_title, height=max(260, 34 * len(d) + 80))


def _sig_word(s) -> str:
    return {"better": "▲ better", "worse": "▼ worse", "similar": "● similar", "higher": "▲ higher",
            "lower": "▼ lower"}.get(str(s), "")


def spc_chart(spc_df: pd.DataFrame, *, x: str = "date", y_title: str = "", target: float | None = None,
              rebase_dates: list | None = None) -> go.Figure:
    """Making Data Count XmR chart: mean, process limits, coloured points with rule letters."""
    fig = go.Figure()
    xs = spc_df[x] if x in spc_df else spc_df.index
    fig.add_trace(go.Scatter(x=xs, y=spc_df["value"], mode="lines", line=dict(color="#a6a6a6", width=2),
                             name="Value", showlegend=False, hoverinfo="skip"))
    for var, g in spc_df.groupby("variation", sort=False):
        gx = g[x] if x in g else g.index
        fig.add_trace(go.Scatter(
            x=gx, y=g["value"], mode="markers+text", name=var.replace("_", " ").capitalize(),
            text=[SPC_LETTERS.get(var, "")] * len(g), textposition="top center",
            marker=dict(color=SPC_COLOURS.get(var, "#a6a6a6"), size=10,
                        symbol="circle" if var == "common_cause" else "diamond"),
            customdata=g["rule"].fillna("none"),
            hovertemplate="%{x}: %{y:,.1f}<br>rule: %{customdata}<extra></extra>"))
    for col, name, dash in (("mean", "Mean", "solid"), ("upper_limit", "Upper process limit", "dash"),
                            ("lower_limit", "Lower process limit", "dash")):
        if col in spc_df:
            fig.add_trace(go.Scatter(x=xs, y=spc_df[col], mode="lines", name=name,
                                     line=dict(color="#3D3D3D", dash=dash, width=1.5)))
    if target is not None:
        fig.add_trace(go.Scatter(x=xs, y=[target] * len(spc_df), mode="lines", name=f"Target {target:g}",
                                 line=dict(color="#801650", dash="dot", width=2)))
    for d in rebase_dates or []:
        fig.add_vline(x=d, line=dict(color="#12436D", dash="dot"), annotation_text="Rebase")
    return _layout(fig, y_title)


def funnel_plot(df: pd.DataFrame, limits: pd.DataFrame, *, x: str = "denominator", y: str = "value",
                label: str = "area_name", highlight: list[str] | None = None, benchmark: float | None = None,
                x_title: str = "", y_title: str = "") -> go.Figure:
    """Spiegelhalter funnel: every area against its size, with 95% and 99.8% limits."""
    fig = go.Figure()
    for col, name, dash in (("lower_95", "95% limits", "dash"), ("upper_95", None, "dash"),
                            ("lower_998", "99.8% limits", "dot"), ("upper_998", None, "dot")):
        fig.add_trace(go.Scatter(x=limits["denominator"], y=limits[col], mode="lines", name=name or col,
                                 showlegend=name is not None, line=dict(color="#3D3D3D", dash=dash, width=1)))
    if benchmark is not None:
        fig.add_hline(y=benchmark, line=dict(color="#3D3D3D"), annotation_text=f"Benchmark {benchmark:,.1f}")
    hl = set(highlight or [])
    others = df[~df[label].isin(hl)]
    fig.add_trace(go.Scatter(x=others[x], y=others[y], mode="markers", name="Other areas",
                             marker=dict(color=GREY, size=7), text=others[label],
                             hovertemplate="%{text}: %{y:,.1f} (n=%{x:,})<extra></extra>"))
    mine = df[df[label].isin(hl)]
    fig.add_trace(go.Scatter(x=mine[x], y=mine[y], mode="markers+text", name="Selected",
                             marker=dict(color=PALETTE[0], size=12, symbol="diamond"), text=mine[label],
                             textposition="top center"))
    fig.update_xaxes(type="log")
    return _layout(fig, y_title, x_title)


def spine_chart(df: pd.DataFrame) -> go.Figure:
    """Fingertips-style spine: each measure's value placed within the range of comparators.

    `df` has columns measure_title, value, min, q25, q75, max, benchmark, sig. Values are
    scaled so that the benchmark sits in the middle.
    """
    fig = go.Figure()
    rows = df.reset_index(drop=True)
    for i, r in rows.iterrows():
        lo, hi, b = r["min"], r["max"], r["benchmark"]
        span = max(abs(hi - b), abs(b - lo)) or 1.0
        scale = lambda v: (v - b) / span  # noqa: E731
        fig.add_trace(go.Bar(x=[scale(hi) - scale(lo)], base=[scale(lo)], y=[r["measure_title"]],
                             orientation="h", marker_color="#DDDDDD", showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Bar(x=[scale(r["q75"]) - scale(r["q25"])], base=[scale(r["q25"])],
                             y=[r["measure_title"]], orientation="h", marker_color="#9EB6CB",
                             showlegend=False, hoverinfo="skip"))
        sig = str(r.get("sig", "not_compared"))
        fig.add_trace(go.Scatter(x=[scale(r["value"])], y=[r["measure_title"]], mode="markers",
                                 marker=dict(symbol=SIG_SYMBOL.get(sig, "circle"), size=14,
                                             color=SIG_COLOUR.get(sig, "#3D3D3D"), line=dict(color="#0B0C0C", width=1)),
                                 name=_sig_word(sig) or "not compared", showlegend=False,
                                 hovertemplate=f"{r['measure_title']}: {r['value']:,.1f} ({_sig_word(sig)})<extra></extra>"))
    fig.add_vline(x=0, line=dict(color="#0B0C0C", width=2))
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(showticklabels=False, range=[-1.1, 1.1])
    return _layout(fig, height=max(300, 40 * len(rows) + 80))


def stacked_share(df: pd.DataFrame, *, x: str, colour: str, y: str, y_title: str = "") -> go.Figure:
    """Stacked bars of a mix (e.g. primary need) over time or across areas."""
    fig = go.Figure()
    for i, (name, g) in enumerate(df.groupby(colour, sort=False)):
        fig.add_trace(go.Bar(x=g[x], y=g[y], name=str(name), marker_color=PALETTE[i % len(PALETTE)]
                             if i < len(PALETTE) else SEQUENTIAL[i % 3],
                             marker_pattern_shape=["", "/", "\\", "x", "-", "|", "+", "."][i % 8]))
    fig.update_layout(barmode="stack")
    return _layout(fig, y_title)


def projection_chart(df: pd.DataFrame, *, y_title: str = "EHC plans") -> go.Figure:
    """Observed caseload and the projection with 80% and 95% prediction intervals."""
    fig = go.Figure()
    obs = df[df["kind"] == "observed"]
    proj = df[df["kind"] == "projected"]
    if len(proj):
        for lo, hi, alpha, name in (("lower_95", "upper_95", 0.12, "95% prediction interval"),
                                    ("lower_80", "upper_80", 0.25, "80% prediction interval")):
            fig.add_trace(go.Scatter(x=list(proj["year"]) + list(proj["year"])[::-1],
                                     y=list(proj[hi]) + list(proj[lo])[::-1], fill="toself",
                                     fillcolor=_rgba(PALETTE[1], alpha), line=dict(width=0), name=name))
        fig.add_trace(go.Scatter(x=proj["year"], y=proj["value"], mode="lines+markers", name="Projection",
                                 line=dict(color=PALETTE[1], dash="dash", width=3)))
    fig.add_trace(go.Scatter(x=obs["year"], y=obs["value"], mode="lines+markers", name="Observed",
                             line=dict(color=PALETTE[0], width=3)))
    return _layout(fig, y_title)


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"
