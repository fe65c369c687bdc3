"""EHC needs assessments, new plans, 20-week timeliness and annual reviews by locality and calendar
year: council numerators and denominators reproduce the published figures, and localities get
hypergeometric splits so every numerator stays within its denominator.
"""
from __future__ import annotations

import numpy as np

from send_metrics.tools.demo_datasets.caseload import council_caseload_totals
from send_metrics.tools.demo_datasets.common import (
    COUNCILS,
    CUMBERLAND,
    EXPORT_ACTIVITY_YEARS,
    LOCALITIES,
    MEMBERS,
    WESTMORLAND,
    YEARS,
    dataset_rng,
    from_export,
    hypergeom_split,
    period_cols,
)

# ---------------------------------------------------------------------------------------------
# Published council figures the synthetic localities reproduce exactly (DfE SEN2 releases; the
# Cumberland SEND and AP strategy 2024 for new plans). Other years are smooth synthetic values.
# ---------------------------------------------------------------------------------------------
# EHC needs assessment activity by council and calendar year. Requests and refusals 2016-2022 sum to the
# published Cumbria figures, 2023-2024 are the councils' published figures; 2015 and 2025 synthetic.
REQUESTS = {CUMBERLAND: [236, 255, 185, 301, 398, 345, 394, 431, 551, 718, 772],
            WESTMORLAND: [194, 208, 152, 246, 326, 282, 323, 352, 451, 509, 548]}
REFUSED = {CUMBERLAND: [56, 74, 48, 37, 71, 70, 47, 58, 129, 278, 262],
           WESTMORLAND: [45, 61, 39, 30, 58, 57, 38, 48, 73, 91, 96]}
DECISIONS = {CUMBERLAND: {2023: 529, 2024: 690}, WESTMORLAND: {2023: 433, 2024: 473}}
DECISIONS_6WK_RATE = {CUMBERLAND: [0.80, 0.84, 0.88, 0.90, 0.92, 0.90, 0.93, 0.95, 0.987, 0.99, 0.82],
                      WESTMORLAND: [0.82, 0.85, 0.88, 0.91, 0.93, 0.91, 0.94, 0.95, 0.971, 0.973, 0.95]}
# New EHC plans issued in the calendar year. Cumberland 2022 = 374 as the Cumberland strategy states;
# 2023 = 402 and 2024 = 412 as DfE publishes (EHC plans 2025, benchmarks.csv; the strategy's 428 for 2023 is
# not used: the person-level export, which gives Cumberland's localities for 2023-2025, follows DfE, and
# the Board shows one figure); 2015-2021 sum to the published Cumbria figures.
NEW_PLANS = {CUMBERLAND: [180, 195, 115, 215, 275, 272, 318, 374, 402, 412, 318],
             WESTMORLAND: [157, 167, 92, 181, 232, 231, 266, 305, 353, 359, 402]}
# 20-week timeliness (plans issued within 20 weeks, plans issued), excluding then including exceptions.
# 2023-2024: DfE EHC plans 2025 timeliness_20_week.csv; 2025: chosen to give the published 6.7% / 6.6%
# (Cumberland, 286 plans) and 72.0% / 70.2% (Westmorland and Furness, 392 plans) of the 2026 release;
# 2019-2022: the published Cumbria counts split between the councils.
TIMELINESS = {  # year: council: (ex_num, ex_den, inc_num, inc_den)
    2019: {CUMBERLAND: (218, 260, 220, 274), WESTMORLAND: (190, 219, 192, 232)},
    2020: {CUMBERLAND: (212, 255, 214, 271), WESTMORLAND: (187, 216, 188, 231)},
    2021: {CUMBERLAND: (218, 293, 225, 317), WESTMORLAND: (202, 245, 209, 266)},
    2022: {CUMBERLAND: (150, 249, 158, 280), WESTMORLAND: (176, 203, 184, 229)},
    2023: {CUMBERLAND: (104, 384, 104, 393), WESTMORLAND: (173, 313, 199, 350)},
    2024: {CUMBERLAND: (159, 373, 159, 378), WESTMORLAND: (274, 299, 297, 331)},
    2025: {CUMBERLAND: (19, 284, 19, 286), WESTMORLAND: (270, 375, 275, 392)},
}
# 2015-2018: published Cumbria rates (excluding, including exceptions), applied to synthetic counts.
CUMBRIA_RATES_2015_2018 = {2015: (0.693, 0.671), 2016: (0.753, 0.688), 2017: (0.887, 0.797), 2018: (0.881, 0.860)}
REVIEWS_ON_TIME_RATE = {CUMBERLAND: [0.78, 0.76, 0.74, 0.72, 0.70, 0.64, 0.62, 0.60, 0.55, 0.52, 0.47],
                        WESTMORLAND: [0.80, 0.79, 0.78, 0.76, 0.74, 0.70, 0.69, 0.67, 0.64, 0.63, 0.62]}


def _council_timeliness(council: str, y: int, new_plans: int) -> tuple[int, int, int, int]:
    if y in TIMELINESS:
        return TIMELINESS[y][council]
    rate_ex, rate_inc = CUMBRIA_RATES_2015_2018[y]
    inc_den = int(round(0.96 * new_plans))
    ex_den = int(round(0.93 * inc_den))
    ex_num = int(round(rate_ex * ex_den))
    inc_num = min(max(ex_num, int(round(rate_inc * inc_den))), ex_num + inc_den - ex_den)
    return ex_num, ex_den, inc_num, inc_den


def build_assessments(caseload) -> list[list]:
    rng = dataset_rng("ehcp_assessments")
    totals = council_caseload_totals()
    rows_by_key = {}
    for i, y in enumerate(YEARS):
        for council in COUNCILS:
            members = MEMBERS[council]
            share = np.array([caseload[(loc, y)].sum() for loc in members], dtype=float)
            share = share / share.sum()
            requests = rng.multinomial(REQUESTS[council][i], share)
            decisions_total = DECISIONS[council].get(y, int(round(0.965 * REQUESTS[council][i])))
            decisions = hypergeom_split(rng, requests, decisions_total)
            refused = hypergeom_split(rng, decisions, REFUSED[council][i])
            within6 = hypergeom_split(rng, decisions, int(round(DECISIONS_6WK_RATE[council][i] * decisions_total)))
            new_plans = rng.multinomial(NEW_PLANS[council][i], share)
            ex_num, ex_den, inc_num, inc_den = _council_timeliness(council, y, NEW_PLANS[council][i])
            issued_inc = hypergeom_split(rng, new_plans, inc_den)
            exceptions = hypergeom_split(rng, issued_inc, inc_den - ex_den)
            issued_ex = issued_inc - exceptions
            within_ex = hypergeom_split(rng, issued_ex, ex_num)
            within_inc = within_ex + hypergeom_split(rng, exceptions, inc_num - ex_num)
            reviews_due = rng.multinomial(int(round(0.88 * totals[y][council])), share)
            on_time = hypergeom_split(rng, reviews_due, int(round(REVIEWS_ON_TIME_RATE[council][i] * reviews_due.sum())))
            for j, loc in enumerate(members):
                rows_by_key[(y, loc)] = period_cols(y, "Calendar year", loc) + [
                    int(requests[j]), int(refused[j]), int(decisions[j]), int(within6[j]), int(new_plans[j]),
                    int(issued_ex[j]), int(within_ex[j]), int(issued_inc[j]), int(within_inc[j]),
                    int(reviews_due[j]), int(on_time[j])]
    return [rows_by_key[(y, loc)] for y in YEARS for loc in LOCALITIES
            if not from_export(loc, y, EXPORT_ACTIVITY_YEARS)]
