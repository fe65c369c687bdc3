"""Demand and cost projection from person-level data: a transition (multi-state) model.

Every child or young person with an EHC plan is in a *state* on each January census date:
national curriculum year by age (``ncy``: age on the 31 August before the census, minus 4;
Reception = 0, Year 1 = 1, ... Year 14 = 14, then 15-21 for ages 19-25; -5..-1 below school age)
x primary need x setting. Two consecutive January snapshots of the same council (linked by the
pseudonymous id) say what happened to each child in the year:

* **leaver**: in year *y*, not in year *y+1* (plan ceased, moved away, reached 25);
* **stayer**: in both; a **mover** when the setting or the primary need changed;
* **joiner**: in year *y+1*, not in year *y* (new plan or moved in).

The model, as computed here (method after MastodonC's witan.send, re-implemented in numpy):

1. **Leaving** (beta-binomial): the probability that a child in state (ncy, need, setting) leaves
   by the next January. Pooled towards coarser groups where data are thin: the state's rate is
   shrunk towards its (ncy, setting) group's, that towards the ncy's, that towards the overall rate,
   each with a prior worth ``PRIOR_WEIGHT`` pseudo-children. A child at the top of the age range
   (ncy 21, age 25) always leaves.
2. **Setting moves** (Dirichlet-multinomial): for a stayer, the setting next January (its own
   setting is one of the outcomes). Pooled: state -> (ncy, setting) -> (age group, setting) ->
   setting -> every allowed setting equally (``ALLOWED``: early years to age 5, post-16 from 16,
   ...), so every allowed move has a non-zero probability however rare, and a move never seen
   stays small. A move seen in the data is always allowed.
3. **Need changes** (Dirichlet-multinomial), the same way: state -> (age group, need) -> need ->
   every need.
4. **Joiners** against the ONS population: the number joining at each age is Poisson with mean
   population(age) x rate(age) x the year's joiner level. The age rates are gamma-Poisson, pooled
   age -> age group -> overall; the level follows a log-linear trend in joiners per head of
   population fitted to the training years, with its residual year-to-year variation. The joiner's
   need and setting are Dirichlet-multinomial on their age, pooled age -> age group -> overall ->
   every allowed (need, setting). Population by single year is the age band's population spread
   evenly over its years; years without a population carry the nearest year's.
5. **Year-to-year variation**: the yearly leaving and setting-move rates vary more than chance
   allows (policy, capacity); their between-year spread on the log scale is estimated from the
   training years by moments (observed/expected, less the Poisson part) and each simulated year
   draws a multiplier (on the odds). With fewer than ``MIN_YEARS_FOR_SPREAD`` transitions it is not
   estimable, and the report says the intervals leave it out.

**Simulation**: ``sims`` runs (default 1,000) with a fixed seed, each with parameters drawn from
their posteriors (``PARAM_DRAWS`` draws, shared round-robin by the runs), so the intervals carry
parameter uncertainty, chance and year-to-year variation. Every child is simulated individually
and all runs at once (numpy arrays of children x runs), year by year. Intervals are the 10th-90th
(80%) and 2.5th-97.5th (95%) percentiles over runs.

**Costs** (:func:`costs`): a cost per place a year by need and setting, from the ``place_costs``
dataset (a user's table: every figure carries the table's ``source``); projected high-needs spend
is the runs' places x cost, so it has intervals too.

**Scenarios** (:class:`Scenario`): from a year onward, a change to one setting move (e.g. 10%
fewer moves from mainstream to independent special: the probability of that move x 0.9, the rest
stays in its setting) and/or to the joiners' growth (e.g. 3% a year slower: the joiner level x
0.97 ^ years since the scenario began). Runs with the same seed, so the difference from the
baseline is the scenario's, not chance's.

**Backtest** (:func:`backtest`): rolling origin over the historic snapshots: from each January with
at least ``min_history`` transitions before it, fit on those only, project forward and score the
caseload by setting against what happened: coverage of the 80% and 95% intervals, mean absolute
percentage error and bias, by horizon and by setting.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from send_metrics import contract

MODEL = "transition"
NCY_MIN, NCY_MAX = -5, 21
NCYS = np.arange(NCY_MIN, NCY_MAX + 1)
NA = len(NCYS)
NEEDS = tuple(c for c in contract.PRIMARY_NEEDS if c not in ("NSA", "ALL"))  # 13 DfE needs + UNK
SETTINGS = tuple(contract.SETTING_TYPES)  # the 7 settings + "all" (setting not known: no GIAS extract)
NN, NK = len(NEEDS), len(SETTINGS)
NS = NA * NN * NK
# Age groups (the contract's age bands, by age on 31 August = ncy + 4).
AGE_GROUPS = (("0to4", -5, 0), ("5to10", 1, 6), ("11to15", 7, 11), ("16to19", 12, 15), ("20to25", 16, 21))
GROUP_OF_NCY = np.array([next(i for i, (_b, lo, hi) in enumerate(AGE_GROUPS) if lo <= y <= hi) for y in NCYS])
# Settings a child can be in at each ncy (a prior rule: a move seen in the data is always allowed).
ALLOWED = {"early_years": (-5, 1), "mainstream": (-1, 14), "special": (-1, 14), "alternative_provision": (0, 11),
           "independent": (-1, 21), "post16": (12, 21), "other": (-5, 21), "all": (-5, 21)}
PRIOR_WEIGHT = 10.0        # pseudo-children in each pooled prior (leaving, setting moves, need changes, joiner mix)
TOP_PRIOR_WEIGHT = 1.0     # pseudo-children spread evenly over every allowed outcome at the top of the tree
JOINER_PRIOR_EVENTS = 2.0  # pseudo-joiners in each pooled joiner-rate prior
PARAM_DRAWS = 100
MIN_YEARS_FOR_TREND = 3
MIN_YEARS_FOR_SPREAD = 3
DEFAULT_JOINER_SPREAD = 0.10  # year-to-year sd (log scale) of joiners: assumed below MIN_YEARS_FOR_TREND, else a prior
SPREAD_PRIOR_YEARS = 4        # the weight of that prior, in years
LEVELS = (0.8, 0.95)
QUANTILES = {"lower_95": 2.5, "lower_80": 10.0, "median": 50.0, "upper_80": 90.0, "upper_95": 97.5}


class NotEnoughData(ValueError):
    """The person-level data cannot support the model (the message says why)."""


def allowed_mask() -> np.ndarray:
    """(NA, NK) bool: settings allowed at each ncy."""
    m = np.zeros((NA, NK), bool)
    for j, k in enumerate(SETTINGS):
        lo, hi = ALLOWED.get(k, (NCY_MIN, NCY_MAX))
        m[:, j] = (NCYS >= lo) & (NCYS <= hi)
    return m


def state_index(a, n, k):
    return (np.asarray(a, np.int64) * NN + n) * NK + k


# -- data -------------------------------------------------------------------------------------

@dataclass
class Panel:
    """One council's person-level January snapshots as integer arrays."""
    year: np.ndarray
    pid: np.ndarray     # integer id per person (the same child in every year)
    a: np.ndarray       # ncy - NCY_MIN
    n: np.ndarray
    k: np.ndarray
    dropped: int = 0    # rows left out (no ncy, ncy outside -5..21, unknown need or setting code)

    @property
    def years(self) -> list[int]:
        return sorted(int(y) for y in np.unique(self.year))

    def snapshot(self, year: int) -> "Panel":
        m = self.year == year
        return Panel(self.year[m], self.pid[m], self.a[m], self.n[m], self.k[m])

    def upto(self, year: int) -> "Panel":
        m = self.year <= year
        return Panel(self.year[m], self.pid[m], self.a[m], self.n[m], self.k[m], self.dropped)

    def counts(self, year: int, by: str = "setting") -> np.ndarray:
        s = self.snapshot(year)
        return np.bincount({"setting": s.k, "need": s.n, "ncy": s.a}[by], minlength={"setting": NK, "need": NN,
                                                                                   "ncy": NA}[by])


