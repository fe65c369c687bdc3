"""Plotly figures for the dashboard and the board pack (no Streamlit here).

Accessibility rules (Government Analysis Function): the accessible palette, no more than two
coloured lines without direct labels, significance shown by symbol and text as well as colour,
short active titles set by the caller. Every function takes tables that have already been
through disclosure control; a suppressed value is NaN and is drawn as a gap, never as zero.

This module holds the house theme (the "send_white" template, set as plotly's default when it is
imported, the palettes and the layout helpers) and the common charts: lines, bars, funnels,
spines, forests, stacked shares and projections. SPC charts are in `spc_charts`, maps of the
localities in `maps`; both build on the theme here.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly import shapeannotation

# Set once: passing a template to each figure re-validates the whole template (about 25 ms a
# chart); the default is validated once per process.
#
# "send_white" is plotly_white cut to what these charts draw (2-D axes, bars, lines, maps): every
# figure carries its template to the browser on every rerun, and plotly_white's defaults for 3-D,
# polar, ternary, contour and heatmap traces are about 5 KB of JSON per chart that nothing uses.
# The charts look exactly as with plotly_white (the kept parts are plotly_white's own).
_KEEP_LAYOUT = ("annotationdefaults", "autotypenumbers", "colorway", "font", "hoverlabel", "hovermode",
                "paper_bgcolor", "plot_bgcolor", "shapedefaults", "title", "xaxis", "yaxis", "geo", "coloraxis",
                "colorscale")
_KEEP_TRACES = ("scatter", "bar", "choropleth", "scattergeo", "choroplethmap", "scattermap", "histogram")


def _lean_template() -> go.layout.Template:
    white = pio.templates["plotly_white"].to_plotly_json()
    layout = {k: v for k, v in white.get("layout", {}).items() if k in _KEEP_LAYOUT}
    data = {k: v for k, v in white.get("data", {}).items() if k in _KEEP_TRACES}
    return go.layout.Template(layout=layout, data=data)


pio.templates["send_white"] = _lean_template()
pio.templates.default = "send_white"

PALETTE = ["#12436D", "#28A197", "#801650", "#F46A25", "#3D3D3D", "#A285D1"]
SEQUENTIAL = ["#12436D", "#2073BC", "#6BACE6"]
GREY = "#BFBFBF"
SIG_SYMBOL = {"better": "triangle-up", "worse": "triangle-down", "similar": "circle",
              "higher": "triangle-up", "lower": "triangle-down", "not_compared": "circle-open"}
SIG_COLOUR = {"better": "#28A197", "worse": "#801650", "similar": "#F46A25", "higher": "#12436D",
              "lower": "#12436D", "not_compared": "#3D3D3D"}


def _layout_dict(y_title: str = "", x_title: str = "", height: int = 420) -> dict:
    return dict(height=height, margin=dict(l=10, r=10, t=30, b=10),
                font=dict(family="Arial, sans-serif", size=14, color="#0B0C0C"),
                legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
                yaxis=dict(title=dict(text=y_title)), xaxis=dict(title=dict(text=x_title)), hovermode="x unified")


def _layout(fig: go.Figure, y_title: str = "", x_title: str = "", height: int = 420) -> go.Figure:
    fig.update_layout(**_layout_dict(y_title, x_title, height))
    return fig


def _figure(traces: list[dict], y_title: str = "", x_title: str = "", height: int = 420,
            **layout) -> go.Figure:
    """One figure from trace dicts and the house layout, validated once: adding traces one by one
    and updating the layout afterwards re-validates the figure each time (tens of ms a chart)."""
    lay = _layout_dict(y_title, x_title, height)
    for k, v in layout.items():
        if isinstance(v, dict) and isinstance(lay.get(k), dict):
            lay[k] = {**lay[k], **v}
        else:
            lay[k] = v
    return go.Figure(data=traces, layout=lay)


def _spanning_line(kind: str, value, **kwargs) -> tuple[dict, dict | None]:
    """The shape and label that ``fig.add_vline`` / ``fig.add_hline`` add to a single-plot figure,
    as plain dicts (built the way plotly builds them), so they can be added with the rest of the
    layout: add_vline itself re-validates the whole figure (several ms a line)."""
    shape_kwargs, annotation_kwargs = shapeannotation.split_dict_by_key_prefix(kwargs, "annotation_")
    if kind == "vline":
        args = dict(type="line", x0=value, x1=value, y0=0, y1=1)
    else:
        args = dict(type="line", x0=0, x1=1, y0=value, y1=value)
    span = "yref" if kind == "vline" else "xref"
    shape = {**args, **shape_kwargs}
    shape.setdefault("xref", "x")
    shape.setdefault("yref", "y")
    shape[span] += " domain"
    label = shapeannotation.axis_spanning_shape_annotation(None, kind, args, annotation_kwargs)
    if label is not None:
        label = {**label, "yref": shape_kwargs.get("yref", "y")}
        label.setdefault("xref", "x")
        label[span] += " domain"
    return shape, label


def _line_layout(fig_layout, lines: list[tuple[dict, dict | None]]) -> dict:
    """``shapes`` and ``annotations`` with the spanning lines added after the existing ones."""
    shapes = [*(fig_layout.get("shapes") or ()), *(shape for shape, _ in lines)]
    annotations = [*(fig_layout.get("annotations") or ()), *(label for _, label in lines if label is not None)]
    return dict(shapes=shapes, annotations=annotations)


def _add_lines(fig: go.Figure, lines: list[tuple[dict, dict | None]]) -> go.Figure:
    for shape, label in lines:
        fig.add_shape(shape)
        if label is not None:
            fig.add_annotation(label)
    return fig


def wrap_lines(text: str, width: int = 28) -> list[str]:
    """Words of ``text`` in lines of at most ``width`` characters (a longer word stands alone)."""
    words, lines, line = str(text).split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    lines.append(line)
    return lines


def wrap_label(text: str, width: int = 28) -> str:
    """A long axis label broken into lines (<br>) of at most ``width`` characters, so it fits beside
    a chart on a phone (390 px) instead of being cut off."""
    return "<br>".join(wrap_lines(text, width))


def _arr(s) -> np.ndarray:
    """A column as a plain array (plotly converts a pandas Series itself, at some cost)."""
    return s.to_numpy() if isinstance(s, (pd.Series, pd.Index)) else np.asarray(s)


def trend_lines(df: pd.DataFrame, *, x: str = "period_label", y: str = "value", group: str = "area_name",
                lower: str = "lower_95", upper: str = "upper_95", y_title: str = "",
                benchmark: pd.DataFrame | None = None) -> go.Figure:
    """One line per group with its 95% interval as a band; lines labelled at their end."""
    traces, annotations = [], []
    for i, (name, g) in enumerate(df.groupby(group, sort=False)):
        colour = PALETTE[i % len(PALETTE)]
        if lower in g and g[lower].notna().any():
            traces.append(dict(type="scatter", x=list(g[x]) + list(g[x])[::-1],
                               y=list(g[upper]) + list(g[lower])[::-1], fill="toself",
                               fillcolor=_rgba(colour, 0.15), line=dict(width=0), hoverinfo="skip",
                               showlegend=False, name=f"{name} 95% interval"))
        traces.append(dict(type="scatter", x=_arr(g[x]), y=_arr(g[y]), mode="lines+markers", name=str(name),
                           line=dict(color=colour, width=3),
                           marker=dict(symbol=["circle", "square", "diamond", "triangle-up",
                                               "x", "star"][i % 6], size=8)))
        ys = g[y].to_numpy()
        has = np.flatnonzero(pd.notna(ys))
        if len(has):
            last = has[-1]
            # A long name on lines of 16 characters: the room after the last point (a fifth of
            # the axis) holds "Westmorland and" but not "Westmorland and Furness".
            label = "<br>".join(f" {part}" for part in wrap_lines(str(name), 16))
            annotations.append(dict(x=g[x].iloc[last], y=ys[last], text=label, showarrow=False,
                                    xanchor="left", align="left", font=dict(color=colour, size=12)))
    if benchmark is not None and len(benchmark):
        traces.append(dict(type="scatter", x=_arr(benchmark[x]), y=_arr(benchmark[y]), mode="lines", name="England",
                           line=dict(color="#3D3D3D", dash="dash", width=2)))
    shown = [t["y"] for t in traces]
    annotations = spread_end_labels(annotations, np.concatenate([np.asarray(v, dtype=float) for v in shown])
                                    if shown else np.array([]), height=420)
    # The end labels run into a right margin of their own, so a phone (390 px) shows them whole.
    return _figure(traces, y_title, annotations=annotations, **_x_range(df[x], room=bool(annotations)),
                   **({"margin": dict(r=115)} if annotations else {}))


END_LABEL_LINE_PX = 15  # a line of a 12 px end label
END_LABEL_PLOT_PX = 280  # the plot area of a 420 px line chart, a little under its usual ~300 px (legend, axes)


def spread_end_labels(annotations: list[dict], values: np.ndarray, height: int = 420) -> list[dict]:
    """End-of-line labels that do not overlap: labels whose lines end close together are nudged
    apart vertically, each with a thin leader line to its line's last point; when they cannot all
    fit beside the plot (many series, long names), none is drawn and the legend names the lines.

    Positions are worked out in pixels from an estimate of the plot area (``END_LABEL_PLOT_PX``
    of a ``height`` of 420 px) and the range of the values drawn (``values``: every y value of
    every trace, NaN allowed), so a label moves only when it would touch another."""
    if len(annotations) < 2:
        return annotations
    v = values[np.isfinite(values)]
    if not len(v):
        return annotations
    lo, hi = float(v.min()), float(v.max())
    span = (hi - lo) * 1.1 or 1.0  # plotly pads the autorange a little
    plot_px = END_LABEL_PLOT_PX * height / 420
    px = plot_px / span  # pixels per unit
    sizes = [END_LABEL_LINE_PX * (str(a["text"]).count("<br>") + 1) for a in annotations]
    if sum(sizes) > plot_px * 0.9:
        return []  # too many or too long to fit beside the plot: the legend names the lines
    order = sorted(range(len(annotations)), key=lambda i: float(annotations[i]["y"]))
    want = [float(annotations[i]["y"]) * px for i in order]  # centres, pixels up from 0
    size = [sizes[i] for i in order]
    pos = list(want)
    for _ in range(len(pos)):  # push up where two touch, then back down from the top of the plot
        for k in range(1, len(pos)):
            pos[k] = max(pos[k], pos[k - 1] + (size[k - 1] + size[k]) / 2)
        top = (lo + span / 1.1 * 1.05) * px + size[-1] / 2
        over = pos[-1] - top
        if over <= 0:
            break
        pos[-1] -= over
        for k in range(len(pos) - 2, -1, -1):
            pos[k] = min(pos[k], pos[k + 1] - (size[k] + size[k + 1]) / 2)
    out = list(annotations)
    for k, i in enumerate(order):
        shift = pos[k] - want[k]
        if abs(shift) >= 1:
            a = dict(annotations[i])
            colour = a.get("font", {}).get("color", "#3D3D3D")
            # The text moves; a leader line keeps it tied to the line's last point.
            a.update(showarrow=True, ax=14, ay=-round(shift), axref="pixel", ayref="pixel", arrowhead=0,
                     arrowwidth=1, arrowcolor=colour, standoff=4)
            out[i] = a
    return out


def _x_range(xs: pd.Series, room: bool = True) -> dict:
    """An x axis that ends just after the data, with room for the end-of-line labels (plotly's
    own range, with the labels, can run years past the last point); ``room=False``: no labels, so
    only a small pad after the last point."""
    v = pd.Series(xs).dropna()
    if v.empty:
        return {}
    if pd.api.types.is_datetime64_any_dtype(v):
        lo, hi = v.min(), v.max()
        span = (hi - lo) if hi > lo else pd.Timedelta(days=365)
        return {"xaxis": dict(range=[lo - span * 0.02, hi + span * (0.2 if room else 0.02)])}
    if pd.api.types.is_numeric_dtype(v):
        lo, hi = float(v.min()), float(v.max())
        span = (hi - lo) or 1.0
        return {"xaxis": dict(range=[lo - span * 0.03, hi + (max(0.5, span * 0.2) if room else span * 0.03)])}
    return {}


def ranked_bars(df: pd.DataFrame, *, label: str = "area_name", value: str = "value",
                lower: str = "lower_95", upper: str = "upper_95", highlight: str | None = None,
                x_title: str = "", benchmark: float | None = None, benchmark_name: str = "England",
                sig: str | None = None) -> go.Figure:
    """Horizontal bars, largest first, with 95% interval whiskers and an optional benchmark line."""
    d = df.dropna(subset=[value]).sort_values(value)
    colours = [PALETTE[0] if (highlight is None or v == highlight) else GREY for v in d[label]]
    err = None
    if lower in d and d[lower].notna().any():
        err = dict(type="data", symmetric=False, array=_arr((d[upper] - d[value]).clip(lower=0)),
                   arrayminus=_arr((d[value] - d[lower]).clip(lower=0)), color="#3D3D3D", thickness=1.5)
    text = None
    if sig and sig in d:
        text = [f"{_sig_word(s)}" for s in d[sig]]
    lines = []
    if benchmark is not None and np.isfinite(benchmark):
        lines.append(_spanning_line("vline", benchmark, line=dict(color="#3D3D3D", dash="dash"),
                                    annotation_text=f"{benchmark_name} {benchmark:,.1f}",
                                    annotation_position="top"))
    return _figure([dict(type="bar", x=_arr(d[value]), y=_arr(d[label]), orientation="h", marker_color=colours,
                         error_x=err, text=text, textposition="inside", insidetextanchor="start",
                         hovertemplate="%{y}: %{x:,.1f}<extra></extra>")],
                   x_title=x_title, height=max(260, 34 * len(d) + 80), **(_line_layout({}, lines) if lines else {}))


def _sig_word(s) -> str:
    return {"better": "▲ better", "worse": "▼ worse", "similar": "● similar", "higher": "▲ higher",
            "lower": "▼ lower"}.get(str(s), "")


def funnel_plot(df: pd.DataFrame, limits: pd.DataFrame, *, x: str = "denominator", y: str = "value",
                label: str = "area_name", highlight: list[str] | None = None, benchmark: float | None = None,
                x_title: str = "", y_title: str = "") -> go.Figure:
    """Spiegelhalter funnel: every area against its size, with 95% and 99.8% limits."""
    traces = []
    for col, name, dash in (("lower_95", "95% limits", "dash"), ("upper_95", None, "dash"),
                            ("lower_998", "99.8% limits", "dot"), ("upper_998", None, "dot")):
        traces.append(dict(type="scatter", x=_arr(limits["denominator"]), y=_arr(limits[col]), mode="lines",
                           name=name or col, showlegend=name is not None,
                           line=dict(color="#3D3D3D", dash=dash, width=1)))
    hl = set(highlight or [])
    mine_rows = df[label].isin(hl)
    others = df[~mine_rows]
    traces.append(dict(type="scatter", x=_arr(others[x]), y=_arr(others[y]), mode="markers", name="Other areas",
                       marker=dict(color=GREY, size=7), text=_arr(others[label]),
                       hovertemplate="%{text}: %{y:,.1f} (n=%{x:,})<extra></extra>"))
    mine = df[mine_rows]
    traces.append(dict(type="scatter", x=_arr(mine[x]), y=_arr(mine[y]), mode="markers+text", name="Selected",
                       marker=dict(color=PALETTE[0], size=12, symbol="diamond"), text=_arr(mine[label]),
                       textposition="top center"))
    lines = []
    if benchmark is not None:
        lines.append(_spanning_line("hline", benchmark, line=dict(color="#3D3D3D"),
                                    annotation_text=f"Benchmark {benchmark:,.1f}"))
    return _figure(traces, y_title, x_title, xaxis=dict(type="log"), **(_line_layout({}, lines) if lines else {}))


def spine_chart(df: pd.DataFrame) -> go.Figure:
    """Fingertips-style spine: each measure's value placed within the range of comparators.

    `df` has columns measure_title, value, min, q25, q75, max, benchmark, sig. Values are
    scaled so that the benchmark sits in the middle.
    """
    rows = df.reset_index(drop=True).copy()
    rows["measure_title"] = rows["measure_title"].map(wrap_label)
    lines = int(rows["measure_title"].str.count("<br>").sum()) + len(rows)
    traces = []
    for r in rows.to_dict("records"):
        lo, hi, b = r["min"], r["max"], r["benchmark"]
        span = max(abs(hi - b), abs(b - lo)) or 1.0
        scale = lambda v: (v - b) / span  # noqa: E731
        traces.append(dict(type="bar", x=[scale(hi) - scale(lo)], base=[scale(lo)], y=[r["measure_title"]],
                           orientation="h", marker_color="#DDDDDD", showlegend=False, hoverinfo="skip"))
        traces.append(dict(type="bar", x=[scale(r["q75"]) - scale(r["q25"])], base=[scale(r["q25"])],
                           y=[r["measure_title"]], orientation="h", marker_color="#9EB6CB",
                           showlegend=False, hoverinfo="skip"))
        sig = str(r.get("sig", "not_compared"))
        traces.append(dict(type="scatter", x=[scale(r["value"])], y=[r["measure_title"]], mode="markers",
                           marker=dict(symbol=SIG_SYMBOL.get(sig, "circle"), size=14,
                                       color=SIG_COLOUR.get(sig, "#3D3D3D"), line=dict(color="#0B0C0C", width=1)),
                           name=_sig_word(sig) or "not compared", showlegend=False,
                           hovertemplate=f"{r['measure_title']}: {r['value']:,.1f} ({_sig_word(sig)})<extra></extra>"))
    return _figure(traces, height=max(300, 18 * lines + 24 * len(rows) + 80), barmode="overlay",
                   xaxis=dict(showticklabels=False, range=[-1.1, 1.1]), yaxis=dict(automargin=True),
                   **_line_layout({}, [_spanning_line("vline", 0, line=dict(color="#0B0C0C", width=2))]))


# A fixed colour (and pattern) for each primary need and setting, the same in every chart, map
# and the board pack (Analysis Function categorical palette first, then its sequential blues).
NEED_COLOURS = {"ASD": PALETTE[0], "SLCN": PALETTE[1], "SEMH": PALETTE[2], "MLD": PALETTE[3], "SLD": PALETTE[4],
                "OTHER": PALETTE[5], "OTH": PALETTE[5], "SPLD": SEQUENTIAL[1], "PMLD": SEQUENTIAL[2],
                "PD": SEQUENTIAL[1], "HI": SEQUENTIAL[2], "VI": SEQUENTIAL[1], "MSI": SEQUENTIAL[2],
                "DS": SEQUENTIAL[1], "NSA": SEQUENTIAL[2], "UNK": "#6F777B"}
SETTING_COLOURS = {"mainstream": PALETTE[0], "special": PALETTE[1], "alternative_provision": PALETTE[2],
                   "independent": PALETTE[3], "post16": PALETTE[4], "other": PALETTE[5],
                   "early_years": SEQUENTIAL[1]}
_PATTERNS = ["", "/", "\\", "x", "-", "|", "+", "."]
NEED_PATTERNS = {code: _PATTERNS[i % len(_PATTERNS)] for i, code in enumerate(
    ["ASD", "SLCN", "SEMH", "MLD", "SLD", "OTHER", "SPLD", "PMLD", "PD", "HI", "VI", "MSI", "DS", "NSA", "UNK"])}
NEED_PATTERNS["OTH"] = NEED_PATTERNS["OTHER"]


def need_colours(labels: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(colour, pattern) by shown label, for a {code: label} mapping of needs."""
    return ({lab: NEED_COLOURS.get(code, GREY) for code, lab in labels.items()},
            {lab: NEED_PATTERNS.get(code, "") for code, lab in labels.items()})


