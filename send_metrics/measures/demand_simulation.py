"""The demand model run forward: many simulated futures of every child's state (``simulate``), under a
scenario (``demand.Scenario``), summarised with intervals by setting or need, costed, and scored
against what happened in a rolling-origin backtest (``backtest_cases``, ``score``).

The model itself (states, the panel of January snapshots, transitions, fit, parameter draws) is
``measures.demand``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from send_metrics.measures.demand import (
    AGE_GROUPS,
    GROUP_OF_NCY,
    MIN_YEARS_FOR_SPREAD,
    MODEL,
    NK,
    NN,
    NA,
    NCYS,
    NEEDS,
    NS,
    PARAM_DRAWS,
    Panel,
    Params,
    QUANTILES,
    SETTINGS,
    Scenario,
    _apply_moves,
    _grid,
    draw,
    fit,
    state_index,
    transitions,
)


# -- simulation ---------------------------------------------------------------------------------

@dataclass
class Simulation:
    start_year: int
    years: list[int]           # projected Januaries
    need_setting: np.ndarray   # (sims, len(years), NN, NK) places
    ncy: np.ndarray            # (sims, len(years), NA)
    start_need_setting: np.ndarray  # (NN, NK) observed at the origin
    start_ncy: np.ndarray           # (NA,)
    sims: int
    seed: int


def _odds(p: np.ndarray, m: np.ndarray) -> np.ndarray:
    return p * m / (1 - p + p * m)


def _cum_table(rows: np.ndarray) -> np.ndarray:
    """Rows of probabilities (R, C) as cumulative shares (float32, last column 1), for :func:`_pick`.
    A row that sums to 0 (no outcome possible) picks its last category."""
    p = rows.astype(np.float64)
    tot = p.sum(1, keepdims=True)
    cum = np.divide(np.cumsum(p, 1), tot, out=np.ones_like(p), where=tot > 0)
    cum[:, -1] = 2.0  # above any uniform draw
    return cum.astype(np.float32)


def _pick(rng: np.random.Generator, table: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One category per entry of ``rows`` from a :func:`_cum_table`: the first column whose
    cumulative share exceeds a uniform draw."""
    u = rng.random(len(rows), dtype=np.float32)
    ncat = table.shape[1]
    flat, base = table.ravel(), rows.astype(np.int64) * ncat
    lo, hi = np.zeros(len(rows), np.int64), np.full(len(rows), ncat - 1, np.int64)
    for _ in range(int(np.ceil(np.log2(max(ncat, 2))))):  # binary search within each row
        mid = (lo + hi) // 2
        right = flat[base + mid] <= u
        lo = np.where(right, mid + 1, lo)
        hi = np.where(right, hi, mid)
    return lo


