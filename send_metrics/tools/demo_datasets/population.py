"""Population by locality, year and age band (ONS mid-2020 totals for ages 0-17 and 0-25 per
locality, split into bands, with mild trends for 2015-2025).
"""
from __future__ import annotations

import numpy as np

from send_metrics.tools.demo_datasets.common import (
    AGE_BANDS,
    LOCALITIES,
    YEARS,
    dataset_rng,
    largest_remainder,
    period_cols,
)

# ONS mid-2020 population (sums of LSOAs, ../shared/data/geo/cumbria_localities.csv): (aged 0-17, aged 0-25).
POP_2020 = {"LOC-ALLERDALE": (18043, 25384), "LOC-CARLISLE": (21562, 30114), "LOC-COPELAND-N": (11301, 15879),
            "LOC-MILLOM": (1532, 2123), "LOC-EDEN": (9135, 12662), "LOC-BARROW-FURNESS": (13098, 18837),
            "LOC-SOUTH-LAKELAND": (17702, 25044)}


def build_population() -> dict[tuple[str, int], np.ndarray]:
    """Population by locality and year in AGE_BANDS order; 2020 sums to the ONS 0-25 totals exactly."""
    rng = dataset_rng("population")
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
                rows.append(period_cols(y, "Calendar year", loc) + [band, int(n)])
    return rows