def stacked_share(df: pd.DataFrame, *, x: str, colour: str, y: str, y_title: str = "",
                  colours: dict[str, str] | None = None, patterns: dict[str, str] | None = None) -> go.Figure:
    """Stacked bars of a mix (e.g. primary need) over time or across areas. ``colours`` and
    ``patterns`` fix each category's look by name (NEED_COLOURS, SETTING_COLOURS), so a need keeps
    its colour whatever its rank; categories not named take the palette in order."""
    traces = []
    colours, patterns = colours or {}, patterns or {}
    for i, (name, g) in enumerate(df.groupby(colour, sort=False)):
        fallback = PALETTE[i % len(PALETTE)] if i < len(PALETTE) else SEQUENTIAL[i % 3]
        traces.append(dict(type="bar", x=_arr(g[x]), y=_arr(g[y]), name=str(name),
                           marker_color=colours.get(str(name), fallback),
                           marker_pattern_shape=patterns.get(str(name), _PATTERNS[i % 8])))
    return _figure(traces, y_title, barmode="stack")


def projection_chart(df: pd.DataFrame, *, y_title: str = "EHC plans") -> go.Figure:
    """Observed caseload and the projection with 80% and 95% prediction intervals."""
    traces = []
    obs = df[df["kind"] == "observed"]
    proj = df[df["kind"] == "projected"]
    if len(proj):
        for lo, hi, alpha, name in (("lower_95", "upper_95", 0.12, "95% prediction interval"),
                                    ("lower_80", "upper_80", 0.25, "80% prediction interval")):
            traces.append(dict(type="scatter", x=list(proj["year"]) + list(proj["year"])[::-1],
                               y=list(proj[hi]) + list(proj[lo])[::-1], fill="toself",
                               fillcolor=_rgba(PALETTE[1], alpha), line=dict(width=0), name=name))
        traces.append(dict(type="scatter", x=_arr(proj["year"]), y=_arr(proj["value"]), mode="lines+markers",
                           name="Projection", line=dict(color=PALETTE[1], dash="dash", width=3)))
    traces.append(dict(type="scatter", x=_arr(obs["year"]), y=_arr(obs["value"]), mode="lines+markers",
                       name="Observed", line=dict(color=PALETTE[0], width=3)))
    return _figure(traces, y_title)


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


