"""The Needs and demand page's analyses, each as one section: the chart's rows, the table shown
and downloaded with it, its title and the sentence that says what it shows.

* the primary-need mix over time (the measure engine's need shares, disclosure-controlled; needs
  outside the five largest, or hidden, are one segment);
* an area's need mix against England's, with the largest significant differences named;
* need by age band and by setting (``measures.breakdowns``: raw counts protected together, so a
  suppressed cell is never one segment on its own);
* the demand projection of the published counts, its intervals calibrated on the all-council
  backtest for the total, and the backtest of the method on past years.

Streamlit-free (tests/measures/test_needs_view.py); the page (pages/needs.py) draws each section and caches
it per load and selection. Text put into Markdown by a message is escaped by the caller's ``md``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from send_metrics.contract import codes
from send_metrics.catalogue import measures_by_id
from send_metrics.measures import breakdowns, table_protection
from send_metrics.measures.projection import backtest, project_caseload
from send_metrics.measures.projection_backtest import apply_calibration, backtest_sentence, loaded_backtest

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
OTHER_OR_SUPPRESSED = "Other or suppressed needs"  # the mix's last segment when a main need is hidden
METHODS = {"loglinear": "Log-linear trend", "damped": "Damped trend (growth slows each year)"}
IDS = ["ehcp_caseload", *[f"need_share_{n}" for n in codes.PRIMARY_NEEDS]]
PROJECTION_IDS = ["ehcp_caseload", *[f"need_share_{n}" for n in MAIN_NEEDS]]
# name: (column, {code: label}, what a group is called, the chart's slot on the page)
BREAKDOWNS = {"age": ("age_band", codes.AGE_BANDS, "age band", "needs_age_"),
              "setting": ("setting_type", SETTING_LABEL, "setting", "needs_setting_")}


@dataclass
class Section:
    """One chart's worth: ``data`` to draw, ``table`` to show and download (``columns``: its
    columns and headings), the first of ``titles`` that fits (``charts.fit_title``), ``sentence``
    and ``source``; or only a ``message`` when there is nothing to draw."""
    data: pd.DataFrame | None = None
    table: pd.DataFrame | None = None
    titles: tuple[str, ...] = ()
    sentence: str = ""
    source: str = ""
    columns: dict[str, str] = field(default_factory=dict)
    message: str | None = None
    extra: dict = field(default_factory=dict)


def wrap(label: str, width: int = 14) -> str:
    """Break a long axis label over two lines."""
    if len(label) <= width or " " not in label:
        return label
    words, best = label.split(), None
    for i in range(1, len(words)):
        a, b = " ".join(words[:i]), " ".join(words[i:])
        if best is None or max(len(a), len(b)) < max(len(best[0]), len(best[1])):
            best = (a, b)
    return "<br>".join(best)


def census_years(codes, periods) -> dict[str, tuple[str, ...]]:
    """Each area's census years, from the (area, period) pairs of its published caseload."""
    years: dict[str, set] = {}
    for c, p in zip(codes, periods):
        years.setdefault(c, set()).add(str(p)[:4])
    return {c: tuple(sorted(y)) for c, y in years.items()}


# -- the mix over time and against England -------------------------------------------------------
def need_mix(table: pd.DataFrame, area: str, name: str) -> Section:
    """The primary-need mix of an area's EHC plans each January (``table``: the IDS measures)."""
    t = table[(table["area_code"] == area) & table["measure_id"].str.startswith("need_share_")].copy()
    t["need"] = t["measure_id"].str.replace("need_share_", "", regex=False)
    main = t[t["need"].isin(MAIN_NEEDS)]
    if main.empty:
        return Section(message="No primary-need figures for this area.")
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
        rows.append({"year": str(period)[:4], "need": OTHER_OR_SUPPRESSED if hidden_main else NEED_LABEL["OTHER"],
                     "share": max(0.0, 100 - shown)})
    data = pd.DataFrame(rows)
    latest = wide.iloc[-1]
    top = latest.idxmax()
    first_year, last_year = str(wide.index[0])[:4], str(wide.index[-1])[:4]
    first_v = wide[top].dropna()
    sentence = (f"Share of {name}'s EHC plans by primary type of need each January. {SHORT_NEED[top]} is the "
                f"largest need in {last_year} ({latest[top]:.1f}%)")
    if len(first_v) >= 2:
        sentence += (f", {'up' if first_v.iloc[-1] > first_v.iloc[0] else 'down'} from {first_v.iloc[0]:.1f}% in "
                     f"{first_year}")
    sentence += ". The five largest needs nationally are shown; every other need is grouped."
    return Section(data, data.assign(share=data["share"].round(1)),
                   (f"{SHORT_NEED[top]} is the largest need: {latest[top]:.1f}% in {last_year}",
                    f"{SHORT_NEED[top]} is the largest primary need"), sentence,
                   "EHC plan caseload by primary need (measure engine).",
                   {"year": "January", "need": "Primary need", "share": "% of EHC plans"})


