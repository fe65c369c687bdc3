"""Disclosure, end to end: a data folder full of small counts, every page crawled, nothing disclosed.

The fixture (`write_small_counts`) is locality-level data for the seven Cumbria localities with
many counts of 1-4: EHC plan caseload by need, assessments, waiting lists and activity, school
census and outcomes. It is loaded once per session into a tmp store.

Truth comes from an unsuppressed engine (`Engine(db, suppress_min=1, suppress_max=0)`: an empty
suppression range). For every cell the normal engine suppresses we know the true numerator; the
crawl of every page (AppTest, every area of the board page) collects every table, dataframe,
metric, text and plotly figure, and asserts that
* a table row that belongs to a suppressed cell (its measure, area and period are identified from
  the row, or from the page's selectors) shows no value, numerator, interval or formatted value;
* a figure trace for a suppressed cell's area and measure has no point at that period;
and, independently of the pages, that no suppressed value can be recovered from what is published
(North + South = Cumbria, localities sum to councils, former districts and footprints), with
`send_metrics.disclosure.audit_suppression` and with an independent rank test written here.
The board pack (`python -m send_metrics report`) is checked the same way.
"""
from __future__ import annotations

import json
import math
import os
import random
import re
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, run_cli, write

LOCALITIES = ["LOC-ALLERDALE", "LOC-CARLISLE", "LOC-COPELAND-N", "LOC-MILLOM", "LOC-EDEN",
              "LOC-BARROW-FURNESS", "LOC-SOUTH-LAKELAND"]
# Relative size of each locality: Millom and Eden are small, so their counts are mostly 1-4.
SIZE = {"LOC-ALLERDALE": 1.0, "LOC-CARLISLE": 1.2, "LOC-COPELAND-N": 0.7, "LOC-MILLOM": 0.15, "LOC-EDEN": 0.35,
        "LOC-BARROW-FURNESS": 0.8, "LOC-SOUTH-LAKELAND": 0.9}
YEARS = [2021, 2022, 2023, 2024, 2025]
MONTHS = [f"{y}{m:02d}" for y in (2024, 2025) for m in range(1, 13)][:18]


def _small(rng: random.Random, scale: float, mean: float) -> int:
    """A small count: mostly 0-6, scaled by the locality's size."""
    lam = max(0.3, mean * scale)
    # Poisson by inversion (the standard library has none)
    L, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= L:
            return k
        k += 1