# -- comparison pages (equity, benchmarks, waiting times, needs) -------------------------------
VERDICT_SYMBOL = {"a_higher": "triangle-up", "a_lower": "triangle-down", "no_difference": "circle",
                  "not_tested": "circle-open", "not_compared": "circle-open", "suppressed": "x-thin-open"}
SUPPRESSED_GREY = "#E1E1E1"
# Text that keeps 4.5:1 contrast on each categorical colour.
_TEXT_ON = {"#12436D": "#FFFFFF", "#28A197": "#0B0C0C", "#801650": "#FFFFFF", "#F46A25": "#0B0C0C",
            "#3D3D3D": "#FFFFFF", "#A285D1": "#0B0C0C"}


def add_reference_line(fig: go.Figure, value: float | None, name: str, *, axis: str = "x",
                       dash: str = "dot", colour: str = "#3D3D3D", position: str | None = None) -> go.Figure:
    """A labelled benchmark line (e.g. North West beside the England line of ranked_bars)."""
    if value is None or not np.isfinite(value):
        return fig
    return _add_lines(fig, [_spanning_line(
        "vline" if axis == "x" else "hline", value, line=dict(color=colour, dash=dash, width=1.5),
        annotation_text=f"{name} {value:,.1f}",
        annotation_position=position or ("bottom right" if axis == "x" else "top left"),
        annotation_font=dict(color=colour, size=12))])


