"""Synthetic demo extract: one tidy CSV per dataset of the data contract, for the seven Cumbrian
dashboard localities.

`write_demo(out_dir)` writes population, EHC plan caseload, assessments and timeliness, school
census, community waiting lists and activity, and outcomes by SEN status (all SYNTHETIC), plus
`benchmarks.csv` and `statistical_neighbours.csv` (PUBLISHED figures, copied from the committed
`reference/published_benchmarks.csv` and the DfE neighbour lists below) and a README; and, in `sen2/`,
the synthetic SEN2 person-level return of Cumberland (`sen2_blade_demo`: three Blade exports, January
2024-2026, with a synthetic postcode lookup and GIAS extract).

One source for each figure: the Cumberland localities' caseload for the export's Januaries and their
assessments for the calendar years before them come from the export only, so the aggregated files
leave those rows out (`EXPORT_CASELOAD_YEARS`, `EXPORT_ACTIVITY_YEARS`); every other area and year is
in the aggregated files only.

Invariants:
- Deterministic: a fixed seed per dataset (numpy PCG64), no clock, no hashing of strings, fixed
  ordering; two runs write identical bytes.
- Calibrated: where the brief gives a published council figure the synthetic localities sum to it
  exactly (integer apportioning by largest remainder, hypergeometric splits of numerators within
  denominators), e.g. Cumberland EHC plans January 2024 = 2,656 and 20-week timeliness 2023 =
  104 / 384 = 27.1%.
- Valid: every file passes the contract (`numerator <= denominator`, no_sen rows use primary need
  NONE, codes from `contract.py`); area_level is `locality` for the synthetic files.
- Never reads ../shared at run time and never imports streamlit.
"""
from __future__ import annotations

import csv
import io
import os
import zlib
from pathlib import Path

import numpy as np

from send_metrics.tools import sen2_blade_demo, sen2_blade_world
from send_metrics.config import REFERENCE_DIR

SEED = 20_250_626
PUBLISHED_BENCHMARKS = REFERENCE_DIR / "published_benchmarks.csv"

YEARS = list(range(2015, 2026))  # calendar years / January censuses
ACADEMIC_YEARS = list(range(2016, 2026))  # end years: 2015/16 .. 2024/25
FIRST_MONTH, N_MONTHS, WARMUP_MONTHS = (2021, 1), 60, 12  # Jan 2021 .. Dec 2025, simulated from Jan 2020

LOCALITIES = ["LOC-ALLERDALE", "LOC-CARLISLE", "LOC-COPELAND-N", "LOC-MILLOM",
              "LOC-EDEN", "LOC-BARROW-FURNESS", "LOC-SOUTH-LAKELAND"]
CUMBERLAND, WESTMORLAND = "E06000063", "E06000064"
COUNCIL = {"LOC-ALLERDALE": CUMBERLAND, "LOC-CARLISLE": CUMBERLAND, "LOC-COPELAND-N": CUMBERLAND,
           "LOC-MILLOM": CUMBERLAND, "LOC-EDEN": WESTMORLAND, "LOC-BARROW-FURNESS": WESTMORLAND,
           "LOC-SOUTH-LAKELAND": WESTMORLAND}
SOUTH = {"LOC-MILLOM", "LOC-BARROW-FURNESS", "LOC-SOUTH-LAKELAND"}  # HF-SOUTH-CUMBRIA; the rest are North
COUNCILS = [CUMBERLAND, WESTMORLAND]
MEMBERS = {c: [loc for loc in LOCALITIES if COUNCIL[loc] == c] for c in COUNCILS}

# ONS mid-2020 population (sums of LSOAs, ../shared/data/geo/cumbria_localities.csv): (aged 0-17, aged 0-25).
POP_2020 = {"LOC-ALLERDALE": (18043, 25384), "LOC-CARLISLE": (21562, 30114), "LOC-COPELAND-N": (11301, 15879),
            "LOC-MILLOM": (1532, 2123), "LOC-EDEN": (9135, 12662), "LOC-BARROW-FURNESS": (13098, 18837),
            "LOC-SOUTH-LAKELAND": (17702, 25044)}