def write_small_counts(folder: Path, seed: int = 7) -> Path:
    """Write a complete, valid extract of small counts for the seven localities into `folder`."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["time_period,time_identifier,area_code,area_level,primary_need,age_band,setting_type,ehc_plans"]
    for y in YEARS:
        for loc in LOCALITIES:
            for need, m in (("ASD", 3.0), ("SLCN", 1.5), ("SEMH", 1.5), ("MLD", 1.0), ("SPLD", 0.6), ("PD", 0.4)):
                for age in ("5to10", "11to15"):
                    for setting in ("mainstream", "special"):
                        rows.append(f"{y},January,{loc},locality,{need},{age},{setting},{_small(rng, SIZE[loc], m)}")
    write(folder / "caseload.csv", "\n".join(rows) + "\n")

    rows = ["time_period,time_identifier,area_code,area_level,requests,requests_refused,decisions,"
            "decisions_within_6_weeks,new_plans,plans_issued_ex,plans_issued_20wk_ex,plans_issued_inc,"
            "plans_issued_20wk_inc,reviews_due,reviews_on_time"]
    for y in YEARS:
        for loc in LOCALITIES:
            s = SIZE[loc]
            req = _small(rng, s, 14) + 1
            refused = min(req, _small(rng, s, 3))
            dec = req
            dec6 = min(dec, _small(rng, s, 9))
            ex = _small(rng, s, 7)
            ex20 = min(ex, _small(rng, s, 3))
            inc = ex + _small(rng, s, 1)
            inc20 = min(inc, ex20 + _small(rng, s, 0.5))
            new = inc
            due = _small(rng, s, 30) + 1
            on_time = min(due, _small(rng, s, 20))
            rows.append(f"{y},Calendar year,{loc},locality,{req},{refused},{dec},{dec6},{new},{ex},{ex20},{inc},{inc20},"
                        f"{due},{on_time}")
    write(folder / "assessments.csv", "\n".join(rows) + "\n")

    rows = ["time_period,time_identifier,area_code,area_level,age_band,population"]
    for y in YEARS:
        for loc in LOCALITIES:
            for band, base in (("0to4", 4000), ("5to10", 5500), ("11to15", 5000), ("16to19", 4000), ("20to25", 5000)):
                rows.append(f"{y},Calendar year,{loc},locality,{band},{int(base * SIZE[loc]) + rng.randint(0, 99)}")
    write(folder / "population.csv", "\n".join(rows) + "\n")

    rows = ["time_period,time_identifier,area_code,area_level,sen_status,primary_need,phase,pupils"]
    for y in YEARS:
        for loc in LOCALITIES:
            for phase in ("primary", "secondary"):
                for need, m in (("ASD", 2.5), ("SLCN", 1.5)):
                    rows.append(f"{y},January,{loc},locality,ehc_plan,{need},{phase},{_small(rng, SIZE[loc], m)}")
                    rows.append(f"{y},January,{loc},locality,sen_support,{need},{phase},{_small(rng, SIZE[loc], m * 4)}")
                rows.append(f"{y},January,{loc},locality,no_sen,NONE,{phase},{int(3000 * SIZE[loc]) + rng.randint(0, 50)}")
    write(folder / "school_census.csv", "\n".join(rows) + "\n")

    rows = ["time_period,time_identifier,area_code,area_level,service,ehcp_status,wait_band,waiting"]
    act = ["time_period,time_identifier,area_code,area_level,service,ehcp_status,referrals_received,"
           "referrals_accepted,seen,seen_within_18_weeks"]
    for month in MONTHS:
        for loc in LOCALITIES:
            for service, m in (("SLT", 1.2), ("AUTISM", 1.0), ("CAMHS", 0.6), ("ADHD", 0.8)):
                for status in ("ehc_plan", "no_ehc_plan"):
                    mm = m * (0.5 if status == "ehc_plan" else 1.5)
                    for band in ("0to4wk", "4to8wk", "8to13wk", "13to18wk", "18to26wk", "26to52wk", "52plus"):
                        rows.append(f"{month},Month,{loc},locality,{service},{status},{band},{_small(rng, SIZE[loc], mm)}")
                    rec = _small(rng, SIZE[loc], mm * 4)
                    acc = min(rec, _small(rng, SIZE[loc], mm * 3))
                    seen = _small(rng, SIZE[loc], mm * 3)
                    within = min(seen, _small(rng, SIZE[loc], mm * 2))
                    act.append(f"{month},Month,{loc},locality,{service},{status},{rec},{acc},{seen},{within}")
    write(folder / "waiting_list.csv", "\n".join(rows) + "\n")
    write(folder / "waiting_activity.csv", "\n".join(act) + "\n")

    rows = ["time_period,time_identifier,area_code,area_level,sen_status,outcome,numerator,denominator"]
    for y in YEARS:
        tp = f"{y - 1}{y % 100:02d}"
        for loc in LOCALITIES:
            for status, cohort in (("ehc_plan", 6), ("sen_support", 25), ("no_sen", 250)):
                n = max(1, _small(rng, SIZE[loc], cohort))
                rows.append(f"{tp},Academic year,{loc},locality,{status},ks2_rwm_expected,{min(n, _small(rng, 1, n * 0.4))},{n}")
                rows.append(f"{tp},Academic year,{loc},locality,{status},persistent_absence,{min(n, _small(rng, 1, n * 0.3))},{n}")
                rows.append(f"{tp},Academic year,{loc},locality,{status},suspensions,{_small(rng, 1, n * 0.2)},{n}")
                rows.append(f"{tp},Academic year,{loc},locality,{status},eet_16_17,{min(n, _small(rng, 1, n * 0.8))},{n}")
                rows.append(f"{tp},Academic year,{loc},locality,{status},ks4_attainment8,{n * rng.randint(15, 50)},{n}")
                rows.append(f"{tp},Academic year,{loc},locality,{status},overall_absence,{n * rng.randint(10, 25)},{n * 380}")
    write(folder / "outcomes.csv", "\n".join(rows) + "\n")
    return folder