def ratio_forest(df: pd.DataFrame, *, label: str = "measure_title", ratio: str = "ratio",
                 lower: str = "ratio_lower", upper: str = "ratio_upper", verdict: str = "verdict",
                 names: dict | None = None, x_title: str = "Ratio (log scale)") -> go.Figure:
    """Ratios with 95% intervals on a log scale and a line at 1 (no difference). The verdict is
    shown by the marker's shape and colour and named in the legend (symbol + words)."""
    names = names or {"a_higher": "▲ Significantly higher", "a_lower": "▼ Significantly lower",
                      "no_difference": "● No significant difference"}
    d = df.dropna(subset=[ratio]).copy()
    d = d[np.isfinite(d[ratio].astype(float)) & (d[ratio].astype(float) > 0)]
    d = d.iloc[::-1]  # first row at the top
    d[label] = d[label].map(wrap_label)
    lines = int(d[label].str.count("<br>").sum()) + len(d)
    traces = []
    for v in ("a_higher", "a_lower", "no_difference", "not_tested", "suppressed"):
        g = d[d[verdict] == v]
        if g.empty:
            continue
        err = dict(type="data", symmetric=False, array=_arr((g[upper] - g[ratio]).clip(lower=0).fillna(0)),
                   arrayminus=_arr((g[ratio] - g[lower]).clip(lower=0).fillna(0)), color="#3D3D3D", thickness=1.5)
        colour = {"a_higher": PALETTE[0], "a_lower": PALETTE[2], "no_difference": PALETTE[4]}.get(v, "#6F777B")
        traces.append(dict(type="scatter", x=_arr(g[ratio]), y=_arr(g[label]), mode="markers", error_x=err,
                           marker=dict(symbol=VERDICT_SYMBOL.get(v, "circle"), size=12, color=colour),
                           name=names.get(v, v), customdata=np.stack([g[lower], g[upper]], axis=-1),
                           hovertemplate="%{y}: ratio %{x:.2f} (95% CI %{customdata[0]:.2f} to "
                                         "%{customdata[1]:.2f})<extra></extra>"))
    ticks = [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 4, 10]
    return _figure(traces, x_title=x_title, height=max(300, 20 * lines + 14 * len(d) + 130), hovermode="closest",
                   yaxis=dict(automargin=True, categoryorder="array", categoryarray=list(d[label])),
                   xaxis=dict(type="log", tickvals=ticks, ticktext=[f"{t:g}" for t in ticks],
                              minor=dict(showgrid=False)),
                   **_line_layout({}, [_spanning_line("vline", 1, line=dict(color="#0B0C0C", width=1.5))]))


