"""Tests for send_metrics.stats against published or independently worked values.

Every expected number below is either copied from a publication / the
reference implementation's own test data (cited next to it) or worked by hand
in the comment beside it, and compared to 4 decimal places unless stated.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from send_metrics.stats import (
    byar_ci,
    compare_to_benchmark,
    compare_to_benchmark_array,
    equity_verdict,
    exact_poisson_ci,
    funnel_limits,
    overdispersion_phi,
    proportion_difference_ci,
    proportion_ratio_ci,
    rate_ci,
    rate_difference_ci,
    rate_ratio_ci,
    recent_trend,
    trend_verdict,
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
    out = compare_to_benchmark_array(
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
# recent trend
# ---------------------------------------------------------------------------
def _ci_for_se(values, se):
    v = np.asarray(values, dtype=float)
    return v - 1.96 * se, v + 1.96 * se  # width 3.92 * se, so SE is recovered


def test_recent_trend_hand_worked_increase():
    # values 10..14, SE 0.5 -> w = 4; t = 0..4, weighted mean t = 2
    # S_tt = 4 (4 + 1 + 0 + 1 + 4) = 40; slope = 4 (-20 - 11 + 0 + 13 + 28)/40 = 1
    # chi2 = slope^2 S_tt = 40 > 9.5495; every leave-one-out slope is +1.
    lo, hi = _ci_for_se([10, 11, 12, 13, 14], 0.5)
    assert recent_trend([10, 11, 12, 13, 14], lo, hi) == "increasing"
    lo, hi = _ci_for_se([14, 13, 12, 11, 10], 0.5)
    assert recent_trend([14, 13, 12, 11, 10], lo, hi) == "decreasing"


def test_recent_trend_chi2_threshold_9_5495():
    # Same slope 1; with weight w, chi2 = 10 w.  w = 0.95 -> 9.5 (not
    # significant), w = 0.96 -> 9.6 (significant).  SE = 1/sqrt(w).
    y = [10, 11, 12, 13, 14]
    lo, hi = _ci_for_se(y, 1 / math.sqrt(0.95))
    assert recent_trend(y, lo, hi) == "no_significant_change"
    lo, hi = _ci_for_se(y, 1 / math.sqrt(0.96))
    assert recent_trend(y, lo, hi) == "increasing"


def test_recent_trend_leave_one_out_rule():
    # 0,0,0,0,10 with SE 0.5: slope = 4 * (2*10) / 40 = 2, chi2 = 160, but
    # dropping the last point leaves a flat line (slope 0): not significant.
    y = [0, 0, 0, 0, 10]
    lo, hi = _ci_for_se(y, 0.5)
    assert recent_trend(y, lo, hi) == "no_significant_change"


def test_recent_trend_uses_last_five_and_handles_missing():
    y = [50, 40, 30, 20, 10, 11, 12, 13, 14]  # only the last five count
    lo, hi = _ci_for_se(y, 0.5)
    assert recent_trend(y, lo, hi) == "increasing"
    y4 = [10, 11, np.nan, 13, 14]
    lo, hi = _ci_for_se(y4, 0.5)
    assert recent_trend(y4, lo, hi) == "not_enough_data"
    assert recent_trend([1, 2, 3, 4, 5], [1, 2, 3, 4, 5], [1, 2, 3, 4, 5]) == "not_enough_data"  # zero width


@pytest.mark.parametrize(
    "trend, polarity, expected",
    [
        ("increasing", "higher_is_better", "improving"),
        ("increasing", "lower_is_better", "getting_worse"),
        ("decreasing", "higher_is_better", "getting_worse"),
        ("decreasing", "lower_is_better", "improving"),
        ("increasing", "no_judgement", "increasing"),
        ("decreasing", None, "decreasing"),
        ("no_significant_change", "higher_is_better", "no_significant_change"),
        ("not_enough_data", "lower_is_better", "not_enough_data"),
    ],
)
def test_trend_verdict(trend, polarity, expected):
    assert trend_verdict(trend, polarity) == expected


# ---------------------------------------------------------------------------
# funnel plots
# ---------------------------------------------------------------------------
# PHEindicatormethods tests/testthat/testdata_funnel_prop_outputs.csv (selected
# rows): Population, Lower2s0025limit, Upper2s0025limit, Lower3s0001limit,
# Upper3s0001limit; baseline 80.642448 (%), limits clamped to [0, 100].
PHE_PROP_FUNNEL = [
    (1, 3.204264, 100, 0, 100),
    (3, 35.933491, 100, 10.150815, 100),
    (10, 56.154344, 100, 42.03259, 100),
    (18, 62.390093, 98.894803, 51.864359, 100),
    (41, 68.548635, 92.73626, 61.574398, 99.710497),
    (102, 72.974925, 88.309971, 68.553233, 92.731663),
    (1008, 78.203374, 83.081521, 76.796814, 84.488082),
    (9998, 79.867989, 81.416907, 79.421375, 81.863521),
    (110000, 80.408963, 80.875933, 80.274317, 81.010578),
]


def test_funnel_proportion_wilson_matches_phe_test_data():
    n = np.array([r[0] for r in PHE_PROP_FUNNEL], dtype=float)
    lo95, hi95 = funnel_limits(n, 80.642448, "proportion", 0.95, multiplier=100, method="wilson")
    lo998, hi998 = funnel_limits(n, 80.642448, "proportion", 0.998, multiplier=100, method="wilson")
    np.testing.assert_allclose(lo95, [r[1] for r in PHE_PROP_FUNNEL], atol=5e-5)
    np.testing.assert_allclose(hi95, [r[2] for r in PHE_PROP_FUNNEL], atol=5e-5)
    np.testing.assert_allclose(lo998, [r[3] for r in PHE_PROP_FUNNEL], atol=5e-5)
    np.testing.assert_allclose(hi998, [r[4] for r in PHE_PROP_FUNNEL], atol=5e-5)


# PHEindicatormethods tests/testthat/testdata_funnel_rate_outputs.csv (selected
# rows; DSR per 100,000, years_of_data = 3, baseline 116.1720835): Events,
# then for each of lower_2s, upper_2s, lower_3s, upper_3s: (population_1_year,
# limit).  PHE computes each row from the event count, so at denominator
# 3 * population_1_year the limit equals the tabulated one.
PHE_RATE_FUNNEL = [
    (1, (1598.675694, 20.85059119), (7.264481402, 4588.535848), (2649.348525, 12.58170943), (0.287087625, 116108.569)),
    (2, (2072.984403, 32.15975314), (69.49732367, 959.2695538), (3221.906682, 20.69168143), (13.02722321, 5117.48863)),
    (5, (3348.002593, 49.78092521), (465.8280129, 357.7858395), (4721.370883, 35.30048174), (212.14848, 785.6132963)),
    (10, (5276.757672, 63.17010446), (1375.943768, 242.2579623), (6924.776769, 48.13632908), (849.4639547, 392.4043292)),
    (55, (20541.38426, 89.25071993), (11888.54874, 154.2100196), (23527.63198, 77.92256078), (10012.3603, 183.1070076)),
    (257, (83329.80836, 102.8043486), (65000.41486, 131.7940306), (89091.53139, 96.15579094), (60339.9203, 141.9734502)),
    (1360, (411529.9259, 110.158048), (369759.5622, 122.6021934), (424043.2424, 106.9073359), (358342.3275, 126.5084525)),
]


@pytest.mark.parametrize("col, conf, side", [(1, 0.95, 0), (2, 0.95, 1), (3, 0.998, 0), (4, 0.998, 1)])
def test_funnel_rate_matches_phe_test_data(col, conf, side):
    n = np.array([r[col][0] * 3 for r in PHE_RATE_FUNNEL])
    expected = np.array([r[col][1] for r in PHE_RATE_FUNNEL])
    got = funnel_limits(n, 116.1720835, "rate", conf, multiplier=100_000)[side]
    # The CSV stores 10 significant figures of populations that R derived from
    # qchisq; agreement is to ~1e-6 relative (4dp for every lower limit).
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    if side == 0:
        np.testing.assert_allclose(got, expected, atol=5e-5)


def test_funnel_proportion_exact_spiegelhalter_hand_worked():
    # Spiegelhalter (2005), appendix (interpolated exact limits): n = 10, theta = 0.5.  Binomial CDF
    # (x 1024): F(1) = 11, F(2) = 56, F(7) = 968, F(8) = 1013.
    # Upper (p = 0.975): r = 8; a = (1013 - 998.4)/(1013 - 968) = 0.324444;
    #   limit = (8 - 0.324444)/10 = 0.767556
    # Lower (p = 0.025): r = 2; a = (56 - 25.6)/(56 - 11) = 0.675556;
    #   limit = (2 - 0.675556)/10 = 0.132444
    lo, hi = funnel_limits(10, 0.5, "proportion", 0.95, method="exact")
    assert lo == pytest.approx(0.132444, **DP4)
    assert hi == pytest.approx(0.767556, **DP4)
    lo, hi = funnel_limits(10, 50, "proportion", 0.95, multiplier=100, method="exact")
    assert lo == pytest.approx(13.2444, abs=5e-3) and hi == pytest.approx(76.7556, abs=5e-3)


def _interp_binomial_limit(p: float, n: int, theta: float) -> float:
    """Independent oracle for Spiegelhalter's limit using exact integer sums."""
    cdf, r, prev = 0.0, 0, 0.0
    for r in range(n + 1):
        prev = cdf
        cdf += math.comb(n, r) * theta**r * (1 - theta) ** (n - r)
        if cdf >= p:
            break
    a = (cdf - p) / (cdf - prev)
    return (r - a) / n


