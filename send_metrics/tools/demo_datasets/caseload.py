"""EHC plans in January by locality, primary need, age band and setting: council totals equal the
published DfE figures, the need mix and placement shares are raked to the published ones, and cells
are apportioned to localities by population and a synthetic prevalence factor.
"""
from __future__ import annotations

import numpy as np

from send_metrics.tools.demo_datasets.common import (
    AGE_BANDS,
    COUNCILS,
    CUMBERLAND,
    EXPORT_CASELOAD_YEARS,
    LOCALITIES,
    MEMBERS,
    NEEDS,
    PREVALENCE,
    SETTINGS,
    WESTMORLAND,
    YEARS,
    dataset_rng,
    from_export,
    hypergeom_split,
    interp_years,
    largest_remainder,
    period_cols,
)

# ---------------------------------------------------------------------------------------------
# Published council figures the synthetic localities reproduce exactly (DfE SEN2 releases; the
# Cumberland SEND and AP strategy 2024 for new plans). Other years are smooth synthetic values.
# ---------------------------------------------------------------------------------------------
# EHC plans in January. 2015-2023: the published Cumbria series (2015-2018 statements and EHC plans
# combined), split between the two successor councils; 2024-2025: the councils' published counts.
CUMBRIA_CASELOAD = {2015: 2106, 2016: 2397, 2017: 2734, 2018: 2773, 2019: 3173, 2020: 3495, 2021: 3887,
                    2022: 4292, 2023: 4489}
COUNCIL_CASELOAD = {2024: {CUMBERLAND: 2656, WESTMORLAND: 2196}, 2025: {CUMBERLAND: 2893, WESTMORLAND: 2377}}

# Primary need of all plans, January 2025 (DfE EHC plans 2025, sen_needs_all_plans.csv), as counts.
NEED_COUNTS_2025 = {
    CUMBERLAND: {"ASD": 1041, "SLCN": 623, "SEMH": 574, "MLD": 17, "SLD": 303, "PMLD": 32, "SPLD": 45, "HI": 33,
                 "VI": 28, "MSI": 0, "PD": 191, "OTH": 0, "UNK": 6},
    WESTMORLAND: {"ASD": 525, "SLCN": 726, "SEMH": 566, "MLD": 47, "SLD": 211, "PMLD": 19, "SPLD": 87, "HI": 20,
                  "VI": 15, "MSI": 4, "PD": 148, "OTH": 0, "UNK": 9},
}
ASD_SHARE_2024 = {CUMBERLAND: 0.3596}  # Cumberland SEND and AP strategy: 35.96% autism
# Synthetic need mix in 2015 (shares, %), interpolated towards 2025.
NEED_SHARES_2015 = {
    CUMBERLAND: {"ASD": 27, "SLCN": 19, "SEMH": 14, "MLD": 4.5, "SLD": 14, "PMLD": 2.2, "SPLD": 3, "HI": 2.2,
                 "VI": 1.5, "MSI": 0.3, "PD": 9, "OTH": 2.5, "UNK": 0.8},
    WESTMORLAND: {"ASD": 17, "SLCN": 27, "SEMH": 18, "MLD": 5.5, "SLD": 13, "PMLD": 1.5, "SPLD": 5, "HI": 1.8,
                  "VI": 1.0, "MSI": 0.3, "PD": 9, "OTH": 0.5, "UNK": 0.4},
}
# Setting shares (%), in SETTINGS order. 2024 and 2025 follow the published placements (caseload.csv:
# mainstream_total, special_total less independent special, AP/PRU, independent special, FE,
# early years, educated elsewhere / other); 2015 is synthetic.
SETTING_SHARES = {
    CUMBERLAND: {2015: [50.0, 17.5, 1.8, 4.5, 21.0, 2.2, 3.0], 2024: [58.6, 17.6, 1.2, 3.1, 12.5, 1.9, 5.1],
                 2025: [60.6, 17.9, 1.5, 2.8, 11.0, 1.0, 5.2]},
    WESTMORLAND: {2015: [46.0, 16.0, 1.6, 6.5, 24.0, 2.0, 3.9], 2024: [53.5, 14.3, 1.0, 5.4, 19.6, 1.2, 5.0],
                  2025: [55.2, 15.0, 0.8, 4.5, 16.6, 1.1, 6.8]},
}


def council_caseload_totals() -> dict[int, dict[str, int]]:
    totals = {}
    for y in YEARS:
        if y in COUNCIL_CASELOAD:
            totals[y] = dict(COUNCIL_CASELOAD[y])
        else:
            total = CUMBRIA_CASELOAD[y]
            c = int(round(total * (0.540 + 0.0008 * (y - 2015))))
            totals[y] = {CUMBERLAND: c, WESTMORLAND: total - c}
    return totals


def _need_counts(council: str, y: int, total: int) -> np.ndarray:
    if y == 2025:
        counts = np.array([NEED_COUNTS_2025[council][n] for n in NEEDS], dtype=np.int64)
        assert counts.sum() == total
        return counts
    s15 = np.array([NEED_SHARES_2015[council][n] for n in NEEDS], dtype=float)
    s15 /= s15.sum()
    s25 = np.array([NEED_COUNTS_2025[council][n] for n in NEEDS], dtype=float)
    s25 /= s25.sum()
    shares = s15 + (s25 - s15) * (y - 2015) / 10
    if y == 2024 and council in ASD_SHARE_2024:
        asd = int(round(ASD_SHARE_2024[council] * total))
        rest = largest_remainder(total - asd, np.where(np.arange(len(NEEDS)) == 0, 0.0, shares))
        rest[0] = asd
        return rest
    return largest_remainder(total, shares)