def grouped_bars(df: pd.DataFrame, *, category: str, group: str, value: str, lower: str | None = None,
                 upper: str | None = None, x_title: str = "", text: str | None = None,
                 group_order: list | None = None) -> go.Figure:
    """Horizontal bars grouped by ``group`` (at most a few), each group with its own colour AND
    pattern, value labels on the bars and optional 95% interval whiskers."""
    traces = []
    groups = group_order or list(pd.unique(df[group]))
    cats = list(pd.unique(df[category]))[::-1]
    shapes = ["", "/", ".", "x"]
    for i, gname in enumerate(groups):
        g = df[df[group] == gname].set_index(category).reindex(cats)
        err = None
        if lower and upper:
            err = dict(type="data", symmetric=False, array=_arr((g[upper] - g[value]).clip(lower=0).fillna(0)),
                       arrayminus=_arr((g[value] - g[lower]).clip(lower=0).fillna(0)), color="#0B0C0C",
                       thickness=1.2)
        labels = g[text] if text else g[value].map(lambda v: "" if pd.isna(v) else f"{v:,.1f}")
        traces.append(dict(type="bar", x=_arr(g[value]), y=cats, orientation="h", name=str(gname), error_x=err,
                           marker=dict(color=PALETTE[i % len(PALETTE)], pattern_shape=shapes[i % 4],
                                       pattern_fgcolor="#FFFFFF", pattern_solidity=0.12, pattern_size=10),
                           text=_arr(labels), textposition="inside", insidetextanchor="start",
                           textfont=dict(color=_TEXT_ON.get(PALETTE[i % len(PALETTE)], "#FFFFFF")),
                           cliponaxis=False,
                           hovertemplate=f"{gname} · %{{y}}: %{{x:,.1f}}<extra></extra>"))
    return _figure(traces, x_title=x_title, height=max(300, 26 * len(cats) * max(1, len(groups)) + 120),
                   barmode="group", bargap=0.25, hovermode="closest", legend=dict(traceorder="normal"))