# Relative deprivation used to shape outcomes and prevalence (synthetic; Barrow and Copeland highest).
DEPRIVATION = {"LOC-ALLERDALE": 0.3, "LOC-CARLISLE": 0.2, "LOC-COPELAND-N": 0.5, "LOC-MILLOM": 0.4,
               "LOC-EDEN": -0.5, "LOC-BARROW-FURNESS": 0.7, "LOC-SOUTH-LAKELAND": -0.6}
PREVALENCE = {"LOC-ALLERDALE": 1.05, "LOC-CARLISLE": 0.93, "LOC-COPELAND-N": 1.08, "LOC-MILLOM": 1.02,
              "LOC-EDEN": 0.82, "LOC-BARROW-FURNESS": 1.22, "LOC-SOUTH-LAKELAND": 0.92}

AGE_BANDS = ["0to4", "5to10", "11to15", "16to19", "20to25"]
NEEDS = ["ASD", "SLCN", "SEMH", "MLD", "SLD", "PMLD", "SPLD", "HI", "VI", "MSI", "PD", "OTH", "UNK"]
SETTINGS = ["mainstream", "special", "alternative_provision", "independent", "post16", "early_years", "other"]
PHASES = ["primary", "secondary", "special", "alternative_provision"]
SERVICES = ["SLT", "OT", "AUTISM", "ADHD", "CAMHS", "PAEDS"]
EHCP_STATUSES = ["ehc_plan", "no_ehc_plan"]
WAIT_BANDS = ["0to4wk", "4to8wk", "8to13wk", "13to18wk", "18to26wk", "26to52wk", "52plus"]
SEN_STATUSES = ["ehc_plan", "sen_support", "no_sen"]
OUTCOMES = ["ks2_rwm_expected", "ks4_attainment8", "ks4_basics_9to4", "overall_absence", "persistent_absence",
            "suspensions", "permanent_exclusions", "eet_16_17", "neet_16_17"]

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

# The Cumberland localities' figures the person-level export gives (its Januaries; the calendar years
# before them for assessments, new plans, timeliness and reviews): the aggregated files leave them out.
EXPORT_FOLDER = "sen2"
EXPORT_CASELOAD_YEARS = frozenset(y for y, *_ in sen2_blade_world.RETURNS)
EXPORT_ACTIVITY_YEARS = frozenset(y - 1 for y in EXPORT_CASELOAD_YEARS)
EXPORT_LOCALITIES = frozenset(sen2_blade_world.LOCALITIES)
assert EXPORT_LOCALITIES == set(MEMBERS[CUMBERLAND]) and sen2_blade_world.COUNCIL == CUMBERLAND


def _from_export(area: str, year: int, years: frozenset) -> bool:
    return area in EXPORT_LOCALITIES and year in years


# DfE children's services statistical neighbours (10 per council, most similar first).
STATISTICAL_NEIGHBOURS = {
    CUMBERLAND: ["E06000064",   # Westmorland and Furness
                 "E10000019",   # Lincolnshire
                 "E06000019",   # Herefordshire
                 "E10000017",   # Lancashire
                 "E06000013",   # North Lincolnshire
                 "E08000036",   # Wakefield
                 "E10000028",   # Staffordshire
                 "E06000057",   # Northumberland
                 "E08000017",   # Doncaster
                 "E08000016"],  # Barnsley
    WESTMORLAND: ["E06000019",  # Herefordshire
                  "E06000063",  # Cumberland
                  "E10000028",  # Staffordshire
                  "E06000051",  # Shropshire
                  "E06000011",  # East Riding of Yorkshire
                  "E10000023",  # North Yorkshire
                  "E10000019",  # Lincolnshire
                  "E10000027",  # Somerset
                  "E10000029",  # Suffolk
                  "E10000007"],  # Derbyshire
    "E10000017": ["E10000019",  # Lincolnshire
                  "E08000002",  # Bury
                  "E08000027",  # Dudley
                  "E06000019",  # Herefordshire
                  "E06000005",  # Darlington
                  "E06000004",  # Stockton-on-Tees
                  "E08000036",  # Wakefield
                  "E10000024",  # Nottinghamshire
                  "E06000057",  # Northumberland
                  "E08000010"],  # Wigan
}


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
def _rng(name: str) -> np.random.Generator:
    """One independent, reproducible stream per dataset (crc32, not hash(), which is salted)."""
    return np.random.default_rng([SEED, zlib.crc32(name.encode("ascii"))])


