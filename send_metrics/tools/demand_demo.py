"""A synthetic person-level history for the demand model: every child with an EHC plan in Cumberland's
and Westmorland and Furness's localities on each January census date 2015-2026, in the contract's
``ehcp_persons`` layout with the national curriculum year by age (``ncy``), plus the demo population
and an ILLUSTRATIVE cost-per-place table. Everything is SYNTHETIC and deterministic (seed 23).

``write(out)`` writes ``ehcp_persons.csv``, ``population.csv`` and ``place_costs.csv``. Write it into a
folder named ``demo`` inside a data folder of its own, so the dashboard labels it as synthetic:

    python -c "from send_metrics.tools.demand_demo import write; write('data_person_demo/demo')"
    SEND_DATA_DIR=data_person_demo python -m send_metrics load

How the children move is deliberately not the model's own structure (so the backtest tests the model,
not its mirror): leaving, setting moves and need changes depend on age, need and setting through
multiplicative effects; every year draws its own multipliers for leaving (sd 8%), moving (sd 12%) and
joining (sd 6%); joiners grow faster after 2019 (4% a year, then 7%) against the demo population;
the move from mainstream to special school jumps at the start of Year 7 and the move to post-16 at 16
and 19. The council totals are not calibrated to published figures (the aggregate demo is).
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from send_metrics.tools import demo
from send_metrics.measures.demand import NCY_MAX, NCY_MIN, NEEDS

SEED = 23
FIRST, LAST = 2015, 2026
COUNCILS = {"E06000063": (("LOC-ALLERDALE", 0.34), ("LOC-CARLISLE", 0.40), ("LOC-COPELAND-N", 0.235),
                          ("LOC-MILLOM", 0.025)),
            "E06000064": (("LOC-EDEN", 0.25), ("LOC-BARROW-FURNESS", 0.35), ("LOC-SOUTH-LAKELAND", 0.40))}
START = {"E06000063": 1450, "E06000064": 1250}
JOIN_RATE = {"E06000063": 0.0036, "E06000064": 0.0034}  # joiners a year per resident aged 0-25, 2015
ILLUSTRATIVE_SOURCE = ("ILLUSTRATIVE demo table: made-up round figures for demonstrating the dashboard, not any "
                       "council's costs")
# ILLUSTRATIVE annual cost per place (GBP), by setting; a few need-specific rows.
ILLUSTRATIVE_COSTS = (("ALL", "mainstream", 9000), ("ALL", "special", 25000), ("ALL", "alternative_provision", 20000),
                      ("ALL", "independent", 60000), ("ALL", "post16", 12000), ("ALL", "early_years", 8000),
                      ("ALL", "other", 10000), ("ASD", "independent", 70000), ("PMLD", "special", 35000),
                      ("SEMH", "independent", 75000))


def _need_weights() -> np.ndarray:
    base = {"ASD": 36, "SLCN": 17, "SEMH": 17, "MLD": 9, "SLD": 5, "PD": 4, "SPLD": 3, "HI": 1.5, "PMLD": 1.5,
            "OTH": 2.5, "VI": 1, "MSI": 0.5, "DS": 2, "UNK": 0.2}
    w = np.array([base.get(c, 0.0) for c in NEEDS])
    return w / w.sum()


def _age_profile() -> np.ndarray:
    """Joiners by age on 31 August (0-25)."""
    w = np.array([0.3, 1.5, 3.0, 5.0, 6.0, 5.5, 4.5, 4.0, 3.5, 3.5, 4.0, 4.5, 3.0, 2.5, 2.0, 1.8, 1.5, 1.0, 0.6, 0.4,
                  0.3, 0.2, 0.15, 0.1, 0.05, 0.02])
    return w / w.sum()


def _entry_setting(rng, age: np.ndarray) -> np.ndarray:
    out = np.empty(len(age), dtype=object)
    for i, a in enumerate(age):
        if a <= 3:
            p = {"early_years": 0.75, "mainstream": 0.1, "special": 0.05, "other": 0.1}
        elif a <= 15:
            p = {"mainstream": 0.72, "special": 0.18, "independent": 0.03, "alternative_provision": 0.03, "other": 0.04}
        elif a <= 18:
            p = {"mainstream": 0.25, "special": 0.15, "post16": 0.45, "independent": 0.05, "other": 0.1}
        else:
            p = {"post16": 0.7, "independent": 0.1, "other": 0.2}
        keys = list(p)
        out[i] = keys[rng.choice(len(keys), p=np.array(list(p.values())) / sum(p.values()))]
    return out


def _leave_prob(age: np.ndarray, need: np.ndarray, setting: np.ndarray) -> np.ndarray:
    base = np.select([age <= 14, age == 15, age == 16, age == 17, age == 18, age <= 23, age == 24],
                     [0.025, 0.06, 0.13, 0.10, 0.24, 0.22, 0.35], 1.0)
    nf = np.ones(len(need))
    nf[np.isin(need, ["SPLD", "SLCN", "MLD"])] = 1.4
    nf[np.isin(need, ["PMLD", "SLD", "MSI"])] = 0.6
    sf = np.select([setting == "mainstream", setting == "special", setting == "post16"], [1.3, 0.6, 1.1], 1.0)
    return np.minimum(base * nf * sf, 1.0)


def _move(rng, age1: np.ndarray, need: np.ndarray, setting: np.ndarray, f: float) -> np.ndarray:
    """The setting next January (age1 = age on 31 August next)."""
    out = setting.copy()
    u = rng.random(len(age1))
    for i in range(len(age1)):
        a, s, x = age1[i], setting[i], u[i]
        heavy = need[i] in ("SLD", "PMLD", "ASD", "SEMH")
        opts: dict[str, float] = {}
        if s == "early_years":
            if a >= 4:
                opts = {"mainstream": 0.66, "special": 0.26 if heavy else 0.14, "other": 0.04}
            else:
                opts = {"mainstream": 0.05 * f}
        elif s == "mainstream":
            if a >= 19:
                opts = {"post16": 0.8, "other": 0.2}
            elif a == 16:
                opts = {"post16": 0.55, "special": 0.01 * f}
            else:
                sp = (0.08 if a == 11 else 0.035) * (1.6 if heavy else 1.0) * f
                opts = {"special": sp, "independent": 0.008 * f * (1.5 if need[i] in ("ASD", "SEMH") else 1),
                        "alternative_provision": (0.015 if 11 <= a <= 15 else 0.004) * f, "other": 0.01 * f}
        elif s == "special":
            if a >= 19:
                opts = {"post16": 0.65, "independent": 0.1, "other": 0.25}
            else:
                opts = {"independent": 0.015 * f, "mainstream": 0.01 * f, "other": 0.005 * f}
        elif s == "independent":
            opts = {"special": 0.03 * f} if a < 19 else {"post16": 0.05, "other": 0.05}
        elif s == "alternative_provision":
            opts = {"mainstream": 0.2, "special": 0.1, "other": 0.05} if a < 16 else {"post16": 0.5, "other": 0.3}
        elif s == "post16":
            opts = {"other": 0.04 * f}
        elif s == "other":
            opts = {"mainstream": 0.12, "special": 0.04} if 4 <= a <= 15 else ({"post16": 0.1} if a >= 16 else {})
        acc = 0.0
        for dest, p in opts.items():
            acc += p
            if x < acc:
                out[i] = dest
                break
    return out


def history(seed: int = SEED, scale: float = 1.0) -> list[list]:
    """Rows of ehcp_persons (time_period, time_identifier, area_code, area_level, person_id, primary_need,
    age_band, setting_type, ncy) for every January FIRST..LAST. ``scale`` < 1 gives a smaller council
    (fewer children at the start and fewer joiners), for quick tests."""
    rng = np.random.default_rng(seed)
    pop = demo.build_population()
    need_w = _need_weights()
    prof = _age_profile()
    rows: list[list] = []
    for council, locs in COUNCILS.items():
        names, weights = [loc for loc, _w in locs], np.array([w for _l, w in locs])

        def people(m: int, ages: np.ndarray, serial: int) -> dict:
            return {"id": np.array([f"S{council[-2:]}{serial + i:06d}" for i in range(m)]),
                    "age": ages, "need": rng.choice(NEEDS, size=m, p=need_w),
                    "setting": _entry_setting(rng, ages), "loc": rng.choice(names, size=m, p=weights / weights.sum())}

        start_n = int(round(START[council] * scale))
        stock_ages = rng.choice(26, size=start_n, p=np.convolve(prof, np.ones(6) / 6)[:26] /
                                np.convolve(prof, np.ones(6) / 6)[:26].sum())
        cur = people(start_n, stock_ages, 0)
        serial = start_n
        for year in range(FIRST, LAST + 1):
            for i in range(len(cur["id"])):
                age = int(cur["age"][i])
                rows.append([year, "January", cur["loc"][i], "locality", cur["id"][i], cur["need"][i],
                             _age_band(age), cur["setting"][i], age - 4])
            if year == LAST:
                break
            f_leave, f_move, f_join = np.exp(rng.normal(0, [0.08, 0.12, 0.06]))
            p = np.minimum(_leave_prob(cur["age"], cur["need"], cur["setting"]) * f_leave, 1.0)
            p[cur["age"] >= 25] = 1.0
            stay = rng.random(len(p)) >= p
            cur = {key: v[stay] for key, v in cur.items()}
            age1 = cur["age"] + 1
            cur["setting"] = _move(rng, age1, cur["need"], cur["setting"], f_move)
            change = rng.random(len(age1)) < 0.02
            cur["need"] = np.where(change, rng.choice(NEEDS, size=len(age1), p=need_w), cur["need"])
            cur["age"] = age1
            # joiners arriving next January, against the population (ages 0-25) of this calendar year
            residents = sum(int(pop[(loc, min(max(year, 2015), 2025))].sum()) for loc in names)
            growth = 1.04 ** min(year - FIRST, 4) * 1.07 ** max(0, year - FIRST - 4)
            m = rng.poisson(residents * JOIN_RATE[council] * scale * growth * f_join)
            new = people(m, rng.choice(26, size=m, p=prof), serial)
            serial += m
            cur = {key: np.concatenate([cur[key], new[key]]) for key in cur}
    return rows


def _age_band(age: int) -> str:
    # Age on the census date is age on 31 August or one more; the band is by age on the census date.
    for band, lo, hi in (("0to4", 0, 4), ("5to10", 5, 10), ("11to15", 11, 15), ("16to19", 16, 19), ("20to25", 20, 25)):
        if lo <= age + 1 <= hi or (age + 1 > 25 and band == "20to25"):
            return band
    return "0to4"


def write(out: str | Path, seed: int = SEED, scale: float = 1.0) -> dict[str, int]:
    """Writes the synthetic history, the demo population and the illustrative cost table into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = history(seed, scale)
    counts = {}
    with open(out / "ehcp_persons.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["time_period", "time_identifier", "area_code", "area_level", "person_id", "primary_need",
                    "age_band", "setting_type", "ncy"])
        w.writerows(rows)
    counts["ehcp_persons.csv"] = len(rows)
    pop = demo.population_rows(demo.build_population())
    with open(out / "population.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["time_period", "time_identifier", "area_code", "area_level", "age_band", "population"])
        w.writerows(pop)
    counts["population.csv"] = len(pop)
    with open(out / "place_costs.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["area_code", "primary_need", "setting_type", "cost_per_place", "price_year", "source"])
        for council in COUNCILS:
            for need, setting, cost in ILLUSTRATIVE_COSTS:
                w.writerow([council, need, setting, cost, "2025-26", ILLUSTRATIVE_SOURCE])
    counts["place_costs.csv"] = len(COUNCILS) * len(ILLUSTRATIVE_COSTS)
    (out / "README.md").write_text(
        "# Person-level demand demo (SYNTHETIC)\n\nWritten by `send_metrics.tools.demand_demo.write` (seed "
        f"{seed}). Every child here is made up; the cost table is ILLUSTRATIVE, not any council's costs. "
        "See the module's docstring for how the history is made.\n", encoding="utf-8")
    return counts


assert NCY_MIN <= -4 and NCY_MAX >= 21
