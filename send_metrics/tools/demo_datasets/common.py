"""Shared by every dataset of the synthetic demo: the seed, the years, the seven Cumbrian
dashboard localities with their councils and health footprints, the codes of the data contract the
files use, which rows the person-level export gives instead of the aggregated files, and the integer
helpers that keep synthetic localities summing exactly to published council figures.
"""
from __future__ import annotations

import zlib

import numpy as np

from send_metrics.tools import sen2_blade_world

SEED = 20_250_626

YEARS = list(range(2015, 2026))  # calendar years / January censuses

LOCALITIES = ["LOC-ALLERDALE", "LOC-CARLISLE", "LOC-COPELAND-N", "LOC-MILLOM",
              "LOC-EDEN", "LOC-BARROW-FURNESS", "LOC-SOUTH-LAKELAND"]
CUMBERLAND, WESTMORLAND = "E06000063", "E06000064"
COUNCIL = {"LOC-ALLERDALE": CUMBERLAND, "LOC-CARLISLE": CUMBERLAND, "LOC-COPELAND-N": CUMBERLAND,
           "LOC-MILLOM": CUMBERLAND, "LOC-EDEN": WESTMORLAND, "LOC-BARROW-FURNESS": WESTMORLAND,
           "LOC-SOUTH-LAKELAND": WESTMORLAND}
SOUTH = {"LOC-MILLOM", "LOC-BARROW-FURNESS", "LOC-SOUTH-LAKELAND"}  # HF-SOUTH-CUMBRIA; the rest are North
COUNCILS = [CUMBERLAND, WESTMORLAND]
MEMBERS = {c: [loc for loc in LOCALITIES if COUNCIL[loc] == c] for c in COUNCILS}

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

# The Cumberland localities' figures the person-level export gives (its Januaries; the calendar years
# before them for assessments, new plans, timeliness and reviews): the aggregated files leave them out.
EXPORT_CASELOAD_YEARS = frozenset(y for y, *_ in sen2_blade_world.RETURNS)
EXPORT_ACTIVITY_YEARS = frozenset(y - 1 for y in EXPORT_CASELOAD_YEARS)
EXPORT_LOCALITIES = frozenset(sen2_blade_world.LOCALITIES)
assert EXPORT_LOCALITIES == set(MEMBERS[CUMBERLAND]) and sen2_blade_world.COUNCIL == CUMBERLAND


def from_export(area: str, year: int, years: frozenset) -> bool:
    return area in EXPORT_LOCALITIES and year in years


def dataset_rng(name: str) -> np.random.Generator:
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


def hypergeom_split(rng: np.random.Generator, colours, nsample: int) -> np.ndarray:
    """Split `nsample` items across groups holding `colours` items each (never more than a group holds)."""
    colours = np.asarray(colours, dtype=np.int64)
    if nsample <= 0 or colours.sum() == 0:
        return np.zeros(colours.shape, dtype=np.int64)
    return rng.multivariate_hypergeometric(colours, int(nsample)).astype(np.int64)


def interp_years(y: int, anchors: dict[int, list[float]]) -> np.ndarray:
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


def period_cols(time_period, time_identifier: str, area_code: str) -> list:
    return [time_period, time_identifier, area_code, "locality"]



def fmt_dp(x: float, dp: int) -> str:
    s = f"{x:.{dp}f}"
    return s.rstrip("0").rstrip(".") if "." in s else s