def panel(persons: pd.DataFrame) -> Panel:
    """Arrays from person rows with columns ``year, person_id, ncy, primary_need, setting_type``."""
    if persons.empty:
        raise NotEnoughData("No person-level EHC plan rows are loaded.")
    p = persons
    ncy = pd.to_numeric(p["ncy"], errors="coerce")
    if ncy.isna().all():
        raise NotEnoughData("The person-level rows have no national curriculum year (ncy): the transition model "
                            "needs single years of age. The SEN2 person-level reader writes it; add an ncy column "
                            "to a case-management extract.")
    need = p["primary_need"].map({c: i for i, c in enumerate(NEEDS)})
    setting = p["setting_type"].map({c: i for i, c in enumerate(SETTINGS)})
    ok = ncy.between(NCY_MIN, NCY_MAX) & need.notna() & setting.notna() & p["person_id"].notna()
    p, ncy, need, setting = p[ok], ncy[ok], need[ok], setting[ok]
    pid = pd.factorize(p["person_id"].astype(str))[0]
    return Panel(p["year"].astype(int).to_numpy(), pid.astype(np.int64), (ncy.astype(int) - NCY_MIN).to_numpy(np.int16),
                 need.astype(int).to_numpy(np.int16), setting.astype(int).to_numpy(np.int16), int((~ok).sum()))


