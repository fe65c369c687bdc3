"""The top of the board pack: the summary table at a glance (most concerning first, each mark in
words and a symbol as well as colour, with a small line of the last points) and the headline
measures with their intervals, significance, trend and SPC verdicts.
"""
from __future__ import annotations

from send_metrics.measures import summary
from send_metrics.present.report.pack import Pack, esc, missing

TREND_LABEL = {"improving": "Improving", "getting_worse": "Getting worse", "increasing": "Increasing",
               "decreasing": "Decreasing", "no_significant_change": "No significant change",
               "not_enough_data": "Not enough data", "not_tested": "Not tested"}


def glance(pack: Pack, tiles: list[summary.Tile]) -> str:
    """The Board's summary table (summary.summary_table), first in the pack: most concerning
    first; the mark against the benchmark in words and a symbol as well as colour."""
    table = summary.summary_table(tiles)
    by_id = {t.measure.id: t for t in tiles}
    rows = []
    for r in table.to_dict("records"):
        t = by_id[r["measure_id"]]
        m = pack.m(t.measure.id)
        spark = spark_svg(r["series"])
        rows.append(
            f'<th scope="row">{esc(r["Measure"])}<span class="ci">{esc(r["Period"])}</span></th>'
            + pack.cell(m, t.series.iloc[-1], extra="" if m.unit == "%" else f'<span class="unit">{esc(m.unit)}</span>')
            + f'<td class="num">{esc(r["95% interval"])}</td><td class="num">{esc(r["England"])}</td>'
            f'<td class="num">{esc(r["Neighbours"])}</td>'
            f'<td><span class="tag rag-{esc(r["rag"])}">{esc(r["Against benchmark"])}</span></td>'
            f'<td>{esc(r["Trend"])}</td><td>{spark}</td><td>{esc(r["SPC"])}</td>')
    return pack.table(
        f"At a glance: {pack.name(pack.area)}, most concerning first", ["Measure", "Value", "95% interval",
        "England", "Neighbours", "Against benchmark", "Trend", "Last points", "SPC (latest point)"],
        rows, cls="glance")

def headline(pack: Pack, tiles: list[summary.Tile]) -> str:
    rows = []
    for t in tiles:
        m = pack.m(t.measure.id)
        row = t.series.iloc[-1]
        eng = f"England {m.format_value(t.england_value)}" if not missing(t.england_value) else ""
        nb = f"Neighbours {m.format_value(t.neighbours_value)}" if not missing(t.neighbours_value) else ""
        unit = "" if m.unit == "%" else f'<span class="unit">{esc(m.unit)}</span>'
        rows.append(
            f'<th scope="row">{esc(m.title)}'
            + (f'<span class="ci">{esc(t.covers)}</span>' if t.covers else "")
            + (f'<span class="ci">Value as published: {esc(t.value_source.removeprefix("published: "))}</span>'
               if t.value_source else "")
            + f'</th><td>{esc(t.period_label)}</td>'
            + pack.cell(m, row, ci=True, extra=unit)
            + f"<td>{pack.sig(t.sig_england, eng)}</td><td>{pack.sig(t.sig_neighbours, nb)}</td>"
            f"<td>{esc(TREND_LABEL.get(t.trend_verdict, '–'))}</td>"
            f"<td>{pack.spc_badges(t.variation, t.assurance)}</td>")
    return pack.table(
        f"Headline measures: {pack.name(pack.area)}, latest period"
        + (f" up to {pack.year}" if pack.year else ""),
        ["Measure", "Period", "Value (95% CI)", "vs England", "vs statistical neighbours",
         "Recent trend", "SPC (latest point)"], rows, cls="headline")


def spark_svg(values: list, width: int = 56, height: int = 16) -> str:
    """A small line of the last points (protected values only), hidden from screen readers: the
    trend column says the same in words."""
    vals = [float(v) for v in values if not missing(v)]
    if len(vals) < 2:
        return '<span class="muted">–</span>'
    lo, hi = min(vals), max(vals)
    span = (hi - lo) or 1.0
    step = (width - 4) / (len(vals) - 1)
    pts = " ".join(f"{2 + i * step:.1f},{height - 2 - (v - lo) / span * (height - 4):.1f}" for i, v in enumerate(vals))
    return (f'<svg class="spark" width="{width}" height="{height}" aria-hidden="true" focusable="false">'
            f'<polyline points="{pts}" fill="none" stroke="#12436D" stroke-width="1.5"/></svg>')
