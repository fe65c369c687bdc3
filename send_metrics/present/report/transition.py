"""The board pack's transition-model section: where the council's person-level EHC plan data is
loaded, the child-by-child projection of plans by setting with intervals, the high-needs spend with
its cost table's source, and the model's backtest; otherwise a sentence saying what is missing.
"""
from __future__ import annotations

import plotly.graph_objects as go

from send_metrics.present.report.pack import Pack, esc, missing


def transition_model(pack: Pack) -> str:
    """The transition model (send_metrics.measures.demand) for a council with person-level data: places by
    setting with intervals, the spend with its cost table's source, and the model's backtest."""
    from send_metrics.measures import demand_outputs
    councils = demand_outputs.load_councils(pack.engine.db)
    c = councils.get(pack.area)
    if c is None or c.panel is None:
        why = " ".join(c.notes) if c is not None else ""
        return ('<p class="na">No projection from the transition model: it needs this council\'s person-level '
                'EHC plan data (the SEN2 person-level return) for at least two consecutive Januaries. '
                f'{esc(why)} The projection above is the aggregate model (a log-linear trend on council '
                'totals).</p>')
    low, high = pack.engine.suppress_min, pack.engine.suppress_max
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
            return '<td class="na">–</td>' if missing(v) else f'<td class="num">{v:,.0f}</td>'
        rows.append(f'<th scope="row">{esc(r["label"])}</th><td>{int(r["year"])}</td>{num(r["baseline_median"])}'
                    + (f'<td class="num">{r["baseline_lower_95"]:,.0f} to {r["baseline_upper_95"]:,.0f}</td>'
                       if not missing(r["baseline_median"]) else '<td class="na">–</td>'))
    tab = pack.table(f"Data for Figure {pack.n_fig + 1}: projected EHC plans by setting, {pack.name(pack.area)} "
                     "(median of 1,000 simulations; projections of "
                     f"{low:g}-{high:g} places not shown)", ["Setting", "January", "EHC plans", "95% interval"],
                     rows, cls="proj")
    last = total.iloc[-1]
    summary, _cases = demand_outputs.loaded_backtest(pack.engine.db)
    lead = (f"<p>Child by child, from {int(hist['year'].iloc[-1])}: about {last['baseline_median']:,.0f} EHC plans "
            f"in January {int(last['year'])} (95% interval {last['baseline_lower_95']:,.0f} to "
            f"{last['baseline_upper_95']:,.0f}). {esc(demand_outputs.backtest_sentence(summary))}</p>")
    out = pack.figure(fig, f"EHC plans, {pack.name(pack.area)}: transition model to {int(last['year'])}", tab,
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
        out += pack.table(f"Projected high-needs spend on EHC plan places a year, {pack.name(pack.area)}. "
                          f"Cost per place: {c.costs.source}", ["January", "Spend (median)", "95% interval",
                                                                "Places without a cost"], srows)
    return out