def single_year_population(population: pd.DataFrame, years: list[int]) -> tuple[np.ndarray, list[str]]:
    """(len(years), NA) population by ncy for each year, from age-band populations (``year, age_band,
    population``): each band spread evenly over its single years of age (age on 31 August = ncy + 4;
    ncy -5 is the unborn-by-31-August share of 0-year-olds and counts as age 0). A year with no
    population takes the nearest year's (noted). With no population at all: 1 per age (the joiner
    rates are then counts, noted)."""
    notes = []
    if population is None or population.empty:
        return np.ones((len(years), NA)), ["No population is loaded: joiners are modelled as counts, not against "
                                           "the ONS population."]
    pop = population[population["age_band"].isin([b for b, _l, _h in AGE_GROUPS])]
    by_year = {int(y): dict(zip(g["age_band"], g["population"].astype(float))) for y, g in pop.groupby("year")}
    have = sorted(y for y, d in by_year.items() if len(d) == len(AGE_GROUPS))
    if not have:
        return np.ones((len(years), NA)), ["The population has no year with every age band: joiners are modelled "
                                           "as counts."]
    bands = {"0to4": (0, 4), "5to10": (5, 10), "11to15": (11, 15), "16to19": (16, 19), "20to25": (20, 25)}
    out = np.zeros((len(years), NA))
    carried = []
    for i, y in enumerate(years):
        src = min(have, key=lambda h: (abs(h - y), -h))
        if src != y:
            carried.append((y, src))
        for j, ncy in enumerate(NCYS):
            age = min(max(ncy + 4, 0), 25)
            band = next(b for b, (lo, hi) in bands.items() if lo <= age <= hi)
            lo, hi = bands[band]
            out[i, j] = by_year[src][band] / (hi - lo + 1)
    if carried:
        runs: dict[int, list[int]] = {}
        for y, src in carried:
            runs.setdefault(src, []).append(y)
        notes.append("Population by age is carried from the nearest year loaded: " + "; ".join(
            f"{min(ys)}{'' if len(ys) == 1 else f'-{max(ys)}'} from {src}" for src, ys in sorted(runs.items()))
            + " (load ONS projections for the projected years to use them).")
    return out, notes


# -- transitions --------------------------------------------------------------------------------

@dataclass
class Transitions:
    """Counts from consecutive snapshots."""
    years: list[int]                  # transition years y (y -> y+1)
    at_risk: np.ndarray               # (NS,) children in each state with a next snapshot
    leavers: np.ndarray               # (NS,)
    setting_to: np.ndarray            # (NS, NK) stayers by next setting
    need_to: np.ndarray               # (NS, NN) stayers by next need
    joiners: np.ndarray               # (NS,) joiners by their state on arrival
    joiners_by_year: np.ndarray       # (len(years), NA)
    at_risk_by_year: list             # per year: (NS,) children at risk
    leavers_by_year: np.ndarray       # (len(years),)
    movers_by_year: np.ndarray        # (len(years),) setting movers
    stay_state_by_year: list          # per year: (NS,) stayers by state


