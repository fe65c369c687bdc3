"""Outcomes by locality, academic year and SEN status: attainment, absence, exclusions and
participation with realistic gaps; key stage 2 is `x` (not available) for 2019/20 and 2020/21.
"""
from __future__ import annotations

import numpy as np

from send_metrics.tools.demo_datasets.common import (
    DEPRIVATION,
    LOCALITIES,
    OUTCOMES,
    PHASES,
    SEN_STATUSES,
    dataset_rng,
    fmt_dp,
    period_cols,
)

ACADEMIC_YEARS = list(range(2016, 2026))  # end years: 2015/16 .. 2024/25


# Rates by academic year 2015/16 .. 2024/25 for (no_sen, sen_support, ehc_plan); None = not published (COVID).
OUTCOME_RATES = {
    "ks2_rwm_expected": ([0.62, 0.70, 0.74, 0.75, None, None, 0.69, 0.71, 0.72, 0.73],
                         [0.16, 0.18, 0.21, 0.22, None, None, 0.18, 0.20, 0.21, 0.22],
                         [0.07, 0.07, 0.08, 0.09, None, None, 0.07, 0.08, 0.08, 0.08]),
    "ks4_attainment8": ([52.5, 49.5, 49.0, 49.2, 53.0, 54.5, 52.0, 49.5, 49.0, 49.2],
                        [33.0, 31.0, 31.0, 31.5, 35.0, 36.5, 34.0, 32.0, 31.5, 31.5],
                        [15.5, 14.0, 13.5, 13.8, 15.0, 16.0, 14.5, 14.0, 14.0, 13.9]),
    "ks4_basics_9to4": ([0.70, 0.70, 0.71, 0.71, 0.78, 0.79, 0.76, 0.72, 0.71, 0.71],
                        [0.30, 0.29, 0.30, 0.31, 0.38, 0.40, 0.35, 0.32, 0.31, 0.31],
                        [0.08, 0.08, 0.08, 0.09, 0.11, 0.12, 0.10, 0.08, 0.08, 0.08]),
    "overall_absence": ([0.042, 0.043, 0.044, 0.043, 0.045, 0.040, 0.068, 0.066, 0.063, 0.062],
                        [0.062, 0.063, 0.064, 0.064, 0.066, 0.062, 0.095, 0.095, 0.092, 0.090],
                        [0.082, 0.083, 0.085, 0.086, 0.090, 0.085, 0.118, 0.122, 0.121, 0.119]),
    "persistent_absence": ([0.085, 0.088, 0.090, 0.088, 0.10, 0.09, 0.20, 0.19, 0.17, 0.16],
                           [0.16, 0.17, 0.17, 0.17, 0.18, 0.17, 0.31, 0.31, 0.29, 0.28],
                           [0.20, 0.21, 0.22, 0.22, 0.24, 0.22, 0.36, 0.38, 0.37, 0.36]),
    "suspensions": ([0.012, 0.013, 0.015, 0.015, 0.010, 0.012, 0.020, 0.025, 0.028, 0.029],
                    [0.075, 0.080, 0.085, 0.090, 0.065, 0.075, 0.12, 0.15, 0.17, 0.18],
                    [0.070, 0.075, 0.080, 0.085, 0.060, 0.065, 0.10, 0.13, 0.15, 0.16]),
    "permanent_exclusions": ([0.0004, 0.0005, 0.0005, 0.0005, 0.0003, 0.0003, 0.0005, 0.0006, 0.0007, 0.0007],
                             [0.0018, 0.0020, 0.0022, 0.0022, 0.0012, 0.0012, 0.0020, 0.0026, 0.0030, 0.0031],
                             [0.0008, 0.0009, 0.0010, 0.0010, 0.0006, 0.0006, 0.0009, 0.0012, 0.0014, 0.0014]),
    "eet_16_17": ([0.930, 0.930, 0.935, 0.935, 0.930, 0.925, 0.930, 0.935, 0.935, 0.934],
                  [0.860, 0.860, 0.865, 0.870, 0.860, 0.850, 0.860, 0.865, 0.865, 0.860],
                  [0.840, 0.845, 0.850, 0.855, 0.840, 0.830, 0.845, 0.850, 0.850, 0.850]),
}
STATUS_INDEX = {"no_sen": 0, "sen_support": 1, "ehc_plan": 2}


