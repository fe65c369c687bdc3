"""Needs and demand: the primary-need mix of EHC plans over time, by age band and by setting,
against England, and the demand projection with its intervals and backtest error.

The mix over time and against England uses the measure engine's need shares
(disclosure-controlled). The age and setting breakdowns come from raw counts
(sql/needs_by_age.sql, sql/needs_by_setting.sql) protected together by
send_metrics.measures.breakdowns (computed once per load and census year, on first use) before anything is shown. Projections are built on the
engine's published counts."""
import numpy as np
import pandas as pd
import streamlit as st

from dashboard import ui
from send_metrics.measures import breakdowns, equity
from send_metrics.present import charts
from send_metrics import contract
from send_metrics.catalogue import measures_by_id
from send_metrics.measures.projection_backtest import apply_calibration, backtest_sentence, loaded_backtest
from send_metrics.measures.projection import backtest, project_caseload

MAIN_NEEDS = list(breakdowns.MAIN_NEEDS)
NEED_LABEL = {"ASD": "Autism (ASD)", "SLCN": "Speech, language and communication (SLCN)",
              "SEMH": "Social, emotional and mental health (SEMH)", "MLD": "Moderate learning difficulty (MLD)",
              "SLD": "Severe learning difficulty (SLD)", "OTHER": "Other needs", "ALL": "All EHC plans"}
SHORT_NEED = {"ASD": "Autism", "SLCN": "Speech and language needs", "SEMH": "Social and emotional needs",
              "MLD": "Moderate learning difficulty", "SLD": "Severe learning difficulty", "OTHER": "Other needs",
              "ALL": "All EHC plans"}
SETTING_LABEL = {"mainstream": "Mainstream", "special": "Special school",
                 "alternative_provision": "Alternative provision", "independent": "Independent or non-maintained",
                 "post16": "Post-16", "other": "Early years and other"}
SUPPRESSED = "Suppressed (small numbers)"
# Each need keeps its colour and pattern in every chart (charts.NEED_COLOURS), whatever its rank.
NEED_COLOURS, NEED_PATTERNS = charts.need_colours(NEED_LABEL)
NEED_COLOURS["Other or suppressed needs"] = NEED_COLOURS[NEED_LABEL["OTHER"]]
NEED_PATTERNS["Other or suppressed needs"] = NEED_PATTERNS[NEED_LABEL["OTHER"]]
METHODS = {"loglinear": "Log-linear trend", "damped": "Damped trend (growth slows each year)"}


def _url_select(label: str, options: list, key: str, default, format_func=str):
    return ui.url_select(label, options, key, default, format_func=format_func)


def _area_options(codes) -> list[str]:
    return ui.ordered_area_options(codes)


def _wrap(label: str, width: int = 14) -> str:
    """Break a long axis label over two lines."""
    if len(label) <= width or " " not in label:
        return label
    words, best = label.split(), None
    for i in range(1, len(words)):
        a, b = " ".join(words[:i]), " ".join(words[i:])
        if best is None or max(len(a), len(b)) < max(len(best[0]), len(best[1])):
            best = (a, b)
    return "<br>".join(best)


IDS = ["ehcp_caseload", *[f"need_share_{n}" for n in contract.PRIMARY_NEEDS]]