def largest_remainder(total: int, weights) -> np.ndarray:
    """Integers proportional to `weights` that sum exactly to `total` (Hamilton's method)."""
    w = np.asarray(weights, dtype=float)
    total = int(total)
    if total == 0 or w.sum() <= 0:
        return np.zeros(w.shape, dtype=np.int64)
    quota = w / w.sum() * total
    base = np.floor(quota).astype(np.int64)
    short = total - int(base.sum())
    if short:
        order = np.argsort(-(quota - base), kind="stable")
        base[order[:short]] += 1
    return base


def _hypergeom(rng: np.random.Generator, colours, nsample: int) -> np.ndarray:
    """Split `nsample` items across groups holding `colours` items each (never more than a group holds)."""
    colours = np.asarray(colours, dtype=np.int64)
    if nsample <= 0 or colours.sum() == 0:
        return np.zeros(colours.shape, dtype=np.int64)
    return rng.multivariate_hypergeometric(colours, int(nsample)).astype(np.int64)


def _interp(y: int, anchors: dict[int, list[float]]) -> np.ndarray:
    """Linear interpolation between anchor years (flat beyond the ends)."""
    ys = sorted(anchors)
    if y <= ys[0]:
        return np.asarray(anchors[ys[0]], dtype=float)
    if y >= ys[-1]:
        return np.asarray(anchors[ys[-1]], dtype=float)
    for a, b in zip(ys, ys[1:]):
        if a <= y <= b:
            t = (y - a) / (b - a)
            return (1 - t) * np.asarray(anchors[a], dtype=float) + t * np.asarray(anchors[b], dtype=float)
    raise AssertionError


def _period_cols(time_period, time_identifier: str, area_code: str) -> list:
    return [time_period, time_identifier, area_code, "locality"]


