"""Tests for send_metrics.stats.funnels against published or independently worked values.

Every expected number below is either copied from a publication / the
reference implementation's own test data (cited next to it) or worked by hand
in the comment beside it, and compared to 4 decimal places unless stated.
(PHEindicatormethods testdata_funnel_prop_outputs.csv and testdata_funnel_rate_outputs.csv;
Spiegelhalter 2005 hand-worked limits and over-dispersion.)
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from send_metrics.stats.funnels import funnel_limits, overdispersion_phi, overdispersion_tau2

DP4 = dict(abs=5e-5)


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
    counts = 50 + 5 * np.arange(-5, 6)
    tau2 = overdispersion_tau2(counts, np.full(11, 100), 0.5)
    assert overdispersion_phi(counts, np.full(11, 100), 0.5) == pytest.approx(8.363636, **DP4)
    assert tau2 == pytest.approx(0.0205, abs=1e-6)
    lo, hi = funnel_limits(100, 0.5, "proportion", 0.95, tau2=tau2)
    assert lo == pytest.approx(0.202757, **DP4) and hi == pytest.approx(0.797243, **DP4)
    # No over-dispersion: tau2 = 0 and the limits are the unwidened ones.
    assert overdispersion_tau2([50, 50, 51, 49], [100] * 4, 0.5) == 0.0


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
