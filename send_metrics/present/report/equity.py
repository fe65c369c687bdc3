"""The board pack's equity section: North against South Cumbria and each locality against the rest
of Cumbria, every gap with its 95% confidence interval (Newcombe's hybrid score method for
proportions, MOVER for rates) computed from protected numerators only, drawn as forest plots.

A significant gap also becomes a candidate sentence for the summary (`pack.extra_messages`).
The gap helpers are shared with the needs section (plans per 1,000 by locality).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from send_metrics.stats import comparisons
from send_metrics.catalogue import Measure
from send_metrics.measures.localities import rest_of_parent
from send_metrics.present import charts
from send_metrics.present.report.pack import CUMBRIA_TOTALS, FOOTPRINTS, LOCALITIES, Pack, esc
from send_metrics.present.safe_text import for_plotly

# The North vs South comparison and its trend chart.
EQUITY_MEASURES = ["ehcp_rate_0_25", "pupils_ehcp_pct", "timeliness_20wk_ex", "reviews_on_time_pct",
                   "wait_18wk_SLT", "wait_18wk_OT", "autism_over_13wk_pct", "wait_18wk_CAMHS"]
EQUITY_TREND_MEASURE = "wait_18wk_SLT"

# Localities against the rest of Cumbria.
LOCALITY_MEASURES = ["pupils_ehcp_pct", "timeliness_20wk_ex", "autism_over_13wk_pct", "wait_18wk_SLT"]
PALETTE = charts.PALETTE


def gap_ci(m: Measure, a, b) -> tuple[float, float, float]:
    """Difference a - b with its 95% CI, from protected numerators only (NaN when either is withheld)."""
    if a is None or b is None or bool(a["suppressed"]) or bool(b["suppressed"]):
        return (np.nan,) * 3
    x1, n1, x2, n2 = (float(a["numerator"]), float(a["denominator"]), float(b["numerator"]),
                      float(b["denominator"]))
    if any(np.isnan(v) for v in (x1, n1, x2, n2)) or n1 <= 0 or n2 <= 0:
        return (np.nan,) * 3
    if m.kind == "proportion":
        d, lo, hi = comparisons.proportion_difference_ci(x1, n1, x2, n2)
        return d * m.multiplier, lo * m.multiplier, hi * m.multiplier
    if m.kind == "rate":
        return comparisons.rate_difference_ci(x1, n1, x2, n2, multiplier=m.multiplier)
    return (np.nan,) * 3


def gap_unit(m: Measure) -> str:
    return " pp" if m.unit == "%" else f" {m.unit}"


def gap_cells(m: Measure, gap) -> tuple[str, str, str]:
    d, lo, hi = gap
    if np.isnan(d):
        return ('<td class="num na">not compared</td>', '<td class="na">–</td>',
                '<td class="na">not compared</td>')
    verdict = comparisons.equity_verdict(lo, hi)
    better = None
    if verdict == "significant" and m.polarity != "no_judgement":
        higher = d > 0
        better = higher == (m.polarity == "higher_is_better")
    word = ("Significant" if verdict == "significant" else "Not significant")
    kind = "neutral" if verdict == "significant" else "similar"
    if better is not None:
        kind = "better" if better else "worse"
    unit = gap_unit(m)
    return (f'<td class="num">{d:+.1f}{esc(unit)}</td>',
            f'<td class="num">{lo:+.1f} to {hi:+.1f}</td>',
            f'<td><span class="tag tag-{kind}">{esc(word)}</span></td>')


def rows_at(table: pd.DataFrame, mid: str, period: str, areas: list[str]) -> dict:
    t = table[(table["measure_id"] == mid) & (table["period"].astype(str) == period)]
    out = {}
    for a in areas:
        r = t[t["area_code"] == a]
        out[a] = r.iloc[0] if len(r) else None
    return out


def cumbria_total(table: pd.DataFrame, mid: str, period: str):
    """Cumbria's row for a measure and period, under whichever name that period has (None if none)."""
    at = rows_at(table, mid, period, list(CUMBRIA_TOTALS))
    return next((at[c] for c in CUMBRIA_TOTALS if at[c] is not None), None)


def total_text(m: Measure, total) -> str:
    if total is None:
        return "not loaded"
    return "suppressed" if bool(total["suppressed"]) else m.format_value(total["value"])


def rest_gap(m: Measure, r, total, low: float = 1, high: float = 4) -> tuple[float, float, float]:
    """Locality against the rest of Cumbria (Cumbria less the locality): independent groups. The
    gap gives the rest's value away, so the rest passes the same disclosure control as any figure
    (``measures.localities.rest_of_parent``: a small count, or a small rest of its group, shows no gap)."""
    if r is None or total is None:
        return (np.nan,) * 3
    got = rest_of_parent(m, r, total, low, high)
    if got["suppressed"] or not np.isfinite(got["numerator"]):
        return (np.nan,) * 3
    rest = total.copy()
    rest["numerator"] = got["numerator"]
    rest["denominator"] = got["denominator"] if m.kind != "count" else np.nan
    return gap_ci(m, r, rest)