def _write_csv(path: Path, header: list[str], rows: list[list]) -> int:
    """Write atomically (temp file, then rename) so a half-written file is never loaded."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(buf.getvalue(), encoding="utf-8")
    os.replace(tmp, path)
    return len(rows)


def _fmt(x: float, dp: int) -> str:
    s = f"{x:.{dp}f}"
    return s.rstrip("0").rstrip(".") if "." in s else s


# ---------------------------------------------------------------------------------------------
# Population
# ---------------------------------------------------------------------------------------------
def build_population() -> dict[tuple[str, int], np.ndarray]:
    """Population by locality and year in AGE_BANDS order; 2020 sums to the ONS 0-25 totals exactly."""
    rng = _rng("population")
    growth = np.array([-0.013, -0.004, 0.009, 0.006, -0.002])  # per year, by band
    drift = {"LOC-CARLISLE": 0.002, "LOC-EDEN": -0.004, "LOC-SOUTH-LAKELAND": -0.004, "LOC-MILLOM": -0.003}
    out = {}
    for loc in LOCALITIES:
        p017, p025 = POP_2020[loc]
        young = largest_remainder(p017, [4.6, 6.0, 5.2, 2.06])  # 0-4, 5-10, 11-15, 16-17 (single-year weights)
        older = largest_remainder(p025 - p017, [2.0, 5.7])  # 18-19, 20-25
        base = np.array([young[0], young[1], young[2], young[3] + older[0], older[1]], dtype=float)
        noise = rng.normal(0.0, 0.002, size=(len(YEARS), 5))
        for i, y in enumerate(YEARS):
            if y == 2020:
                out[(loc, y)] = base.astype(np.int64)
                continue
            factor = (1 + growth + drift.get(loc, 0.0)) ** (y - 2020) * (1 + noise[i])
            out[(loc, y)] = np.rint(base * factor).astype(np.int64)
    return out


def population_rows(pop) -> list[list]:
    rows = []
    for y in YEARS:
        for loc in LOCALITIES:
            for band, n in zip(AGE_BANDS, pop[(loc, y)]):
                rows.append(_period_cols(y, "Calendar year", loc) + [band, int(n)])
    return rows


# ---------------------------------------------------------------------------------------------
# EHC plan caseload
# ---------------------------------------------------------------------------------------------
def _council_caseload_totals() -> dict[int, dict[str, int]]:
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
    rng = _rng("ehcp_caseload")
    seed = _seed_tensor()
    totals = _council_caseload_totals()
    trend = {loc: float(rng.normal(0.0, 0.012)) for loc in LOCALITIES}  # slow drift in relative prevalence
    out = {}
    for y in YEARS:
        for council in COUNCILS:
            total = totals[y][council]
            needs = _need_counts(council, y, total)
            shares = _interp(y, SETTING_SHARES[council])
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
                take = _hypergeom(rng, pool, int(n))
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
            if _from_export(loc, y, EXPORT_CASELOAD_YEARS):
                continue
            c = caseload[(loc, y)]
            for i, a, s in idx:
                rows.append(_period_cols(y, "January", loc) + [NEEDS[i], AGE_BANDS[a], SETTINGS[s], int(c[i, a, s])])
    return rows


# ---------------------------------------------------------------------------------------------
# Assessments, new plans, timeliness and reviews
# ---------------------------------------------------------------------------------------------
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
    rng = _rng("ehcp_assessments")
    totals = _council_caseload_totals()
    rows_by_key = {}
    for i, y in enumerate(YEARS):
        for council in COUNCILS:
            members = MEMBERS[council]
            share = np.array([caseload[(loc, y)].sum() for loc in members], dtype=float)
            share = share / share.sum()
            requests = rng.multinomial(REQUESTS[council][i], share)
            decisions_total = DECISIONS[council].get(y, int(round(0.965 * REQUESTS[council][i])))
            decisions = _hypergeom(rng, requests, decisions_total)
            refused = _hypergeom(rng, decisions, REFUSED[council][i])
            within6 = _hypergeom(rng, decisions, int(round(DECISIONS_6WK_RATE[council][i] * decisions_total)))
            new_plans = rng.multinomial(NEW_PLANS[council][i], share)
            ex_num, ex_den, inc_num, inc_den = _council_timeliness(council, y, NEW_PLANS[council][i])
            issued_inc = _hypergeom(rng, new_plans, inc_den)
            exceptions = _hypergeom(rng, issued_inc, inc_den - ex_den)
            issued_ex = issued_inc - exceptions
            within_ex = _hypergeom(rng, issued_ex, ex_num)
            within_inc = within_ex + _hypergeom(rng, exceptions, inc_num - ex_num)
            reviews_due = rng.multinomial(int(round(0.88 * totals[y][council])), share)
            on_time = _hypergeom(rng, reviews_due, int(round(REVIEWS_ON_TIME_RATE[council][i] * reviews_due.sum())))
            for j, loc in enumerate(members):
                rows_by_key[(y, loc)] = _period_cols(y, "Calendar year", loc) + [
                    int(requests[j]), int(refused[j]), int(decisions[j]), int(within6[j]), int(new_plans[j]),
                    int(issued_ex[j]), int(within_ex[j]), int(issued_inc[j]), int(within_inc[j]),
                    int(reviews_due[j]), int(on_time[j])]
    return [rows_by_key[(y, loc)] for y in YEARS for loc in LOCALITIES
            if not _from_export(loc, y, EXPORT_ACTIVITY_YEARS)]


# ---------------------------------------------------------------------------------------------
# School census
# ---------------------------------------------------------------------------------------------
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
    rng = _rng("school_census")
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
                rate = (_interp(y, {yy: [v] for yy, v in SEN_SUPPORT_RATE[council].items()})[0]
                        + SEN_SUPPORT_ADJ[loc]) / 100
                phase_rate = {"primary": rate * 1.08, "secondary": rate * 0.92, "alternative_provision": 0.55}
                cells = {}
                for ph in PHASES:
                    rest = phase_total[ph] - ehcp_phase[ph]
                    if ph == "special":
                        support = rest
                    else:
                        support = int(rng.binomial(rest, phase_rate[ph]))
                    mix = _interp(y, SEN_SUPPORT_MIX[ph])
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
                    rows.append(_period_cols(y, "January", loc) + [status, need, ph, cells[(status, need, ph)]])
    return rows


# ---------------------------------------------------------------------------------------------
# Community waiting lists and activity
# ---------------------------------------------------------------------------------------------
SERVICE_PARAMS = {
    # referrals per 1,000 aged 0-17 per month, yearly growth, share with an EHCP, acceptance, lowest hazard
    "SLT": (1.60, 0.02, 0.14, 0.92, 0.05),
    "OT": (0.55, 0.02, 0.16, 0.88, 0.10),
    "AUTISM": (0.75, 0.10, 0.07, 0.85, 0.010),
    "ADHD": (0.80, 0.14, 0.08, 0.80, 0.008),
    "CAMHS": (1.60, 0.05, 0.06, 0.68, 0.10),
    "PAEDS": (0.70, 0.03, 0.15, 0.93, 0.05),
}
SLT_INITIATIVE_MONTH = 54  # months after Jan 2020: July 2024, South Cumbria SLT waiting-list initiative


def _typical_wait(service: str, south: bool, ehcp: bool, t: int) -> float:
    """Typical wait in months (where the hazard of being seen rises steeply) at month t (0 = Jan 2020)."""
    f = t / 71
    if service == "SLT":
        if not south:
            m = 3.0 + 0.6 * f
        elif t < SLT_INITIATIVE_MONTH:
            m = 6.0 + 1.5 * t / SLT_INITIATIVE_MONTH
        else:
            m = max(3.7, 7.5 - 1.3 * (t - SLT_INITIATIVE_MONTH + 1)) + 0.2 * (t - SLT_INITIATIVE_MONTH) / 17
        return m * (0.9 if ehcp else 1.0)
    if service == "OT":
        return 1.6 + 0.3 * f
    if service == "AUTISM":
        return (13 + 14 * f) if south else (11 + 11 * f)
    if service == "ADHD":
        return (14 + 17 * f) if south else (13 + 15 * f)
    if service == "CAMHS":
        return (1.6 + 0.3 * f) if ehcp else (3.8 + 1.4 * f)
    if service == "PAEDS":
        return (4.0 + 1.2 * f) if south else (3.6 + 1.0 * f)
    raise KeyError(service)


def _band_fractions(k: int) -> np.ndarray:
    """Share of a cohort referred k months before the snapshot in each wait band (uniform within month)."""
    edges = [0, 4, 8, 13, 18, 26, 52, np.inf]
    lo, hi = 4.345 * k, 4.345 * (k + 1)
    frac = np.array([max(0.0, min(hi, edges[b + 1]) - max(lo, edges[b])) for b in range(7)]) / (hi - lo)
    return frac / frac.sum()


def build_waiting(pop) -> tuple[list[list], list[list]]:
    rng = _rng("waiting")
    K = 72
    queues = [(loc, s, st) for loc in LOCALITIES for s in SERVICES for st in EHCP_STATUSES]
    Q = len(queues)
    months = N_MONTHS + WARMUP_MONTHS
    y0 = FIRST_MONTH[0] - WARMUP_MONTHS // 12

    def pop017(loc: str, year: int) -> float:
        p = pop[(loc, min(max(year, YEARS[0]), YEARS[-1]))]
        return float(p[0] + p[1] + p[2] + 0.5 * p[3])

    seasonal = np.array([1.05, 1.05, 1.05, 0.95, 1.0, 1.0, 0.9, 0.75, 1.05, 1.1, 1.1, 0.85])
    lam = np.zeros((months, Q))
    accept = np.zeros(Q)
    h_lo = np.zeros(Q)
    for q, (loc, s, st) in enumerate(queues):
        rate, growth, ehcp_share, acc, lo = SERVICE_PARAMS[s]
        accept[q] = acc
        h_lo[q] = lo
        share = ehcp_share if st == "ehc_plan" else 1 - ehcp_share
        for t in range(months):
            year = y0 + t // 12
            lam[t, q] = pop017(loc, year) / 1000 * rate * (1 + growth) ** ((t - WARMUP_MONTHS) / 12) * share * seasonal[t % 12]

    ages = np.arange(K) + 0.5

    def hazard(t: int) -> np.ndarray:
        m = np.array([_typical_wait(s, loc in SOUTH, st == "ehc_plan", t) for loc, s, st in queues])
        width = np.maximum(0.6, 0.12 * m)
        return h_lo[:, None] + (0.75 - h_lo[:, None]) / (1 + np.exp(-(ages[None, :] - m[:, None]) / width[:, None]))

    removal = 0.01
    # Start from the expected steady state of month 0, then let the system run for the warm-up year.
    h0 = hazard(0)
    survive = np.cumprod((1 - h0) * (1 - removal), axis=1)
    W = rng.poisson(lam[0][:, None] * accept[:, None] * survive).astype(np.int64)
    fractions = [_band_fractions(k) for k in range(12)]
    within18 = np.zeros(K)
    within18[:4] = 1.0
    within18[4], within18[5] = 0.63, 0.0098

    list_rows, activity_rows = [], []
    for t in range(months):
        R = rng.poisson(lam[t])
        A = rng.binomial(R, accept)
        new = np.empty_like(W)
        new[:, 1:] = W[:, :-1]
        new[:, -1] += W[:, -1]
        new[:, 0] = A
        S = rng.binomial(new, hazard(t))
        D = rng.binomial(new - S, removal)
        W = new - S - D
        if t < WARMUP_MONTHS:
            continue
        year, month = y0 + t // 12, t % 12 + 1
        period = f"{year}{month:02d}"
        seen18 = S[:, :4].sum(axis=1) + rng.binomial(S[:, 4], within18[4]) + rng.binomial(S[:, 5], within18[5])
        bands = np.zeros((Q, 7), dtype=np.int64)
        for k in range(12):
            bands += rng.multinomial(W[:, k], fractions[k])
        bands[:, 6] += W[:, 12:].sum(axis=1)
        for q, (loc, s, st) in enumerate(queues):
            base = _period_cols(period, "Month", loc) + [s, st]
            for b, band in enumerate(WAIT_BANDS):
                list_rows.append(base + [band, int(bands[q, b])])
            activity_rows.append(base + [int(R[q]), int(A[q]), int(S[q].sum()), int(seen18[q])])
    return list_rows, activity_rows


# ---------------------------------------------------------------------------------------------
# Outcomes by SEN status
# ---------------------------------------------------------------------------------------------
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
    rng = _rng("outcomes")
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
                    base = _period_cols(period, "Academic year", loc) + [status]
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
                        rows.append(base + [outcome, _fmt(points, 1), ks4])
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


# ---------------------------------------------------------------------------------------------
# Published benchmarks and neighbours
# ---------------------------------------------------------------------------------------------
def _copy_benchmarks(dest: Path) -> int:
    data = PUBLISHED_BENCHMARKS.read_bytes()
    tmp = dest.with_name("." + dest.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, dest)
    return data.decode("utf-8").count("\n") - 1


README = """# Demo extract (SYNTHETIC)