def transitions(p: Panel) -> Transitions:
    ys = p.years
    pairs = [y for y in ys if y + 1 in ys]
    at_risk, leavers = np.zeros(NS), np.zeros(NS)
    setting_to, need_to, joiners = np.zeros((NS, NK)), np.zeros((NS, NN)), np.zeros(NS)
    jby, ar_by, lv_by, mv_by, st_by = [], [], [], [], []
    for y in pairs:
        s0, s1 = p.snapshot(y), p.snapshot(y + 1)
        idx0 = state_index(s0.a, s0.n, s0.k)
        in1 = np.isin(s0.pid, s1.pid)
        ar = np.bincount(idx0, minlength=NS).astype(float)
        lv = np.bincount(idx0[~in1], minlength=NS).astype(float)
        at_risk += ar
        leavers += lv
        order1 = np.argsort(s1.pid)
        pos = np.searchsorted(s1.pid[order1], s0.pid[in1])
        j1 = order1[pos]
        st = idx0[in1]
        np.add.at(setting_to, (st, s1.k[j1]), 1)
        np.add.at(need_to, (st, s1.n[j1]), 1)
        new = ~np.isin(s1.pid, s0.pid)
        joiners += np.bincount(state_index(s1.a[new], s1.n[new], s1.k[new]), minlength=NS)
        jby.append(np.bincount(s1.a[new], minlength=NA).astype(float))
        ar_by.append(ar)
        lv_by.append(lv.sum())
        mv_by.append(float((s0.k[in1] != s1.k[j1]).sum()))
        st_by.append(np.bincount(st, minlength=NS).astype(float))
    return Transitions(pairs, at_risk, leavers, setting_to, need_to, joiners,
                       np.array(jby).reshape(len(pairs), NA), ar_by, np.array(lv_by), np.array(mv_by), st_by)


def pool_dirichlet(counts: np.ndarray, mask: np.ndarray, groupings: list[np.ndarray], weight: float = PRIOR_WEIGHT,
                   top_weight: float = TOP_PRIOR_WEIGHT) -> np.ndarray:
    """Posterior Dirichlet parameters (S, D) for each of S rows of outcome counts (S, D), each row's
    prior being its coarser group's posterior mean x ``weight``; ``groupings`` are nested group ids of
    the rows, finest first. At the top, every outcome allowed anywhere gets ``top_weight`` spread
    evenly. ``mask`` (S, D) says which outcomes each row allows; an outcome seen is always allowed."""
    mask = mask | (counts > 0)
    anywhere = mask.any(0)
    top = counts.sum(0) + top_weight * anywhere / max(anywhere.sum(), 1)
    prior = np.broadcast_to(top / top.sum(), counts.shape)
    for g in reversed(groupings):
        ng = int(g.max()) + 1
        cg = np.zeros((ng, counts.shape[1]))
        np.add.at(cg, g, counts)
        mg = np.zeros((ng, counts.shape[1]), bool)
        np.logical_or.at(mg, g, mask)
        first = np.zeros(ng, np.int64)
        first[g[::-1]] = np.arange(len(g))[::-1]
        pr = _renorm(prior[first] * mg)
        alpha = cg + weight * pr
        prior = _renorm(alpha)[g]
    return counts + weight * _renorm(prior * mask)


def _renorm(x: np.ndarray) -> np.ndarray:
    s = x.sum(-1, keepdims=True)
    return np.divide(x, s, out=np.zeros_like(x, dtype=float), where=s > 0)


def _grid():
    a, n, k = np.meshgrid(np.arange(NA), np.arange(NN), np.arange(NK), indexing="ij")
    return a.ravel(), n.ravel(), k.ravel()