def dot_compare(df: pd.DataFrame, *, label: str, value: str, lower: str, upper: str, benchmark: str,
                benchmark_name: str = "England", sig: str | None = None, x_title: str = "",
                name: str = "Area") -> go.Figure:
    """One area's value with its interval against a benchmark marker, for each row (e.g. need)."""
    d = df.iloc[::-1]
    err = dict(type="data", symmetric=False, array=_arr((d[upper] - d[value]).clip(lower=0).fillna(0)),
               arrayminus=_arr((d[value] - d[lower]).clip(lower=0).fillna(0)), color=PALETTE[0], thickness=1.5)
    symbols = [SIG_SYMBOL.get(str(s), "circle") for s in d[sig]] if sig else "circle"
    text = [_sig_word(s) for s in d[sig]] if sig else None
    traces = [dict(type="scatter", x=_arr(d[value]), y=_arr(d[label]), mode="markers+text", name=name, error_x=err,
                   marker=dict(color=PALETTE[0], size=12, symbol=symbols), text=text,
                   textposition="top center", textfont=dict(size=11),
                   hovertemplate="%{y}: %{x:,.1f}<extra></extra>"),
              dict(type="scatter", x=_arr(d[benchmark]), y=_arr(d[label]), mode="markers", name=benchmark_name,
                   marker=dict(color="#F46A25", size=13, symbol="line-ns-open",
                               line=dict(width=3, color="#3D3D3D")),
                   hovertemplate=f"{benchmark_name} · %{{y}}: %{{x:,.1f}}<extra></extra>")]
    return _figure(traces, x_title=x_title, height=max(300, 36 * len(d) + 110), hovermode="closest")