Written by `python -m send_metrics demo` (`send_metrics/tools/demo.py`, `write_demo`). Do not edit by hand:
re-run the command; the generator is deterministic (fixed seed), so the files only change when the
code does.

**Everything in this folder is SYNTHETIC** (made-up numbers for demonstrating and testing the
dashboard) **except `benchmarks.csv` and `statistical_neighbours.csv`**, which are published figures.

| file | dataset | what | rows |
|---|---|---|---|
{table}

## How the synthetic files are made

- Geography: the seven dashboard localities (`LOC-...`, area_level `locality`); the loader sums them
  into Cumberland, Westmorland and Furness, old Cumbria, the former districts and the North and
  South Cumbria health footprints.
- Population: ONS mid-2020 totals for ages 0-17 and 0-25 per locality (Millom area 0-25 = 2,123;
  Cumberland 73,500; Westmorland and Furness 56,543) split into age bands, with mild trends for
  2015-2025.
- EHC plans: council totals equal published DfE figures (Cumberland January 2024 2,656 and 2025
  2,893, given by the person-level return below; Westmorland and Furness 2,196 and 2,377; Cumbria 2015-2023 as published, e.g. 2019 3,173 and
  2023 4,489, with 2015-2018 counting statements too). The January 2025 need mix is the published one;
  Cumberland January 2024 has 35.96% autism (as the Cumberland strategy says). Placement shares are
  raked to the published ones for 2024-2025. Council cells are apportioned by largest remainder and
  split across localities by population and a synthetic prevalence factor, so small localities
  (Millom) have many small cells.
