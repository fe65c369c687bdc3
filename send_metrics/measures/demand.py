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

from send_metrics.contract import codes

MODEL = "transition"
NCY_MIN, NCY_MAX = -5, 21
NCYS = np.arange(NCY_MIN, NCY_MAX + 1)
NA = len(NCYS)
NEEDS = tuple(c for c in codes.PRIMARY_NEEDS if c not in ("NSA", "ALL"))  # 13 DfE needs + UNK
SETTINGS = tuple(codes.SETTING_TYPES)  # the 7 settings + "all" (setting not known: no GIAS extract)
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