def mix_section(area: str) -> None:
    _mix_view(ui.database().load_id, area).show()


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _mix_view(load_id: str, area: str) -> ui.View:
    """The primary-need mix over time for an area (see ui.View)."""
    view = ui.View()
    table = ui.table(IDS, [area])
    t = table[(table["area_code"] == area) & table["measure_id"].str.startswith("need_share_")].copy()
    t["need"] = t["measure_id"].str.replace("need_share_", "", regex=False)
    main = t[t["need"].isin(MAIN_NEEDS)]
    if main.empty:
        view.call(st.info, "No primary-need figures for this area.")
        return view
    wide = main.pivot_table(index="period", columns="need", values="value", aggfunc="first").sort_index()
    rows = []
    for period, r in wide.iterrows():
        shown = 0.0
        for need in MAIN_NEEDS:
            v = r.get(need, np.nan)
            if pd.notna(v):
                rows.append({"year": str(period)[:4], "need": NEED_LABEL[need], "share": v})
                shown += v
        hidden_main = r.reindex(MAIN_NEEDS).isna().any()
        rows.append({"year": str(period)[:4],
                     "need": "Other or suppressed needs" if hidden_main else NEED_LABEL["OTHER"],
                     "share": max(0.0, 100 - shown)})
    data = pd.DataFrame(rows)
    fig = charts.stacked_share(data, x="year", colour="need", y="share", y_title="% of EHC plans",
                               colours=NEED_COLOURS, patterns=NEED_PATTERNS)
    name = ui.area_name(area)
    latest = wide.iloc[-1]
    top = latest.idxmax()
    first_year, last_year = str(wide.index[0])[:4], str(wide.index[-1])[:4]
    title = charts.fit_title(f"{SHORT_NEED[top]} is the largest need: {latest[top]:.1f}% in {last_year}",
                             f"{SHORT_NEED[top]} is the largest primary need")
    first_v = wide[top].dropna()
    sentence = (f"Share of {name}'s EHC plans by primary type of need each January. {SHORT_NEED[top]} is the "
                f"largest need in {last_year} ({latest[top]:.1f}%)")
    if len(first_v) >= 2:
        sentence += (f", {'up' if first_v.iloc[-1] > first_v.iloc[0] else 'down'} from {first_v.iloc[0]:.1f}% in "
                     f"{first_year}")
    sentence += ". The five largest needs nationally are shown; every other need is grouped."
    view.call(ui.chart_with_table, fig, data.assign(share=data["share"].round(1)), title=title, sentence=sentence,
              key=f"needs_mix_{area}", slot="needs_mix",
              source="EHC plan caseload by primary need (measure engine).",
              table_columns={"year": "January", "need": "Primary need", "share": "% of EHC plans"})
    return view


def england_section(area: str, year: str) -> None:
    _england_view(ui.database().load_id, area, year).show()


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _england_view(load_id: str, area: str, year: str) -> ui.View:
    """An area's need mix against England's for a census year (see ui.View)."""
    view = ui.View()
    table = ui.table(IDS, [area])
    by_id = measures_by_id()
    t = table[(table["area_code"] == area) & table["measure_id"].str.startswith("need_share_")
              & (table["period"].astype(str).str[:4] == year)].copy()
    t = t[t["england_value"].notna()]
    if t.empty:
        have = table[(table["area_code"] == area) & table["measure_id"].str.startswith("need_share_")
                     & table["england_value"].notna()]
        years = sorted({str(p)[:4] for p in have["period"]})
        view.call(st.info, f"No England need mix is loaded for {year}. "
                  + (f"Choose {' or '.join(years)} to compare with England." if years else
                     "Load the published benchmarks (DfE 'Education, health and care plans', need of all plans) "
                     "to compare with England."))
        return view
    t["label"] = t["measure_id"].map(lambda i: contract.PRIMARY_NEEDS.get(i.replace("need_share_", ""), i))
    t = t.sort_values("england_value", ascending=False)
    fig = charts.dot_compare(t, label="label", value="value", lower="lower_95", upper="upper_95",
                             benchmark="england_value", sig="sig_england_95", x_title="% of EHC plans",
                             name=ui.area_name(area))
    sig = t[t["sig_england_95"].isin(["higher", "lower", "better", "worse"])]
    name = ui.area_name(area)
    title = charts.fit_title(f"{len(sig)} of {len(t)} needs differ from England's mix",
                             "Need mix compared with England")
    parts = [f"{name}'s share of EHC plans for each primary need in January {year} (dot, with 95% interval) "
             "against England (vertical bar)."]
    if len(sig) > 4:  # say which of the differences are listed
        parts.append(f"The {min(4, len(sig))} largest of the {len(sig)} differences:")
        sig = sig.assign(_d=(sig["value"] - sig["england_value"]).abs()).sort_values("_d", ascending=False)
    for _, r in sig.head(4).iterrows():
        m = by_id[r["measure_id"]]
        parts.append(f"{r['label']}: {m.format_value(r['value'])} against England {m.format_value(r['england_value'])} "
                     f"({ui.sig_text(r['sig_england_95'])}).")
    n_sup = int(t["value"].isna().sum())
    if n_sup:
        parts.append(f"{n_sup} needs are suppressed (small numbers).")
    data = t.assign(value=t["value"].round(2), lower_95=t["lower_95"].round(2), upper_95=t["upper_95"].round(2),
                    sig=t["sig_england_95"].map(ui.sig_text))
    view.call(ui.chart_with_table, fig, data, title=title, sentence=" ".join(parts), key=f"needs_england_{area}",
              slot="needs_england",
              source="EHC plan caseload (measure engine); England: DfE 'Education, health and care plans' "
                     "(sen_needs_all_plans.csv).",
              table_columns={"label": "Primary need", "value": f"{name} (%)", "lower_95": "95% lower",
                             "upper_95": "95% upper", "england_value": "England (%)", "sig": "vs England"})
    return view