@pytest.mark.parametrize("n", [25, 137, 1000])
@pytest.mark.parametrize("conf", [0.95, 0.998])
def test_funnel_proportion_exact_matches_integer_oracle(n, conf):
    tail = (1 - conf) / 2
    lo, hi = funnel_limits(n, 0.3, "proportion", conf, method="exact")
    assert lo == pytest.approx(_interp_binomial_limit(tail, n, 0.3), abs=1e-9)
    assert hi == pytest.approx(_interp_binomial_limit(1 - tail, n, 0.3), abs=1e-9)


def test_funnel_overdispersion_widens_by_sqrt_phi():
    # phi = 4, theta = 0.2, n = 400: 0.2 +/- 1.959964 sqrt(4 * 0.16 / 400)
    #   = 0.2 +/- 1.959964 * 0.04 = 0.121601, 0.278399
    lo, hi = funnel_limits(400, 0.2, "proportion", 0.95, phi=4.0)
    assert lo == pytest.approx(0.121601, **DP4) and hi == pytest.approx(0.278399, **DP4)
    # rates: theta = 0.01, n = 10000, phi = 2: 0.01 +/- 1.959964 sqrt(2*0.01/1e4)
    #   = 0.01 +/- 1.959964 * 0.00141421 = 0.01 +/- 0.00277181
    #   -> per 1000: 10 -/+ 2.771808
    lo, hi = funnel_limits(10_000, 10, "rate", 0.95, multiplier=1000, phi=2.0)
    assert lo == pytest.approx(7.228192, **DP4) and hi == pytest.approx(12.771808, **DP4)