def build_outcomes(pop, caseload, census) -> list[list]:
    rng = dataset_rng("outcomes")
    rows = []
    for yi, end in enumerate(ACADEMIC_YEARS):
        period = f"{end - 1}{end % 100:02d}"
        for loc in LOCALITIES:
            cells = census[(loc, end)]
            dep = DEPRIVATION[loc]
            p1617 = int(round(0.5 * pop[(loc, end)][3]))
            ehcp1617 = int(round(0.55 * caseload[(loc, end)][:, 3, :].sum()))
            support1617 = int(round(0.09 * p1617))
            known = {"ehc_plan": ehcp1617, "sen_support": support1617, "no_sen": max(0, p1617 - ehcp1617 - support1617)}
            for status in SEN_STATUSES:
                si = STATUS_INDEX[status]
                by_phase = {ph: sum(v for (s, _n, p), v in cells.items() if s == status and p == ph) for ph in PHASES}
                enrolled = sum(by_phase.values())
                ks2 = int(round(by_phase["primary"] / 7 + by_phase["special"] * 0.07))
                ks4 = int(round(by_phase["secondary"] / 6.4 + by_phase["special"] * 0.07))
                full_year = int(round(enrolled * 0.87))
                for outcome in OUTCOMES:
                    if outcome == "neet_16_17":
                        continue  # written with eet_16_17
                    rate = OUTCOME_RATES[outcome][si][yi]
                    base = period_cols(period, "Academic year", loc) + [status]
                    if outcome == "ks2_rwm_expected":
                        if rate is None:
                            rows.append(base + [outcome, "x", "x"])
                            continue
                        if ks2 == 0:
                            continue
                        r = float(np.clip(rate * (1 - 0.06 * dep), 0, 1))
                        rows.append(base + [outcome, int(rng.binomial(ks2, r)), ks2])
                    elif outcome == "ks4_attainment8":
                        if ks4 == 0:
                            continue
                        mean = rate * (1 - 0.05 * dep) + rng.normal(0, (12 if si == 2 else 18) / np.sqrt(ks4))
                        points = float(np.clip(mean, 0, 90) * ks4)
                        rows.append(base + [outcome, fmt_dp(points, 1), ks4])
                    elif outcome == "ks4_basics_9to4":
                        if ks4 == 0:
                            continue
                        r = float(np.clip(rate * (1 - 0.06 * dep), 0, 1))
                        rows.append(base + [outcome, int(rng.binomial(ks4, r)), ks4])
                    elif outcome == "overall_absence":
                        if full_year == 0:
                            continue
                        part = 0.63 if end == 2020 else 1.0  # 2019/20: autumn and spring terms only
                        possible = int(round(full_year * 326 * part))
                        r = rate * (1 + 0.08 * dep) * float(np.exp(rng.normal(0, 0.03)))
                        rows.append(base + [outcome, int(round(possible * r)), possible])
                    elif outcome == "persistent_absence":
                        if full_year == 0:
                            continue
                        r = float(np.clip(rate * (1 + 0.10 * dep), 0, 1))
                        rows.append(base + [outcome, int(rng.binomial(full_year, r)), full_year])
                    elif outcome in ("suspensions", "permanent_exclusions"):
                        if enrolled == 0:
                            continue
                        n = min(enrolled, int(rng.poisson(rate * (1 + 0.3 * dep) * enrolled)))
                        rows.append(base + [outcome, n, enrolled])
                    elif outcome == "eet_16_17":
                        den = known[status]
                        if den == 0:
                            continue
                        r = float(np.clip(rate - 0.02 * dep, 0, 1))
                        eet = int(rng.binomial(den, r))
                        rows.append(base + [outcome, eet, den])
                        rows.append(base + ["neet_16_17", den - eet, den])
    return rows