def _breakdowns(year: str) -> dict[str, pd.DataFrame]:
    """Need by age band and need by setting for every area, protected together (computed once
    per load and year, on first use; shared between sessions: callers only read the tables)."""
    return breakdowns.for_year(ui.engine(), int(year))


BREAKDOWNS = {"age": ("age_band", contract.AGE_BANDS, "age band", "needs_age_"),
              "setting": ("setting_type", SETTING_LABEL, "setting", "needs_setting_")}


def breakdown_section(name: str, area: str, year: str) -> None:
    _breakdown_view(ui.database().load_id, name, area, year).show()


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _breakdown_view(load_id: str, name: str, area: str, year: str) -> ui.View:
    """Need by age band or by setting ("age", "setting") for an area and census year (see ui.View)."""
    view = ui.View()
    by, labels, what, slot = BREAKDOWNS[name]
    key = f"{slot}{area}"
    cells = _breakdowns(year)[name]
    c = cells[cells["area_code"] == area]
    shares = equity.share_within(c, by=by, category="need", value_col="plans", other_label=SUPPRESSED)
    shares = shares[shares[by] != equity.ALL]
    if shares.empty:
        view.call(st.info, f"Every {what} figure for {ui.area_md(area)} is suppressed (small numbers) in {year}. "
                  "Choose a larger area.")
        return view
    shares["group"] = shares[by].map(lambda v: labels.get(v, v))
    shares["need_label"] = shares["need"].map(lambda n: NEED_LABEL.get(n, n))
    order = [NEED_LABEL[n] for n in [*MAIN_NEEDS, "OTHER"]] + [SUPPRESSED]
    shares["_o"] = shares["need_label"].map({n: i for i, n in enumerate(order)})
    shares["_g"] = shares[by].map({k: i for i, k in enumerate(labels)})
    shares = shares.sort_values(["_o", "_g"])
    fig = charts.stacked_share(shares, x="group", colour="need_label", y="share", y_title="% of EHC plans",
                               colours=NEED_COLOURS, patterns=NEED_PATTERNS)
    cats = [labels[k] for k in labels]
    fig.update_xaxes(categoryorder="array", categoryarray=cats, tickvals=cats, ticktext=[_wrap(c) for c in cats],
                     tickangle=0)
    charts.grey_suppressed(fig, SUPPRESSED)
    name = ui.area_name(area)
    asd = shares[shares["need"] == "ASD"].dropna(subset=["share"])
    if len(asd) >= 2:
        hi, lo = asd.loc[asd["share"].idxmax()], asd.loc[asd["share"].idxmin()]
        title = charts.fit_title(f"Autism share highest: {hi['group']} ({hi['share']:.0f}%)",
                                 f"Need mix by {what}")
        sentence = (f"Primary need of {name}'s EHC plans within each {what}, January {year}. Autism ranges from "
                    f"{lo['share']:.1f}% ({lo['group']}) to {hi['share']:.1f}% ({hi['group']}).")
    else:
        title = charts.fit_title(f"Primary need by {what}, {name}", f"Need mix by {what}")
        sentence = f"Primary need of {name}'s EHC plans within each {what}, January {year}."
    if (shares["need_label"] == SUPPRESSED).any():
        sentence += (f" The light grey segment groups needs hidden to protect small numbers (never a single "
                     "hidden count).")
    hidden_totals = set(c.loc[(c["need"] == equity.ALL) & (c[by] != equity.ALL) & c["suppressed"], by])
    hidden = [labels[k] for k in labels if k in hidden_totals and k not in set(shares[by])]
    if hidden:
        its = "its total is" if len(hidden) == 1 else "their totals are"
        sentence += (f" No bar for {', '.join(hidden)}: {its} suppressed, so that no small count can be worked "
                     "out from the other figures.")
    totals = c[(c["need"] == equity.ALL) & (c[by] != equity.ALL)].set_index(by)["plans"]
    table = shares.assign(share=shares["share"].round(1), total=shares[by].map(totals))
    view.call(ui.chart_with_table, fig, table, title=title, sentence=sentence, key=key, slot=slot,
              source="EHC plan caseload by primary need, age and setting; disclosure control over areas, "
                     "needs and the age or setting groups.",
              table_columns={"group": what.capitalize(), "need_label": "Primary need", "plans": "EHC plans",
                             "share": f"% of the {what}", "total": f"Plans in the {what}"})
    return view


