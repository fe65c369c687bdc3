"""Tests for send_metrics.stats.intervals against published or independently worked values.

Every expected number below is either copied from a publication / the
reference implementation's own test data (cited next to it) or worked by hand
in the comment beside it, and compared to 4 decimal places unless stated.
(Wilson: Newcombe 1998; exact Poisson: Garwood 1936; Byar and rates: PHEindicatormethods
phe_rate; means: PHEindicatormethods phe_mean and testdata_Mean.xlsx.)
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from send_metrics.stats.intervals import (
    byar_ci,
    exact_poisson_ci,
    mean_ci,
    rate_ci,
    sd_from_sum_of_squares,
    wilson_ci,
)

DP4 = dict(abs=5e-5)


# ---------------------------------------------------------------------------
# Wilson score interval
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "x, n, lower, upper",
    [
        # Newcombe RG (1998) "Two-sided confidence intervals for the single
        # proportion: comparison of seven methods", Stat Med 17:857-872,
        # Table II, method 3 (Wilson score without continuity correction).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0000, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_newcombe_1998_table(x, n, lower, upper):
    lo, hi = wilson_ci(x, n)
    assert round(lo, 4) == pytest.approx(lower, abs=1e-9)
    assert round(hi, 4) == pytest.approx(upper, abs=1e-9)


def test_wilson_hand_worked_phe_test_input():
    # Input 65/100 is one of PHEindicatormethods' testWilson.R cases.
    # Worked by hand (Wilson 1927 closed form, z = 1.959964, z^2 = 3.841459):
    #   4x(1 - x/n) = 4*65*0.35 = 91;  sqrt(3.841459 + 91) = 9.738658
    #   z * 9.738658 = 19.087424;  2(n + z^2) = 207.682918
    #   lower = (130 + 3.841459 - 19.087424) / 207.682918 = 0.552544
    #   upper = (130 + 3.841459 + 19.087424) / 207.682918 = 0.736358
    lo, hi = wilson_ci(65, 100)
    assert lo == pytest.approx(0.552544, **DP4)
    assert hi == pytest.approx(0.736358, **DP4)
    # 99.8%: z = 3.090232, z^2 = 9.549536; sqrt(9.549536 + 91) = 10.027439
    #   z * 10.027439 = 30.987115; 2(n + z^2) = 219.099072
    #   lower = (130 + 9.549536 - 30.987115) / 219.099072 = 0.495495
    #   upper = (130 + 9.549536 + 30.987115) / 219.099072 = 0.778354
    lo, hi = wilson_ci(65, 100, confidence=0.998)
    assert lo == pytest.approx(0.495495, **DP4)
    assert hi == pytest.approx(0.778354, **DP4)
    # PHEindicatormethods also accepts percentages (confidence = 99.8).
    assert wilson_ci(65, 100, confidence=99.8)[0] == pytest.approx(0.495495, **DP4)


def test_wilson_vectorised_and_missing():
    lo, hi = wilson_ci(np.array([81, 0, 5, 3]), np.array([263, 0, np.nan, 10]))
    assert isinstance(lo, np.ndarray) and lo.shape == (4,)
    assert lo[0] == pytest.approx(0.2553, abs=5e-5)
    assert np.isnan(lo[1]) and np.isnan(hi[1])  # zero trials
    assert np.isnan(lo[2]) and np.isnan(hi[2])  # NaN trials
    assert 0 < lo[3] < 0.3 < hi[3] < 1
    lo_s, hi_s = wilson_ci(1, 0)
    assert math.isnan(lo_s) and math.isnan(hi_s)
    assert isinstance(wilson_ci(1, 2)[0], float)


def test_wilson_rejects_impossible_input():
    with pytest.raises(ValueError):
        wilson_ci(5, 4)
    with pytest.raises(ValueError):
        wilson_ci(-1, 4)
    with pytest.raises(ValueError):
        wilson_ci(1, 4, confidence=0.0)


# ---------------------------------------------------------------------------
# counts: exact Poisson and Byar
# ---------------------------------------------------------------------------
def _poisson_tail_limit(x: int, tail: float, upper: bool) -> float:
    """Independent oracle: Garwood (1936) exact Poisson limit by bisection on
    sums of Poisson probabilities (pure Python, no scipy)."""

    def cdf(k: int, lam: float) -> float:  # P(X <= k)
        term, total = math.exp(-lam), math.exp(-lam)
        for i in range(1, k + 1):
            term *= lam / i
            total += term
        return total

    lo, hi = 0.0, 100.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if upper:  # P(X <= x | mid) = tail, decreasing in mid
            if cdf(x, mid) > tail:
                lo = mid
            else:
                hi = mid
        else:  # P(X >= x | mid) = 1 - P(X <= x-1) = tail, increasing in mid
            if 1 - cdf(x - 1, mid) < tail:
                lo = mid
            else:
                hi = mid
    return (lo + hi) / 2


@pytest.mark.parametrize(
    "x, lower, upper",
    [
        # Garwood exact 95% limits as tabulated in standard tables (0 -> 0,
        # 3.689; 1 -> 0.0253, 5.572; 5 -> 1.623, 11.668; 9 -> 4.115, 17.085),
        # here to 4dp, cross-checked by the pure-Python oracle below.
        (0, 0.0, 3.6889),
        (1, 0.0253, 5.5716),
        (5, 1.6235, 11.6683),
        (9, 4.1154, 17.0848),
    ],
)
def test_exact_poisson_matches_garwood_table_and_oracle(x, lower, upper):
    lo, hi = exact_poisson_ci(x)
    assert lo == pytest.approx(lower, **DP4)
    assert hi == pytest.approx(upper, **DP4)
    assert hi == pytest.approx(_poisson_tail_limit(x, 0.025, upper=True), abs=1e-6)
    if x > 0:
        assert lo == pytest.approx(_poisson_tail_limit(x, 0.025, upper=False), abs=1e-6)
    # byar_ci uses the exact method below 10 events (PHEindicatormethods phe_rate)
    assert byar_ci(x) == pytest.approx((lo, hi), abs=1e-12)


def test_byar_hand_worked_for_phe_test_count_65():
    # 65 is one of PHEindicatormethods' testByars.R inputs. By hand
    # (Breslow & Day 1987; z = 1.959964):
    #   lower = 65 (1 - 1/585 - 1.959964/(3 sqrt 65))^3
    #         = 65 (1 - 0.0017094 - 0.0810340)^3 = 65 * 0.9172566^3 = 50.1632
    #   upper = 66 (1 - 1/594 + 1.959964/(3 sqrt 66))^3
    #         = 66 (1 - 0.0016835 + 0.0804183)^3 = 66 * 1.0787348^3 = 82.8491
    lo, hi = byar_ci(65)
    assert lo == pytest.approx(50.1632, **DP4)
    assert hi == pytest.approx(82.8491, **DP4)


def test_byar_switches_from_exact_at_10_as_phe_rate():
    # PHEindicatormethods phe_rate: exact when x < 10, Byar's when x >= 10.
    # Byar at 10: 10 (1 - 1/90 - 1.959964/(3 sqrt 10))^3 = 10*0.478745^(...)
    #   = 10 (1 - 0.0111111 - 0.2065983)^3 = 10 * 0.7822906^3 = 4.7874
    lo, hi = byar_ci(10)
    assert lo == pytest.approx(4.7874, **DP4)
    assert hi == pytest.approx(18.3915, **DP4)
    # ... which differs from the exact limit (4.7954) at the 3rd decimal.
    assert exact_poisson_ci(10)[0] == pytest.approx(4.7954, **DP4)


def test_byar_tracks_exact_for_large_counts():
    # Byar's approximation is within 0.1% of the exact limits for 1045 events.
    lo, hi = byar_ci(1045)
    elo, ehi = exact_poisson_ci(1045)
    assert lo == pytest.approx(elo, rel=1e-3) and hi == pytest.approx(ehi, rel=1e-3)


def test_byar_vectorised_missing_and_invalid():
    lo, hi = byar_ci(np.array([0, np.nan, 65]))
    assert lo[0] == 0.0 and np.isnan(lo[1]) and lo[2] == pytest.approx(50.1632, **DP4)
    with pytest.raises(ValueError):
        byar_ci(-1)


def test_rate_ci_divides_count_limits():
    # 65 events in 10,000 person-years, per 100,000: 50.1632 / 10,000 * 1e5
    lo, hi = rate_ci(65, 10_000, multiplier=100_000)
    assert lo == pytest.approx(501.6319, **DP4)
    assert hi == pytest.approx(828.4914, **DP4)
    lo, hi = rate_ci(np.array([65, 3]), np.array([0, 1000]), multiplier=1000)
    assert np.isnan(lo[0]) and np.isnan(hi[0])
    # 3 events: exact limits 0.6187, 8.7673 per 1000
    assert lo[1] == pytest.approx(0.6187, **DP4) and hi[1] == pytest.approx(8.7673, **DP4)


def test_invalid_input_raises_value_error_as_the_module_promises():
    """Issue 17 point 8: wilson_ci(1, -5) returned NaN; the module promises ValueError."""
    for bad in ((1, -5), (-1, 5), (6, 5), (np.array([1, 2]), np.array([5, -1])), (np.inf, 5)):
        with pytest.raises(ValueError):
            wilson_ci(*bad)
    with pytest.raises(ValueError):
        wilson_ci(1, 5, confidence=150)
    with pytest.raises(ValueError):
        rate_ci(3, -100)
    with pytest.raises(ValueError):
        rate_ci(-3, 100)
    # Missing input is not an error: NaN limits.
    assert all(np.isnan(v) for v in wilson_ci(np.nan, 5)) and all(np.isnan(v) for v in wilson_ci(1, 0))


# -- issue 17 "what to build": means with Student's t intervals, and funnels for them ------------
# PHEindicatormethods (ukhsa-collaboration, commit 093fd288), tests/testthat/testdata_Mean.xlsx:
# sheet testdata_Mean (area, values) and sheet testdata_Mean_results (phe_mean output).
PHE_MEAN_AREA1 = [33.09375, 48.38596, 64.83495, 67.98475, 22.93556, 71.23587, 38.78465, 82.37927]
PHE_MEAN_AREA2 = [5555.66666, 6666.77777, 4444.88888, 2222.99999, 3333.88888, 5555.44444, 6666.33333,
                  7777.44444, 5555.99999, 8888.33333, 2222.55555, 4444.33333, 6666.22222, 4444.11111,
                  4444.22222, 5555.11111, 7777.22222, 9999.77777]
# (area, value_sum, value_count, stdev, value, lower95_0cl, upper95_0cl, lower99_8cl, upper99_8cl)
PHE_MEAN_RESULTS = [
    ("Area1", 429.6347600000001, 8, 20.97557525770931, 53.70434500000001, 36.168325241336504,
     71.24036475866352, 18.216705294788838, 89.19198470521118),
    ("Area2", 102221.33323999999, 18, 2117.831716159067, 5678.962957777778, 4625.790022452972,
     6732.135893102583, 3859.0770997295967, 7498.848815825959),
    ("No grouping", 102650.968, 26, 3171.8018122194453, 3948.1141538461534, 2666.995676745849,
     5229.232630946458, 1801.9535385474737, 6094.274769144833),
]


@pytest.mark.parametrize("row", PHE_MEAN_RESULTS, ids=[r[0] for r in PHE_MEAN_RESULTS])
def test_mean_t_interval_matches_phe_mean_test_data(row):
    """phe_mean (Student's t): value -/+ qt(0.975, n - 1) * sd / sqrt(n), from a count, a sum and a
    sum of squares only (what an extract of averages with their standard deviations gives)."""
    area, total, n, sd, value, lo95, hi95, lo998, hi998 = row
    x = np.array({"Area1": PHE_MEAN_AREA1, "Area2": PHE_MEAN_AREA2}.get(area, PHE_MEAN_AREA1 + PHE_MEAN_AREA2))
    assert (x.sum(), len(x)) == (pytest.approx(total, rel=1e-12), n)
    got_sd = sd_from_sum_of_squares(x.sum(), (x * x).sum(), n)
    assert got_sd == pytest.approx(sd, rel=1e-9)
    assert mean_ci(x.sum() / n, got_sd, n, 0.95) == (pytest.approx(lo95, rel=1e-9), pytest.approx(hi95, rel=1e-9))
    assert mean_ci(x.sum() / n, got_sd, n, 99.8) == (pytest.approx(lo998, rel=1e-9), pytest.approx(hi998, rel=1e-9))
    assert value == pytest.approx(x.mean(), rel=1e-12)


def test_sums_of_squares_combine_groups_exactly():
    """Area1 and Area2 of testdata_Mean.xlsx, each given only as (n, mean, sd), combine into the
    "No grouping" row (sd 3171.8018122194453): (n - 1) sd^2 + n mean^2 is each group's sum of squares."""
    a1, a2 = PHE_MEAN_RESULTS[0], PHE_MEAN_RESULTS[1]
    ss = sum((r[2] - 1) * r[3] ** 2 + r[1] ** 2 / r[2] for r in (a1, a2))
    assert sd_from_sum_of_squares(a1[1] + a2[1], ss, 26) == pytest.approx(3171.8018122194453, rel=1e-9)


def test_mean_ci_missing_and_invalid():
    assert all(np.isnan(v) for v in mean_ci(50.0, 10.0, 1))  # one observation: no spread
    assert all(np.isnan(v) for v in mean_ci(50.0, np.nan, 30))  # no standard deviation loaded
    lo, hi = mean_ci(np.array([50.0, 40.0]), np.array([10.0, np.nan]), np.array([30, 30]))
    assert np.isfinite(lo[0]) and np.isnan(lo[1])
    with pytest.raises(ValueError):
        mean_ci(50.0, -1.0, 30)
    with pytest.raises(ValueError):
        mean_ci(50.0, 1.0, -3)