def against_england(table: pd.DataFrame, area: str, year: str, name: str,
                    sig_text: Callable[[str], str]) -> Section:
    """An area's need mix against England's for a census year (``table``: the IDS measures);
    ``sig_text`` says a comparison's verdict in words."""
    by_id = measures_by_id()
    t = table[(table["area_code"] == area) & table["measure_id"].str.startswith("need_share_")
              & (table["period"].astype(str).str[:4] == year)].copy()
    t = t[t["england_value"].notna()]
    if t.empty:
        have = table[(table["area_code"] == area) & table["measure_id"].str.startswith("need_share_")
                     & table["england_value"].notna()]
        years = sorted({str(p)[:4] for p in have["period"]})
        return Section(message=f"No England need mix is loaded for {year}. "
                       + (f"Choose {' or '.join(years)} to compare with England." if years else
                          "Load the published benchmarks (DfE 'Education, health and care plans', need of all "
                          "plans) to compare with England."))
    t["label"] = t["measure_id"].map(lambda i: codes.PRIMARY_NEEDS.get(i.replace("need_share_", ""), i))
    t = t.sort_values("england_value", ascending=False)
    sig = t[t["sig_england_95"].isin(["higher", "lower", "better", "worse"])]
    titles = (f"{len(sig)} of {len(t)} needs differ from England's mix", "Need mix compared with England")
    parts = [f"{name}'s share of EHC plans for each primary need in January {year} (dot, with 95% interval) "
             "against England (vertical bar)."]
    if len(sig) > 4:  # say which of the differences are listed
        parts.append(f"The {min(4, len(sig))} largest of the {len(sig)} differences:")
        sig = sig.assign(_d=(sig["value"] - sig["england_value"]).abs()).sort_values("_d", ascending=False)
    for _, r in sig.head(4).iterrows():
        m = by_id[r["measure_id"]]
        parts.append(f"{r['label']}: {m.format_value(r['value'])} against England {m.format_value(r['england_value'])} "
                     f"({sig_text(r['sig_england_95'])}).")
    n_sup = int(t["value"].isna().sum())
    if n_sup:
        parts.append(f"{n_sup} needs are suppressed (small numbers).")
    shown = t.assign(value=t["value"].round(2), lower_95=t["lower_95"].round(2), upper_95=t["upper_95"].round(2),
                     sig=t["sig_england_95"].map(sig_text))
    return Section(t, shown, titles, " ".join(parts),
                   "EHC plan caseload (measure engine); England: DfE 'Education, health and care plans' "
                   "(sen_needs_all_plans.csv).",
                   {"label": "Primary need", "value": f"{name} (%)", "lower_95": "95% lower",
                    "upper_95": "95% upper", "england_value": "England (%)", "sig": "vs England"})


