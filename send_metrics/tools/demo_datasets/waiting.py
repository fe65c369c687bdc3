"""Community waiting lists and activity by locality, month, service and EHCP status: a monthly queue
simulation (January 2020 warm-up; January 2021 to December 2025 written) with a South Cumbria
speech and language therapy waiting-list initiative in July 2024 (a step change for SPC charts).
"""
from __future__ import annotations

import numpy as np

from send_metrics.tools.demo_datasets.common import (
    EHCP_STATUSES,
    LOCALITIES,
    SERVICES,
    SOUTH,
    WAIT_BANDS,
    YEARS,
    dataset_rng,
    period_cols,
)

FIRST_MONTH, N_MONTHS, WARMUP_MONTHS = (2021, 1), 60, 12  # Jan 2021 .. Dec 2025, simulated from Jan 2020


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
    rng = dataset_rng("waiting")
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
            base = period_cols(period, "Month", loc) + [s, st]
            for b, band in enumerate(WAIT_BANDS):
                list_rows.append(base + [band, int(bands[q, b])])
            activity_rows.append(base + [int(R[q]), int(A[q]), int(S[q].sum()), int(seen18[q])])
    return list_rows, activity_rows