- Assessments: council numerators and denominators reproduce the published 20-week timeliness
  (excluding exceptions: Cumberland 2023 27.1%, 2024 42.6%, 2025 6.7%; Westmorland and Furness 55.3%,
  91.6%, 72.0%) and Cumberland new plans 2022 374 (Cumberland strategy), 2023 402 and 2024 412 (DfE);
  localities get hypergeometric splits so every numerator stays within its denominator.
- Cumberland's SEN2 person-level return (`sen2/`, written by `send_metrics/tools/sen2_blade_demo.py`): three
  synthetic Blade exports (January 2024, 2025 and 2026, return layouts 1.1, 1.2 and 1.3) with a synthetic
  postcode lookup (real LSOA 2021 codes) and GIAS extract, calibrated to the same published Cumberland
  figures (docs/sen2-person-level.md). It is the only source of the Cumberland localities' caseload for
  January 2024-2026 and of their requests, assessments, new plans, timeliness and reviews for 2023-2025:
  the aggregated files above leave those rows out, so every figure has one source. The Pathway page
  reads it. No name, date of birth, UPN or postcode in it belongs to anyone.
- School census: pupils from the population (Cumberland January 2024 = 41,559), pupils with a plan
  from the caseload's school placements, SEN support rates of about 11-15%.
