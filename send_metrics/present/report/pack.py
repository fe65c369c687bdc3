"""The `Pack` every section of the board pack writes through: it numbers figures and tables as
they are added, tags every value cell with its identity (`data-cell`, so a test can find each
suppressed cell), counts the suppressed cells shown and remembers which measures appeared (the
Definitions section lists exactly those).

Also the areas the pack compares and the words for its verdicts, shared by the sections.
"""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from send_metrics.catalogue import Measure, measures_by_id
from send_metrics.measures.engine import Engine
from send_metrics.present.report.style import CHART_WIDTH
from send_metrics.present.safe_text import for_html, safe_figure
from send_metrics.present.spc_charts import SPC_COLOURS

CUMBRIA = "E10000006"
# Cumbria as a whole under each of its names: the two councils' combined series since April 2023,
# the former county before (a period has one or the other).
CUMBRIA_TOTALS = ("CMB-CUMBRIA-2COUNCILS", CUMBRIA)
FOOTPRINTS = ["HF-NORTH-CUMBRIA", "HF-SOUTH-CUMBRIA"]
LOCALITIES = ["LOC-ALLERDALE", "LOC-CARLISLE", "LOC-COPELAND-N", "LOC-MILLOM", "LOC-EDEN",
              "LOC-BARROW-FURNESS", "LOC-SOUTH-LAKELAND"]

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

SIG_LABEL = {"better": ("▲ Better", "better"), "worse": ("▼ Worse", "worse"),
             "similar": ("● Similar", "similar"), "higher": ("▲ Higher", "neutral"),
             "lower": ("▼ Lower", "neutral"), "not_compared": ("– Not compared", "none")}
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


def missing(v) -> bool:
    try:
        return v is None or bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


class Pack:
    """One pack as its sections are built in order: numbers figures and tables as it goes."""

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
        if missing(row["value"]):
            return f'<td class="{cls} na" data-cell="{ident}">not available</td>'
        text = esc(m.format_value(float(row["value"])))
        if ci and not missing(row.get("lower_95")):
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
            colour = SPC_COLOURS.get(variation, "#a6a6a6")
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