def north_south(pack: Pack) -> str:
    north, south = FOOTPRINTS
    table = pack.engine.table(EQUITY_MEASURES, FOOTPRINTS)
    if table.empty:
        return '<p class="na">North and South Cumbria figures are not available.</p>'
    rows, forest = [], []
    for mid in EQUITY_MEASURES:
        m = pack.by_id[mid]
        t = table[table["measure_id"] == mid]
        period = pack.latest_period(t, m)
        if period is None:
            continue
        pack.m(mid)
        at = rows_at(table, mid, period, FOOTPRINTS)
        a = at[north]
        b = at[south]
        gap = gap_ci(m, a, b)
        label = (a if a is not None else b)["period_label"]
        gd, gl, gh = gap_cells(m, gap)
        rows.append(f'<th scope="row">{esc(m.title)}</th><td>{esc(label)}</td>'
                    + pack.cell(m, a, ci=True) + pack.cell(m, b, ci=True) + gd + gl + gh)
        if m.unit == "%" and not np.isnan(gap[0]):
            forest.append((m, label, gap))
        if not np.isnan(gap[0]) and comparisons.equity_verdict(gap[1], gap[2]) == "significant":
            strength = abs(gap[0]) / max(gap[2] - gap[1], 1e-9)
            pack.extra_messages.append((strength, mid, (
                f"{m.title}: North Cumbria {m.format_value(a['value'])} against South Cumbria "
                f"{m.format_value(b['value'])} ({label}) - a gap of {gap[0]:+.1f}{gap_unit(m)} "
                f"(95% CI {gap[1]:+.1f} to {gap[2]:+.1f}), larger than chance would explain.")))
    out = []
    # Figure: trend of the equity trend measure in both footprints.
    m = pack.m(EQUITY_TREND_MEASURE)
    tr = pack.engine.table([EQUITY_TREND_MEASURE], FOOTPRINTS).copy()
    if not tr.empty:
        tr["date"] = pd.to_datetime(tr["period"].astype(str).str[:10])
        fig = charts.trend_lines(tr, x="date", group="area_name", y_title=m.unit)
        fig.layout.annotations = ()  # the two lines end close together: the legend names them
        if m.target is not None:
            dates = sorted(tr["date"].unique())
            fig.add_trace(go.Scatter(x=[dates[0], dates[-1]], y=[m.target, m.target], mode="lines",
                                     name=f"Target {m.target:g}",
                                     line=dict(color="#801650", dash="dot", width=1.5)))
        grid = pack.month_grid(f"Data for Figure {pack.n_fig + 1}: {m.title} by month",
                               [(pack.name(code), m, tr[tr["area_code"] == code], None) for code in FOOTPRINTS])
        out.append(pack.figure(fig, f"{m.title}: North and South Cumbria, with 95% intervals", grid,
                               series=[(m.id, code) for code in FOOTPRINTS],
                               height=320, note="Shaded bands are 95% confidence intervals; gaps in a line are "
                               "suppressed months."))
    # Figure: the gaps with their intervals.
    gap_table = pack.table(
        "North minus South Cumbria: latest period, with 95% confidence intervals",
        ["Measure", "Period", "North Cumbria (95% CI)", "South Cumbria (95% CI)", "Gap (N - S)",
         "95% CI of gap", "Verdict"], rows, cls="equity")
    if forest:
        fig = gap_forest([wrap(f"{fm.title} ({lab})") for fm, lab, _ in forest], [g for *_, g in forest],
                          [direction_colour(fm, g) for fm, _, g in forest],
                          x_title="Gap, percentage points (North minus South)")
        out.append(pack.figure(fig, "Gaps between North and South Cumbria (percentage points, 95% CI)",
                               gap_table, height=90 + 50 * len(forest),
                               note="A gap whose interval crosses zero is not significant. Colour: teal better "
                                    "in the North, plum worse in the North, grey not significant or no judgement."))
    else:
        out.append(gap_table)
    return "".join(out)


