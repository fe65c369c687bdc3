"""The demand model on whatever is loaded, and what the Demand page, the board pack and the command
line show from it: each council's panel and population (``load_councils``), its projection
(``project``), the backtest over the loaded history (``loaded_backtest``, ``backtest_for_cli``), the
tables with disclosure control (``comparison``, ``spend_comparison``, ``backtest_tables``), and the
method in words (``METHOD``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from send_metrics.contract import codes
from send_metrics.measures.demand import (
    DEFAULT_JOINER_SPREAD,
    JOINER_PRIOR_EVENTS,
    MIN_YEARS_FOR_SPREAD,
    NEEDS,
    NotEnoughData,
    PARAM_DRAWS,
    PRIOR_WEIGHT,
    Panel,
    Params,
    SETTINGS,
    SPREAD_PRIOR_YEARS,
    Scenario,
    TOP_PRIOR_WEIGHT,
    fit,
    panel,
    setting_label,
    single_year_population,
)
from send_metrics.measures.demand_simulation import (
    CostTable,
    Simulation,
    _cover,
    backtest_cases,
    cost_table,
    costs,
    score,
    simulate,
    summary,
)


# -- on whatever is loaded ------------------------------------------------------------------------

SOURCE = ("transition model on the person-level EHC plan snapshots (ehcp_persons: each child's January state, "
          "linked year to year by the pseudonymous id)")


@dataclass
class Council:
    """What the model needs for one council: its panel, population by ncy and cost table."""
    code: str
    panel: Panel
    population: np.ndarray
    pop_years: list[int]
    pop_source: str
    costs: CostTable | None
    notes: list[str]
    source_files: list[str]


def _council_of(db) -> tuple[dict[str, str], dict[str, list[str]]]:
    membership = db.query("SELECT child_code, parent_code FROM area_membership WHERE relationship = 'council' "
                          "AND weight = 1")
    council_of = dict(zip(membership["child_code"], membership["parent_code"]))
    members: dict[str, list[str]] = {}
    for child, parent in council_of.items():
        members.setdefault(parent, []).append(child)
    return council_of, members


def load_councils(db) -> dict[str, Council]:
    """Every council with person-level rows in the load (ehcp_persons, at council or locality level;
    a child counts in the council of their area), with its population and cost table."""
    try:
        persons = db.query("SELECT year, area_code, area_level, person_id, primary_need, setting_type, ncy, "
                           "source_file FROM ehcp_persons")
    except Exception:  # no person-level dataset, or one without ncy
        try:
            persons = db.query("SELECT year, area_code, area_level, person_id, primary_need, setting_type, "
                               "NULL AS ncy, source_file FROM ehcp_persons")
        except Exception:
            return {}
    if persons.empty:
        return {}
    council_of, members = _council_of(db)
    persons["council"] = np.where(persons["area_level"].astype(str).eq("council"), persons["area_code"],
                                  persons["area_code"].map(council_of))
    persons = persons.dropna(subset=["council"])
    try:
        pop = db.query("SELECT year, area_code, age_band, population, source FROM population")
    except Exception:
        try:
            pop = db.query("SELECT year, area_code, age_band, population, NULL AS source FROM population")
        except Exception:
            pop = pd.DataFrame(columns=["year", "area_code", "age_band", "population", "source"])
    try:
        costs = db.query("SELECT area_code, primary_need, setting_type, cost_per_place, source FROM place_costs")
    except Exception:
        costs = pd.DataFrame(columns=["area_code", "primary_need", "setting_type", "cost_per_place", "source"])
    out = {}
    for code, rows in persons.groupby("council"):
        notes: list[str] = []
        try:
            p = panel(rows)
        except NotEnoughData as exc:
            notes.append(str(exc))
            p = None
        if p is None:
            out[code] = Council(code, None, None, [], "", None, notes, sorted(rows["source_file"].dropna().unique()))
            continue
        if p.dropped:
            notes.append(f"{p.dropped} person rows left out (no national curriculum year, or one outside -5..21).")
        # Population: the council's localities summed when they all have it, else the council's own rows.
        locs = members.get(code, [])
        lp = pop[pop["area_code"].isin(locs)]
        full = lp.groupby("year")["area_code"].nunique()
        lp = lp[lp["year"].isin(full[full == len(locs)].index)] if locs else lp.iloc[0:0]
        if not lp.empty:
            cp = lp.groupby(["year", "age_band"], as_index=False)["population"].sum()
            src = "population of the council's localities, summed"
        else:
            cp = pop[pop["area_code"] == code][["year", "age_band", "population"]]
            src = "population of the council"
        srcs = sorted({str(s) for s in pop[pop["area_code"].isin([code, *locs])]["source"].dropna() if str(s).strip()})
        if srcs:
            src += " (" + "; ".join(srcs) + ")"
        years = list(range(min(p.years) - 1, max(p.years) + 12))
        population, pnotes = single_year_population(cp, years)
        notes += pnotes
        if cp.empty:
            src = "no population loaded"
        out[code] = Council(code, p, population, years, src, cost_table(costs[costs["area_code"] == code]), notes,
                            sorted(rows["source_file"].dropna().unique()))
    return out


def project(c: Council, years: int = 10, sims: int = 1000, seed: int = 2026,
            scenario: Scenario | None = None) -> tuple[Params, Simulation]:
    """Fit on every snapshot of the council and simulate from its latest January."""
    params = fit(c.panel, c.population, c.pop_years)
    return params, simulate(params, c.panel.snapshot(max(c.panel.years)), c.population, c.pop_years, years=years,
                            sims=sims, seed=seed, scenario=scenario)


_BACKTEST_CACHE: dict = {}


def loaded_backtest(db, horizon: int = 5, sims: int = 500, seed: int = 2026) -> tuple[dict, pd.DataFrame]:
    """(summary with the aggregate backtest's keys, cases) over every council with person-level data
    in the load; computed once per load."""
    key = (getattr(db, "load_id", None), horizon, sims, seed)
    if key not in _BACKTEST_CACHE:
        frames = []
        for code, c in load_councils(db).items():
            if c.panel is None:
                continue
            cases = backtest_cases(c.panel, c.population, c.pop_years, horizon=horizon, sims=sims, seed=seed,
                                   series=f"{code}:")
            if len(cases):
                frames.append(cases.assign(area_code=code))
        cases = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
            columns=["series", "setting", "origin", "year", "horizon", "actual", "value", "area_code"])
        if len(_BACKTEST_CACHE) > 4:
            _BACKTEST_CACHE.clear()
        _BACKTEST_CACHE[key] = (score(cases, horizon), cases)
    return _BACKTEST_CACHE[key]


def backtest_sentence(summary: dict) -> str:
    if not summary.get("forecasts"):
        return ("No backtest of the transition model is possible: it needs at least "
                f"{MIN_YEARS_FOR_SPREAD + 1} consecutive January snapshots of person-level data before an origin.")
    by_h = summary["coverage_95_by_horizon"]
    hs = ", ".join(f"{h} year{'s' if h != '1' else ''} ahead {v * 100:.0f}%" for h, v in by_h.items()
                   if v is not None and np.isfinite(v))
    return (f"Rolling-origin backtest of the transition model on {summary['series']} setting series "
            f"({summary['origins']} origins, {summary['forecasts']} projections scored): the 95% intervals held "
            f"{summary['coverage_95'] * 100:.0f}% of the actual caseloads ({hs}) and the 80% intervals "
            f"{summary['coverage_80'] * 100:.0f}%; mean absolute error {summary['mape']:.1f}%, bias "
            f"{summary['bias']:+.1f}%. The intervals are the model's own (not recalibrated).")


def _json_safe(v):
    if isinstance(v, dict):
        return {str(k): _json_safe(x) for k, x in v.items()}
    if isinstance(v, (float, np.floating)):
        return float(v) if np.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    return v


def backtest_for_cli(args) -> int:
    """``python -m send_metrics backtest --model transition [--json]``: the transition model's
    rolling-origin backtest on the person-level data loaded (every council), by setting. The same
    keys as the aggregate backtest, plus ``model``, coverage by setting and error by horizon."""
    import json

    from send_metrics.config import load_config
    from send_metrics.db import get_database
    db = get_database(load_config(getattr(args, "data_dir", None)))
    db.refresh()
    summary, _cases = loaded_backtest(db)
    summary = _json_safe(summary)
    if args.json:
        print(json.dumps(summary, indent=1))
        return 0
    print(backtest_sentence(summary))
    for g, v in (summary.get("coverage_95_by_setting") or {}).items():
        print(f"  {setting_label(g)}: one year ahead, 95% interval held the actual in "
              f"{'-' if v is None else f'{v * 100:.0f}%'} of origins")
    return 0


# -- tables for the page and the board pack --------------------------------------------------------

GROUP_LABELS = {"setting": setting_label, "need": lambda c: f"{c}: {codes.PRIMARY_NEEDS.get(c, c)}",
                "age_group": lambda c: codes.AGE_BANDS.get(c, c), "total": lambda c: "All EHC plans"}


def history_counts(p: Panel, by: str = "setting") -> pd.DataFrame:
    """Observed places on each January in the data: year, group, value."""
    labels = {"setting": SETTINGS, "need": NEEDS, "total": ("all",)}[by]
    rows = []
    for y in p.years:
        c = p.counts(y, "setting" if by == "total" else by)
        c = np.array([c.sum()]) if by == "total" else c
        rows += [{"year": y, "group": g, "value": float(c[j])} for j, g in enumerate(labels) if c[j] > 0]
    return pd.DataFrame(rows)


def protect(table: pd.DataFrame, value_col: str = "value", group_cols=("year",), low: int = 1, high: int = 4
            ) -> pd.DataFrame:
    """Disclosure control for observed counts that add up to a shown total: counts of ``low``-``high``
    are blanked (disclosure.primary_suppress), and where a group (e.g. one January) would then have a
    single blank, its next smallest count is blanked too, so it cannot be worked out by subtraction."""
    from send_metrics.stats.disclosure import primary_reason, primary_suppress
    out = table.copy()
    v = pd.to_numeric(out[value_col], errors="coerce")
    sup = pd.Series(primary_suppress(v.to_numpy(float), low, high), index=out.index)
    reason = pd.Series(np.where(sup, primary_reason(low, high), ""), index=out.index, dtype=object)
    for _g, part in out.groupby(list(group_cols)):
        s = sup[part.index]
        if s.sum() == 1:
            rest = v[part.index][~s & (v[part.index] > 0)]
            if len(rest):
                j = rest.idxmin()
                sup[j] = True
                reason[j] = "secondary: would reveal a suppressed count"
    out.loc[sup, value_col] = np.nan
    out["suppressed"] = sup.to_numpy()
    out["suppression_reason"] = reason.to_numpy()
    return out


def comparison(base: Simulation, scn: Simulation | None, by: str, low: int = 1, high: int = 4) -> pd.DataFrame:
    """Projected places by ``by`` and year, baseline beside the scenario (medians and intervals,
    whole numbers). A projection whose median is ``low``-``high`` is blanked like a small count."""
    from send_metrics.stats.disclosure import primary_suppress
    b = summary(base, by)
    b = b[b["kind"] == "projected"].drop(columns="kind")
    cols = ["median", "lower_80", "upper_80", "lower_95", "upper_95"]
    out = b[["year", "group", *cols]].rename(columns={c: f"baseline_{c}" for c in cols})
    if scn is not None:
        s = summary(scn, by)
        s = s[s["kind"] == "projected"][["year", "group", "median", "lower_95", "upper_95"]]
        out = out.merge(s.rename(columns={"median": "scenario_median", "lower_95": "scenario_lower_95",
                                          "upper_95": "scenario_upper_95"}), on=["year", "group"], how="outer")
        out["difference"] = out["scenario_median"] - out["baseline_median"]
    num = [c for c in out.columns if c not in ("year", "group")]
    out[num] = out[num].round(0)
    small = primary_suppress(out["baseline_median"].to_numpy(float), low, high)
    if "scenario_median" in out:
        small = small | primary_suppress(out["scenario_median"].to_numpy(float), low, high)
    out.loc[small, num] = np.nan
    out["label"] = out["group"].map(GROUP_LABELS[by])
    return out.sort_values(["group", "year"]).reset_index(drop=True)


def spend_comparison(base: Simulation, scn: Simulation | None, table: CostTable) -> pd.DataFrame:
    """Projected spend a year (GBP, rounded to the nearest thousand), baseline beside the scenario,
    with the cost table's source on every row."""
    b = costs(base, table)
    b = b[b["kind"] == "projected"]
    out = pd.DataFrame({"year": b["year"], "baseline_median": b["median"], "baseline_lower_80": b["lower_80"],
                        "baseline_upper_80": b["upper_80"], "baseline_lower_95": b["lower_95"],
                        "baseline_upper_95": b["upper_95"], "uncosted_places": b["uncosted_places"].round(0)})
    if scn is not None:
        s = costs(scn, table)
        s = s[s["kind"] == "projected"]
        out["scenario_median"] = s["median"].to_numpy()
        out["scenario_lower_95"] = s["lower_95"].to_numpy()
        out["scenario_upper_95"] = s["upper_95"].to_numpy()
        out["difference"] = out["scenario_median"] - out["baseline_median"]
    money = [c for c in out.columns if c not in ("year", "uncosted_places")]
    out[money] = (out[money] / 1000).round(0) * 1000
    out["cost_source"] = table.source
    return out.reset_index(drop=True)


def backtest_tables(cases: pd.DataFrame, low: int = 1, high: int = 4) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(coverage and error by setting, one year ahead; coverage and error by horizon)."""
    if cases is None or cases.empty:
        empty = pd.DataFrame(columns=["setting", "cases", "coverage_80", "coverage_95", "mape", "bias"])
        return empty, empty.rename(columns={"setting": "horizon"})
    e = cases[cases["actual"] > 0]

    def row(part):
        rel = (part["value"] - part["actual"]) / part["actual"]
        return pd.Series({"cases": len(part), "coverage_80": 100 * _cover(part, "80"),
                          "coverage_95": 100 * _cover(part, "95"), "mape": 100 * rel.abs().mean(),
                          "bias": 100 * rel.mean()})
    one = e[e["horizon"] == 1]
    by_setting = one.groupby("setting").apply(row, include_groups=False).reset_index()
    by_setting["setting"] = by_setting["setting"].map(setting_label)
    allrow = row(one).to_frame().T.assign(setting="All settings")
    by_setting = pd.concat([by_setting, allrow], ignore_index=True)
    by_h = e.groupby("horizon").apply(row, include_groups=False).reset_index()
    return by_setting.round(1), by_h.round(1)


# -- the method in words (Definitions page, README) ------------------------------------------------

METHOD: tuple[tuple[str, str], ...] = (
    ("Which model", "Councils whose person-level EHC plan data is loaded (the SEN2 person-level return, or an "
     "ehcp_persons extract with an ncy column) for two or more consecutive Januaries get the transition model "
     "(Demand and cost projection page, board pack section 'Demand and cost projection'). Every other area keeps the "
     "aggregate model: a log-linear trend through its last six January totals (Needs and demand page). Each chart "
     "says which model drew it."),
    ("States", "Each child's state on a January census date is national curriculum year by age (age on the 31 August "
     "before the census, minus 4; -5 to 21), primary need and setting. Consecutive snapshots, linked by the "
     "pseudonymous id, give leavers (in one January, not the next), stayers and movers (setting or need changed), "
     "and joiners (in the next January, not this one)."),
    ("Leaving", "Beta-binomial: the share of children in a state who leave by the next January, shrunk towards the "
     f"rate of the same age and setting, then the same age, then everyone, each prior worth {PRIOR_WEIGHT:g} "
     "children. At age 25 every plan ends."),
    ("Moving between settings", "Dirichlet-multinomial: a stayer's next setting, pooled state -> age and setting -> "
     "age group and setting -> setting -> every setting allowed at the next age (early years to age 5, "
     "mainstream and state special 3-18, alternative provision 4-15, post-16 from 16, independent and other at any "
     f"age), with a further {TOP_PRIOR_WEIGHT:g} child spread evenly over the allowed settings, so a move never seen "
     "is possible but small. A move seen in the data is always allowed."),
    ("Need changes", "Dirichlet-multinomial, pooled state -> age group and need -> need -> every need."),
    ("Joiners", "Poisson against the ONS population by single year of age (the band's population spread evenly over "
     "its years; the nearest year's when a year is missing): age rates gamma-Poisson pooled age -> age group -> "
     f"all ({JOINER_PRIOR_EVENTS:g} pseudo-joiners each); the joiner level follows a log-linear trend in joiners per "
     "head fitted to the history, with its residual year-to-year variation (a weak prior of "
     f"{DEFAULT_JOINER_SPREAD:.0%} worth {SPREAD_PRIOR_YEARS} years); a joiner's need and setting are "
     "Dirichlet-multinomial on their age, pooled to age group and to all."),
    ("Intervals", "1,000 simulations (fixed seed 2026), each child simulated individually, each run with parameters "
     f"drawn from their posteriors ({PARAM_DRAWS} draws shared round-robin) and a year-to-year multiplier on leaving "
     "and moving estimated from the history by moments; the 80% and 95% intervals are the 10th-90th and "
     "2.5th-97.5th percentiles of the runs. They do not cover a change of policy or practice."),
    ("Costs", "Places x cost per place by need and setting from a place_costs table the council supplies (a need "
     "of ALL is the setting's cost for any need). Every cost shown carries the table's source; places the table "
     "does not cost are counted and left out of the spend."),
    ("Scenarios", "From a chosen January onward: one setting move made more or less likely (the difference stays in "
     "or leaves the setting), and/or the joiners' growth changed by a percentage a year. Run with the same seed as "
     "the baseline; the choices are kept in the page's link."),
    ("Backtest", "Rolling origin: from each past January with at least three years of transitions before it, the "
     "model is fitted on those years only and projected forward; each setting's caseload is compared with what "
     "happened. The page shows the share inside the 80% and 95% intervals and the mean absolute percentage error "
     "by setting and by years ahead (python -m send_metrics backtest --model transition)."),
    ("Disclosure", "Observed counts of 1-4 are suppressed, with a second count where one suppressed count could "
     "be worked out from the total; projections are model estimates, and a projected 1-4 is not shown."),
)
