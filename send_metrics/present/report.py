"""The board pack: one self-contained HTML file that prints cleanly to A4.

`board_pack_html(engine, area_code, period)` builds the pack from the same engine, tiles and
charts the dashboard uses, so the board reads exactly what the dashboard shows:

* a plain-English summary generated from the statistics (`summary.key_messages`);
* the headline measures with 95% intervals, significance against England and statistical
  neighbours, recent trend and SPC verdicts;
* SPC (XmR) charts of the monthly waiting-time measures with variation and assurance;
* North vs South Cumbria and locality equity, each gap with a 95% confidence interval
  (Newcombe's hybrid score method for proportions, MOVER for rates and averages);
* needs (primary-need mix, plans per 1,000 by locality) and the demand projection (aggregate model);
* the transition model's demand and cost projection, where the council's person-level data is loaded;
* a data table under every chart, the definition of every measure shown, sources, data dates
  and editions, the disclosure-control notice and, for the demo extract, a synthetic-data notice.

Disclosure: only values the engine has already protected are used. A suppressed cell is printed
as "suppressed" and drawn as a gap; nothing is re-derived from unprotected data. Every value cell
carries `data-cell="measure|area|period"` so a test can check each suppressed cell.

The file holds plotly.js once, inline; it makes no network request and opens offline.
`write_report(args)` is the `python -m send_metrics report` command.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.offline

from send_metrics.present import charts
from send_metrics import contract
from send_metrics import stats
from send_metrics.measures import summary
from send_metrics.catalogue import POLARITY_TEXT, Measure, measures_by_id
from send_metrics.measures.engine import Engine
from send_metrics.present.methods import METHODS
from send_metrics.measures.projection_backtest import apply_calibration, backtest_sentence, loaded_backtest
from send_metrics.measures.projection import project_caseload
from send_metrics.present.safe_text import for_css_string, for_html, for_plotly, safe_figure
from send_metrics.stats.spc import spc_summary

CUMBRIA = "E10000006"
FOOTPRINTS = ["HF-NORTH-CUMBRIA", "HF-SOUTH-CUMBRIA"]
LOCALITIES = ["LOC-ALLERDALE", "LOC-CARLISLE", "LOC-COPELAND-N", "LOC-MILLOM", "LOC-EDEN",
              "LOC-BARROW-FURNESS", "LOC-SOUTH-LAKELAND"]

# Monthly waiting-time measures charted as SPC for the chosen area.
SPC_MEASURES = ["wait_18wk_SLT", "wait_list_SLT", "wait_median_AUTISM", "autism_over_13wk_pct"]
# The North vs South comparison and its trend chart.
EQUITY_MEASURES = ["ehcp_rate_0_25", "pupils_ehcp_pct", "timeliness_20wk_ex", "reviews_on_time_pct",
                   "wait_18wk_SLT", "wait_18wk_OT", "autism_over_13wk_pct", "wait_18wk_CAMHS"]
EQUITY_TREND_MEASURE = "wait_18wk_SLT"
# Localities against the rest of Cumbria.
LOCALITY_MEASURES = ["pupils_ehcp_pct", "timeliness_20wk_ex", "autism_over_13wk_pct", "wait_18wk_SLT"]
LOCALITY_RATE_MEASURE = "ehcp_rate_0_25"
NEED_CODES = list(contract.PRIMARY_NEEDS)

CHART_WIDTH = 676  # px: fits the 180 mm printable width of A4 with 15 mm margins (680 px) with its frame
PALETTE = charts.PALETTE
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

SIG_LABEL = {"better": ("▲ Better", "better"), "worse": ("▼ Worse", "worse"),
             "similar": ("● Similar", "similar"), "higher": ("▲ Higher", "neutral"),
             "lower": ("▼ Lower", "neutral"), "not_compared": ("– Not compared", "none")}
TREND_LABEL = {"improving": "Improving", "getting_worse": "Getting worse", "increasing": "Increasing",
               "decreasing": "Decreasing", "no_significant_change": "No significant change",
               "not_enough_data": "Not enough data", "not_tested": "Not tested"}
VARIATION_LABEL = {"special_cause_improvement": ("I", "Special cause: improvement"),
                   "special_cause_concern": ("C", "Special cause: concern"),
                   "special_cause_neutral": ("N", "Special cause: neither better nor worse"),
                   "common_cause": ("~", "Common cause: no signal")}
ASSURANCE_LABEL = {"consistently_pass": ("P", "Target consistently met"),
                   "consistently_fail": ("F", "Target consistently missed"),
                   "inconsistent": ("?", "Target met only some of the time"),
                   "no_target": ("", "No target"), "not_applicable": ("", "No target")}


def esc(value) -> str:
    """Untrusted or not, every text written into the pack's HTML goes through here."""
    return for_html(value)


def _isnan(v) -> bool:
    try:
        return v is None or bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _long_date(d: dt.date | dt.datetime) -> str:
    return f"{d.day} {d.strftime('%B %Y')}"


