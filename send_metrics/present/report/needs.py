"""The board pack's needs and demand section: the primary-need mix of EHC plans, plans per 1,000 by
locality against Cumbria, and the aggregate demand projection (a log-linear trend on council totals,
its intervals from the rolling-origin backtest, with a damped trend as a sensitivity check).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from send_metrics.contract import codes
from send_metrics.measures.projection import project_caseload
from send_metrics.measures.projection_backtest import apply_calibration, backtest_sentence, loaded_backtest
from send_metrics.present import charts
from send_metrics.present.report.equity import cumbria_total, gap_cells, rest_gap, rows_at
from send_metrics.present.report.pack import CUMBRIA_TOTALS, LOCALITIES, Pack, esc

LOCALITY_RATE_MEASURE = "ehcp_rate_0_25"
NEED_CODES = list(codes.PRIMARY_NEEDS)


def needs(pack: Pack) -> str:
    out = []
    ids = [f"need_share_{c}" for c in NEED_CODES if f"need_share_{c}" in pack.by_id]
    t = pack.engine.table(ids, [pack.area])
    if not t.empty:
        m0 = pack.by_id[ids[0]]
        t = pack.upto(t, m0)
        years = sorted(t["period"].astype(str).unique())[-6:]
        t = t[t["period"].astype(str).isin(years)]
        latest = t[t["period"].astype(str) == years[-1]].dropna(subset=["value"])
        top = list(latest.sort_values("value", ascending=False)["measure_id"].head(6))
        plot = t[t["measure_id"].isin(top)].copy()
        plot["need"] = plot["measure_id"].map(lambda i: codes.PRIMARY_NEEDS[i.split("_")[-1]])
        plot["_o"] = plot["measure_id"].map({mid: k for k, mid in enumerate(top)})
        plot = plot.sort_values(["_o", "period"])
        colours, patterns = charts.need_colours(codes.PRIMARY_NEEDS)
        fig = charts.stacked_share(plot, x="period_label", colour="need", y="value",
                                   y_title="% of EHC plans", colours=colours, patterns=patterns)
        fig.update_layout(legend=dict(orientation="h", y=-0.15, x=0, yanchor="top"), hovermode="closest")
        rows = []
        for mid in ids:
            m = pack.m(mid)
            s = t[t["measure_id"] == mid]
            by = {str(p): r for p, r in zip(s["period"].astype(str), [r for _, r in s.iterrows()])}
            rows.append(f'<th scope="row">{esc(codes.PRIMARY_NEEDS[mid.split("_")[-1]])}</th>'
                        + "".join(pack.cell(m, by.get(y)) for y in years))
        tab = pack.table(f"Data for Figure {pack.n_fig + 1}: % of EHC plans by primary need, "
                         f"{pack.name(pack.area)}", ["Primary need", *years], rows, cls="needs")
        out.append(pack.figure(
            fig, f"Primary need of EHC plans, {pack.name(pack.area)}: the six largest needs", tab,
            series=[(mid, pack.area) for mid in top],
            height=380, note="Only the six largest needs are drawn; the table has every need. Suppressed shares "
                             "are neither drawn nor added into any other figure."))
    # EHC plans per 1,000 by locality.
    m = pack.m(LOCALITY_RATE_MEASURE)
    lt = pack.engine.table([LOCALITY_RATE_MEASURE], [*LOCALITIES, *CUMBRIA_TOTALS])
    period = pack.latest_period(lt[lt["area_code"].isin(LOCALITIES)], m) if not lt.empty else None
    if period is not None:
        at = rows_at(lt, LOCALITY_RATE_MEASURE, period, LOCALITIES)
        total = cumbria_total(lt, LOCALITY_RATE_MEASURE, period)
        loc = lt[(lt["period"].astype(str) == period) & lt["area_code"].isin(LOCALITIES)]
        bench = float(total["value"]) if total is not None and not bool(total["suppressed"]) else None
        fig = charts.ranked_bars(loc, highlight=None, x_title=m.unit, benchmark=bench,
                                 benchmark_name="Cumbria")
        fig.update_layout(hovermode="closest")
        rows = []
        for code in LOCALITIES:
            r = at[code]
            gd, gl, gh = gap_cells(m, rest_gap(m, r, total, pack.engine.suppress_min, pack.engine.suppress_max))
            rows.append(f'<th scope="row">{esc(pack.name(code))}</th>' + pack.cell(m, r, ci=True) + gd + gl + gh)
        if total is not None:
            rows.append('<th scope="row">Cumbria (all localities)</th>' + pack.cell(m, total, ci=True)
                        + '<td class="na">–</td><td class="na">–</td><td class="na">–</td>')
        tab = pack.table(f"Data for Figure {pack.n_fig + 1}: {m.title} by locality ({period[:4]})",
                         ["Locality", "Value (95% CI)", "Gap vs rest of Cumbria", "95% CI of gap", "Verdict"],
                         rows, cls="equity")
        out.append(pack.figure(fig, f"{m.title} by locality, {period[:4]}, with 95% intervals", tab,
                               series=[(m.id, code) for code in LOCALITIES],
                               height=330, note="Dashed line: Cumbria as a whole. No judgement is made on "
                               "this measure: differences can reflect need, identification or practice."))
    return "".join(out)


def projection(pack: Pack) -> str:
    m = pack.m("ehcp_caseload")
    t = pack.upto(pack.engine.table(["ehcp_caseload"], [pack.area]), m)
    hist = t[~t["suppressed"].astype(bool)].dropna(subset=["value"])
    # Only disclosed totals that are not small feed the model.
    hist = hist[hist["value"] >= 10]
    if len(hist) < 3:
        return '<p class="na">Too few years of EHC plan totals to project demand for this area.</p>'
    history = pd.DataFrame({"group": "ALL", "year": hist["period"].astype(str).str[:4].astype(int),
                            "count": hist["value"].astype(float)})
    bt_summary, calibration = loaded_backtest(pack.engine)
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
    tab = pack.table(f"Data for Figure {pack.n_fig + 1}: EHC plans, {pack.name(pack.area)}, observed and "
                     "projected (projections rounded to the nearest 10)",
                     ["January", "Kind", "EHC plans", "80% interval", "95% interval", "Damped trend"],
                     rows, cls="proj")
    last_obs = proj[proj["kind"] == "observed"].iloc[-1]
    last_proj = proj[proj["kind"] == "projected"].iloc[-1]
    growth = (last_proj["value"] / last_obs["value"]) ** (1 / (last_proj["year"] - last_obs["year"])) - 1
    interval = (f"95% prediction interval {round(last_proj['lower_95'] / 10) * 10:,.0f} to "
                f"{round(last_proj['upper_95'] / 10) * 10:,.0f}" if np.isfinite(last_proj["lower_95"])
                else "no interval: too little backtest history")
    lead = (f"<p>On the trend of the last {min(6, len(history))} years, EHC plans in {esc(pack.name(pack.area))} "
            f"would rise from {last_obs['value']:,.0f} (January {int(last_obs['year'])}) to about "
            f"{round(last_proj['value'] / 10) * 10:,.0f} by January {int(last_proj['year'])} "
            f"({interval}), about {growth * 100:.1f}% a year.")
    lead += f" {esc(backtest_sentence(bt_summary))}</p>"
    pack.projection_message = (
        f"Demand: EHC plans are projected to reach about {round(last_proj['value'] / 10) * 10:,.0f} by January "
        f"{int(last_proj['year'])} ({interval}), from {last_obs['value']:,.0f} in January "
        f"{int(last_obs['year'])}.")
    return pack.figure(fig, f"EHC plans, {pack.name(pack.area)}: observed and projected to "
                            f"{int(last_proj['year'])}", tab, height=330, lead=lead,
                       series=[(m.id, pack.area)],
                       note="Log-linear trend over the last six Januaries (module send_metrics.measures.projection). "
                            "Intervals come from the errors of the rolling-origin backtest of every council's "
                            "total known now, the same computation the backtest scores at every earlier year "
                            "(python -m send_metrics backtest); they cover a change shared by every council "
                            "only as large as the years loaded have shown; the "
                            "damped trend (growth slowing by a fifth each year) is a sensitivity check.")