# -- by age band and by setting ------------------------------------------------------------------
def need_by_group(cells: pd.DataFrame, kind: str, area: str, year: str, name: str,
                  md: Callable[[str], str]) -> Section:
    """Need by age band or by setting (``kind``: "age", "setting") for an area and census year, from
    ``cells``: that breakdown of ``breakdowns.for_year``, protected over every area. Shares come
    from published cells only (``table_protection.share_within``); ``extra["categories"]``: the groups in order.
    Where every need within every group shown is hidden, no ``data`` (nothing to chart): the groups'
    totals alone, as a table."""
    by, labels, what, _ = BREAKDOWNS[kind]
    c = cells[cells["area_code"] == area]
    if c.empty:  # not loaded, which is not the same as suppressed
        return Section(message=f"No {what} figures for {md(name)} are loaded for January {year}. "
                       "Choose another year or area.")
    shares = table_protection.share_within(c, by=by, category="need", value_col="plans", other_label=SUPPRESSED)
    shares = shares[shares[by] != table_protection.ALL]
    if shares.empty:
        return Section(message=f"Every {what} figure for {md(name)} is suppressed (small numbers) in {year}. "
                       "Choose a larger area.")
    totals = c[(c["need"] == table_protection.ALL) & (c[by] != table_protection.ALL)].set_index(by)["plans"]
    hidden_totals = set(c.loc[(c["need"] == table_protection.ALL) & (c[by] != table_protection.ALL) & c["suppressed"], by])
    hidden = [labels[k] for k in labels if k in hidden_totals and k not in set(shares[by])]
    every_need_hidden = (shares["need"] == SUPPRESSED).all()
    no_bar = ""
    if hidden:
        its = "its total is" if len(hidden) == 1 else "their totals are"
        no_bar = (f" No {'row' if every_need_hidden else 'bar'} for {', '.join(hidden)}: {its} suppressed, so "
                  "that no small count can be worked out from the other figures.")
    source = ("EHC plan caseload by primary need, age and setting; disclosure control over areas, "
              "needs and the age or setting groups.")
    if every_need_hidden:
        # Every need within every group is hidden: a chart of grey bars would say nothing, so the
        # groups' totals that can be shown are given as a table, and the sentence says why.
        shown = [k for k in labels if k in set(shares[by])]
        table = pd.DataFrame({"group": [labels[k] for k in shown], "total": [totals.get(k) for k in shown]})
        return Section(None, table, (f"Plans by {what}, {name}",),
                       f"No primary need within each {what} of {name}'s EHC plans can be shown for January "
                       f"{year} without disclosing small numbers; the {what} totals are in the table." + no_bar,
                       source, {"group": what.capitalize(), "total": f"Plans in the {what}"})
    shares["group"] = shares[by].map(lambda v: labels.get(v, v))
    shares["need_label"] = shares["need"].map(lambda n: NEED_LABEL.get(n, n))
    order = [NEED_LABEL[n] for n in [*MAIN_NEEDS, "OTHER"]] + [SUPPRESSED]
    shares["_o"] = shares["need_label"].map({n: i for i, n in enumerate(order)})
    shares["_g"] = shares[by].map({k: i for i, k in enumerate(labels)})
    shares = shares.sort_values(["_o", "_g"])
    asd = shares[shares["need"] == "ASD"].dropna(subset=["share"])
    if len(asd) >= 2:
        hi, lo = asd.loc[asd["share"].idxmax()], asd.loc[asd["share"].idxmin()]
        titles = (f"Autism share highest: {hi['group']} ({hi['share']:.0f}%)", f"Need mix by {what}")
        sentence = (f"Primary need of {name}'s EHC plans within each {what}, January {year}. Autism ranges from "
                    f"{lo['share']:.1f}% ({lo['group']}) to {hi['share']:.1f}% ({hi['group']}).")
    else:
        titles = (f"Primary need by {what}, {name}", f"Need mix by {what}")
        sentence = f"Primary need of {name}'s EHC plans within each {what}, January {year}."
    if (shares["need_label"] == SUPPRESSED).any():
        sentence += (" The light grey segment groups needs hidden to protect small numbers (never a single "
                     "hidden count).")
    sentence += no_bar
    table = shares.assign(share=shares["share"].round(1), total=shares[by].map(totals))
    return Section(shares, table, titles, sentence, source,
                   {"group": what.capitalize(), "need_label": "Primary need", "plans": "EHC plans",
                    "share": f"% of the {what}", "total": f"Plans in the {what}"},
                   extra={"categories": [labels[k] for k in labels]})