class _Pack:
    """Builds the pack's sections in order, numbering figures and tables as it goes."""

    def __init__(self, engine: Engine, area_code: str, period: str | None):
        self.engine = engine
        self.db = engine.db
        self.area = area_code
        self.year = str(period)[:4] if period else None
        self.by_id = measures_by_id()
        areas = self.db.query("SELECT area_code, area_name FROM areas")
        self.names = dict(zip(areas["area_code"].astype(str), areas["area_name"].astype(str)))
        if area_code not in self.names:
            raise ValueError(f"unknown area code '{area_code}'")
        self.shown: list[str] = []  # measure ids, in order of first appearance
        self.n_fig = 0
        self.n_tab = 0
        self.suppressed_shown = 0
        self.extra_messages: list[tuple[float, str, str]] = []  # (strength, measure id, sentence)

    # -- helpers -----------------------------------------------------------------------
    def name(self, code: str) -> str:
        return self.names.get(code, code)

    def m(self, mid: str) -> Measure:
        if mid not in self.shown:
            self.shown.append(mid)
        return self.by_id[mid]

    def upto(self, df: pd.DataFrame, m: Measure) -> pd.DataFrame:
        """Rows at or before the pack's year (monthly measures: their latest month, as on the dashboard)."""
        if self.year and not m.monthly:
            return df[df["period"].astype(str).str[:4] <= self.year]
        return df

    def latest_period(self, df: pd.DataFrame, m: Measure) -> str | None:
        d = self.upto(df, m)
        d = d[d["value"].notna() | d["suppressed"].astype(bool)]
        return str(d["period"].max()) if len(d) else None

    def cell(self, m: Measure, row, *, ci: bool = False, cls: str = "num", extra: str = "") -> str:
        """A value cell (optionally with its 95% interval beneath), tagged with its identity."""
        if row is None:
            return f'<td class="{cls} na">not available</td>'
        ident = esc(f"{row['measure_id']}|{row['area_code']}|{row['period']}")
        if bool(row["suppressed"]):
            self.suppressed_shown += 1
            return f'<td class="{cls} supp" data-cell="{ident}">suppressed</td>'
        if _isnan(row["value"]):
            return f'<td class="{cls} na" data-cell="{ident}">not available</td>'
        text = esc(m.format_value(float(row["value"])))
        if ci and not _isnan(row.get("lower_95")):
            text += (f'<span class="ci">{esc(m.format_value(float(row["lower_95"])))} to '
                     f'{esc(m.format_value(float(row["upper_95"])))}</span>')
        return f'<td class="{cls}" data-cell="{ident}">{text}{extra}</td>'

    @staticmethod
    def sig(value, bench: str = "") -> str:
        label, kind = SIG_LABEL.get(str(value), ("–", "none"))
        b = f'<span class="bench">{esc(bench)}</span>' if bench else ""
        return f'<span class="tag tag-{kind}">{esc(label)}</span>{b}'

    @staticmethod
    def spc_badges(variation, assurance) -> str:
        out = []
        if variation in VARIATION_LABEL:
            letter, text = VARIATION_LABEL[variation]
            colour = charts.SPC_COLOURS.get(variation, "#a6a6a6")
            out.append(f'<span class="mdc" style="background:{colour}" aria-hidden="true">{esc(letter)}</span>'
                       f'<span class="mdc-text">{esc(text)}</span>')
        if assurance in ASSURANCE_LABEL and ASSURANCE_LABEL[assurance][0]:
            letter, text = ASSURANCE_LABEL[assurance]
            colour = {"P": "#12436D", "F": "#F46A25", "?": "#a6a6a6"}[letter]
            out.append(f'<span class="mdc" style="background:{colour}" aria-hidden="true">{esc(letter)}</span>'
                       f'<span class="mdc-text">{esc(text)}</span>')
        return "<br>".join(out) if out else '<span class="muted">No SPC (too few points)</span>'

    def figure(self, fig: go.Figure, title: str, table: str, *, height: int = 330,
               lead: str = "", note: str = "", series: list[tuple[str, str]] = ()) -> str:
        """A numbered chart with its data table beneath; `series` names the (measure, area) pairs drawn."""
        self.n_fig += 1
        n = self.n_fig
        # Interval bands are outlines only: no markers at their corners.
        fig.update_traces(mode="lines", selector=dict(fill="toself"))
        fig.update_layout(width=CHART_WIDTH, height=height, autosize=False,
                          font=dict(family="Arial, Helvetica, sans-serif", size=12, color="#0B0C0C"),
                          margin=dict(l=10, r=20, t=40, b=10), paper_bgcolor="white", plot_bgcolor="white")
        safe_figure(fig)  # no label, category or hover text from data can become a link or a tag
        plot = fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"figure-{n}",
                           default_width=f"{CHART_WIDTH}px", default_height=f"{height}px",
                           config={"displayModeBar": False, "responsive": False, "displaylogo": False})
        lead_html = f'<div class="verdict">{lead}</div>' if lead else ""
        note_html = f'<p class="note">{note}</p>' if note else ""
        # The title, verdict and chart stay together on a printed page; the data table follows.
        drawn = esc(" ".join(f"{mid}|{area}" for mid, area in series))
        return (f'<figure class="chart" id="fig-{n}" aria-labelledby="fig-{n}-title" data-series="{drawn}">'
                '<div class="keep">'
                f'<p class="fig-title" id="fig-{n}-title"><span class="fig-no">Figure {n}</span> {esc(title)}</p>'
                f'{lead_html}<div class="plot">{plot}</div></div>'
                f'<div class="data-under">{table}</div>{note_html}</figure>')

    def table(self, caption: str, head: list[str], rows: list[str], *, cls: str = "") -> str:
        self.n_tab += 1
        th = "".join(f'<th scope="col">{h}</th>' for h in head)
        body = "".join(f"<tr>{r}</tr>" for r in rows) or (
            f'<tr><td colspan="{len(head)}" class="na">No data for this area.</td></tr>')
        return (f'<table class="data {cls}" id="table-{self.n_tab}"><caption><span class="tab-no">Table '
                f'{self.n_tab}</span> {esc(caption)}</caption><thead><tr>{th}</tr></thead>'
                f'<tbody>{body}</tbody></table>')

    # -- sections ----------------------------------------------------------------------
    def glance(self, tiles: list[summary.Tile]) -> str:
        """The Board's summary table (summary.summary_table), first in the pack: most concerning
        first; the mark against the benchmark in words and a symbol as well as colour."""
        table = summary.summary_table(tiles)
        by_id = {t.measure.id: t for t in tiles}
        rows = []
        for r in table.to_dict("records"):
            t = by_id[r["measure_id"]]
            m = self.m(t.measure.id)
            spark = _spark_svg(r["series"])
            rows.append(
                f'<th scope="row">{esc(r["Measure"])}<span class="ci">{esc(r["Period"])}</span></th>'
                + self.cell(m, t.series.iloc[-1], extra="" if m.unit == "%" else f'<span class="unit">{esc(m.unit)}</span>')
                + f'<td class="num">{esc(r["95% interval"])}</td><td class="num">{esc(r["England"])}</td>'
                f'<td class="num">{esc(r["Neighbours"])}</td>'
                f'<td><span class="tag rag-{esc(r["rag"])}">{esc(r["Against benchmark"])}</span></td>'
                f'<td>{esc(r["Trend"])}</td><td>{spark}</td><td>{esc(r["SPC"])}</td>')
        return self.table(
            f"At a glance: {self.name(self.area)}, most concerning first", ["Measure", "Value", "95% interval",
            "England", "Neighbours", "Against benchmark", "Trend", "Last points", "SPC (latest point)"],
            rows, cls="glance")

    def headline(self, tiles: list[summary.Tile]) -> str:
        rows = []
        for t in tiles:
            m = self.m(t.measure.id)
            row = t.series.iloc[-1]
            eng = f"England {m.format_value(t.england_value)}" if not _isnan(t.england_value) else ""
            nb = f"Neighbours {m.format_value(t.neighbours_value)}" if not _isnan(t.neighbours_value) else ""
            unit = "" if m.unit == "%" else f'<span class="unit">{esc(m.unit)}</span>'
            rows.append(
                f'<th scope="row">{esc(m.title)}'
                + (f'<span class="ci">{esc(t.covers)}</span>' if t.covers else "")
                + (f'<span class="ci">Value as published: {esc(t.value_source.removeprefix("published: "))}</span>'
                   if t.value_source else "")
                + f'</th><td>{esc(t.period_label)}</td>'
                + self.cell(m, row, ci=True, extra=unit)
                + f"<td>{self.sig(t.sig_england, eng)}</td><td>{self.sig(t.sig_neighbours, nb)}</td>"
                f"<td>{esc(TREND_LABEL.get(t.trend_verdict, '–'))}</td>"
                f"<td>{self.spc_badges(t.variation, t.assurance)}</td>")
        return self.table(
            f"Headline measures: {self.name(self.area)}, latest period"
            + (f" up to {self.year}" if self.year else ""),
            ["Measure", "Period", "Value (95% CI)", "vs England", "vs statistical neighbours",
             "Recent trend", "SPC (latest point)"], rows, cls="headline")

    def month_grid(self, caption: str, series: list[tuple[str, Measure, pd.DataFrame, pd.DataFrame | None]]) -> str:
        """Monthly values as a year x month grid (one block per series); special causes flagged."""
        rows = []
        for label, m, s, frame in series:
            flags = {}
            if frame is not None:
                for d, var in zip(pd.to_datetime(frame["date"]), frame["variation"]):
                    if var in VARIATION_LABEL and var != "common_cause":
                        flags[d.strftime("%Y-%m-01")] = var
            s = s.copy()
            s["_p"] = s["period"].astype(str).str[:10]
            by_p = {p: r for p, r in zip(s["_p"], s.to_dict("records"))}
            years = sorted({p[:4] for p in s["_p"]})
            for y in years:
                cells = []
                for i in range(1, 13):
                    r = by_p.get(f"{y}-{i:02d}-01")
                    var = flags.get(f"{y}-{i:02d}-01")
                    extra = (f'<sup class="flag" title="{esc(VARIATION_LABEL[var][1])}">'
                             f"{esc(VARIATION_LABEL[var][0])}</sup>") if var else ""
                    cells.append(self.cell(m, r, extra=extra) if r is not None else '<td class="na">–</td>')
                lead = f'<th scope="row">{esc(label)} {esc(y)}</th>' if label else f'<th scope="row">{esc(y)}</th>'
                rows.append(lead + "".join(cells))
        return self.table(caption, ["Year", *MONTHS], rows, cls="grid")

    def spc_section(self) -> str:
        tiles = summary.tiles(self.engine, self.area, self.year, measure_ids=SPC_MEASURES)
        parts = []
        for t in tiles:
            m = self.m(t.measure.id)
            if t.spc_frame is None:
                continue
            imp = summary.IMPROVEMENT[m.polarity]
            summ = spc_summary(t.spc_frame, imp, m.target, fmt=m.format_value)
            fig = charts.spc_chart(t.spc_frame, x="date", y_title=m.unit, target=m.target)
            verdict = VARIATION_LABEL.get(summ["variation"], ("", "No verdict"))[1]
            title = f"{m.title}, {self.name(self.area)}: {verdict.lower()}"
            if summ.get("assurance") in ("consistently_pass", "consistently_fail", "inconsistent"):
                title += f"; {ASSURANCE_LABEL[summ['assurance']][1].lower()}"
            lead = (f'<div class="badges">{self.spc_badges(summ["variation"], summ["assurance"])}</div>'
                    f"<p>{esc(summ['sentence'])}</p>")
            table = self.month_grid(
                f"Data for Figure {self.n_fig + 1}: {m.title}, {self.name(self.area)}, by month "
                "(I, C, N: special-cause points)", [("", m, t.series, t.spc_frame)])
            limits = (f"Mean {m.format_value(summ['mean'])}; process limits {m.format_value(summ['lower_limit'])} "
                      f"to {m.format_value(summ['upper_limit'])} ({summ['segment_points']} points).")
            parts.append(self.figure(fig, title, table, lead=lead, note=esc(limits), height=300,
                                     series=[(m.id, self.area)]))
        if not parts:
            return '<p class="na">No monthly waiting-time data is available for this area.</p>'
        return "".join(parts)

    # -- equity ------------------------------------------------------------------------
    def _gap(self, m: Measure, a, b) -> tuple[float, float, float]:
        """Difference a - b with its 95% CI, from protected numerators only (NaN when either is withheld)."""
        if a is None or b is None or bool(a["suppressed"]) or bool(b["suppressed"]):
            return (np.nan,) * 3
        x1, n1, x2, n2 = (float(a["numerator"]), float(a["denominator"]), float(b["numerator"]),
                          float(b["denominator"]))
        if any(np.isnan(v) for v in (x1, n1, x2, n2)) or n1 <= 0 or n2 <= 0:
            return (np.nan,) * 3
        if m.kind == "proportion":
            d, lo, hi = stats.proportion_difference_ci(x1, n1, x2, n2)
            return d * m.multiplier, lo * m.multiplier, hi * m.multiplier
        if m.kind == "rate":
            return stats.rate_difference_ci(x1, n1, x2, n2, multiplier=m.multiplier)
        return (np.nan,) * 3

    @staticmethod
    def _gap_unit(m: Measure) -> str:
        return " pp" if m.unit == "%" else f" {m.unit}"

    def _gap_cells(self, m: Measure, gap) -> tuple[str, str, str]:
        d, lo, hi = gap
        if np.isnan(d):
            return ('<td class="num na">not compared</td>', '<td class="na">–</td>',
                    '<td class="na">not compared</td>')
        verdict = stats.equity_verdict(lo, hi)
        better = None
        if verdict == "significant" and m.polarity != "no_judgement":
            higher = d > 0
            better = higher == (m.polarity == "higher_is_better")
        word = ("Significant" if verdict == "significant" else "Not significant")
        kind = "neutral" if verdict == "significant" else "similar"
        if better is not None:
            kind = "better" if better else "worse"
        unit = self._gap_unit(m)
        return (f'<td class="num">{d:+.1f}{esc(unit)}</td>',
                f'<td class="num">{lo:+.1f} to {hi:+.1f}</td>',
                f'<td><span class="tag tag-{kind}">{esc(word)}</span></td>')

    def _rows_at(self, table: pd.DataFrame, mid: str, period: str, areas: list[str]) -> dict:
        t = table[(table["measure_id"] == mid) & (table["period"].astype(str) == period)]
        out = {}
        for a in areas:
            r = t[t["area_code"] == a]
            out[a] = r.iloc[0] if len(r) else None
        return out

    def north_south(self) -> str:
        north, south = FOOTPRINTS
        table = self.engine.table(EQUITY_MEASURES, FOOTPRINTS)
        if table.empty:
            return '<p class="na">North and South Cumbria figures are not available.</p>'
        rows, forest = [], []
        for mid in EQUITY_MEASURES:
            m = self.by_id[mid]
            t = table[table["measure_id"] == mid]
            period = self.latest_period(t, m)
            if period is None:
                continue
            self.m(mid)
            at = self._rows_at(table, mid, period, FOOTPRINTS)
            a = at[north]
            b = at[south]
            gap = self._gap(m, a, b)
            label = (a if a is not None else b)["period_label"]
            gd, gl, gh = self._gap_cells(m, gap)
            rows.append(f'<th scope="row">{esc(m.title)}</th><td>{esc(label)}</td>'
                        + self.cell(m, a, ci=True) + self.cell(m, b, ci=True) + gd + gl + gh)
            if m.unit == "%" and not np.isnan(gap[0]):
                forest.append((m, label, gap))
            if not np.isnan(gap[0]) and stats.equity_verdict(gap[1], gap[2]) == "significant":
                strength = abs(gap[0]) / max(gap[2] - gap[1], 1e-9)
                self.extra_messages.append((strength, mid, (
                    f"{m.title}: North Cumbria {m.format_value(a['value'])} against South Cumbria "
                    f"{m.format_value(b['value'])} ({label}) - a gap of {gap[0]:+.1f}{self._gap_unit(m)} "
                    f"(95% CI {gap[1]:+.1f} to {gap[2]:+.1f}), larger than chance would explain.")))
        out = []
        # Figure: trend of the equity trend measure in both footprints.
        m = self.m(EQUITY_TREND_MEASURE)
        tr = self.engine.table([EQUITY_TREND_MEASURE], FOOTPRINTS).copy()
        if not tr.empty:
            tr["date"] = pd.to_datetime(tr["period"].astype(str).str[:10])
            fig = charts.trend_lines(tr, x="date", group="area_name", y_title=m.unit)
            fig.layout.annotations = ()  # the two lines end close together: the legend names them
            if m.target is not None:
                dates = sorted(tr["date"].unique())
                fig.add_trace(go.Scatter(x=[dates[0], dates[-1]], y=[m.target, m.target], mode="lines",
                                         name=f"Target {m.target:g}",
                                         line=dict(color="#801650", dash="dot", width=1.5)))
            grid = self.month_grid(f"Data for Figure {self.n_fig + 1}: {m.title} by month",
                                   [(self.name(code), m, tr[tr["area_code"] == code], None) for code in FOOTPRINTS])
            out.append(self.figure(fig, f"{m.title}: North and South Cumbria, with 95% intervals", grid,
                                   series=[(m.id, code) for code in FOOTPRINTS],
                                   height=320, note="Shaded bands are 95% confidence intervals; gaps in a line are "
                                   "suppressed months."))
        # Figure: the gaps with their intervals.
        gap_table = self.table(
            "North minus South Cumbria: latest period, with 95% confidence intervals",
            ["Measure", "Period", "North Cumbria (95% CI)", "South Cumbria (95% CI)", "Gap (N - S)",
             "95% CI of gap", "Verdict"], rows, cls="equity")
        if forest:
            fig = _forest([_wrap(f"{fm.title} ({lab})") for fm, lab, _ in forest], [g for *_, g in forest],
                          [_direction_colour(fm, g) for fm, _, g in forest],
                          x_title="Gap, percentage points (North minus South)")
            out.append(self.figure(fig, "Gaps between North and South Cumbria (percentage points, 95% CI)",
                                   gap_table, height=90 + 50 * len(forest),
                                   note="A gap whose interval crosses zero is not significant. Colour: teal better "
                                        "in the North, plum worse in the North, grey not significant or no judgement."))
        else:
            out.append(gap_table)
        return "".join(out)

    def localities(self) -> str:
        ids = LOCALITY_MEASURES
        table = self.engine.table(ids, [*LOCALITIES, CUMBRIA])
        if table.empty:
            return '<p class="na">Locality figures are not available.</p>'
        rows, traces = [], []
        for mid in ids:
            m = self.by_id[mid]
            t = table[table["measure_id"] == mid]
            period = self.latest_period(t[t["area_code"] != CUMBRIA], m)
            if period is None:
                continue
            self.m(mid)
            at = self._rows_at(table, mid, period, [*LOCALITIES, CUMBRIA])
            total = at[CUMBRIA]
            xs, gaps, names = [], [], []
            for i, code in enumerate(LOCALITIES):
                r = at[code]
                gap = self._rest_gap(m, r, total)
                gd, gl, gh = self._gap_cells(m, gap)
                label = r["period_label"] if r is not None else ""
                first = (f'<th scope="rowgroup" rowspan="{len(LOCALITIES)}">{esc(m.title)}<span class="ci">'
                         f'{esc(label)}; Cumbria {esc(m.format_value(total["value"]) if total is not None and not bool(total["suppressed"]) else "suppressed")}'
                         "</span></th>") if i == 0 else ""
                rows.append(first + f"<td>{esc(self.name(code))}</td>" + self.cell(m, r, ci=True) + gd + gl + gh)
                if not np.isnan(gap[0]):
                    names.append(self.name(code))
                    gaps.append(gap)
                    if stats.equity_verdict(gap[1], gap[2]) == "significant" and m.polarity != "no_judgement":
                        strength = abs(gap[0]) / max(gap[2] - gap[1], 1e-9)
                        worse = (gap[0] > 0) != (m.polarity == "higher_is_better")
                        self.extra_messages.append((strength * 0.9, mid, (
                            f"{m.title} in {self.name(code)} is significantly {'worse' if worse else 'better'} "
                            f"than the rest of Cumbria: {m.format_value(r['value'])} ({label}), a gap of "
                            f"{gap[0]:+.1f}{self._gap_unit(m)} (95% CI {gap[1]:+.1f} to {gap[2]:+.1f}).")))
            if m.unit == "%" and gaps:
                traces.append((m, names, gaps))
        table_html = self.table(
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
        return self.figure(charts._layout(fig), "Locality gaps against the rest of Cumbria (percentage points, 95% CI)",
                           table_html, height=460,
                           note="Each point compares a locality with the rest of Cumbria (Cumbria total less the "
                                "locality). Suppressed localities are left out of the chart and marked in the table.")

    def _rest_gap(self, m: Measure, r, total) -> tuple[float, float, float]:
        """Locality against the rest of Cumbria (Cumbria less the locality): independent groups."""
        if r is None or total is None or bool(r["suppressed"]) or bool(total["suppressed"]):
            return (np.nan,) * 3
        rest = total.copy()
        rest["numerator"] = float(total["numerator"]) - float(r["numerator"])
        rest["denominator"] = float(total["denominator"]) - float(r["denominator"])
        if not rest["numerator"] >= 0:
            return (np.nan,) * 3
        return self._gap(m, r, rest)

    # -- needs and demand --------------------------------------------------------------
    def needs(self) -> str:
        out = []
        ids = [f"need_share_{c}" for c in NEED_CODES if f"need_share_{c}" in self.by_id]
        t = self.engine.table(ids, [self.area])
        if not t.empty:
            m0 = self.by_id[ids[0]]
            t = self.upto(t, m0)
            years = sorted(t["period"].astype(str).unique())[-6:]
            t = t[t["period"].astype(str).isin(years)]
            latest = t[t["period"].astype(str) == years[-1]].dropna(subset=["value"])
            top = list(latest.sort_values("value", ascending=False)["measure_id"].head(6))
            plot = t[t["measure_id"].isin(top)].copy()
            plot["need"] = plot["measure_id"].map(lambda i: contract.PRIMARY_NEEDS[i.split("_")[-1]])
            plot["_o"] = plot["measure_id"].map({mid: k for k, mid in enumerate(top)})
            plot = plot.sort_values(["_o", "period"])
            colours, patterns = charts.need_colours(contract.PRIMARY_NEEDS)
            fig = charts.stacked_share(plot, x="period_label", colour="need", y="value",
                                       y_title="% of EHC plans", colours=colours, patterns=patterns)
            fig.update_layout(legend=dict(orientation="h", y=-0.15, x=0, yanchor="top"), hovermode="closest")
            rows = []
            for mid in ids:
                m = self.m(mid)
                s = t[t["measure_id"] == mid]
                by = {str(p): r for p, r in zip(s["period"].astype(str), [r for _, r in s.iterrows()])}
                rows.append(f'<th scope="row">{esc(contract.PRIMARY_NEEDS[mid.split("_")[-1]])}</th>'
                            + "".join(self.cell(m, by.get(y)) for y in years))
            tab = self.table(f"Data for Figure {self.n_fig + 1}: % of EHC plans by primary need, "
                             f"{self.name(self.area)}", ["Primary need", *years], rows, cls="needs")
            out.append(self.figure(
                fig, f"Primary need of EHC plans, {self.name(self.area)}: the six largest needs", tab,
                series=[(mid, self.area) for mid in top],
                height=380, note="Only the six largest needs are drawn; the table has every need. Suppressed shares "
                                 "are neither drawn nor added into any other figure."))
        # EHC plans per 1,000 by locality.
        m = self.m(LOCALITY_RATE_MEASURE)
        lt = self.engine.table([LOCALITY_RATE_MEASURE], [*LOCALITIES, CUMBRIA])
        period = self.latest_period(lt[lt["area_code"] != CUMBRIA], m) if not lt.empty else None
        if period is not None:
            at = self._rows_at(lt, LOCALITY_RATE_MEASURE, period, [*LOCALITIES, CUMBRIA])
            total = at[CUMBRIA]
            loc = lt[(lt["period"].astype(str) == period) & lt["area_code"].isin(LOCALITIES)]
            bench = float(total["value"]) if total is not None and not bool(total["suppressed"]) else None
            fig = charts.ranked_bars(loc, highlight=None, x_title=m.unit, benchmark=bench,
                                     benchmark_name="Cumbria")
            fig.update_layout(hovermode="closest")
            rows = []
            for code in LOCALITIES:
                r = at[code]
                gd, gl, gh = self._gap_cells(m, self._rest_gap(m, r, total))
                rows.append(f'<th scope="row">{esc(self.name(code))}</th>' + self.cell(m, r, ci=True) + gd + gl + gh)
            if total is not None:
                rows.append('<th scope="row">Cumbria (all localities)</th>' + self.cell(m, total, ci=True)
                            + '<td class="na">–</td><td class="na">–</td><td class="na">–</td>')
            tab = self.table(f"Data for Figure {self.n_fig + 1}: {m.title} by locality ({period[:4]})",
                             ["Locality", "Value (95% CI)", "Gap vs rest of Cumbria", "95% CI of gap", "Verdict"],
                             rows, cls="equity")
            out.append(self.figure(fig, f"{m.title} by locality, {period[:4]}, with 95% intervals", tab,
                                   series=[(m.id, code) for code in LOCALITIES],
                                   height=330, note="Dashed line: Cumbria as a whole. No judgement is made on "
                                   "this measure: differences can reflect need, identification or practice."))
        return "".join(out)

    def projection(self) -> str:
        m = self.m("ehcp_caseload")
        t = self.upto(self.engine.table(["ehcp_caseload"], [self.area]), m)
        hist = t[~t["suppressed"].astype(bool)].dropna(subset=["value"])
        # Only disclosed totals that are not small feed the model.
        hist = hist[hist["value"] >= 10]
        if len(hist) < 3:
            return '<p class="na">Too few years of EHC plan totals to project demand for this area.</p>'
        history = pd.DataFrame({"group": "ALL", "year": hist["period"].astype(str).str[:4].astype(int),
                                "count": hist["value"].astype(float)})
        bt_summary, calibration = loaded_backtest(self.engine)
        proj = apply_calibration(project_caseload(history, horizon=5), calibration)
        damped = project_caseload(history, horizon=5, method="damped")
        proj = proj[proj["group"] == "ALL"]
        damped_v = dict(zip(damped.loc[damped["kind"] == "projected", "year"],
                            damped.loc[damped["kind"] == "projected", "value"]))
        fig = charts.projection_chart(proj, y_title="EHC plans")
        fig.update_layout(hovermode="x unified")
        rows = []
        for _, r in proj.iterrows():
            if r["kind"] == "observed":
                rows.append(f'<th scope="row">{int(r["year"])}</th><td>Observed</td>'
                            f'<td class="num">{r["value"]:,.0f}</td>' + '<td class="na">–</td>' * 3)
            else:
                def r10(v):
                    return f"{round(v / 10) * 10:,.0f}" if np.isfinite(v) else "–"
                rows.append(f'<th scope="row">{int(r["year"])}</th><td>Projected</td>'
                            f'<td class="num">{r10(r["value"])}</td>'
                            + "".join(f'<td class="num">{r10(r[f"lower_{c}"])} to {r10(r[f"upper_{c}"])}</td>'
                                      if np.isfinite(r[f"lower_{c}"]) else '<td class="na">no interval</td>'
                                      for c in ("80", "95")) +
                            f'<td class="num">{r10(damped_v.get(r["year"], np.nan))}</td>')
        tab = self.table(f"Data for Figure {self.n_fig + 1}: EHC plans, {self.name(self.area)}, observed and "
                         "projected (projections rounded to the nearest 10)",
                         ["January", "Kind", "EHC plans", "80% interval", "95% interval", "Damped trend"],
                         rows, cls="proj")
        last_obs = proj[proj["kind"] == "observed"].iloc[-1]
        last_proj = proj[proj["kind"] == "projected"].iloc[-1]
        growth = (last_proj["value"] / last_obs["value"]) ** (1 / (last_proj["year"] - last_obs["year"])) - 1
        interval = (f"95% prediction interval {round(last_proj['lower_95'] / 10) * 10:,.0f} to "
                    f"{round(last_proj['upper_95'] / 10) * 10:,.0f}" if np.isfinite(last_proj["lower_95"])
                    else "no interval: too little backtest history")
        lead = (f"<p>On the trend of the last {min(6, len(history))} years, EHC plans in {esc(self.name(self.area))} "
                f"would rise from {last_obs['value']:,.0f} (January {int(last_obs['year'])}) to about "
                f"{round(last_proj['value'] / 10) * 10:,.0f} by January {int(last_proj['year'])} "
                f"({interval}), about {growth * 100:.1f}% a year.")
        lead += f" {esc(backtest_sentence(bt_summary))}</p>"
        self.projection_message = (
            f"Demand: EHC plans are projected to reach about {round(last_proj['value'] / 10) * 10:,.0f} by January "
            f"{int(last_proj['year'])} ({interval}), from {last_obs['value']:,.0f} in January "
            f"{int(last_obs['year'])}.")
        return self.figure(fig, f"EHC plans, {self.name(self.area)}: observed and projected to "
                                f"{int(last_proj['year'])}", tab, height=330, lead=lead,
                           series=[(m.id, self.area)],
                           note="Log-linear trend over the last six Januaries (module send_metrics.measures.projection). "
                                "Intervals come from the errors of the rolling-origin backtest of every council's "
                                "total known now, the same computation the backtest scores at every earlier year "
                                "(python -m send_metrics backtest); they cover a change shared by every council "
                                "only as large as the years loaded have shown; the "
                                "damped trend (growth slowing by a fifth each year) is a sensitivity check.")

    def demand(self) -> str:
        """The transition model (send_metrics.measures.demand) for a council with person-level data: places by
        setting with intervals, the spend with its cost table's source, and the model's backtest."""
        from send_metrics.measures import demand_outputs
        councils = demand_outputs.load_councils(self.engine.db)
        c = councils.get(self.area)
        if c is None or c.panel is None:
            why = " ".join(c.notes) if c is not None else ""
            return ('<p class="na">No projection from the transition model: it needs this council\'s person-level '
                    'EHC plan data (the SEN2 person-level return) for at least two consecutive Januaries. '
                    f'{esc(why)} The projection above is the aggregate model (a log-linear trend on council '
                    'totals).</p>')
        low, high = self.engine.suppress_min, self.engine.suppress_max
        params, sim = demand_outputs.project(c, years=10, sims=1000, seed=2026)
        total = demand_outputs.comparison(sim, None, "total", low, high)
        setting = demand_outputs.comparison(sim, None, "setting", low, high)
        hist = demand_outputs.protect(demand_outputs.history_counts(c.panel, "total"), low=low, high=high)
        fig = go.Figure()
        x = list(total["year"]) + list(total["year"])[::-1]
        fig.add_trace(go.Scatter(x=x, y=list(total["baseline_upper_95"]) + list(total["baseline_lower_95"])[::-1],
                                 fill="toself", fillcolor="rgba(29,112,184,0.15)", line={"width": 0},
                                 name="95% interval"))
        fig.add_trace(go.Scatter(x=total["year"], y=total["baseline_median"], mode="lines", name="Projected (median)",
                                 line={"color": "#1d70b8"}))
        fig.add_trace(go.Scatter(x=hist["year"], y=hist["value"], mode="lines+markers", name="Observed",
                                 line={"color": "#0b0c0c"}))
        fig.update_layout(xaxis_title="January", yaxis_title="EHC plans", hovermode="x unified")
        shown = [y for y in (setting["year"].min(), setting["year"].min() + 4, setting["year"].max())]
        rows = []
        for _, r in setting[setting["year"].isin(shown)].sort_values(["label", "year"]).iterrows():
            def num(v):
                return '<td class="na">–</td>' if _isnan(v) else f'<td class="num">{v:,.0f}</td>'
            rows.append(f'<th scope="row">{esc(r["label"])}</th><td>{int(r["year"])}</td>{num(r["baseline_median"])}'
                        + (f'<td class="num">{r["baseline_lower_95"]:,.0f} to {r["baseline_upper_95"]:,.0f}</td>'
                           if not _isnan(r["baseline_median"]) else '<td class="na">–</td>'))
        tab = self.table(f"Data for Figure {self.n_fig + 1}: projected EHC plans by setting, {self.name(self.area)} "
                         "(median of 1,000 simulations; projections of "
                         f"{low:g}-{high:g} places not shown)", ["Setting", "January", "EHC plans", "95% interval"],
                         rows, cls="proj")
        last = total.iloc[-1]
        summary, _cases = demand_outputs.loaded_backtest(self.engine.db)
        lead = (f"<p>Child by child, from {int(hist['year'].iloc[-1])}: about {last['baseline_median']:,.0f} EHC plans "
                f"in January {int(last['year'])} (95% interval {last['baseline_lower_95']:,.0f} to "
                f"{last['baseline_upper_95']:,.0f}). {esc(demand_outputs.backtest_sentence(summary))}</p>")
        out = self.figure(fig, f"EHC plans, {self.name(self.area)}: transition model to {int(last['year'])}", tab,
                          height=330, lead=lead,
                          note=esc(f"Model: {demand_outputs.SOURCE}; population: {c.pop_source}. "
                                   + " ".join(params.notes + c.notes)))
        if c.costs is None:
            out += ('<p class="na">Costs are not loaded (a place_costs table with its source); no spend is '
                    'shown.</p>')
        else:
            spend = demand_outputs.spend_comparison(sim, None, c.costs)
            srows = [f'<th scope="row">{int(r["year"])}</th><td class="num">£{r["baseline_median"] / 1e6:,.1f}m</td>'
                     f'<td class="num">£{r["baseline_lower_95"] / 1e6:,.1f}m to £{r["baseline_upper_95"] / 1e6:,.1f}m'
                     f'</td><td class="num">{r["uncosted_places"]:,.0f}</td>' for _, r in spend.iterrows()]
            out += self.table(f"Projected high-needs spend on EHC plan places a year, {self.name(self.area)}. "
                              f"Cost per place: {c.costs.source}", ["January", "Spend (median)", "95% interval",
                                                                    "Places without a cost"], srows)
        return out

    # -- reference sections ------------------------------------------------------------
    def definitions(self) -> str:
        rows = []
        needs = [mid for mid in self.shown if mid.startswith("need_share_")]
        for mid in self.shown:
            m = self.by_id[mid]
            title, ids, definition = m.title, m.id, m.definition
            if mid.startswith("need_share_"):
                if mid != needs[0]:
                    continue  # one row for the whole family, which differs only in the need named
                label = contract.PRIMARY_NEEDS[mid.split("_")[-1]]
                title = m.title.replace(label, "each primary need")
                definition = m.definition.replace(label, "the need named")
                ids = ", ".join(needs)
            extra = f"<br><span class=\"muted\">{esc(m.caveats)}</span>" if m.caveats else ""
            target = f" Target: {m.target:g}." if m.target is not None else ""
            rows.append(f'<th scope="row">{esc(title)}<span class="ci">{esc(ids)}</span></th>'
                        f"<td>{esc(definition)}{extra}</td><td>{esc(POLARITY_TEXT[m.polarity])}.{esc(target)}"
                        f"</td><td>{esc(m.source)}</td>")
        methods = "".join(f"<li><strong>{esc(h)}.</strong> {esc(t)}</li>" for h, t in METHODS)
        return (self.table("Definitions of every measure in this pack",
                           ["Measure", "Definition", "Direction", "Source"], rows, cls="defs")
                + f'<h3>How the statistics are computed</h3><ul class="methods">{methods}</ul>')

    def sources(self) -> str:
        man = self.db.query("SELECT source_file, dataset, edition, loaded_at, rows_loaded FROM manifest "
                            "ORDER BY dataset, source_file")
        full = self.engine.full_table()
        ds_of = {m.id: m.dataset for m in self.by_id.values()}
        monthly = {m.id: m.monthly for m in self.by_id.values()}
        f = full[["measure_id", "period"]].drop_duplicates().copy()
        f["dataset"] = f["measure_id"].map(ds_of)
        f["monthly"] = f["measure_id"].map(monthly)
        ranges = {}
        for ds, g in f.groupby("dataset"):
            lo, hi = str(g["period"].min()), str(g["period"].max())
            if bool(g["monthly"].iloc[0]):
                lo, hi = pd.Timestamp(lo).strftime("%b %Y"), pd.Timestamp(hi).strftime("%b %Y")
            ranges[ds] = f"{lo[:8]} to {hi[:8]}" if lo != hi else lo[:8]
        try:
            bench = self.db.query("SELECT min(year) AS lo, max(year) AS hi FROM benchmarks")
            if len(bench) and not _isnan(bench["lo"].iloc[0]):
                ranges.setdefault("benchmarks", f"{int(bench['lo'].iloc[0])} to {int(bench['hi'].iloc[0])}")
        except Exception:  # noqa: BLE001 - a data-date column is optional context
            pass
        rows = []
        for _, r in man.iterrows():
            loaded = pd.Timestamp(r["loaded_at"]).strftime("%d %b %Y %H:%M") if not _isnan(r["loaded_at"]) else "–"
            rows.append(f'<th scope="row">{esc(r["source_file"])}</th><td>{esc(r["dataset"])}</td>'
                        f'<td>{esc(ranges.get(r["dataset"], "–"))}</td>'
                        f'<td>{esc(r["edition"] if not _isnan(r["edition"]) else "–")}</td>'
                        f'<td class="num">{int(r["rows_loaded"]) if not _isnan(r["rows_loaded"]) else "–"}</td>'
                        f"<td>{esc(loaded)}</td>")
        return self.table("Sources, data dates and editions of the current load",
                          ["File", "Dataset", "Data dates", "Edition", "Rows", "Loaded"], rows, cls="sources")


def _spark_svg(values: list, width: int = 56, height: int = 16) -> str:
    """A small line of the last points (protected values only), hidden from screen readers: the
    trend column says the same in words."""
    vals = [float(v) for v in values if not _isnan(v)]
    if len(vals) < 2:
        return '<span class="muted">–</span>'
    lo, hi = min(vals), max(vals)
    span = (hi - lo) or 1.0
    step = (width - 4) / (len(vals) - 1)
    pts = " ".join(f"{2 + i * step:.1f},{height - 2 - (v - lo) / span * (height - 4):.1f}" for i, v in enumerate(vals))
    return (f'<svg class="spark" width="{width}" height="{height}" aria-hidden="true" focusable="false">'
            f'<polyline points="{pts}" fill="none" stroke="#12436D" stroke-width="1.5"/></svg>')


def _wrap(text: str, width: int = 34) -> str:
    """Break a long axis label into lines (plotly takes <br>); the text itself is escaped for plotly."""
    return "<br>".join(for_plotly(x) for x in charts.wrap_lines(text, width))


def _direction_colour(m: Measure, gap) -> str:
    d, lo, hi = gap
    if stats.equity_verdict(lo, hi) != "significant":
        return "#3D3D3D"
    if m.polarity == "no_judgement":
        return "#12436D"
    better = (d > 0) == (m.polarity == "higher_is_better")
    return "#28A197" if better else "#801650"


def _forest(labels: list[str], gaps: list[tuple[float, float, float]], colours: list[str], *,
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


CSS = """
@page { size: A4; margin: 15mm;
  @bottom-left { content: "__FOOTER__"; font: 8pt Arial, Helvetica, sans-serif; color: #505a5f; }
  @bottom-right { content: "Page " counter(page) " of " counter(pages); font: 8pt Arial, Helvetica, sans-serif; color: #505a5f; } }
:root { --blue: #12436D; --teal: #28A197; --plum: #801650; --orange: #F46A25; --grey: #3D3D3D;
  --lilac: #A285D1; --text: #0b0c0c; --secondary: #505a5f; --border: #b1b4b6; --light: #f3f2f1; }
* { box-sizing: border-box; }
html { background: #dee0e2; }
body { margin: 0; font-family: "GDS Transport", Arial, Helvetica, sans-serif; color: var(--text);
  font-size: 15px; line-height: 1.4; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
.sheet { width: 210mm; margin: 0 auto; background: white; padding: 12mm 15mm 15mm; }
.masthead { border-top: 10px solid var(--blue); padding-top: 10px; display: flex; justify-content: space-between;
  align-items: baseline; font-size: 13px; color: var(--secondary); }
.masthead strong { color: var(--blue); font-size: 14px; letter-spacing: .02em; }
h1 { font-size: 30px; line-height: 1.12; margin: 14px 0 6px; font-weight: 700; color: var(--text); }
h1 .area { color: var(--blue); display: block; }
.meta { color: var(--secondary); font-size: 14px; margin: 0 0 12px; }
.meta span + span::before { content: " · "; }
h2 { font-size: 22px; margin: 26px 0 8px; padding-top: 8px; border-top: 2px solid var(--blue); color: var(--text);
  break-after: avoid; page-break-after: avoid; }
h2 .num { color: var(--blue); margin-right: 6px; }
h3 { font-size: 17px; margin: 18px 0 6px; break-after: avoid; page-break-after: avoid; }
p { margin: 0 0 10px; }
.lede { font-size: 15px; color: var(--text); }
.notice { border-left: 6px solid var(--orange); background: #fef0e9; padding: 8px 12px; margin: 10px 0; font-size: 13.5px; }
.notice strong { color: #8a3100; }
.notice.synthetic { border-color: var(--plum); background: #f7e8ee; }
.notice.synthetic strong { color: var(--plum); }
.summary { background: var(--light); border-left: 6px solid var(--blue); padding: 10px 16px 6px; margin: 10px 0 12px;
  break-inside: avoid; page-break-inside: avoid; }
.summary h2 { border: 0; margin: 0 0 6px; padding: 0; font-size: 20px; }
.summary ol { margin: 0 0 6px; padding-left: 22px; }
.summary li { margin-bottom: 6px; font-size: 15px; }
.howto { font-size: 12.5px; color: var(--secondary); }
.contents { columns: 2; font-size: 13px; margin: 0 0 4px; padding-left: 20px; }
.contents a { color: #1d70b8; }
table.data { border-collapse: collapse; width: 100%; margin: 6px 0 14px; font-size: 11.5px; }
table.data tr { break-inside: avoid; page-break-inside: avoid; }
table.grid, table.proj, table.needs, table.sources { break-inside: avoid; page-break-inside: avoid; }
table.data caption { text-align: left; font-weight: 700; font-size: 13px; padding: 0 0 4px; caption-side: top; }
.tab-no, .fig-no { color: var(--blue); margin-right: 4px; }
table.data th, table.data td { border-bottom: 1px solid var(--border); padding: 4px 5px; text-align: left; vertical-align: top; }
table.data thead th { border-bottom: 2px solid var(--text); font-size: 11px; vertical-align: bottom; }
table.data tbody th { font-weight: 700; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.supp { color: var(--secondary); font-style: italic; text-align: right; }
td.na { color: #6f777b; text-align: right; }
.ci { display: block; font-weight: 400; color: var(--secondary); font-size: 10.5px; }
.unit { display: block; color: var(--secondary); font-size: 10.5px; }
.bench { display: block; color: var(--secondary); font-size: 10.5px; margin-top: 2px; }
.muted { color: var(--secondary); }
table.glance { table-layout: fixed; width: 100%; }
table.glance td, table.glance th { font-size: 9.5px; padding: 3px 3px; overflow-wrap: anywhere; }
table.glance th[scope=row] { width: 24%; }
table.glance .tag { white-space: normal; font-size: 9.5px; }
table.glance td.num { white-space: normal; }
.rag-red { background: #F6D7D2; color: #0B0C0C; } .rag-amber { background: #FDE3CC; color: #0B0C0C; }
.rag-green { background: #CCE2D8; color: #0B0C0C; } .rag-neutral { background: #dbe3ec; color: var(--blue); }
.rag-none { color: #505a5f; font-weight: 400; }
.spark { font-size: 12px; letter-spacing: -1px; color: var(--blue); }
.tag { display: inline-block; padding: 1px 5px; font-weight: 700; font-size: 10.5px; white-space: nowrap; }
.tag-better { background: #d4ece9; color: #0f5a52; }
.tag-worse { background: #f2d6e0; color: var(--plum); }
.tag-similar { background: #e9e9e9; color: var(--grey); }
.tag-neutral { background: #dbe3ec; color: var(--blue); }
.tag-none { color: #6f777b; font-weight: 400; }
.mdc { display: inline-block; width: 16px; height: 16px; border-radius: 50%; color: white; font-weight: 700;
  font-size: 10px; line-height: 16px; text-align: center; margin-right: 4px; vertical-align: middle; }
.mdc-text { font-size: 10.5px; vertical-align: middle; }
table.headline td:nth-child(3) { font-size: 13px; font-weight: 700; }
table.grid { font-size: 9.5px; table-layout: fixed; }
table.grid th:first-child { width: 17%; }
table.grid td, table.grid th { padding: 2px 3px; }
table.grid td.supp { font-size: 8.5px; }
sup.flag { color: var(--orange); font-weight: 700; margin-left: 1px; }
figure.chart { margin: 12px 0 18px; }
.fig-title { font-weight: 700; font-size: 15px; margin: 0 0 4px; }
.verdict { font-size: 13.5px; margin: 0 0 4px; }
.verdict .badges { margin-bottom: 4px; }
.plot { width: calc(__W__px + 4px); padding: 1px; break-inside: avoid; page-break-inside: avoid; border: 1px solid #e6e6e6; }
.note { font-size: 11.5px; color: var(--secondary); margin: -8px 0 0; }
.keep { break-inside: avoid; page-break-inside: avoid; }
@media print { .page-break { break-before: page; page-break-before: always; } }
table.defs td, table.defs th { font-size: 10.5px; }
footer { margin-top: 18px; border-top: 1px solid var(--border); padding-top: 6px; font-size: 11.5px; color: var(--secondary); }
@media print {
  html { background: white; }
  .sheet { width: auto; padding: 0; margin: 0; }
  a { color: inherit; text-decoration: none; }
  h2 { break-after: avoid; }
}
"""


def board_pack_html(engine: Engine, area_code: str, period: str | None = None) -> str:
    """The board pack for one area as a single self-contained HTML document."""
    pack = _Pack(engine, area_code, period)
    db = engine.db
    info = dict(db.load_info or {})
    demo = bool(info.get("demo"))
    area_name = pack.name(area_code)

    tiles = summary.tiles(engine, area_code, pack.year)
    messages = summary.key_messages(tiles)
    for t in tiles:
        pack.m(t.measure.id)

    glance = pack.glance(tiles) if tiles else '<p class="na">No headline measures have data for this area.</p>'
    headline = pack.headline(tiles) if tiles else '<p class="na">No headline measures have data for this area.</p>'
    spc_html = pack.spc_section()
    ns_html = pack.north_south()
    loc_html = pack.localities()
    needs_html = pack.needs()
    proj_html = pack.projection()
    demand_html = pack.demand()

    # Fewer than three messages: add the strongest equity gaps and the projection, all computed above.
    if len(messages) < 3:
        used: set[str] = set()
        for _, mid, text in sorted(pack.extra_messages, key=lambda s: -s[0]):
            if len(messages) >= 4:
                break
            if mid not in used:  # one message per measure: the strongest gap
                used.add(mid)
                messages.append(text)
        if len(messages) < 3 and getattr(pack, "projection_message", None):
            messages.append(pack.projection_message)

    monthly_latest = [t.period_label for t in tiles if t.measure.monthly]
    annual = [str(t.period_label)[:4] for t in tiles if not t.measure.monthly]
    year = pack.year or (max(annual) if annual else None)
    period_text = f"Year {year}" if year else "Latest period"
    if monthly_latest:
        period_text += f" (monthly measures to {monthly_latest[0]})"
    today = dt.date.today()
    loaded = info.get("loaded_at")
    loaded_text = _long_date(pd.Timestamp(loaded)) if loaded else "unknown"
    footer = f"SEND board pack · {area_name} · {_long_date(today)}" + (" · SYNTHETIC DATA" if demo else "")

    synthetic = ""
    if demo:
        synthetic = ('<div class="notice synthetic" role="note"><strong>Synthetic data - not for decisions.</strong> '
                     "This pack was produced from the demonstration extract. Local figures (caseload, assessments, "
                     "school census, waiting lists and outcomes) are made up to show how the pack works; only the "
                     "England, regional and statistical-neighbour benchmarks are published figures.</div>")
    notes = [n for n in info.get("notes") or [] if n]
    load_notes = ""
    if notes:
        load_notes = ('<div class="notice" role="note"><strong>Notes from the data load:</strong> '
                      + "; ".join(esc(n) for n in notes[:5]) + "</div>")

    sections = [
        ("headline", "Headline measures", headline,
         "Each figure is the latest for the period, with its 95% confidence interval. Significance compares the "
         "interval with the England value and the statistical neighbours' pooled value (counts are never "
         "compared); the recent trend tests the last five annual points at 99.8%; the SPC verdict reads the latest "
         "point against its process limits. How each is computed is in the Definitions section. "
         + summary.multiple_comparisons_note(tiles)),
        ("waits", "Waiting times: statistical process control", spc_html,
         "Making Data Count XmR charts: points outside the process limits, runs of seven rising or falling, two "
         "of three points beyond the two-sigma line and runs of seven on one side of the mean are special causes "
         "(a real change; on trial limits, from fewer than 13 points, a possible one); everything else is "
         "common-cause noise and needs no reaction."),
        ("equity", "Equity: North and South Cumbria, and localities", ns_html + "<h3>Localities</h3>" + loc_html,
         "Gaps between places are differences of proportions (Newcombe's hybrid score interval), of rates (MOVER "
         "on their exact or Byar intervals) or of averages (MOVER on their Student's t intervals, when the "
         "pupils' standard deviation is loaded). A gap is significant when its 95% interval excludes zero."),
        ("needs", "Needs and demand", needs_html + proj_html, ""),
        ("demand", "Demand and cost projection (transition model)", demand_html,
         "Each child with a plan moves year to year between national curriculum year, primary need and setting, "
         "with probabilities estimated from the council's January snapshots and pooled towards larger groups where "
         "data are thin; joiners are drawn against the population. 1,000 simulations give the intervals."),
    ]
    body = []
    for i, (anchor, title, content, intro) in enumerate(sections, start=1):
        intro_html = f'<p class="howto">{esc(intro)}</p>' if intro else ""
        cls = ' class="page-break"' if i > 1 else ""  # each main section starts a printed page
        body.append(f'<section id="{anchor}"{cls}><h2><span class="num">{i}</span>{esc(title)}</h2>'
                    f"{intro_html}{content}</section>")

    disclosure_text = (
        f"Counts from {engine.suppress_min:g} to {engine.suppress_max:g} are suppressed (primary suppression), and "
        "further cells are suppressed wherever a suppressed count could be worked out from the totals of "
        "overlapping areas - localities, councils, the North and South Cumbria footprints and Cumbria as a "
        "whole (secondary suppression). A suppressed figure is shown as \"suppressed\" and drawn as a gap, never "
        "as zero; rates, intervals, gaps and changes built on a suppressed count are withheld too. The aggregate "
        "projection uses council totals only; the transition model's projections are model estimates, not counts "
        "of children, and a projection of a small number is not shown. "
        f"{pack.suppressed_shown} cells in this pack are suppressed.")
    refs = [
        ("definitions", "Definitions", pack.definitions()),
        ("sources", "Sources, data dates and editions", pack.sources()
         + f'<p class="howto">Data loaded {esc(loaded_text)} (load {esc(info.get("load_id", "-"))}, data contract '
           f'version {esc(info.get("contract_version", "-"))}).</p>'),
        ("disclosure", "Disclosure control", f'<div class="notice" role="note"><strong>Small numbers are protected.'
                                             f'</strong> {esc(disclosure_text)}</div>'),
    ]
    n0 = len(sections)
    for i, (anchor, title, content) in enumerate(refs, start=n0 + 1):
        cls = ' class="page-break"' if i == n0 + 1 else ""
        body.append(f'<section id="{anchor}"{cls}><h2><span class="num">{i}</span>{esc(title)}</h2>{content}</section>')

    contents = "".join(f'<li><a href="#{a}">{esc(t)}</a></li>' for a, t, *_ in [*sections, *refs])
    msgs = "".join(f"<li>{esc(m)}</li>" for m in messages) or "<li>No measure has enough data for a message.</li>"
    # The footer sits in a CSS string inside <style>: escaped for that context (every character
    # that could end the string, the rule or the element is a CSS hex escape).
    css = (CSS.replace("__FOOTER__", for_css_string(footer))
              .replace("__W__", str(CHART_WIDTH)))
    plotly_js = plotly.offline.get_plotlyjs()
    title = f"SEND board pack: {area_name}, {period_text}"
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
        f"<title>{esc(title)}</title><style>{css}</style>"
        f'<script type="text/javascript">{plotly_js}</script></head><body><main class="sheet">'
        f'<div class="masthead"><strong>SEND PARTNERSHIP BOARD</strong><span>Board paper · {esc(_long_date(today))}</span></div>'
        f'<h1>SEND needs, timeliness and waiting times<span class="area">{esc(area_name)}</span></h1>'
        f'<p class="meta"><span>{esc(period_text)}</span><span>Area code {esc(area_code)}</span>'
        f"<span>Prepared {esc(_long_date(today))}</span><span>Data loaded {esc(loaded_text)}</span></p>"
        f"{synthetic}{load_notes}"
        f'<section class="glance" id="glance"><h2>Headline measures at a glance</h2>{glance}'
        '<p class="howto">Against benchmark: ▼ worse, ● similar, ▲ better than England (else the statistical '
        "neighbours) at 95% confidence; ◆ higher or lower where no judgement is made. Trend: the last five "
        "points. SPC: I improvement, C concern, N neither, ~ common cause (noise).</p></section>"
        f'<section class="summary" id="summary"><h2>What the board should know</h2><ol>{msgs}</ol>'
        '<p class="howto">Generated from the statistics in this pack: significance against England and '
        "statistical neighbours at 95% confidence, the recent trend, and SPC signals (special cause = a real "
        "change; common cause = noise).</p></section>"
        f'<ol class="contents">{contents}</ol>'
        + "".join(body)
        + f"<footer>{esc(footer)}. Produced by the SEND needs dashboard (python -m send_metrics report) from the "
          "same measure engine as the dashboard.</footer></main></body></html>\n")


def write_report(args) -> int:
    """`python -m send_metrics report`: write the pack; 0 on success, 1 with a clear message otherwise."""
    from send_metrics.config import load_config
    from send_metrics.db import NoData, get_database
    from send_metrics.measures.engine import get_engine
    from send_metrics.ingest.store import load

    try:
        config = load_config(getattr(args, "data_dir", None))
        db = get_database(config)
        try:
            db.refresh()
        except NoData:
            if not config.data_dir.is_dir():
                print(f"error: no data has been loaded and the data folder {config.data_dir} does not exist",
                      file=sys.stderr)
                return 1
            print(f"no data loaded yet: loading {config.data_dir} ...", file=sys.stderr)
            result = load(config)
            if not result.load_id:
                print("error: no data could be loaded: " + "; ".join(result.notes or []), file=sys.stderr)
                return 1
            db.refresh(force=True)
        engine = get_engine(db)
        area = getattr(args, "area", None) or "E06000063"
        period = getattr(args, "period", None)
        known = set(db.query("SELECT area_code FROM areas")["area_code"].astype(str))
        if area not in known:
            print(f"error: unknown area code '{area}' (see the areas list, e.g. E06000063 Cumberland)",
                  file=sys.stderr)
            return 1
        if period is not None:
            if not re.fullmatch(r"\d{4}", str(period)):
                print(f"error: period '{period}' is not a year such as 2025", file=sys.stderr)
                return 1
            years = set(engine.table(summary.HEADLINE_MEASURES, [area])["period"].astype(str).str[:4])
            if str(period) not in years:
                shown = ", ".join(sorted(years)) or "none"
                print(f"error: no headline data for {area} in {period} (years with data: {shown})", file=sys.stderr)
                return 1
        text = board_pack_html(engine, area, period)
        out = Path(args.out)
        if out.parent and not out.parent.is_dir():
            out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)
        print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB): board pack for {area}"
              + (f", {period}" if period else ", latest period"))
        return 0
    except OSError as exc:
        print(f"error: could not write {getattr(args, 'out', '')}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # never a traceback for a user; SEND_DEBUG=1 shows it
        if os.environ.get("SEND_DEBUG"):
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        print(f"error: the board pack could not be written: {type(exc).__name__}: {first} "
              "(set SEND_DEBUG=1 for details)", file=sys.stderr)
        return 1