def _seed_tensor() -> np.ndarray:
    """Structural need x age x setting pattern (before raking to the council's margins)."""
    age_given_need = {
        "ASD": [0.05, 0.40, 0.40, 0.13, 0.02], "SLCN": [0.12, 0.50, 0.25, 0.11, 0.02],
        "SEMH": [0.01, 0.25, 0.52, 0.19, 0.03], "MLD": [0.02, 0.30, 0.40, 0.23, 0.05],
        "SLD": [0.06, 0.32, 0.32, 0.24, 0.06], "PMLD": [0.10, 0.33, 0.28, 0.22, 0.07],
        "SPLD": [0.00, 0.25, 0.50, 0.22, 0.03], "HI": [0.10, 0.38, 0.30, 0.18, 0.04],
        "VI": [0.10, 0.38, 0.30, 0.18, 0.04], "MSI": [0.10, 0.38, 0.30, 0.18, 0.04],
        "PD": [0.12, 0.36, 0.30, 0.18, 0.04], "OTH": [0.08, 0.37, 0.35, 0.17, 0.03],
        "UNK": [0.065, 0.38, 0.37, 0.16, 0.025],
    }
    # setting | age, in SETTINGS order
    setting_given_age = np.array([
        [0.55, 0.12, 0.000, 0.00, 0.00, 0.30, 0.03],   # 0to4
        [0.76, 0.17, 0.005, 0.02, 0.00, 0.00, 0.045],  # 5to10
        [0.62, 0.22, 0.020, 0.05, 0.00, 0.00, 0.09],   # 11to15
        [0.14, 0.18, 0.000, 0.04, 0.57, 0.00, 0.07],   # 16to19
        [0.00, 0.00, 0.000, 0.02, 0.78, 0.00, 0.20],   # 20to25
    ])
    modifier = {  # need: {setting: multiplier}
        "SLD": {"special": 3.5, "mainstream": 0.3}, "PMLD": {"special": 4.0, "mainstream": 0.2},
        "SEMH": {"alternative_provision": 3.0, "independent": 2.0, "other": 1.5},
        "ASD": {"independent": 1.5, "special": 1.1}, "SLCN": {"mainstream": 1.2, "special": 0.6},
        "SPLD": {"mainstream": 1.2, "special": 0.4}, "HI": {"mainstream": 1.2, "special": 0.5},
        "VI": {"mainstream": 1.2, "special": 0.5}, "MLD": {"special": 1.3},
    }
    seed = np.zeros((len(NEEDS), len(AGE_BANDS), len(SETTINGS)))
    for i, need in enumerate(NEEDS):
        mod = np.array([modifier.get(need, {}).get(s, 1.0) for s in SETTINGS])
        seed[i] = np.asarray(age_given_need[need])[:, None] * setting_given_age * mod[None, :]
    return seed


def _rake(seed: np.ndarray, need_totals: np.ndarray, setting_totals: np.ndarray, iterations: int = 60) -> np.ndarray:
    """Iterative proportional fitting of the seed to need and setting margins (need margin last)."""
    x = seed.copy()
    for _ in range(iterations):
        s = x.sum(axis=(0, 1))
        x *= np.divide(setting_totals, s, out=np.zeros_like(s), where=s > 0)[None, None, :]
        n = x.sum(axis=(1, 2))
        x *= np.divide(need_totals, n, out=np.zeros_like(n), where=n > 0)[:, None, None]
    return x


def build_caseload(pop) -> dict[tuple[str, int], np.ndarray]:
    """Plans by locality and January: int array [need, age, setting]."""
    rng = dataset_rng("ehcp_caseload")
    seed = _seed_tensor()
    totals = council_caseload_totals()
    trend = {loc: float(rng.normal(0.0, 0.012)) for loc in LOCALITIES}  # slow drift in relative prevalence
    out = {}
    for y in YEARS:
        for council in COUNCILS:
            total = totals[y][council]
            needs = _need_counts(council, y, total)
            shares = interp_years(y, SETTING_SHARES[council])
            shares = shares / shares.sum()
            raked = _rake(seed, needs.astype(float), shares * total)
            cells = np.zeros(seed.shape, dtype=np.int64)
            for i in range(len(NEEDS)):
                cells[i] = largest_remainder(needs[i], raked[i].ravel()).reshape(raked[i].shape)
            # Locality totals follow population and prevalence smoothly (a caseload is a stock: it
            # does not jump about from year to year); which plans go where is a random draw
            # without replacement from the council's cells, so both margins are kept exactly.
            members = MEMBERS[council]
            w = np.array([pop[(loc, y)].sum() * PREVALENCE[loc] * np.exp(trend[loc] * (y - 2020))
                          for loc in members], dtype=float)
            pool = cells.ravel().copy()
            for loc, n in zip(members, largest_remainder(total, w)):
                take = hypergeom_split(rng, pool, int(n))
                pool -= take
                out[(loc, y)] = take.reshape(cells.shape)
            assert pool.sum() == 0
    return out


def caseload_rows(caseload) -> list[list]:
    possible = _seed_tensor() > 0
    idx = np.argwhere(possible)
    rows = []
    for y in YEARS:
        for loc in LOCALITIES:
            if from_export(loc, y, EXPORT_CASELOAD_YEARS):
                continue
            c = caseload[(loc, y)]
            for i, a, s in idx:
                rows.append(period_cols(y, "January", loc) + [NEEDS[i], AGE_BANDS[a], SETTINGS[s], int(c[i, a, s])])
    return rows