@dataclass
class Params:
    """Posterior of every part of the model (Dirichlet / beta / gamma parameters, trend)."""
    leave_alpha: np.ndarray         # (NS, 2): leave, stay
    setting_alpha: np.ndarray       # (NS, NK)
    need_alpha: np.ndarray          # (NS, NN)
    join_shape: np.ndarray          # (NA,) gamma shape of joiner rate by ncy
    join_rate: np.ndarray           # (NA,) gamma rate (population exposure)
    mix_alpha: np.ndarray           # (NA, NN * NK) joiners' need x setting by ncy
    trend: dict                     # joiner level: mean log rate, slope, covariance, residual sd, centre year
    leave_spread: float             # year-to-year sd of the leaving rate (log odds scale)
    move_spread: float              # year-to-year sd of the setting-move rate
    years: list[int]                # transition years used
    last_year: int                  # the latest snapshot used
    notes: list[str] = field(default_factory=list)

    def leave_mean(self) -> np.ndarray:
        return self.leave_alpha[:, 0] / self.leave_alpha.sum(1)

    def setting_mean(self) -> np.ndarray:
        return _renorm(self.setting_alpha).reshape(NA, NN, NK, NK)


def fit(p: Panel, population: np.ndarray | None = None, pop_years: list[int] | None = None) -> Params:
    """Posterior parameters from every pair of consecutive snapshots in ``p``. ``population`` is
    (len(pop_years), NA), the population by ncy of each year (see :func:`single_year_population`)."""
    t = transitions(p)
    if not t.years:
        raise NotEnoughData("At least two consecutive January snapshots are needed (one year of transitions).")
    notes: list[str] = []
    a, n, k = _grid()
    allowed = allowed_mask()
    last = NA - 1
    # 1. leaving: state -> (ncy, setting) -> ncy -> overall.
    lc = np.stack([t.leavers, t.at_risk - t.leavers], 1)
    leave_alpha = pool_dirichlet(lc, np.ones_like(lc, bool), [a * NK + k, a])
    leave_alpha[a == last] = [1e6, 1e-6]  # age 25: the plan ends
    # 2. setting moves: state -> (ncy, setting) -> (age group, setting) -> setting -> every allowed.
    next_a = np.minimum(a + 1, last)
    smask = allowed[next_a]
    setting_alpha = pool_dirichlet(t.setting_to, smask, [a * NK + k, GROUP_OF_NCY[a] * NK + k, k])
    # 3. need changes: state -> (age group, need) -> need -> every need.
    need_alpha = pool_dirichlet(t.need_to, np.ones((NS, NN), bool), [GROUP_OF_NCY[a] * NN + n, n])
    # 4. joiners.
    pops = None
    if population is not None and pop_years is not None:
        pops = np.array([population[pop_years.index(y)] for y in t.years])  # population in year y (mid-year)
    else:
        pops = np.ones((len(t.years), NA))
        notes.append("No population: joiners are modelled as counts.")
    jy = t.joiners_by_year
    j_age, p_age = jy.sum(0), pops.sum(0)
    overall = j_age.sum() / p_age.sum()
    g_j = np.bincount(GROUP_OF_NCY, weights=j_age, minlength=len(AGE_GROUPS))
    g_p = np.bincount(GROUP_OF_NCY, weights=p_age, minlength=len(AGE_GROUPS))
    g_rate = (g_j + JOINER_PRIOR_EVENTS) / (g_p + JOINER_PRIOR_EVENTS / max(overall, 1e-12))
    parent = g_rate[GROUP_OF_NCY]
    join_shape = j_age + JOINER_PRIOR_EVENTS
    join_rate = p_age + JOINER_PRIOR_EVENTS / np.maximum(parent, 1e-12)
    mix_counts = t.joiners.reshape(NA, NN * NK)
    mix_mask = np.repeat(allowed[:, None, :], NN, 1).reshape(NA, NN * NK)
    mix_alpha = pool_dirichlet(mix_counts, mix_mask, [GROUP_OF_NCY])
    yrs = np.array(t.years, float) + 1  # joiners arrive in January y+1
    rho = jy.sum(1) / pops.sum(1)
    trend = _trend(yrs, rho, overall, notes)
    # 5. year-to-year spread of leaving and moving.
    lm = leave_alpha[:, 0] / leave_alpha.sum(1)
    sm = _renorm(setting_alpha)
    stay_p = sm[np.arange(NS), k]
    exp_leave = np.array([(ar * lm).sum() for ar in t.at_risk_by_year])
    exp_move = np.array([(st * (1 - stay_p)).sum() for st in t.stay_state_by_year])
    leave_spread = _spread(t.leavers_by_year, exp_leave)
    move_spread = _spread(t.movers_by_year, exp_move)
    if len(t.years) < MIN_YEARS_FOR_SPREAD:
        notes.append(f"Only {len(t.years)} year(s) of transitions: the year-to-year variation of leaving and moving "
                     f"cannot be estimated (at least {MIN_YEARS_FOR_SPREAD} are needed), so the intervals leave it "
                     "out and are too narrow.")
    return Params(leave_alpha, setting_alpha, need_alpha, join_shape, join_rate, mix_alpha, trend, leave_spread,
                  move_spread, t.years, max(p.years), notes)