- Waiting lists and activity: a monthly queue simulation (January 2020 warm-up; January 2021 to
  December 2025 written) per locality, service and EHCP status. Autism and ADHD waits are long and
  growing; speech and language therapy waits are longer in the South than the North until a South
  Cumbria waiting-list initiative in July 2024 (a step change for SPC charts); OT is mostly seen
  within 18 weeks; CAMHS waits are shorter for children with an EHC plan.
- Outcomes: attainment, absence, exclusions and participation by SEN status with realistic gaps;
  key stage 2 is `x` (not available) for 2019/20 and 2020/21.

## Published files

- `benchmarks.csv`: a copy of `send_metrics/reference/published_benchmarks.csv`, transcribed once from
  DfE publications (EHC plans releases 2022, 2023, 2025 and 2026; Special educational needs in England
  via LAIT) for England, the North West, old Cumbria, Cumberland, Westmorland and Furness, Lancashire
  and their statistical neighbours. Every row names its source file and edition. Values are as
  published, except `setting_special_pct` and `setting_independent_pct`, which are computed (1 dp) from
  the published placement counts so that they match the contract's setting types (DfE's
  `special_total` adds state-funded and independent special schools together).
- `statistical_neighbours.csv`: the DfE children's services statistical neighbours of Cumberland,
  Westmorland and Furness and Lancashire.