# -- the demand projection -------------------------------------------------------------------------
def projection(table: pd.DataFrame, engine, method: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(history, projection, backtest) of an area's published counts (``table``: PROJECTION_IDS).

    The total's intervals come from the errors of the rolling-origin backtest of every council's
    total, the function the backtest scores (the model's own intervals were too narrow); need
    groups keep the model's intervals."""
    groups = table["measure_id"].map(lambda i: "ALL" if i == "ehcp_caseload" else i.replace("need_share_", ""))
    hist = pd.DataFrame({"group": groups,
                         "year": table["period"].astype(str).str[:4].astype(int),
                         "count": table["numerator"].astype(float)})
    hist = hist.dropna(subset=["count"]).drop_duplicates(["group", "year"])
    if hist.empty:
        return hist, pd.DataFrame(), pd.DataFrame()
    proj = project_caseload(hist, horizon=5, method=method)
    _, cal = loaded_backtest(engine, method=method)
    total = proj["group"] == "ALL"
    proj = pd.concat([apply_calibration(proj[total], cal), proj[~total]], ignore_index=True)
    test = backtest(hist, holdout=3, method=method)
    return hist, proj, test


def projection_section(proj: pd.DataFrame, test: pd.DataFrame, engine, group: str, method: str, name: str,
                       md: Callable[[str], str]) -> Section:
    """The projection of one group ("ALL" or a main need) with what its backtest says;
    ``extra["backtest"]``: the backtest of every group as shown."""
    p = proj[proj["group"] == group] if len(proj) else proj
    if p.empty or (p["kind"] == "projected").sum() == 0:
        note = p["note"].iloc[0] if len(p) else "no published counts"
        return Section(message=f"No projection for {NEED_LABEL.get(group, group)} in {md(name)}: {md(note)}. "
                       "Suppressed years are left out, and at least three years are needed.")
    obs, fut = p[p["kind"] == "observed"], p[p["kind"] == "projected"]
    last = fut.iloc[-1]
    label = NEED_LABEL.get(group, group)
    what = "EHC plans" if group == "ALL" else f"plans for {SHORT_NEED[group].lower()}"
    titles = (f"About {last['value']:,.0f} {what} by {int(last['year'])}",
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
        sentence += " " + backtest_sentence(loaded_backtest(engine, method=method)[0])
    else:
        sentence += (" Intervals for a primary need are the model's own (not calibrated on the backtest) and "
                     "cover statistical noise around a steady trend only.")
    sentence += " Policy changes are not in any interval."
    table = p.assign(**{c: p[c].round(0) for c in ("value", "lower_80", "upper_80", "lower_95", "upper_95")})
    return Section(p, table, titles, sentence,
                   "EHC plan caseload (measure engine); aggregate model: log-linear projection over the last 6 "
                   "years (send_metrics.measures.projection). Councils with person-level data also have the "
                   "transition model on the Demand and cost projection page.",
                   {"year": "January", "kind": "Observed or projected", "value": label,
                    "lower_80": "80% lower", "upper_80": "80% upper", "lower_95": "95% lower",
                    "upper_95": "95% upper", "note": "Note"},
                   extra={"backtest": backtest_table(test)})


def backtest_table(test: pd.DataFrame) -> pd.DataFrame:
    """The backtest of every group as shown: errors rounded, coverage in per cent. The total's
    intervals shown are not the model's own: their coverage is the all-council backtest's."""
    own = ~test["group"].isin(["ALL", "OVERALL"])
    test = test.assign(coverage_80=test["coverage_80"].where(own), coverage_95=test["coverage_95"].where(own),
                       note=test["note"].where(own, "interval coverage: the all-council backtest above"))
    shown = test.assign(group=test["group"].map(lambda g: NEED_LABEL.get(g, g)),
                        mape=test["mape"].round(1), mean_error=test["mean_error"].round(0),
                        coverage_80=(test["coverage_80"] * 100).round(0),
                        coverage_95=(test["coverage_95"] * 100).round(0))
    return shown.rename(columns={
        "group": "Group", "n": "Years tested", "mape": "Mean absolute % error", "mean_error": "Mean error (plans)",
        "coverage_80": "% inside 80% interval", "coverage_95": "% inside 95% interval", "note": "Note"})