def localities(pack: Pack) -> str:
    ids = LOCALITY_MEASURES
    table = pack.engine.table(ids, [*LOCALITIES, *CUMBRIA_TOTALS])
    if table.empty:
        return '<p class="na">Locality figures are not available.</p>'
    rows, traces = [], []
    for mid in ids:
        m = pack.by_id[mid]
        t = table[table["measure_id"] == mid]
        period = pack.latest_period(t[t["area_code"].isin(LOCALITIES)], m)
        if period is None:
            continue
        pack.m(mid)
        at = rows_at(table, mid, period, LOCALITIES)
        total = cumbria_total(table, mid, period)
        gaps, names = [], []
        for i, code in enumerate(LOCALITIES):
            r = at[code]
            gap = rest_gap(m, r, total, pack.engine.suppress_min, pack.engine.suppress_max)
            gd, gl, gh = gap_cells(m, gap)
            label = r["period_label"] if r is not None else ""
            first = (f'<th scope="rowgroup" rowspan="{len(LOCALITIES)}">{esc(m.title)}<span class="ci">'
                     f'{esc(label)}; Cumbria {esc(total_text(m, total))}'
                     "</span></th>") if i == 0 else ""
            rows.append(first + f"<td>{esc(pack.name(code))}</td>" + pack.cell(m, r, ci=True) + gd + gl + gh)
            if not np.isnan(gap[0]):
                names.append(pack.name(code))
                gaps.append(gap)
                if comparisons.equity_verdict(gap[1], gap[2]) == "significant" and m.polarity != "no_judgement":
                    strength = abs(gap[0]) / max(gap[2] - gap[1], 1e-9)
                    worse = (gap[0] > 0) != (m.polarity == "higher_is_better")
                    pack.extra_messages.append((strength * 0.9, mid, (
                        f"{m.title} in {pack.name(code)} is significantly {'worse' if worse else 'better'} "
                        f"than the rest of Cumbria: {m.format_value(r['value'])} ({label}), a gap of "
                        f"{gap[0]:+.1f}{gap_unit(m)} (95% CI {gap[1]:+.1f} to {gap[2]:+.1f}).")))
        if m.unit == "%" and gaps:
            traces.append((m, names, gaps))
    table_html = pack.table(
        "Localities against the rest of Cumbria: latest period, gap with 95% confidence interval",
        ["Measure", "Locality", "Value (95% CI)", "Gap vs rest of Cumbria", "95% CI of gap", "Verdict"],
        rows, cls="equity")
    if not traces:
        return table_html
    fig = go.Figure()
    symbols = ["circle", "square", "diamond", "triangle-up"]
    for i, (m, names, gaps) in enumerate(traces):
        d = np.array([g[0] for g in gaps])
        lo = np.array([g[1] for g in gaps])
        hi = np.array([g[2] for g in gaps])
        fig.add_trace(go.Scatter(
            x=d, y=names, mode="markers", name=m.title,
            marker=dict(color=PALETTE[i % len(PALETTE)], size=9, symbol=symbols[i % 4]),
            error_x=dict(type="data", symmetric=False, array=hi - d, arrayminus=d - lo,
                         color=PALETTE[i % len(PALETTE)], thickness=1.5, width=3)))
    fig.add_vline(x=0, line=dict(color="#0B0C0C", width=1.5))
    fig.update_layout(scattermode="group", legend=dict(orientation="h", y=-0.18, x=0, yanchor="top"),
                      xaxis_title="Gap, percentage points (locality minus rest of Cumbria)",
                      yaxis=dict(autorange="reversed"), hovermode="closest")
    return pack.figure(charts._layout(fig), "Locality gaps against the rest of Cumbria (percentage points, 95% CI)",
                       table_html, height=460,
                       note="Each point compares a locality with the rest of Cumbria (Cumbria total less the "
                            "locality). Suppressed localities are left out of the chart and marked in the table.")


def wrap(text: str, width: int = 34) -> str:
    """Break a long axis label into lines (plotly takes <br>); the text itself is escaped for plotly."""
    return "<br>".join(for_plotly(x) for x in charts.wrap_lines(text, width))


def direction_colour(m: Measure, gap) -> str:
    d, lo, hi = gap
    if comparisons.equity_verdict(lo, hi) != "significant":
        return "#3D3D3D"
    if m.polarity == "no_judgement":
        return "#12436D"
    better = (d > 0) == (m.polarity == "higher_is_better")
    return "#28A197" if better else "#801650"


def gap_forest(labels: list[str], gaps: list[tuple[float, float, float]], colours: list[str], *,
            x_title: str) -> go.Figure:
    d = np.array([g[0] for g in gaps])
    lo = np.array([g[1] for g in gaps])
    hi = np.array([g[2] for g in gaps])
    fig = go.Figure(go.Scatter(
        x=d, y=labels, mode="markers", marker=dict(color=colours, size=11, symbol="diamond"),
        error_x=dict(type="data", symmetric=False, array=hi - d, arrayminus=d - lo, color="#3D3D3D",
                     thickness=1.5, width=4), showlegend=False,
        hovertemplate="%{y}: %{x:+.1f}<extra></extra>"))
    fig.add_vline(x=0, line=dict(color="#0B0C0C", width=1.5))
    fig = charts._layout(fig, x_title=x_title)
    fig.update_layout(yaxis=dict(autorange="reversed"), hovermode="closest")
    return fig