"""


def write_demo(out_dir: Path) -> list[tuple[Path, int]]:
    """Write the demo extract into `out_dir`; return (path, data rows) for every CSV written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pop = build_population()
    caseload = build_caseload(pop)
    census = build_school_census(pop, caseload)
    list_rows, activity_rows = build_waiting(pop)
    period = ["time_period", "time_identifier", "area_code", "area_level"]
    files = [
        ("population.csv", "population", period + ["age_band", "population"], population_rows(pop)),
        ("ehcp_caseload.csv", "ehcp_caseload", period + ["primary_need", "age_band", "setting_type", "ehc_plans"],
         caseload_rows(caseload)),
        ("ehcp_assessments.csv", "ehcp_assessments",
         period + ["requests", "requests_refused", "decisions", "decisions_within_6_weeks", "new_plans",
                   "plans_issued_ex", "plans_issued_20wk_ex", "plans_issued_inc", "plans_issued_20wk_inc",
                   "reviews_due", "reviews_on_time"], build_assessments(caseload)),
        ("school_census.csv", "school_census", period + ["sen_status", "primary_need", "phase", "pupils"],
         school_census_rows(census)),
        ("waiting_list.csv", "waiting_list", period + ["service", "ehcp_status", "wait_band", "waiting"], list_rows),
        ("waiting_activity.csv", "waiting_activity",
         period + ["service", "ehcp_status", "referrals_received", "referrals_accepted", "seen",
                   "seen_within_18_weeks"], activity_rows),
        ("outcomes.csv", "outcomes", period + ["sen_status", "outcome", "numerator", "denominator"],
         build_outcomes(pop, caseload, census)),
        ("statistical_neighbours.csv", "statistical_neighbours", ["area_code", "neighbour_code", "neighbour_rank"],
         [[a, n, r] for a, ns in STATISTICAL_NEIGHBOURS.items() for r, n in enumerate(ns, start=1)]),
    ]
    written: list[tuple[Path, int]] = []
    table = []
    for name, dataset, header, rows in files:
        path = out_dir / name
        written.append((path, _write_csv(path, header, rows)))
        kind = "published" if dataset == "statistical_neighbours" else "synthetic"
        table.append(f"| `{name}` | {dataset} | {kind} | {len(rows)} |")
    path = out_dir / "benchmarks.csv"
    n = _copy_benchmarks(path)
    written.insert(len(written) - 1, (path, n))
    table.insert(len(table) - 1, f"| `benchmarks.csv` | benchmarks | published | {n} |")
    export = sen2_blade_demo.write_export(out_dir / EXPORT_FOLDER)
    for path in export["files"]:
        with open(path, newline="", encoding="utf-8") as fh:
            written.append((path, sum(1 for _ in csv.reader(fh)) - 1))
    table.append(f"| `{EXPORT_FOLDER}/Blade-Export_*.csv` (27 files) | SEN2 person-level return | synthetic | "
                 f"{sum(n for p, n in written[-len(export['files']):])} |")
    table.append(f"| `{EXPORT_FOLDER}/NSPL_synthetic_Cumberland.csv`, `{EXPORT_FOLDER}/edubasealldata_synthetic.csv` | "
                 "postcode lookup, GIAS extract (read with the return) | synthetic | |")
    readme = README.replace("{table}", "\n".join(table))
    (out_dir / "README.md").write_text(readme, encoding="utf-8")
    return written