def fit_title(*candidates: str, limit: int = 10) -> str:
    """The first candidate of at most ``limit`` words (an active chart title), else the last one
    cut to ``limit`` words."""
    for c in candidates:
        if c and len(c.split()) <= limit:
            return c
    words = [w for c in candidates[-1:] for w in c.split()]
    return " ".join(words[:limit])


def grey_suppressed(fig: go.Figure, name: str) -> go.Figure:
    """Draw the trace called ``name`` (e.g. 'Suppressed (small numbers)' in a stacked_share chart)
    in plain light grey, so hidden counts never look like a category of their own."""
    for tr in fig.data:
        if getattr(tr, "name", None) == name:
            tr.marker.color = SUPPRESSED_GREY
            tr.marker.pattern.shape = ""
            tr.marker.line = dict(color="#BFBFBF", width=1)
    return fig


def tidy_bands(fig: go.Figure) -> go.Figure:
    """Interval bands (filled traces) as areas only: plotly draws markers on short traces by
    default, in colours outside the palette."""
    fig.update_traces(mode="lines", selector=dict(fill="toself"))
    return fig


def nice_log_ticks(fig: go.Figure, values, axis: str = "x") -> go.Figure:
    """Readable ticks (1, 2, 5 x powers of ten) on a log axis covering ``values``."""
    v = pd.to_numeric(pd.Series(values), errors="coerce").dropna()
    v = v[v > 0]
    if v.empty:
        return fig
    lo, hi = np.floor(np.log10(v.min() * 0.8)), np.ceil(np.log10(v.max() * 1.2))
    ticks = [m * 10 ** e for e in range(int(lo), int(hi) + 1) for m in (1, 2, 5)
             if v.min() * 0.5 <= m * 10 ** e <= v.max() * 2]
    update = fig.update_xaxes if axis == "x" else fig.update_yaxes
    update(tickvals=ticks, ticktext=[f"{t:,.0f}" if t >= 1 else f"{t:g}" for t in ticks])
    return fig
