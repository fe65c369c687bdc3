"""Tests for send_metrics.stats.trends against published or independently worked values.

Every expected number below is either copied from a publication / the
reference implementation's own test data (cited next to it) or worked by hand
in the comment beside it, and compared to 4 decimal places unless stated.
(Fingertips' recent trends: TrendMarkerCalculatorTest.cs in fingertips-open, and hand-worked
weighted regressions.)
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from send_metrics.stats.intervals import wilson_ci
from send_metrics.stats.trends import _wls_slope, proportion_trend, recent_trend, trend_verdict

DP4 = dict(abs=5e-5)


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


# -- issue 17 point 4: Fingertips' trend markers -------------------------------------------------
# Reference: fingertips-open, PholioVisualisationWS/AnalysisTest/TrendMarkerCalculatorTest.cs
# (PHEindicatormethods has no trend-marker function or test data; Fingertips' own tests are used).
FT_SET1 = dict(count=[994, 1023, 1199, 1332, 1367], den=[40299, 41527, 42811, 44064, 44701],
               value=[24.67, 24.6, 28, 30.2, 30.6], lower=[23.16, 23.15, 26.44, 28.63, 28.98],
               upper=[26.25, 26.19, 29.64, 31.9, 32.25])  # years 2014-2018
FT_SET2 = dict(count=[209, 213, 213, 239, 210], den=[1017, 1087, 1119, 1117, 1139])


def test_chi2_trend_for_proportions_matches_fingertips():
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
    t = np.arange(1, 6, dtype=float)
    se = (np.array(FT_SET1["upper"]) - np.array(FT_SET1["lower"])) / 3.92
    slope, stt = _wls_slope(t, np.array(FT_SET1["value"], float), 1 / se ** 2)
    assert round(slope * slope * stt, 2) == 46.77
    assert recent_trend(FT_SET1["value"], FT_SET1["lower"], FT_SET1["upper"]) == "increasing"
    lo, hi = wilson_ci(np.array(FT_SET2["count"]), np.array(FT_SET2["den"]))
    v = np.array(FT_SET2["count"]) / np.array(FT_SET2["den"])
    assert recent_trend(v, lo, hi) == "no_significant_change"
