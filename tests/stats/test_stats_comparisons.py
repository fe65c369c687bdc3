"""Tests for send_metrics.stats.comparisons against published or independently worked values.

Every expected number below is either copied from a publication / the
reference implementation's own test data (cited next to it) or worked by hand
in the comment beside it, and compared to 4 decimal places unless stated.
(Benchmark rule: OHID Fingertips technical guidance; two-group intervals: Newcombe 1998,
Katz 1978, Clopper-Pearson, Zou and Donner 2008.)
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from send_metrics.stats.comparisons import (
    compare_to_benchmark,
    equity_verdict,
    proportion_difference_ci,
    proportion_ratio_ci,
    rate_difference_ci,
    rate_ratio_ci,
)

DP4 = dict(abs=5e-5)


# ---------------------------------------------------------------------------
# benchmark comparison
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "lower, upper, polarity, expected",
    [
        # Fingertips technical guidance, benchmark 50:
        (55, 60, "higher_is_better", "better"),
        (55, 60, "lower_is_better", "worse"),
        (55, 60, "no_judgement", "higher"),
        (55, 60, None, "higher"),
        (40, 45, "higher_is_better", "worse"),
        (40, 45, "lower_is_better", "better"),
        (40, 45, "no_judgement", "lower"),
        (45, 55, "higher_is_better", "similar"),
        (50, 55, "higher_is_better", "similar"),  # touching is not "wholly above"
        (45, 50, "lower_is_better", "similar"),
        (float("nan"), 55, "higher_is_better", "not_compared"),
    ],
)
def test_compare_to_benchmark(lower, upper, polarity, expected):
    assert compare_to_benchmark(lower, upper, 50, polarity) == expected


def test_compare_to_benchmark_vectorised():
    out = compare_to_benchmark(
        np.array([55, 40, 45, np.nan]),
        np.array([60, 45, 55, 1]),
        np.array([50, 50, 50, 50]),
        np.array(["lower_is_better", "higher_is_better", "no_judgement", "no_judgement"], dtype=object),
    )
    assert out.dtype == object
    assert out.tolist() == ["worse", "worse", "similar", "not_compared"]
    out = compare_to_benchmark([55, 40], [60, 45], np.nan, "higher_is_better")
    assert out.tolist() == ["not_compared", "not_compared"]
    with pytest.raises(ValueError):
        compare_to_benchmark(1, 2, 0, "up")


# ---------------------------------------------------------------------------
# equity
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "x1, n1, x2, n2, lower, upper",
    [
        # Newcombe RG (1998) "Interval estimation for the difference between
        # independent proportions: comparison of eleven methods", Stat Med
        # 17:873-890, Table II, method 10 (score, no continuity correction).
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (5, 56, 0, 29, -0.0381, 0.1926),
        (0, 10, 0, 20, -0.1611, 0.2775),
        (0, 10, 0, 10, -0.2775, 0.2775),
        (10, 10, 0, 20, 0.6791, 1.0000),
        (10, 10, 0, 10, 0.6075, 1.0000),
    ],
)
def test_newcombe_method_10_table_ii(x1, n1, x2, n2, lower, upper):
    d, lo, hi = proportion_difference_ci(x1, n1, x2, n2)
    assert d == pytest.approx(x1 / n1 - x2 / n2)
    assert round(lo, 4) == pytest.approx(lower, abs=1e-9)
    assert round(hi, 4) == pytest.approx(upper, abs=1e-9)


def test_newcombe_vectorised():
    d, lo, hi = proportion_difference_ci([56, 9], [70, 10], [48, 3], [80, 10])
    np.testing.assert_allclose(lo, [0.0524, 0.1705], atol=5e-5)
    np.testing.assert_allclose(hi, [0.3339, 0.8090], atol=5e-5)


def test_proportion_ratio_katz_hand_worked():
    # 56/70 vs 48/80: RR = 0.8/0.6 = 1.333333
    # SE(ln RR) = sqrt(1/56 - 1/70 + 1/48 - 1/80) = sqrt(14/3920 + 32/3840)
    #           = sqrt(0.0119048) = 0.1091089; z*SE = 0.2138497
    # lower = 1.333333 * exp(-0.2138497) = 1.076626; upper = 1.651249
    rr, lo, hi = proportion_ratio_ci(56, 70, 48, 80)
    assert rr == pytest.approx(1.333333, **DP4)
    assert lo == pytest.approx(1.076626, **DP4)
    assert hi == pytest.approx(1.651249, **DP4)
    assert all(math.isnan(v) for v in proportion_ratio_ci(0, 70, 48, 80))


def _binom_tail_ge(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))


def test_rate_ratio_exact_satisfies_clopper_pearson_definition():
    # 30 events / 10,000 vs 15 / 12,000: RR = 0.003 / 0.00125 = 2.4.
    # Exact conditional method (Armitage & Berry 2002): with T = 45,
    # pi = RR d1/(RR d1 + d2).  Check the defining tail equations with an
    # independent pure-Python binomial sum.
    rr, lo, hi = rate_ratio_ci(30, 10_000, 15, 12_000)
    assert rr == pytest.approx(2.4)
    pi_lo = lo * 10_000 / (lo * 10_000 + 12_000)
    pi_hi = hi * 10_000 / (hi * 10_000 + 12_000)
    assert _binom_tail_ge(30, 45, pi_lo) == pytest.approx(0.025, abs=1e-9)
    assert 1 - _binom_tail_ge(31, 45, pi_hi) == pytest.approx(0.025, abs=1e-9)
    assert lo == pytest.approx(1.2515, **DP4) and hi == pytest.approx(4.7998, **DP4)


def test_rate_ratio_log_and_zero_counts():
    # log method by hand: SE = sqrt(1/30 + 1/15) = 0.3162278;
    # 2.4 exp(-/+ 1.959964 * 0.3162278) = 2.4 exp(-/+0.6197952) = 1.291331, 4.460513
    rr, lo, hi = rate_ratio_ci(30, 10_000, 15, 12_000, method="log")
    assert lo == pytest.approx(1.291331, **DP4) and hi == pytest.approx(4.460513, **DP4)
    rr, lo, hi = rate_ratio_ci(0, 1000, 4, 1000)
    assert rr == 0 and lo == 0 and 0 < hi < np.inf
    rr, lo, hi = rate_ratio_ci(3, 1000, 0, 1000)
    assert hi == np.inf and lo > 0
    assert all(math.isnan(v) for v in rate_ratio_ci(0, 1000, 0, 1000))


def test_rate_difference_mover_hand_worked():
    # Per 1,000: r1 = 30/10,000 = 3.0 (Byar 20.236939..42.828372 events ->
    # 2.0236939..4.2828372); r2 = 15/12,000 = 1.25 (Byar 8.389264..24.741631
    # -> 0.6991053..2.0618026).  d = 1.75;
    # lower = 1.75 - sqrt((3 - 2.0236939)^2 + (2.0618026 - 1.25)^2)
    #       = 1.75 - sqrt(0.9531733 + 0.6590235) = 1.75 - 1.2697232 = 0.480277
    # upper = 1.75 + sqrt((4.2828372 - 3)^2 + (1.25 - 0.6991053)^2)
    #       = 1.75 + sqrt(1.6456710 + 0.3034867) = 1.75 + 1.3961223 = 3.146122
    d, lo, hi = rate_difference_ci(30, 10_000, 15, 12_000, multiplier=1000)
    assert d == pytest.approx(1.75)
    assert lo == pytest.approx(0.480277, **DP4)
    assert hi == pytest.approx(3.146122, **DP4)


def test_equity_verdict():
    assert equity_verdict(0.0524, 0.3339) == "significant"
    assert equity_verdict(-0.0381, 0.1926) == "not significant"
    assert equity_verdict(1.0766, 1.6512, null=1) == "significant"
    assert equity_verdict(0.8, 1.2, null=1) == "not significant"
    assert equity_verdict(float("nan"), 1.2, null=1) == "not_compared"
    assert equity_verdict([0.1, -0.1], [0.2, 0.1]).tolist() == ["significant", "not significant"]