def _trend(yrs: np.ndarray, rho: np.ndarray, overall: float, notes: list) -> dict:
    """Log-linear trend of joiners per head of population over the training years, with its
    covariance and residual sd (ordinary least squares)."""
    centre = float(yrs.mean())
    logr = np.log(np.maximum(rho, 1e-12))
    n = len(yrs)
    if n < MIN_YEARS_FOR_TREND:
        sd = DEFAULT_JOINER_SPREAD
        notes.append(f"Only {n} year(s) of joiners: no trend fitted (the joiner rate is held at its mean) and the "
                     f"year-to-year variation is assumed ({sd:.0%}), not estimated.")
        return {"level": float(logr.mean()), "slope": 0.0, "cov": np.diag([sd ** 2 / n, 0.0]), "sd": sd,
                "dof": 0, "centre": centre, "overall": overall}
    x = yrs - centre
    X = np.stack([np.ones(n), x], 1)
    beta, *_ = np.linalg.lstsq(X, logr, rcond=None)
    resid = logr - X @ beta
    # The residual variance's posterior: scaled inverse chi-square combining the n - 2 residual
    # degrees of freedom with a weak prior (SPREAD_PRIOR_YEARS pseudo-years at DEFAULT_JOINER_SPREAD),
    # so a short history does not give near-Cauchy tails.
    dof = n - 2 + SPREAD_PRIOR_YEARS
    sd = float(np.sqrt(((resid ** 2).sum() + SPREAD_PRIOR_YEARS * DEFAULT_JOINER_SPREAD ** 2) / dof))
    cov = np.linalg.inv(X.T @ X) * sd ** 2
    return {"level": float(beta[0]), "slope": float(beta[1]), "cov": cov, "sd": sd, "dof": dof, "centre": centre,
            "overall": overall}


def _spread(observed: np.ndarray, expected: np.ndarray) -> float:
    """Between-year sd on the log scale: var(log(observed/expected)) less the Poisson part (method of moments)."""
    ok = (observed > 0) & (expected > 0)
    if ok.sum() < MIN_YEARS_FOR_SPREAD:
        return 0.0
    r = np.log(observed[ok] / expected[ok])
    return float(math.sqrt(max(0.0, r.var(ddof=1) - np.mean(1.0 / observed[ok]))))


# -- parameter draws ----------------------------------------------------------------------------

def _dirichlet(rng: np.random.Generator, alpha: np.ndarray, draws: int) -> np.ndarray:
    g = rng.standard_gamma(np.broadcast_to(alpha, (draws, *alpha.shape))).astype(np.float32)
    s = g.sum(-1, keepdims=True)
    return np.divide(g, s, out=np.zeros_like(g), where=s > 0)