def test_funnel_limits_missing_and_monotone():
    lo, hi = funnel_limits(np.array([0, np.nan, 50, 500, 5000]), 0.3)
    assert np.isnan(lo[0]) and np.isnan(lo[1])
    assert np.all(np.diff(lo[2:]) > 0) and np.all(np.diff(hi[2:]) < 0)
    lo998, hi998 = funnel_limits(np.array([50, 500, 5000]), 0.3, confidence=0.998)
    assert np.all(lo998 < lo[2:]) and np.all(hi998 > hi[2:])


def test_overdispersion_phi_winsorised_hand_worked():
    # Spiegelhalter (2005), over-dispersion: theta = 0.5, n = 100 (SE 0.05); counts
    # 25, 30, ..., 75 give z = -5..5.  10th / 90th percentiles (type 7) are
    # -4 and 4, so z_w = -4,-4,-3,-2,-1,0,1,2,3,4,4 and
    # phi = (16+16+9+4+1+0+1+4+9+16+16)/11 = 92/11 = 8.363636
    counts = 50 + 5 * np.arange(-5, 6)
    assert overdispersion_phi(counts, np.full(11, 100), 0.5) == pytest.approx(8.363636, **DP4)
    # pooled benchmark (sum O / sum n = 0.5) gives the same
    assert overdispersion_phi(counts, np.full(11, 100)) == pytest.approx(8.363636, **DP4)
    # rates: V = theta: theta = 0.1, n = 1000 -> SE = 0.01; counts 80,100,120 ->
    # z = -2, 0, 2; winsorised at the 10th/90th percentiles -1.6, 1.6
    # phi = (2.56 + 0 + 2.56)/3 = 1.706667
    assert overdispersion_phi([80, 100, 120], [1000] * 3, 0.1, kind="rate") == pytest.approx(1.706667, **DP4)


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


