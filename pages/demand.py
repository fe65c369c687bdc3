"""Demand and cost: the transition model's projection of EHC plans by setting, need and age, the
high-needs spend it implies, a scenario beside the baseline (kept in the link), and the model's
rolling-origin backtest. The model and its tables are in send_metrics.measures.demand; this page draws them."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import ui
from send_metrics.measures import demand
from send_metrics.measures import demand_outputs

SIMS = 1000
YEARS = 10
SEED = 2026
# Options are strings: they are what the link holds (?sc_move=-10&sc_join=-3&sc_year=2027).
MOVE_CHANGES = ["-50", "-25", "-20", "-10", "-5", "0", "5", "10", "20", "25", "50"]
JOINER_CHANGES = ["-5", "-3", "-2", "-1", "0", "1", "2", "3", "5"]
BAND = "rgba(29, 112, 184, {a})"


@st.cache_resource(show_spinner=False, max_entries=2)
def _councils(load_id: str) -> dict:
    return demand_outputs.load_councils(ui.database())


@st.cache_resource(show_spinner=False, max_entries=16)
def _run(load_id: str, code: str, scenario: tuple | None):
    c = _councils(load_id)[code]
    return demand_outputs.project(c, years=YEARS, sims=SIMS, seed=SEED,
                          scenario=demand.Scenario(*scenario) if scenario else None)


@st.cache_resource(show_spinner=False, max_entries=2)
def _backtest(load_id: str):
    return demand_outputs.loaded_backtest(ui.database())


def _fan(table: pd.DataFrame, history: pd.DataFrame, title: str, y_title: str, scenario: bool) -> go.Figure:
    fig = go.Figure()
    t = table.dropna(subset=["baseline_median"])
    x = list(t["year"]) + list(t["year"])[::-1]
    fig.add_trace(go.Scatter(x=x, y=list(t["baseline_upper_95"]) + list(t["baseline_lower_95"])[::-1], fill="toself",
                             fillcolor=BAND.format(a=0.15), line={"width": 0}, name="Baseline 95% interval",
                             hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=list(t["baseline_upper_80"]) + list(t["baseline_lower_80"])[::-1], fill="toself",
                             fillcolor=BAND.format(a=0.3), line={"width": 0}, name="Baseline 80% interval",
                             hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=t["year"], y=t["baseline_median"], mode="lines+markers", name="Baseline (median)",
                             line={"color": "#1d70b8"}))
    if scenario and "scenario_median" in t:
        fig.add_trace(go.Scatter(x=t["year"], y=t["scenario_median"], mode="lines+markers", name="Scenario (median)",
                                 line={"color": "#d4351c", "dash": "dash"}, marker={"symbol": "diamond"}))
    if history is not None and not history.empty:
        h = history.dropna(subset=["value"])
        fig.add_trace(go.Scatter(x=h["year"], y=h["value"], mode="lines+markers", name="Observed (January)",
                                 line={"color": "#0b0c0c"}))
    fig.update_layout(title=title, xaxis_title="January", yaxis_title=y_title, legend_title_text="",
                      margin={"t": 60}, hovermode="x unified")
    return fig


def _lines(table: pd.DataFrame, title: str, value: str) -> go.Figure:
    fig = go.Figure()
    for label, part in table.dropna(subset=[value]).groupby("label", sort=True):
        fig.add_trace(go.Scatter(x=part["year"], y=part[value], mode="lines+markers", name=str(label)))
    fig.update_layout(title=title, xaxis_title="January", yaxis_title="EHC plans (median of the runs)",
                      legend_title_text="", margin={"t": 60})
    return fig


COLUMNS = {"year": "January", "label": "Group", "baseline_median": "Baseline", "baseline_lower_80": "80% low",
           "baseline_upper_80": "80% high", "baseline_lower_95": "95% low", "baseline_upper_95": "95% high",
           "scenario_median": "Scenario", "scenario_lower_95": "Scenario 95% low",
           "scenario_upper_95": "Scenario 95% high", "difference": "Scenario - baseline"}


def _scenario_panel(origin: int) -> demand.Scenario:
    st.header("Scenario")
    st.markdown("Change one setting move and/or the joiners' growth from a January onward; the scenario is run "
                "with the same random numbers as the baseline and shown beside it. The choices are kept in the "
                "page's link, so a copied link shows the same scenario.")
    settings = [s for s in demand.SETTINGS if s != "all"]
    c1, c2, c3 = st.columns(3)
    with c1:
        move_from = ui.url_select("Moves from", settings, key="sc_from", default="mainstream",
                                  format_func=demand.setting_label)
        move_to = ui.url_select("Moves to", settings, key="sc_to", default="independent",
                                format_func=demand.setting_label)
    with c2:
        move = ui.url_select("Change in those moves (%)", MOVE_CHANGES, key="sc_move", default="0",
                             format_func=lambda v: f"{int(v):+d}%" if int(v) else "no change")
        join = ui.url_select("Change in joiners' growth (% a year)", JOINER_CHANGES, key="sc_join", default="0",
                             format_func=lambda v: f"{int(v):+d}% a year" if int(v) else "no change")
    with c3:
        year = ui.url_select("From January", [str(y) for y in range(origin + 1, origin + YEARS + 1)], key="sc_year",
                             default=str(origin + 1))
    return demand.Scenario(from_year=int(year), move_from=move_from, move_to=move_to, move_change=int(move) / 100,
                           joiner_growth=int(join) / 100)


def render() -> None:
    ui.page("Demand and cost projection",
            "EHC plans projected child by child from the council's own person-level data: who joins, leaves "
            "and moves between settings each year, with intervals from many simulations, the cost it implies, "
            "a scenario beside the baseline and a backtest of the model on past years.")
    db = ui.database()
    low, high = db.config.suppress_min, db.config.suppress_max
    load_id = db.load_id
    councils = {k: v for k, v in _councils(load_id).items()}
    usable = sorted(k for k, c in councils.items() if c.panel is not None)
    if not usable:
        why = " ".join(n for c in councils.values() for n in c.notes)
        st.info("The transition model is not loaded: it needs person-level EHC plan data (the SEN2 person-level "
                "return, or a case-management extract in the ehcp_persons layout with an ncy column) for at least "
                "two consecutive Januaries. " + (ui.md(why) + " " if why else "") + "The projection of council "
                "totals (aggregate model: a log-linear trend on published totals) is on the Needs and demand page.",
                icon=":material/info:")
        st.page_link("pages/needs.py", label="Needs and demand: aggregate projection", icon=":material/trending_up:")
        return
    code = ui.select_area(usable, key="area", label="Council")
    c = councils[code]
    origin = max(c.panel.years)
    name = ui.area_name(code)
    scenario = _scenario_panel(origin)
    active = scenario.active
    with st.spinner(f"Running {SIMS:,} simulations of {YEARS} years..."):
        params, base = _run(load_id, code, None)
        scn = _run(load_id, code, (scenario.from_year, scenario.move_from, scenario.move_to, scenario.move_change,
                                   scenario.joiner_growth))[1] if active else None
    model_line = (f"Model: transition model on person-level data ({', '.join(str(y) for y in c.panel.years)} "
                  f"Januaries; {SIMS:,} simulations, seed {SEED}); population: {c.pop_source}.")
    st.caption(ui.md(model_line))
    for note in params.notes + c.notes:
        st.warning(ui.md(note), icon=":material/warning:")
    if active:
        st.markdown(f"**Scenario:** {ui.md(scenario.describe())}.")
    # total
    total = demand_outputs.comparison(base, scn, "total", low, high)
    hist = demand_outputs.protect(demand_outputs.history_counts(c.panel, "total"), low=low, high=high)
    last = total.iloc[-1]
    sentence = (f"{name}: {hist['value'].iloc[-1]:,.0f} EHC plans in January {origin}; the baseline projects "
                f"{last['baseline_median']:,.0f} in January {int(last['year'])} (95% interval "
                f"{last['baseline_lower_95']:,.0f} to {last['baseline_upper_95']:,.0f})")
    if active:
        sentence += f", the scenario {last['scenario_median']:,.0f} ({last['difference']:+,.0f})"
    ui.chart_with_table(_fan(total, hist, f"EHC plans, {name}", "EHC plans", active), total,
                        title="All EHC plans: observed and projected", sentence=sentence + ".", key="demand_total",
                        source=demand_outputs.SOURCE + ". " + model_line, table_columns=_cols(total))
    # by setting, need, age
    for by, title in (("setting", "By setting"), ("need", "By primary need"), ("age_group", "By age group")):
        t = demand_outputs.comparison(base, scn, by, low, high)
        latest = t[t["year"] == t["year"].max()].dropna(subset=["baseline_median"])
        top = latest.sort_values("baseline_median", ascending=False).head(1)
        sentence = (f"In January {int(t['year'].max())} the largest group is projected to be "
                    f"{top['label'].iloc[0]} ({top['baseline_median'].iloc[0]:,.0f}, 95% interval "
                    f"{top['baseline_lower_95'].iloc[0]:,.0f} to {top['baseline_upper_95'].iloc[0]:,.0f})."
                    if len(top) else "No group is large enough to show.")
        ui.chart_with_table(_lines(t, f"{title}, {name} (baseline)", "baseline_median"), t, title=title,
                            sentence=sentence + f" Projections of {low}-{high} places are not shown.",
                            key=f"demand_{by}", source=demand_outputs.SOURCE + ". " + model_line, table_columns=_cols(t))
    _costs(c, base, scn, active, name, model_line)
    _backtest_section(load_id, low, high)


def _cols(t: pd.DataFrame) -> dict:
    return {k: v for k, v in COLUMNS.items() if k in t.columns}


def _costs(c, base, scn, active: bool, name: str, model_line: str) -> None:
    st.header("High-needs spend")
    if c.costs is None:
        st.info("Costs are not loaded: add a cost-per-place table (the place_costs dataset: area_code, primary_need, "
                "setting_type, cost_per_place, source) to the data folder. A cost is never shown without its "
                "table's source.", icon=":material/payments:")
        return
    spend = demand_outputs.spend_comparison(base, scn, c.costs)
    last = spend.iloc[-1]
    sentence = (f"Places x cost per place: the baseline's spend in {int(last['year'])} is "
                f"£{last['baseline_median'] / 1e6:,.1f}m (95% interval £{last['baseline_lower_95'] / 1e6:,.1f}m to "
                f"£{last['baseline_upper_95'] / 1e6:,.1f}m)")
    if active:
        d = last["difference"]
        sentence += (f"; the scenario's £{last['scenario_median'] / 1e6:,.1f}m ({'+' if d >= 0 else '-'}"
                     f"£{abs(d) / 1e6:,.1f}m)")
    sentence += f". Costs: {c.costs.source}."
    if spend["uncosted_places"].max() > 0:
        sentence += (f" Up to {spend['uncosted_places'].max():,.0f} places a year have no cost in the table and are "
                     "left out of the spend.")
    ui.chart_with_table(_fan(spend, None, f"High-needs spend a year (£), {name}", "£ a year", active), spend,
                        title="Projected spend on EHC plan places", sentence=sentence, key="demand_cost",
                        source=f"cost per place: {c.costs.source}; places: {model_line}",
                        table_columns={**_cols(spend), "uncosted_places": "Places without a cost",
                                       "cost_source": "Cost table source"})


def _backtest_section(load_id: str, low: int, high: int) -> None:
    st.header("How well has the model done? (backtest)")
    summary, cases = _backtest(load_id)
    st.markdown(ui.md(demand_outputs.backtest_sentence(summary)))
    if not summary.get("forecasts"):
        return
    by_setting, by_h = demand_outputs.backtest_tables(cases, low, high)
    fig = go.Figure()
    fig.add_trace(go.Bar(x=by_setting["setting"], y=by_setting["coverage_95"], name="95% interval held the actual (%)"))
    fig.add_trace(go.Bar(x=by_setting["setting"], y=by_setting["coverage_80"], name="80% interval held the actual (%)"))
    fig.add_hline(y=95, line_dash="dot", annotation_text="95%")
    fig.add_hline(y=80, line_dash="dot", annotation_text="80%")
    fig.update_layout(title="One year ahead: share of past Januaries inside the interval, by setting",
                      yaxis_title="% of backtest cases", yaxis_range=[0, 105], barmode="group", margin={"t": 60},
                      legend_title_text="")
    ui.chart_with_table(fig, by_setting, title="Backtest by setting (one year ahead)",
                        sentence="Each case is one council, one past January and one setting: the model was fitted "
                                 "on the years before it only. A well-calibrated model's 95% intervals hold about "
                                 "95% of cases.", key="demand_backtest_setting",
                        source="rolling-origin backtest of the transition model on the loaded person-level snapshots",
                        table_columns={"setting": "Setting", "cases": "Cases", "coverage_80": "80% held (%)",
                                       "coverage_95": "95% held (%)", "mape": "Mean abs. error (%)",
                                       "bias": "Bias (%)"})
    fig = go.Figure(go.Scatter(x=by_h["horizon"], y=by_h["mape"], mode="lines+markers", name="Mean absolute error"))
    fig.update_layout(title="Error grows with the horizon", xaxis_title="Years ahead", yaxis_title="Mean absolute error (%)",
                      margin={"t": 60}, xaxis={"dtick": 1})
    ui.chart_with_table(fig, by_h, title="Backtest by horizon", sentence="Mean absolute percentage error and interval "
                        "coverage by years ahead, over every setting and origin.", key="demand_backtest_horizon",
                        source="rolling-origin backtest of the transition model on the loaded person-level snapshots",
                        table_columns={"horizon": "Years ahead", "cases": "Cases", "coverage_80": "80% held (%)",
                                       "coverage_95": "95% held (%)", "mape": "Mean abs. error (%)",
                                       "bias": "Bias (%)"})


ui.guarded(render)