@st.cache_data(show_spinner=False, max_entries=32, ttl=3600)
def _projection(load_id: str, area: str, method: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    t = ui.table(["ehcp_caseload", *[f"need_share_{n}" for n in MAIN_NEEDS]], [area])
    groups = t["measure_id"].map(lambda i: "ALL" if i == "ehcp_caseload" else i.replace("need_share_", ""))
    hist = pd.DataFrame({"group": groups,
                         "year": t["period"].astype(str).str[:4].astype(int),
                         "count": t["numerator"].astype(float)})
    hist = hist.dropna(subset=["count"]).drop_duplicates(["group", "year"])
    if hist.empty:
        return hist, pd.DataFrame(), pd.DataFrame()
    proj = project_caseload(hist, horizon=5, method=method)
    # The total's intervals come from the errors of the rolling-origin backtest of every council's
    # total, the function the backtest scores (the model's own intervals were too narrow); need
    # groups keep the model's intervals.
    _, cal = loaded_backtest(ui.engine(), method=method)
    total = proj["group"] == "ALL"
    proj = pd.concat([apply_calibration(proj[total], cal), proj[~total]], ignore_index=True)
    test = backtest(hist, holdout=3, method=method)
    return hist, proj, test


def projection_section(area: str) -> None:
    c1, c2 = st.columns(2)
    with c1:
        group = _url_select("Projection for", ["ALL", *MAIN_NEEDS], "group", "ALL",
                            format_func=lambda g: NEED_LABEL.get(g, g))
    with c2:
        method = _url_select("Projection method", list(METHODS), "method", "loglinear", format_func=METHODS.get)
    _projection_view(ui.database().load_id, area, group, method).show()


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _projection_view(load_id: str, area: str, group: str, method: str) -> ui.View:
    """The demand projection and its backtest for an area, group and method (see ui.View)."""
    view = ui.View()
    hist, proj, test = _projection(load_id, area, method)
    name = ui.area_name(area)
    p = proj[proj["group"] == group] if len(proj) else proj
    if p.empty or (p["kind"] == "projected").sum() == 0:
        note = p["note"].iloc[0] if len(p) else "no published counts"
        view.call(st.info, f"No projection for {NEED_LABEL.get(group, group)} in {ui.md(name)}: {ui.md(note)}. Suppressed years "
                  "are left out, and at least three years are needed.")
        return view
    obs, fut = p[p["kind"] == "observed"], p[p["kind"] == "projected"]
    last = fut.iloc[-1]
    fig = charts.tidy_bands(charts.projection_chart(p, y_title="EHC plans"))
    label = NEED_LABEL.get(group, group)
    what = "EHC plans" if group == "ALL" else f"plans for {SHORT_NEED[group].lower()}"
    title = charts.fit_title(f"About {last['value']:,.0f} {what} by {int(last['year'])}",
                             f"About {last['value']:,.0f} plans by {int(last['year'])}", "Projected EHC plans")
    sentence = (f"If the trend of the last {min(6, len(obs))} Januaries continues (method: "
                f"{METHODS[method].lower()}), {name} would have about {last['value']:,.0f} {what} in January {int(last['year'])} "
                + (f"(80% prediction interval {last['lower_80']:,.0f} to {last['upper_80']:,.0f}; 95% "
                   f"{last['lower_95']:,.0f} to {last['upper_95']:,.0f})" if np.isfinite(last["lower_95"])
                   else "(no interval: too little backtest history)")
                + f", against {obs['value'].iloc[-1]:,.0f} in {int(obs['year'].iloc[-1])}.")
    bt = test[test["group"] == group]
    if len(bt) and np.isfinite(bt["mape"].iloc[0]):
        b = bt.iloc[0]
        sentence += (f" Tested on the last {int(b['n'])} known years (projected from the years before them), the "
                     f"method was off by {b['mape']:.1f}% on average and "
                     f"{'over' if b['mean_error'] > 0 else 'under'}-projected by {abs(b['mean_error']):,.0f} plans a "
                     + ("year." if group == "ALL" else  # the total's intervals are scored by the all-council backtest
                        f"year; {b['coverage_80'] * 100:.0f}% of the actual values fell inside the 80% interval."))
    if group == "ALL":
        sentence += " " + backtest_sentence(loaded_backtest(ui.engine(), method=method)[0])
    else:
        sentence += (" Intervals for a primary need are the model's own (not calibrated on the backtest) and "
                     "cover statistical noise around a steady trend only.")
    sentence += " Policy changes are not in any interval."
    data = p.assign(**{c: p[c].round(0) for c in ("value", "lower_80", "upper_80", "lower_95", "upper_95")})
    view.call(ui.chart_with_table, fig, data, title=title, sentence=sentence, key=f"needs_projection_{group}",
              slot="needs_projection",
              source="EHC plan caseload (measure engine); aggregate model: log-linear projection over the last 6 "
                     "years (send_metrics.measures.projection). Councils with person-level data also have the transition "
                     "model on the Demand and cost projection page.",
              table_columns={"year": "January", "kind": "Observed or projected", "value": label,
                             "lower_80": "80% lower", "upper_80": "80% upper", "lower_95": "95% lower",
                             "upper_95": "95% upper", "note": "Note"})
    # The total's intervals shown are not the model's own: their coverage is the all-council backtest's.
    own = ~test["group"].isin(["ALL", "OVERALL"])
    test = test.assign(coverage_80=test["coverage_80"].where(own), coverage_95=test["coverage_95"].where(own),
                       note=test["note"].where(own, "interval coverage: the all-council backtest above"))
    shown = test.assign(group=test["group"].map(lambda g: NEED_LABEL.get(g, g)),
                        mape=test["mape"].round(1), mean_error=test["mean_error"].round(0),
                        coverage_80=(test["coverage_80"] * 100).round(0),
                        coverage_95=(test["coverage_95"] * 100).round(0))
    view.call(_backtest_table, shown.rename(columns={
        "group": "Group", "n": "Years tested", "mape": "Mean absolute % error", "mean_error": "Mean error (plans)",
        "coverage_80": "% inside 80% interval", "coverage_95": "% inside 95% interval", "note": "Note"}))
    return view


def _backtest_table(table: pd.DataFrame) -> None:
    with ui.section("Backtest: how well the method did on past years", "needs_backtest") as is_open:
        if is_open:
            st.table(table)


@st.cache_resource(show_spinner=False, max_entries=4)
def _caseload_areas(load_id: str) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    """Areas with a published EHC plan caseload, in selector order, and each one's census years
    (worked out once per load)."""
    idx = ui.table_index()
    pos = idx.positions(["ehcp_caseload"], None)
    pos = pos[~np.isnan(idx.values[pos])]
    codes, periods = idx.column("area_code", pos), idx.column("period", pos)
    years: dict[str, set] = {}
    for c, p in zip(codes, periods):
        years.setdefault(c, set()).add(str(p)[:4])
    return tuple(_area_options(codes)), {c: tuple(sorted(y)) for c, y in years.items()}


def render() -> None:
    ui.page("Needs and demand", "The primary needs of children and young people with EHC plans - over time, by "
            "age and setting, against England - and how many plans to expect in the next five years.")
    options, years_of = _caseload_areas(ui.database().load_id)
    if not years_of:
        st.info("No EHC plan caseload is loaded. Load a caseload extract on the Upload page.")
        return
    c1, c2 = st.columns(2)
    with c1:
        area = ui.select_area(list(options))
    years = list(years_of.get(area, ()))
    with c2:
        year = ui.select_period(years, label="January census")

    def mix() -> None:
        st.header("Primary-need mix over time")
        mix_section(area)

    def england() -> None:
        st.header("Against England")
        england_section(area, year)

    def groups() -> None:
        st.header("By age band and type of setting")
        with st.spinner(f"Working out the needs breakdowns for {year} (disclosure control over every area; "
                        "once per load, a second or two for a large one)..."):
            cells = _breakdowns(year)
        if not cells:
            st.info(f"No caseload breakdown is loaded for {year}.")
        else:
            breakdown_section("age", area, year)
            breakdown_section("setting", area, year)

    def demand() -> None:
        st.header("Demand projection")
        projection_section(area)
    ui.views({"Need mix over time": mix, "Against England": england, "By age and setting": groups,
              "Demand projection": demand})


ui.guarded(render)