def test_metrics_modules_never_import_streamlit():
    import subprocess
    import sys

    code = (
        "import sys; import send_metrics.stats, send_metrics.stats.spc, send_metrics.stats.disclosure; "
        "assert 'streamlit' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(__import__("pathlib").Path(__file__).parents[1]))


# -- issue 17 point 4: Fingertips' trend markers -------------------------------------------------
# Reference: fingertips-open, PholioVisualisationWS/AnalysisTest/TrendMarkerCalculatorTest.cs
# (PHEindicatormethods has no trend-marker function or test data; Fingertips' own tests are used).
FT_SET1 = dict(count=[994, 1023, 1199, 1332, 1367], den=[40299, 41527, 42811, 44064, 44701],
               value=[24.67, 24.6, 28, 30.2, 30.6], lower=[23.16, 23.15, 26.44, 28.63, 28.98],
               upper=[26.25, 26.19, 29.64, 31.9, 32.25])  # years 2014-2018
FT_SET2 = dict(count=[209, 213, 213, 239, 210], den=[1017, 1087, 1119, 1117, 1139])


def test_chi2_trend_for_proportions_matches_fingertips():
    from send_metrics.stats import proportion_trend
    # TestIsSignificantForProportionsReturnsTrue: significant, Math.Round(ChiSquare, 2) == 47.9
    trend, chi2 = proportion_trend(FT_SET1["count"], FT_SET1["den"])
    assert round(chi2, 2) == 47.9
    assert trend == "increasing"  # least-squares slope of the log-odds is positive
    # The same data reversed in time: the same chi2, the other direction.
    trend, chi2r = proportion_trend(FT_SET1["count"][::-1], FT_SET1["den"][::-1])
    assert trend == "decreasing" and chi2r == pytest.approx(chi2)
    # TestIsSignificantForProportionsCannotBeCalculated: a point with count = denominator.
    assert proportion_trend([5, 3, 1, 1, 2], [5, 5, 5, 4, 4])[0] == "not_enough_data"
    # Set 2 (TestIsSignificantReturnsFalse): no significant change.
    assert proportion_trend(FT_SET2["count"], FT_SET2["den"])[0] == "no_significant_change"
    # Cochran-Armitage by hand (Armitage & Berry): chi2 = N(N*sum(x t) - X*sum(n t))^2 / ...
    x, n, t = np.array(FT_SET1["count"], float), np.array(FT_SET1["den"], float), np.arange(1, 6)
    N, X = n.sum(), x.sum()
    by_hand = N * (N * (x * t).sum() - X * (n * t).sum()) ** 2 / (X * (N - X) * (N * (n * t * t).sum() - (n * t).sum() ** 2))
    assert chi2 == pytest.approx(by_hand, rel=1e-12)


def test_weighted_regression_trend_matches_fingertips_for_rates():
    """Crude rates keep Fingertips' weighted regression: TestIsSignificantReturnsTrue gives
    Math.Round(ChiSquare, 2) == 46.77 (significant); set 2 is not significant."""
    from send_metrics.stats import _wls_slope
    t = np.arange(1, 6, dtype=float)
    se = (np.array(FT_SET1["upper"]) - np.array(FT_SET1["lower"])) / 3.92
    slope, stt = _wls_slope(t, np.array(FT_SET1["value"], float), 1 / se ** 2)
    assert round(slope * slope * stt, 2) == 46.77
    assert recent_trend(FT_SET1["value"], FT_SET1["lower"], FT_SET1["upper"]) == "increasing"
    from send_metrics.stats import wilson_ci
    lo, hi = wilson_ci(np.array(FT_SET2["count"]), np.array(FT_SET2["den"]))
    v = np.array(FT_SET2["count"]) / np.array(FT_SET2["den"])
    assert recent_trend(v, lo, hi) == "no_significant_change"


# -- issue 17 point 5: proportion funnels as PHE / Fingertips by default ---------------------------
def test_funnel_default_is_wilson_as_phe_funnels():
    """The default proportion funnel is PHEindicatormethods' (calculate_funnel_limits, Wilson:
    testdata_funnel_prop_outputs.csv, baseline 80.642448: n = 3 gives Lower2s 35.933491 and
    Lower3s 10.150815; n = 110000 gives 80.408963 to 80.875933). The exact binomial
    (Spiegelhalter) stays as the named option "exact"."""
    n = np.array([r[0] for r in PHE_PROP_FUNNEL], dtype=float)
    lo, hi = funnel_limits(n, 80.642448, "proportion", 0.95, multiplier=100)
    np.testing.assert_allclose(lo, [r[1] for r in PHE_PROP_FUNNEL], atol=5e-5)
    np.testing.assert_allclose(hi, [r[2] for r in PHE_PROP_FUNNEL], atol=5e-5)
    # The two methods differ most at small n (the issue: far apart at n = 3).
    lo_exact, _ = funnel_limits(3, 80.642448, "proportion", 0.95, multiplier=100, method="exact")
    lo_w, _ = funnel_limits(3, 80.642448, "proportion", 0.95, multiplier=100)
    assert lo_w == pytest.approx(35.933491, abs=5e-5) and abs(lo_w - lo_exact) > 20
    with pytest.raises(ValueError):
        funnel_limits(10, 0.5, method="spiegel")


@pytest.mark.parametrize("method", ["wilson", "exact"])
def test_funnel_upper_limit_is_100_at_a_benchmark_of_100(method):
    n = np.array([1, 5, 40, 400, 4000], dtype=float)
    lo, hi = funnel_limits(n, 100, "proportion", 0.998, multiplier=100, method=method)
    assert np.all(hi == 100.0)  # an area at 100% is never above the limit
    lo0, hi0 = funnel_limits(n, 0, "proportion", 0.998, multiplier=100, method=method)
    assert np.all(lo0 == 0.0)


def test_overdispersion_tau2_dersimonian_laird_hand_worked():
    """Spiegelhalter (2005, QSHC 14:347) additive model. The 11 areas of
    test_overdispersion_phi_winsorised_hand_worked (n = 100, theta = 0.5, phi = 8.363636):
    w = 100 / 0.25 = 400 each, sum w - sum w^2 / sum w = 4400 - 400 = 4000,
    tau2 = (11 * 8.363636 - 10) / 4000 = 0.0205; limits at n = 100:
    0.5 +/- 1.959964 * sqrt(0.0025 + 0.0205) = 0.202757, 0.797243."""
    from send_metrics.stats import overdispersion_tau2
    counts = 50 + 5 * np.arange(-5, 6)
    tau2 = overdispersion_tau2(counts, np.full(11, 100), 0.5)
    assert overdispersion_phi(counts, np.full(11, 100), 0.5) == pytest.approx(8.363636, **DP4)
    assert tau2 == pytest.approx(0.0205, abs=1e-6)
    lo, hi = funnel_limits(100, 0.5, "proportion", 0.95, tau2=tau2)
    assert lo == pytest.approx(0.202757, **DP4) and hi == pytest.approx(0.797243, **DP4)
    # No over-dispersion: tau2 = 0 and the limits are the unwidened ones.
    assert overdispersion_tau2([50, 50, 51, 49], [100] * 4, 0.5) == 0.0


def test_invalid_input_raises_value_error_as_the_module_promises():
    """Issue 17 point 8: wilson_ci(1, -5) returned NaN; the module promises ValueError."""
    from send_metrics.stats import rate_ci, wilson_ci
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
    from send_metrics.stats import mean_ci, sd_from_sum_of_squares
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
    from send_metrics.stats import sd_from_sum_of_squares
    a1, a2 = PHE_MEAN_RESULTS[0], PHE_MEAN_RESULTS[1]
    ss = sum((r[2] - 1) * r[3] ** 2 + r[1] ** 2 / r[2] for r in (a1, a2))
    assert sd_from_sum_of_squares(a1[1] + a2[1], ss, 26) == pytest.approx(3171.8018122194453, rel=1e-9)


def test_mean_ci_missing_and_invalid():
    from send_metrics.stats import mean_ci
    assert all(np.isnan(v) for v in mean_ci(50.0, 10.0, 1))  # one observation: no spread
    assert all(np.isnan(v) for v in mean_ci(50.0, np.nan, 30))  # no standard deviation loaded
    lo, hi = mean_ci(np.array([50.0, 40.0]), np.array([10.0, np.nan]), np.array([30, 30]))
    assert np.isfinite(lo[0]) and np.isnan(lo[1])
    with pytest.raises(ValueError):
        mean_ci(50.0, -1.0, 30)
    with pytest.raises(ValueError):
        mean_ci(50.0, 1.0, -3)


def test_funnel_for_means_is_spiegelhalter_normal():
    """Spiegelhalter (2005) Stat Med 24:1185, Table I, normal responses: theta_0 +/- z sigma / sqrt(n).
    Hand-worked: theta_0 = 50, sigma = 20, n = 100: 50 -/+ 1.959964 * 2 = 46.080072, 53.919928;
    99.8% (z = 3.090232): 43.819535, 56.180465; n = 25: 42.160144, 57.839856."""
    lo, hi = funnel_limits(np.array([100.0, 25.0]), 50.0, "mean", 0.95, sd=20.0)
    np.testing.assert_allclose(lo, [46.080072, 42.160144], atol=5e-6)
    np.testing.assert_allclose(hi, [53.919928, 57.839856], atol=5e-6)
    lo, hi = funnel_limits(100.0, 50.0, "mean", 0.998, sd=20.0)
    assert (lo, hi) == (pytest.approx(43.819535, abs=5e-6), pytest.approx(56.180465, abs=5e-6))
    with pytest.raises(ValueError):
        funnel_limits(100.0, 50.0, "mean")  # no standard deviation: no funnel, never an invented one
    # Over-dispersion: z-scores (y - theta) / (sigma / sqrt(n)); three areas of n = 100 at 46, 50, 54
    # have z = -2, 0, 2 (Winsorising 3 values at the 10th/90th centiles: -1.6, 0, 1.6),
    # phi = (2.56 + 0 + 2.56) / 3 = 1.706667; limits widen by sqrt(phi).
    phi = overdispersion_phi([4600, 5000, 5400], [100, 100, 100], 50.0, "mean", sd=20.0)
    assert phi == pytest.approx(1.706667, abs=5e-6)
    lo, hi = funnel_limits(100.0, 50.0, "mean", 0.95, phi=phi, sd=20.0)
    assert hi - 50 == pytest.approx(1.959964 * 2 * math.sqrt(phi), abs=5e-6)