@dataclass
class Draws:
    leave: np.ndarray    # (D, NS)
    setting: np.ndarray  # (D, NS, NK)
    need: np.ndarray     # (D, NS, NN)
    join_rate: np.ndarray  # (D, NA)
    mix: np.ndarray      # (D, NA, NN*NK)
    level: np.ndarray    # (D,)
    slope: np.ndarray    # (D,)
    sd: np.ndarray       # (D,)


def draw(params: Params, rng: np.random.Generator, draws: int = PARAM_DRAWS) -> Draws:
    leave = _dirichlet(rng, params.leave_alpha, draws)[..., 0]
    leave[:, _grid()[0] == NA - 1] = 1.0  # age 25: the plan ends
    setting = _dirichlet(rng, params.setting_alpha, draws)
    need = _dirichlet(rng, params.need_alpha, draws)
    join_rate = rng.gamma(params.join_shape, 1.0 / params.join_rate, size=(draws, NA))
    mix = _dirichlet(rng, params.mix_alpha, draws)
    tr = params.trend
    if tr["dof"] > 0:  # sd from its scaled inverse chi-square posterior, then level and slope given sd
        sd = tr["sd"] * np.sqrt(tr["dof"] / rng.chisquare(tr["dof"], draws))
    else:
        sd = np.full(draws, tr["sd"])
    z = rng.multivariate_normal(np.zeros(2), tr["cov"], size=draws) * (sd / tr["sd"])[:, None] if tr["sd"] > 0 \
        else np.zeros((draws, 2))
    return Draws(leave, setting, need, join_rate, mix, tr["level"] + z[:, 0], tr["slope"] + z[:, 1], sd)


# -- scenarios ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scenario:
    """A change from ``from_year`` (a January) onward. ``move_change`` scales the probability of the
    move ``move_from`` -> ``move_to`` (-0.1 = 10% fewer; the rest stays in ``move_from``);
    ``joiner_growth`` changes the joiners' growth by that much a year (-0.03 = 3% a year slower)."""
    from_year: int
    move_from: str = ""
    move_to: str = ""
    move_change: float = 0.0
    joiner_growth: float = 0.0

    @property
    def active(self) -> bool:
        moving = bool(self.move_from and self.move_to and self.move_from != self.move_to and self.move_change)
        return moving or bool(self.joiner_growth)

    def describe(self) -> str:
        parts = []
        if self.move_from and self.move_to and self.move_change:
            parts.append(f"{abs(self.move_change):.0%} {'fewer' if self.move_change < 0 else 'more'} moves from "
                         f"{setting_label(self.move_from)} to {setting_label(self.move_to)}")
        if self.joiner_growth:
            parts.append(f"joiners growing {abs(self.joiner_growth):.1%} a year "
                         f"{'slower' if self.joiner_growth < 0 else 'faster'}")
        return (" and ".join(parts) + f", from January {self.from_year}") if parts else "no change"


def setting_label(code: str) -> str:
    return {"mainstream": "mainstream", "special": "state special", "alternative_provision": "alternative provision",
            "independent": "independent or non-maintained special", "post16": "post-16", "early_years": "early years",
            "other": "other arrangements", "all": "setting not known"}.get(code, code)


def _apply_moves(setting: np.ndarray, sc: Scenario) -> np.ndarray:
    """Setting-move draws (D, NS, NK) with the scenario's change to one move."""
    i, j = SETTINGS.index(sc.move_from), SETTINGS.index(sc.move_to)
    out = setting.copy()
    rows = np.arange(NS)[np.arange(NS) % NK == i]
    old = out[:, rows, j]
    new = np.clip(old * (1 + sc.move_change), 0, None)
    stay = out[:, rows, i] + old - new
    over = stay < 0  # more moves than the stayers: take the excess from the move
    new = np.where(over, new + stay, new)
    out[:, rows, j] = new
    out[:, rows, i] = np.maximum(stay, 0)
    return out


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

GROUP_LABELS = {"setting": setting_label, "need": lambda c: f"{c}: {contract.PRIMARY_NEEDS.get(c, c)}",
                "age_group": lambda c: contract.AGE_BANDS.get(c, c), "total": lambda c: "All EHC plans"}


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
