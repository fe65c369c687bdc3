"""Tests for send_metrics.stats.spc (Making Data Count XmR, as NHSRplotthedots).

References:
* NHSRplotthedots tests/testthat/_snaps/ptd_spc_standard.md and _snaps/ptd_spc.md
  (set.seed(123); y = rnorm(20)) for the limits, screening and rebase;
* NHSRplotthedots tests/testthat/test-ptd_calculate_point_type.R and
  test-ptd_spc_standard.R for the rule helpers;
* hand-worked series (arithmetic in the comments) for every rule.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from send_metrics.stats import spc as spc_mod
from send_metrics.stats.spc import assurance_type, spc, spc_summary

DP4 = dict(abs=5e-5)

# R: set.seed(123); rnorm(20) - the data of NHSRplotthedots' ptd_spc_standard
# and ptd_spc snapshot tests.
RNORM_123 = [
    -0.56047565, -0.23017749, 1.55870831, 0.07050839, 0.12928774,
    1.71506499, 0.46091621, -1.26506123, -0.68685285, -0.44566197,
    1.22408180, 0.35981383, 0.40077145, 0.11068272, -0.55584113,
    1.78691314, 0.49785048, -1.96661716, 0.70135590, -0.47279141,
]  # fmt: skip


# ---------------------------------------------------------------------------
# limits against NHSRplotthedots snapshots
# ---------------------------------------------------------------------------
def test_limits_match_nhsrplotthedots_snapshot():
    # _snaps/ptd_spc_standard.md (r1): mean_col 0.1416238, lpl -3.01138, upl 3.294627
    d = spc(RNORM_123)
    assert d["mean"].iloc[0] == pytest.approx(0.1416238, **DP4)
    assert d["lower_limit"].iloc[0] == pytest.approx(-3.01138, **DP4)
    assert d["upper_limit"].iloc[0] == pytest.approx(3.294627, **DP4)
    # relative_to_mean snapshot starts -1,-1,1,-1,-1,1,1,-1,-1,-1,1,1,1,-1,-1
    assert (d["value"] > d["mean"]).iloc[:15].tolist() == [
        False, False, True, False, False, True, True, False, False, False, True, True, True, False, False,
    ]  # fmt: skip
    assert (d["variation"] == "common_cause").all()  # summary: 20 common cause
    assert d["rule"].isna().all()


def test_screening_matches_nhsrplotthedots_snapshot():
    # _snaps/ptd_spc_standard.md: y[15] <- 10 (R, 1-based).
    y = list(RNORM_123)
    y[14] = 10.0
    screened = spc(y)
    # r2 (screen_outliers = TRUE): mean 0.6694159, lpl -2.383666, upl 3.722497
    assert screened["mean"].iloc[0] == pytest.approx(0.6694159, **DP4)
    assert screened["lower_limit"].iloc[0] == pytest.approx(-2.383666, **DP4)
    assert screened["upper_limit"].iloc[0] == pytest.approx(3.722497, **DP4)
    # the two moving ranges touching the outlier (9.889317, 8.213087) are screened
    assert screened["moving_range_excluded"].tolist() == [i in (14, 15) for i in range(20)]
    # r3 (screen_outliers = FALSE): lpl -4.596625, upl 5.935457
    raw = spc(y, screen_outliers=False)
    assert raw["lower_limit"].iloc[0] == pytest.approx(-4.596625, **DP4)
    assert raw["upper_limit"].iloc[0] == pytest.approx(5.935457, **DP4)
    assert not raw["moving_range_excluded"].any()


def test_rebase_matches_nhsrplotthedots_facet_snapshot():
    # _snaps/ptd_spc.md: the same 20 points split 10/10 give mean 0.0746,
    # lpl -2.60, upl 2.75 and mean 0.209, lpl -3.28, upl 3.70 (printed to 3
    # significant figures).  A rebase at the 11th point gives the same split.
    # 4dp by hand for the first segment: mean = 0.7462564 / 10 = 0.0746256;
    # the 9 moving ranges sum to 9.0514660 -> mean mR 1.0057184 (none screened:
    # the largest, 1.788886, is below 3.267 * 1.0057 = 3.2857);
    # limits 0.0746256 -/+ 2.66 * 1.0057184 = -2.6005854, 2.7498367.
    d = spc(RNORM_123, rebase=[10])
    seg = d.groupby("segment")[["mean", "lower_limit", "upper_limit"]].first()
    np.testing.assert_allclose(seg.loc[0].to_numpy(), [0.0746, -2.60, 2.75], atol=5e-3)
    np.testing.assert_allclose(seg.loc[1].to_numpy(), [0.209, -3.28, 3.70], atol=5e-3)
    assert seg.loc[0, "mean"] == pytest.approx(0.0746256, **DP4)
    assert seg.loc[0, "lower_limit"] == pytest.approx(-2.6005854, **DP4)
    assert seg.loc[0, "upper_limit"] == pytest.approx(2.7498367, **DP4)
    # each segment's first moving range is undefined (no range across a rebase)
    assert np.isnan(d["moving_range"].iloc[10])
    assert d["segment"].tolist() == [0] * 10 + [1] * 10
    assert d["trial_limits"].all()  # 10 points each < 13


# ---------------------------------------------------------------------------
# limits and screening, worked by hand
# ---------------------------------------------------------------------------
def test_limits_hand_worked():
    # 10, 12, 11, 13, 12, 14: mean = 72/6 = 12; moving ranges 2,1,2,1,2 ->
    # mean mR = 8/5 = 1.6 (none >= 3.267 * 1.6 = 5.2272).
    # limits 12 -/+ 2.66 * 1.6 = 7.744, 16.256
    # 2-sigma 12 -/+ (2/3)(2.66)(1.6) = 12 -/+ 2.837333 = 9.162667, 14.837333
    d = spc([10, 12, 11, 13, 12, 14])
    row = d.iloc[0]
    assert row["mean"] == pytest.approx(12.0, **DP4)
    assert row["lower_limit"] == pytest.approx(7.744, **DP4)
    assert row["upper_limit"] == pytest.approx(16.256, **DP4)
    assert row["lower_2sigma"] == pytest.approx(9.162667, **DP4)
    assert row["upper_2sigma"] == pytest.approx(14.837333, **DP4)
    assert np.isnan(d["moving_range"].iloc[0])
    assert d["moving_range"].iloc[1:].tolist() == [2, 1, 2, 1, 2]


def test_screening_hand_worked():
    # 10,11,10,11,30,11,10,11,10,11: mean = 125/10 = 12.5
    # mR = 1,1,1,19,19,1,1,1,1 -> mean 45/9 = 5; 3.267 * 5 = 16.335, so both
    # 19s are screened; mean mR = 7/7 = 1 -> limits 12.5 -/+ 2.66 = 9.84, 15.16
    y = [10, 11, 10, 11, 30, 11, 10, 11, 10, 11]
    d = spc(y)
    assert d["lower_limit"].iloc[0] == pytest.approx(9.84, **DP4)
    assert d["upper_limit"].iloc[0] == pytest.approx(15.16, **DP4)
    assert d["moving_range_excluded"].tolist() == [i in (4, 5) for i in range(10)]
    # unscreened: mean mR 5 -> 12.5 -/+ 13.3 = -0.8, 25.8
    d = spc(y, screen_outliers=False)
    assert d["lower_limit"].iloc[0] == pytest.approx(-0.8, **DP4)
    assert d["upper_limit"].iloc[0] == pytest.approx(25.8, **DP4)


def test_screening_threshold_3_267_either_side():
    # Moving ranges 1,1,1,1,J,1,1,1,1 (9 of them), mean (8 + J)/9.
    # J = 4.8: mean 12.8/9 = 1.422222, 3.267 * 1.422222 = 4.646400 <= 4.8 ->
    #   screened; mean mR becomes 1; series mean (52 + 72)/10 = 12.4;
    #   limits 12.4 -/+ 2.66 = 9.74, 15.06.
    y = [10, 11, 10, 11, 10, 14.8, 13.8, 14.8, 13.8, 14.8]
    d = spc(y)
    assert d["moving_range_excluded"].tolist() == [i == 5 for i in range(10)]
    assert d["lower_limit"].iloc[0] == pytest.approx(9.74, **DP4)
    assert d["upper_limit"].iloc[0] == pytest.approx(15.06, **DP4)
    # J = 4.4: mean 12.4/9 = 1.377778, 3.267 * 1.377778 = 4.501200 > 4.4 ->
    #   kept; series mean (52 + 70)/10 = 12.2; limits 12.2 -/+ 2.66 * 1.377778
    #   = 12.2 -/+ 3.664889 = 8.535111, 15.864889.
    y = [10, 11, 10, 11, 10, 14.4, 13.4, 14.4, 13.4, 14.4]
    d = spc(y)
    assert not d["moving_range_excluded"].any()
    assert d["lower_limit"].iloc[0] == pytest.approx(8.535111, **DP4)
    assert d["upper_limit"].iloc[0] == pytest.approx(15.864889, **DP4)


def test_single_jump_is_screened_and_constant_segment_has_flat_limits():
    # ptd keeps mR only when mR < 3.267 * mean mR.  Nine zeros then a 1:
    # mR = 0 x8 plus 1; mean mR = 1/9 and 3.267/9 = 0.363 < 1, so the jump is
    # screened; the remaining mean mR is 0 -> limits = mean (documented
    # deviation: ptd would return NA limits here).
    d = spc([0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
    assert d["moving_range_excluded"].iloc[9]
    assert d["upper_limit"].iloc[0] == pytest.approx(d["mean"].iloc[0])


# ---------------------------------------------------------------------------
# rules: hand-built series on a fixed baseline
# ---------------------------------------------------------------------------
# Baseline: 10, 14 alternating (12 points) with fix_after=12 -> mean 12,
# every moving range 4 -> limits 12 -/+ 2.66*4 = 1.36, 22.64;
# 2-sigma lines 12 -/+ (2/3)(2.66)(4) = 12 -/+ 7.093333 = 4.906667, 19.093333.
BASE = [10, 14] * 6


def _run(tail, improvement="increase"):
    return spc(BASE + list(tail), improvement=improvement, fix_after=12)


def _flagged(d):
    return {i: r for i, r in enumerate(d["rule"]) if r is not None}


def test_baseline_limits():
    d = _run([])
    assert d["lower_limit"].iloc[0] == pytest.approx(1.36, **DP4)
    assert d["upper_limit"].iloc[0] == pytest.approx(22.64, **DP4)
    assert d["lower_2sigma"].iloc[0] == pytest.approx(4.906667, **DP4)
    assert d["upper_2sigma"].iloc[0] == pytest.approx(19.093333, **DP4)
    assert _flagged(d) == {}


def test_rule_outside_limits():
    # 25 > 22.64 (upper limit); 12 sits on the mean.
    d = _run([12, 25, 12])
    assert _flagged(d) == {13: "outside_limits"}
    assert d["direction"].iloc[13] == "high"
    assert d["variation"].iloc[13] == "special_cause_improvement"
    assert _run([12, 25, 12], "decrease")["variation"].iloc[13] == "special_cause_concern"
    assert _run([12, 25, 12], "neutral")["variation"].iloc[13] == "special_cause_neutral"
    low = _run([12, 0, 12])  # 0 < 1.36
    assert _flagged(low) == {13: "outside_limits"} and low["direction"].iloc[13] == "low"
    assert low["variation"].iloc[13] == "special_cause_concern"


def test_rule_trend_seven_points():
    # 14 -> 6 falls, then 6, 8, ..., 18: six rises in a row = 7 points.
    # None is outside 1.36..22.64 or beyond 4.9067/19.0933; they straddle the mean.
    d = _run([6, 8, 10, 12, 14, 16, 18])
    assert _flagged(d) == {i: "trend" for i in range(12, 19)}
    assert set(d["direction"].iloc[12:19]) == {"high"}
    assert set(d["variation"].iloc[12:19]) == {"special_cause_improvement"}
    # decreasing trend read with improvement = decrease
    d = _run([18, 16, 14, 12, 10, 8, 6], "decrease")
    assert _flagged(d) == {i: "trend" for i in range(12, 19)}
    assert set(d["direction"].iloc[12:19]) == {"low"}
    assert set(d["variation"].iloc[12:19]) == {"special_cause_improvement"}


def test_rule_trend_needs_strict_moves_and_seven_points():
    assert _flagged(_run([6, 8, 10, 12, 14, 16])) == {}  # only 6 points
    assert _flagged(_run([6, 8, 10, 10, 14, 16, 18])) == {}  # a tie breaks the run


def test_rule_two_in_three():
    # 20 and 20 lie between the 2-sigma line (19.0933) and the limit (22.64);
    # 13 is above the mean, so all three are on the same side: the two close
    # points are flagged, the middle one is not (ptd_part_of_two_in_three).
    d = _run([20, 13, 20])
    assert _flagged(d) == {12: "two_in_three", 14: "two_in_three"}
    assert d["direction"].iloc[12] == "high"


def test_rule_two_in_three_needs_same_side_of_mean():
    # NHSRplotthedots test-ptd_spc_standard.R: close points on opposite sides
    # of the mean are not special cause; nor are two close points around a
    # point below the mean (|sum of signs| must be 3).
    assert _flagged(_run([20, 4, 13])) == {}
    assert _flagged(_run([20, 11, 20])) == {}


def test_nhsrplotthedots_two_in_three_opposite_sides_example():
    # test-ptd_spc_standard.R: rep(c(1, -1), 8) with data[15] = 5.5 and
    # data[16] = -5.5 -> the last two points are common cause.
    y = [1.0, -1.0] * 8
    y[14], y[15] = 5.5, -5.5
    d = spc(y)
    assert d["variation"].iloc[-2:].tolist() == ["common_cause", "common_cause"]


def test_rule_shift_seven_points_one_side():
    # 12 (idx 11 is 14) then 13, 12.5 alternating: with idx 11 that makes
    # 7 points above the mean of 12 -> all seven flagged.
    d = _run([13, 12.5, 13, 12.5, 13, 12.5])
    assert _flagged(d) == {i: "shift" for i in range(11, 18)}
    # only 6 in a row: no signal
    assert _flagged(_run([13, 12.5, 13, 12.5, 13])) == {}
    # a point exactly on the mean breaks the run
    assert _flagged(_run([13, 12.5, 12, 13, 12.5, 13, 12.5])) == {}


def test_precedence_outside_over_trend():
    # 6, 8, ..., 16, 23: a 7-point rise whose last point is beyond 22.64.
    d = _run([6, 8, 10, 12, 14, 16, 23])
    assert _flagged(d) == {**{i: "trend" for i in range(12, 18)}, 18: "outside_limits"}


def test_precedence_trend_over_shift():
    # 12.5 .. 15.5 rising by 0.5, all above the mean: both trend and shift;
    # trend wins for the 7 rising points, idx 11 (14) is shift only.
    d = _run([12.5, 13, 13.5, 14, 14.5, 15, 15.5])
    assert _flagged(d) == {11: "shift", **{i: "trend" for i in range(12, 19)}}


def test_precedence_two_in_three_over_shift():
    d = _run([13, 20, 13, 20, 13, 13.5, 13])
    expected = {i: "shift" for i in range(11, 19)}
    expected.update({13: "two_in_three", 15: "two_in_three"})
    assert _flagged(d) == expected


# ---------------------------------------------------------------------------
# rule helpers against NHSRplotthedots' own unit-test expectations
# ---------------------------------------------------------------------------
def test_helpers_match_nhsrplotthedots_unit_tests():
    # test-ptd_calculate_point_type.R
    f = spc_mod._seven_point_one_side_mean
    assert f(np.ones(6)).tolist() == [0] * 6
    assert f(np.array([1] * 6 + [-1])).tolist() == [0] * 7
    assert f(np.array([1] * 8 + [-1])).astype(int).tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 0]
    assert f(np.array([-1] * 8 + [1])).astype(int).tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 0]
    t = spc_mod._seven_point_trend
    assert t(np.arange(1, 7)).tolist() == [0] * 6
    assert t(np.array([1, 2, 3, 3, 4, 5, 6])).tolist() == [0] * 7
    assert t(np.arange(1, 8)).tolist() == [0] * 6 + [1]
    assert t(np.array([2, 1, 2, 3, 4, 5, 6, 7, 3])).tolist() == [0] * 7 + [1, 0]
    assert t(np.arange(7, 0, -1)).tolist() == [0] * 6 + [-1]
    assert t(np.array([2, 7, 6, 5, 4, 3, 2, 1, 3])).tolist() == [0] * 7 + [-1, 0]
    p = spc_mod._part_of_seven
    assert p(np.array([0, 0, 0, 0, 0, 0, 1, 1, 0])).astype(int).tolist() == [1, 1, 1, 1, 1, 1, 1, 1, 0]


# ---------------------------------------------------------------------------
# rebase, dates, short series, missing values
# ---------------------------------------------------------------------------
def test_rebase_by_date_gives_separate_limits():
    # 14 points of 10/14 then 14 points of 30/34: each segment has mean 12 or
    # 32 and mean mR 4 -> limits 12 -/+ 10.64 and 32 -/+ 10.64, no signals.
    y = [10, 14] * 7 + [30, 34] * 7
    dates = pd.date_range("2022-01-01", periods=28, freq="MS")
    d = spc(y, dates=dates, rebase=[dates[14]])
    assert d["segment"].tolist() == [0] * 14 + [1] * 14
    assert d["mean"].iloc[0] == pytest.approx(12) and d["mean"].iloc[-1] == pytest.approx(32)
    assert d["lower_limit"].iloc[0] == pytest.approx(1.36, **DP4)
    assert d["upper_limit"].iloc[-1] == pytest.approx(42.64, **DP4)
    assert not d["trial_limits"].any()
    assert d["rule"].isna().all()
    # a rebase date between periods starts the segment at the next period
    d2 = spc(y, dates=dates, rebase=["2023-02-15"])
    assert d2["segment"].tolist() == [0] * 14 + [1] * 14
    # without the rebase the jump is a signal
    d3 = spc(y, dates=dates)
    assert d3["rule"].notna().any()
    assert (d["date"] == dates).all()


def test_dates_are_sorted_and_rebase_by_position():
    dates = ["2024-03", "2024-01", "2024-02"]
    d = spc([3.0, 1.0, 2.0], dates=dates)
    assert d["date"].tolist() == ["2024-01", "2024-02", "2024-03"]
    assert d["value"].tolist() == [1.0, 2.0, 3.0]
    d = spc([1, 2, 3, 4, 5, 6], rebase=[3])
    assert d["segment"].tolist() == [0, 0, 0, 1, 1, 1]


def test_short_series_gets_trial_limits_and_summary_says_so():
    d = spc([10, 12, 11, 13, 12, 14])
    assert d["trial_limits"].all() and (d["segment_points"] == 6).all()
    assert np.isfinite(d["lower_limit"]).all()
    s = spc_summary(d, "increase")
    assert s["enough_points"] is False
    assert s["sentence"].startswith("Not enough points (6 of 13)")
    d13 = spc([10, 12] * 6 + [11])
    assert not d13["trial_limits"].any()
    assert spc_summary(d13, "increase")["enough_points"] is True
    assert spc([1, 2, 3], min_points=3)["trial_limits"].sum() == 0


def test_missing_values_keep_their_row():
    y = [10, 14] * 6
    y[5] = np.nan
    d = spc(y)
    assert len(d) == 12 and np.isnan(d["value"].iloc[5])
    assert d["rule"].iloc[5] is None and d["variation"].iloc[5] is None
    assert d["segment_points"].iloc[0] == 11
    # mean of the 11 values: (6*10 + 5*14)/11 = 130/11
    assert d["mean"].iloc[0] == pytest.approx(130 / 11, **DP4)


def test_bad_arguments():
    with pytest.raises(ValueError):
        spc([1, 2, 3], improvement="up")
    with pytest.raises(ValueError):
        spc([1, 2, 3], dates=["a", "b"])


# ---------------------------------------------------------------------------
# summary: icons, assurance, sentence
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "target, improvement, expected",
    [
        # ptd_calculate_assurance_type: limits 1.36 .. 22.64
        (30, "increase", "consistently_fail"),
        (30, "decrease", "consistently_pass"),
        (0, "increase", "consistently_pass"),
        (0, "decrease", "consistently_fail"),
        (12, "increase", "inconsistent"),
        (22.64, "increase", "inconsistent"),  # on the limit is not beyond it
        (None, "increase", "no_target"),
        (30, "neutral", "not_applicable"),
    ],
)
def test_assurance(target, improvement, expected):
    assert assurance_type(target, 1.36, 22.64, improvement) == expected
    d = spc(BASE + [12], improvement=improvement, target=target, fix_after=12)
    assert spc_summary(d)["assurance"] == expected


def test_summary_icons_and_sentence():
    d = spc(BASE + [12, 25], improvement="increase", target=0, fix_after=12)
    s = spc_summary(d, "increase", fmt=lambda v: f"{v:.0f}%")
    assert s["variation"] == "special_cause_improvement"
    assert s["variation_icon"] == "SI-H"
    assert s["assurance"] == "consistently_pass" and s["assurance_icon"] == "P"
    assert s["sentence"] == (
        "Special cause improvement: the latest point is above the upper limit; the target of 0% is consistently met."
    )
    d = spc(BASE + [12, 25], improvement="decrease", fix_after=12)
    assert spc_summary(d)["variation_icon"] == "SC-H"
    d = spc(BASE + [12, 0], improvement="neutral", fix_after=12)
    assert spc_summary(d)["variation_icon"] == "SN-L"
    d = spc(BASE + [18, 16, 14, 12, 10, 8, 6], improvement="increase", fix_after=12)
    s = spc_summary(d)
    assert s["variation_icon"] == "SC-L" and "run of 7 decreasing points" in s["sentence"]
    d = spc(BASE + [12], target=30, fix_after=12)
    s = spc_summary(d, "increase")
    assert s["variation_icon"] == "CC" and s["assurance_icon"] == "F"
    assert s["sentence"] == (
        "Common cause variation: the latest point (12) is within the expected range of 1.36 to 22.64; "
        "the target of 30 is consistently missed."
    )