def simulate(params: Params, start: Panel, population: np.ndarray, pop_years: list[int], years: int = 10,
             sims: int = 1000, seed: int = 2026, scenario: Scenario | None = None,
             param_draws: int = PARAM_DRAWS) -> Simulation:
    """``sims`` runs of ``years`` years from the snapshot ``start`` (one January). ``population`` is
    (len(pop_years), NA) by ncy; projected years beyond it carry its last year.

    Run ``i`` uses parameter draw ``i % D`` (D = ``param_draws``) and that draw's year multipliers;
    each child is one entry of two arrays: its run and ``draw * NS + state`` (state = ncy, need,
    setting), so every step is a 1-D lookup."""
    rng = np.random.default_rng(seed)
    D = max(1, min(param_draws, sims))
    dr = draw(params, rng, D)
    y0 = int(start.year[0]) if len(start.year) else params.last_year
    moving = bool(scenario and scenario.move_from and scenario.move_to and scenario.move_from != scenario.move_to
                  and scenario.move_change)
    _a, _n, kk = _grid()
    nn = _n

    def setting_tables(setting: np.ndarray):
        stay = setting[:, np.arange(NS), kk]                         # (D, NS)
        dest = setting.copy()
        dest[:, np.arange(NS), kk] = 0
        return (1 - stay).astype(np.float64), _cum_table(dest.reshape(D * NS, NK))

    tables = {False: setting_tables(dr.setting)}
    if moving:
        tables[True] = setting_tables(_apply_moves(dr.setting, scenario))
    need_stay = dr.need[:, np.arange(NS), nn].astype(np.float64)      # (D, NS)
    nd = dr.need.copy()
    nd[:, np.arange(NS), nn] = 0
    need_dest = _cum_table(nd.reshape(D * NS, NN))
    del nd
    mix = _cum_table(dr.mix.reshape(D * NA, NN * NK))
    leave = dr.leave.astype(np.float64)
    n0 = len(start.a)
    sim = np.repeat(np.arange(sims, dtype=np.int64), n0)
    ds = (sim % D) * NS + np.tile(state_index(start.a, start.n, start.k), sims)
    out_ns = np.zeros((sims, years, NN, NK), np.int32)
    out_a = np.zeros((sims, years, NA), np.int32)
    dsim = np.arange(sims) % D
    for step in range(years):
        y = y0 + step + 1
        # leaving, with this year's multiplier (on the odds) for each draw
        lv = leave if params.leave_spread <= 0 else _odds(leave, np.exp(rng.normal(0, params.leave_spread, D))[:, None])
        keep = rng.random(len(ds)) >= lv.ravel()[ds]
        sim, ds = sim[keep], ds[keep]
        # setting moves
        pmove, dest = tables[moving and y >= scenario.from_year]
        if params.move_spread > 0:
            pmove = _odds(pmove, np.exp(rng.normal(0, params.move_spread, D))[:, None])
        movers = np.flatnonzero(rng.random(len(ds)) < pmove.ravel()[ds])
        if len(movers):
            old = ds[movers] % NK
            ds[movers] += _pick(rng, dest, ds[movers]) - old
        # need changes
        changers = np.flatnonzero(rng.random(len(ds)) >= need_stay.ravel()[ds])
        if len(changers):
            old = (ds[changers] // NK) % NN
            ds[changers] += (_pick(rng, need_dest, ds[changers]) - old) * NK
        ds += NN * NK  # a year older (ncy 21 always left above)
        # joiners arriving this January, by age, against the population of the year before
        pi = min(max(y - 1, pop_years[0]), pop_years[-1])
        pop = population[pop_years.index(pi)] if pi in pop_years else population[-1]
        shock = rng.normal(0, 1, sims) * dr.sd[dsim]
        log_level = dr.level[dsim] + dr.slope[dsim] * (y - params.trend["centre"]) + shock
        level = np.exp(np.clip(log_level - np.log(params.trend["overall"]), -5, 5))  # x 1/150 .. 150: numerical guard
        if scenario and scenario.joiner_growth and y >= scenario.from_year:
            level = level * (1 + scenario.joiner_growth) ** (y - scenario.from_year + 1)
        counts = rng.poisson(pop[None, :] * dr.join_rate[dsim] * level[:, None])  # (sims, NA)
        flat = counts.ravel()
        js, ja = np.divmod(np.repeat(np.arange(sims * NA), flat), NA)
        cell = _pick(rng, mix, dsim[js] * NA + ja)
        sim = np.concatenate([sim, js])
        ds = np.concatenate([ds, dsim[js] * NS + ja * NN * NK + cell])
        # record
        s = ds % NS
        out_ns[:, step] = np.bincount(sim * (NN * NK) + s % (NN * NK), minlength=sims * NN * NK).reshape(sims, NN, NK)
        out_a[:, step] = np.bincount(sim * NA + s // (NN * NK), minlength=sims * NA).reshape(sims, NA)
    start_ns = np.bincount(state_index(0, start.n, start.k), minlength=NN * NK).reshape(NN, NK) if n0 else \
        np.zeros((NN, NK), int)
    return Simulation(y0, [y0 + i + 1 for i in range(years)], out_ns, out_a, start_ns,
                      np.bincount(start.a, minlength=NA), sims, seed)


# -- summaries ----------------------------------------------------------------------------------

def _quantiles(values: np.ndarray) -> dict:
    """values (sims, ...) -> dict of arrays: mean and the QUANTILES over runs."""
    q = np.percentile(values, list(QUANTILES.values()), axis=0)
    out = {"mean": values.mean(0)}
    out.update({name: q[i] for i, name in enumerate(QUANTILES)})
    return out


def summary(sim: Simulation, by: str = "setting") -> pd.DataFrame:
    """Observed (the origin January) and projected places by ``by``: setting, need, age group,
    ncy or total. Columns: year, kind, group, value (mean), median, lower_80 ... upper_95."""
    if by == "setting":
        vals, start, labels = sim.need_setting.sum(2), sim.start_need_setting.sum(0), list(SETTINGS)
    elif by == "need":
        vals, start, labels = sim.need_setting.sum(3), sim.start_need_setting.sum(1), list(NEEDS)
    elif by == "age_group":
        M = np.zeros((NA, len(AGE_GROUPS)))
        M[np.arange(NA), GROUP_OF_NCY] = 1
        vals, start, labels = sim.ncy @ M, sim.start_ncy @ M, [b for b, _l, _h in AGE_GROUPS]
    elif by == "ncy":
        vals, start, labels = sim.ncy, sim.start_ncy, [str(int(v)) for v in NCYS]
    elif by == "total":
        vals, start, labels = sim.need_setting.sum((2, 3))[..., None], np.array([sim.start_need_setting.sum()]), ["all"]
    else:
        raise ValueError(by)
    q = _quantiles(vals)
    rows = [{"year": sim.start_year, "kind": "observed", "group": g, "value": float(start[j])}
            for j, g in enumerate(labels)]
    for i, y in enumerate(sim.years):
        for j, g in enumerate(labels):
            r = {"year": y, "kind": "projected", "group": g, "value": float(q["mean"][i, j])}
            r.update({name: float(q[name][i, j]) for name in QUANTILES})
            rows.append(r)
    out = pd.DataFrame(rows)
    seen = out.groupby("group")["value"].transform("max") > 0
    return out[seen].reset_index(drop=True)


# -- costs --------------------------------------------------------------------------------------

@dataclass
class CostTable:
    """Annual cost per place by (need, setting) and the table's source (always shown with it)."""
    cost: np.ndarray   # (NN, NK), NaN where the table gives no cost
    source: str
    rows: pd.DataFrame


def cost_table(rows: pd.DataFrame) -> CostTable | None:
    """From ``place_costs`` rows (primary_need, setting_type, cost_per_place, source): a need of
    ``ALL`` is the setting's cost for any need without a row of its own."""
    if rows is None or rows.empty:
        return None
    cost = np.full((NN, NK), np.nan)
    r = rows.dropna(subset=["cost_per_place"])
    for _, row in r[r["primary_need"] == "ALL"].iterrows():
        if row["setting_type"] in SETTINGS:
            cost[:, SETTINGS.index(row["setting_type"])] = float(row["cost_per_place"])
    for _, row in r[r["primary_need"] != "ALL"].iterrows():
        if row["setting_type"] in SETTINGS and row["primary_need"] in NEEDS:
            cost[NEEDS.index(row["primary_need"]), SETTINGS.index(row["setting_type"])] = float(row["cost_per_place"])
    sources = sorted({str(s) for s in r["source"].dropna() if str(s).strip()})
    if not sources:
        return None  # a cost without its source is never shown
    return CostTable(cost, "; ".join(sources), r)


def costs(sim: Simulation, table: CostTable) -> pd.DataFrame:
    """Projected spend a year (GBP) with intervals, on the places the table costs, and the places it
    does not cost (the spend leaves them out; the page says so). Rows: year, kind, value, ...,
    uncosted_places, source."""
    c = np.nan_to_num(table.cost)
    costed = ~np.isnan(table.cost)
    spend = (sim.need_setting * c).sum((2, 3))  # (sims, years)
    uncosted = (sim.need_setting * ~costed).sum((2, 3))
    q = _quantiles(spend)
    rows = [{"year": sim.start_year, "kind": "observed places, costed", "value": float((sim.start_need_setting * c).sum()),
             "uncosted_places": float((sim.start_need_setting * ~costed).sum()), "source": table.source}]
    for i, y in enumerate(sim.years):
        r = {"year": y, "kind": "projected", "value": float(q["mean"][i])}
        r.update({name: float(q[name][i]) for name in QUANTILES})
        r.update(uncosted_places=float(uncosted[:, i].mean()), source=table.source)
        rows.append(r)
    return pd.DataFrame(rows)


# -- backtest -----------------------------------------------------------------------------------

def backtest_cases(p: Panel, population: np.ndarray, pop_years: list[int], horizon: int = 5, sims: int = 500,
                   seed: int = 2026, min_history: int = MIN_YEARS_FOR_SPREAD, series: str = "") -> pd.DataFrame:
    """Rolling origin: from each January with at least ``min_history`` transitions before it, fit on
    the snapshots up to it, project ``horizon`` years and compare each setting's caseload with what
    the later snapshots hold. One row per (origin, horizon, setting)."""
    ys = p.years
    rows = []
    for origin in ys:
        hist = p.upto(origin)
        if len(transitions(hist).years) < min_history:
            continue
        later = [y for y in ys if origin < y <= origin + horizon]
        if not later:
            continue
        params = fit(hist, population, pop_years)
        sim = simulate(params, p.snapshot(origin), population, pop_years, years=max(later) - origin, sims=sims,
                       seed=seed)
        by_setting = sim.need_setting.sum(2)  # (sims, years, NK)
        for y in later:
            i = y - origin - 1
            actual = p.counts(y, "setting")
            q = _quantiles(by_setting[:, i, :])
            for j, g in enumerate(SETTINGS):
                if actual[j] == 0 and q["upper_95"][j] == 0:
                    continue
                r = {"series": f"{series}{g}", "setting": g, "origin": origin, "year": y, "horizon": y - origin,
                     "actual": float(actual[j]), "value": float(q["mean"][j])}
                r.update({name: float(q[name][j]) for name in QUANTILES if name != "median"})
                rows.append(r)
    return pd.DataFrame(rows)


def score(cases: pd.DataFrame, horizon: int = 5) -> dict:
    """The aggregate backtest's keys (projection.rolling_backtest) for the transition model, plus
    coverage by setting (one year ahead) and the model's name."""
    out = {"model": MODEL, "calibrated": False, "series": 0, "origins": 0, "forecasts": 0}
    e = cases[cases["actual"] > 0] if len(cases) else cases
    for lab in ("80", "95"):
        out[f"coverage_{lab}"] = _cover(e, lab)
        out[f"coverage_{lab}_by_horizon"] = {str(h): _cover(e[e["horizon"] == h], lab) if len(e) else float("nan")
                                             for h in range(1, horizon + 1)}
    if len(e):
        rel = (e["value"] - e["actual"]) / e["actual"]
        out.update(series=int(e["series"].nunique()), origins=int(e["origin"].nunique()), forecasts=len(e),
                   mape=float(100 * rel.abs().mean()), bias=float(100 * rel.mean()))
        one = e[e["horizon"] == 1]
        out["coverage_95_by_setting"] = {g: _cover(part, "95") for g, part in one.groupby("setting")}
        out["coverage_80_by_setting"] = {g: _cover(part, "80") for g, part in one.groupby("setting")}
        out["mape_by_horizon"] = {str(h): float(100 * ((part["value"] - part["actual"]).abs() / part["actual"]).mean())
                                  for h, part in e.groupby("horizon")}
    else:
        out.update(mape=float("nan"), bias=float("nan"), coverage_95_by_setting={}, coverage_80_by_setting={},
                   mape_by_horizon={})
    return out


def _cover(d: pd.DataFrame, lab: str) -> float:
    if d is None or d.empty:
        return float("nan")
    return float(((d[f"lower_{lab}"] <= d["actual"]) & (d["actual"] <= d[f"upper_{lab}"])).mean())
