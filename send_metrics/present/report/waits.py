"""The board pack's waiting-times section: an SPC (XmR) chart per monthly waiting-time measure, with
its variation and assurance verdicts in words and its data as a year-by-month grid beneath.
"""
from __future__ import annotations

from send_metrics.measures import summary
from send_metrics.present.report.pack import ASSURANCE_LABEL, VARIATION_LABEL, Pack, esc
from send_metrics.present.spc_charts import spc_chart
from send_metrics.stats.spc import spc_summary

# Monthly waiting-time measures charted as SPC for the chosen area.
SPC_MEASURES = ["wait_18wk_SLT", "wait_list_SLT", "wait_median_AUTISM", "autism_over_13wk_pct"]


def spc_section(pack: Pack) -> str:
    tiles = summary.tiles(pack.engine, pack.area, pack.year, measure_ids=SPC_MEASURES)
    parts = []
    for t in tiles:
        m = pack.m(t.measure.id)
        if t.spc_frame is None:
            continue
        imp = summary.IMPROVEMENT[m.polarity]
        summ = spc_summary(t.spc_frame, imp, m.target, fmt=m.format_value)
        fig = spc_chart(t.spc_frame, x="date", y_title=m.unit, target=m.target)
        verdict = VARIATION_LABEL.get(summ["variation"], ("", "No verdict"))[1]
        title = f"{m.title}, {pack.name(pack.area)}: {verdict.lower()}"
        if summ.get("assurance") in ("consistently_pass", "consistently_fail", "inconsistent"):
            title += f"; {ASSURANCE_LABEL[summ['assurance']][1].lower()}"
        lead = (f'<div class="badges">{pack.spc_badges(summ["variation"], summ["assurance"])}</div>'
                f"<p>{esc(summ['sentence'])}</p>")
        table = pack.month_grid(
            f"Data for Figure {pack.n_fig + 1}: {m.title}, {pack.name(pack.area)}, by month "
            "(I, C, N: special-cause points)", [("", m, t.series, t.spc_frame)])
        limits = (f"Mean {m.format_value(summ['mean'])}; process limits {m.format_value(summ['lower_limit'])} "
                  f"to {m.format_value(summ['upper_limit'])} ({summ['segment_points']} points).")
        parts.append(pack.figure(fig, title, table, lead=lead, note=esc(limits), height=300,
                                 series=[(m.id, pack.area)]))
    if not parts:
        return '<p class="na">No monthly waiting-time data is available for this area.</p>'
    return "".join(parts)
