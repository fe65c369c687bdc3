"""School census pupils by locality, SEN status, primary need and phase: pupils from the population,
pupils with a plan from the caseload's school placements, SEN support rates of about 11-15%.
"""
from __future__ import annotations

import numpy as np

from send_metrics.tools.demo_datasets.common import (
    COUNCILS,
    CUMBERLAND,
    LOCALITIES,
    MEMBERS,
    NEEDS,
    PHASES,
    SETTINGS,
    WESTMORLAND,
    YEARS,
    dataset_rng,
    interp_years,
    largest_remainder,
    period_cols,
)

SEN_SUPPORT_NEEDS = ["SLCN", "SEMH", "MLD", "SPLD", "ASD", "NSA", "OTH", "PD", "HI", "VI", "MSI", "SLD", "PMLD"]
SEN_SUPPORT_MIX = {  # phase: {year: shares in SEN_SUPPORT_NEEDS order}
    "primary": {2015: [31, 15, 22, 8, 5, 7, 5, 2.5, 2, 1, 0.3, 1.0, 0.2],
                2025: [33, 19, 14, 6, 9, 7, 5, 2.5, 2, 1, 0.3, 1.0, 0.2]},
    "secondary": {2015: [11, 18, 27, 20, 6, 5, 5, 2.5, 2, 1.5, 0.3, 1.5, 0.2],
                  2025: [12, 27, 18, 16, 10, 4, 5, 2.5, 2, 1.5, 0.3, 1.5, 0.2]},
    "special": {2015: [10, 15, 20, 0, 30, 0, 0, 5, 0, 0, 0, 20, 0], 2025: [10, 15, 20, 0, 30, 0, 0, 5, 0, 0, 0, 20, 0]},
    "alternative_provision": {2015: [6, 75, 6, 3, 5, 2, 3, 0, 0, 0, 0, 0, 0],
                              2025: [6, 75, 6, 3, 5, 2, 3, 0, 0, 0, 0, 0, 0]},
}
SEN_SUPPORT_RATE = {CUMBERLAND: {2015: 11.6, 2023: 12.8, 2024: 13.6, 2025: 14.2},
                    WESTMORLAND: {2015: 11.9, 2023: 13.2, 2024: 14.5, 2025: 14.9}}
SEN_SUPPORT_ADJ = {"LOC-ALLERDALE": 0.4, "LOC-CARLISLE": -0.2, "LOC-COPELAND-N": 0.6, "LOC-MILLOM": 0.8,
                   "LOC-EDEN": -0.8, "LOC-BARROW-FURNESS": 1.2, "LOC-SOUTH-LAKELAND": -0.6}
CUMBERLAND_PUPILS_2024 = 41559  # Cumberland SEND and AP strategy: school-aged pupils


def _school_base(p: np.ndarray) -> float:
    return float(p[1] + p[2] + 0.45 * p[3])


def build_school_census(pop, caseload) -> dict[tuple[str, int], dict[tuple[str, str, str], int]]:
    """Pupils by locality and January: {(sen_status, need, phase): count}."""
    rng = dataset_rng("school_census")
    k = CUMBERLAND_PUPILS_2024 / sum(_school_base(pop[(loc, 2024)]) for loc in MEMBERS[CUMBERLAND])
    out = {}
    for y in YEARS:
        for council in COUNCILS:
            members = MEMBERS[council]
            bases = [_school_base(pop[(loc, y)]) for loc in members]
            totals = largest_remainder(int(round(k * sum(bases))), bases)
            for loc, total in zip(members, totals):
                c = caseload[(loc, y)]
                ehcp = {}  # (need, phase) -> pupils with a plan in schools (UNK recorded as OTH in the census)
                for i, need in enumerate(NEEDS):
                    code = "OTH" if need == "UNK" else need
                    mains = c[i, :, SETTINGS.index("mainstream")]
                    by_phase = {"primary": mains[0] + mains[1], "secondary": mains[2] + mains[3],
                                "special": c[i, :4, SETTINGS.index("special")].sum(),
                                "alternative_provision": c[i, :, SETTINGS.index("alternative_provision")].sum()}
                    for ph, n in by_phase.items():
                        ehcp[(code, ph)] = ehcp.get((code, ph), 0) + int(rng.binomial(int(n), 0.99))
                ehcp_phase = {ph: sum(v for (n_, p_), v in ehcp.items() if p_ == ph) for ph in PHASES}
                special_total = int(np.ceil(ehcp_phase["special"] / 0.965))
                ap_total = max(ehcp_phase["alternative_provision"] + 3, int(round(0.0022 * total)))
                p = pop[(loc, y)]
                main = int(total) - special_total - ap_total
                primary = int(round(main * 1.12 * p[1] / (1.12 * p[1] + p[2] + 0.45 * p[3])))
                phase_total = {"primary": primary, "secondary": main - primary, "special": special_total,
                               "alternative_provision": ap_total}
                rate = (interp_years(y, {yy: [v] for yy, v in SEN_SUPPORT_RATE[council].items()})[0]
                        + SEN_SUPPORT_ADJ[loc]) / 100
                phase_rate = {"primary": rate * 1.08, "secondary": rate * 0.92, "alternative_provision": 0.55}
                cells = {}
                for ph in PHASES:
                    rest = phase_total[ph] - ehcp_phase[ph]
                    if ph == "special":
                        support = rest
                    else:
                        support = int(rng.binomial(rest, phase_rate[ph]))
                    mix = interp_years(y, SEN_SUPPORT_MIX[ph])
                    for need, n in zip(SEN_SUPPORT_NEEDS, rng.multinomial(support, mix / mix.sum())):
                        cells[("sen_support", need, ph)] = int(n)
                    for need in NEEDS:
                        if need != "UNK":
                            cells[("ehc_plan", need, ph)] = ehcp.get((need, ph), 0)
                    cells[("no_sen", "NONE", ph)] = rest - support
                out[(loc, y)] = cells
    return out


def school_census_rows(census) -> list[list]:
    rows = []
    order = ([("ehc_plan", n) for n in NEEDS if n != "UNK"] + [("sen_support", n) for n in SEN_SUPPORT_NEEDS]
             + [("no_sen", "NONE")])
    for y in YEARS:
        for loc in LOCALITIES:
            cells = census[(loc, y)]
            for status, need in order:
                for ph in PHASES:
                    rows.append(period_cols(y, "January", loc) + [status, need, ph, cells[(status, need, ph)]])
    return rows
