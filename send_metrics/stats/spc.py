"""Statistical process control (XmR charts) as NHS England "Making Data Count".

Purpose
-------
Tell the partnership board whether a monthly series shows only common-cause
variation (noise) or a signal, and whether a target will be met reliably.  The
calculations reproduce the R package NHSRplotthedots (``ptd_spc``), the
reference implementation of NHS England's "Making Data Count" (MDC) rules:

* ``ptd_spc_standard``: per segment, mean; moving ranges
  ``mR_i = |x_i - x_(i-1)|``; mean moving range; screening (moving ranges
  ``>= 3.267 x`` the mean moving range are dropped and the mean recomputed);
  process limits ``mean +/- 2.66 x mean mR``; "close to limits" lines at
  ``mean +/- (2/3) x 2.66 x mean mR`` (the 2-sigma lines);
* ``ptd_calculate_point_type`` / ``ptd_special_cause_type``: per-point rules
  in precedence order - outside a limit, part of a run of 7 points all
  increasing or all decreasing, part of "2 of 3" points beyond the 2-sigma
  line, part of a run of 7 points on one side of the mean;
* ``ptd_point_type``: common cause / special cause improvement / concern /
  neutral, from the rule's direction and the improvement direction;
* ``ptd_calculate_assurance_type``: target beyond a process limit ->
  consistently passing or failing, otherwise inconsistent.

Invariants
----------
* :func:`spc` is pure: the input is not modified and the result depends only
  on the arguments.  Rows are returned in date order (input order when no
  dates are given) with a fresh ``RangeIndex``.
* Each segment (created by ``rebase``) has its own mean and limits; no rule
  crosses a segment boundary.
* NaN values keep their row but take no part in any calculation (the moving
  range then spans the gap) and get ``rule=None`` / ``variation=None``.
* Segments shorter than ``min_points`` still get limits, flagged
  ``trial_limits=True`` (MDC: limits from fewer than ~15-20 points are trial
  limits; NHSRplotthedots warns below 12).
* Deviation from NHSRplotthedots, deliberately: when every moving range is 0
  (a constant segment) ptd's strict ``mR < 3.267 x mean mR`` screen drops all
  of them and its limits become NA; here nothing is screened, so the limits
  equal the mean and every point is common cause.
* No Streamlit or plotting here; charts are drawn by the app from the frame.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd

__all__ = [
    "LIMIT_FACTOR",
    "CLOSE_FACTOR",
    "SCREEN_FACTOR",
    "RULES",
    "spc",
    "spc_summary",
    "assurance_type",
]

#: Process limits are mean +/- 2.66 x mean moving range (3 sigma, 2.66 = 3/d2).
LIMIT_FACTOR = 2.66
#: 2-sigma lines: two thirds of the way to the limits.
CLOSE_FACTOR = 2.0 * LIMIT_FACTOR / 3.0
#: Moving ranges at or above 3.267 x the mean moving range are screened out.
SCREEN_FACTOR = 3.267
#: Rule names in precedence order.
RULES = ("outside_limits", "trend", "two_in_three", "shift")

_DIRECTIONS = {"increase": 1, "decrease": -1, "neutral": 0}


# ---------------------------------------------------------------------------
# rule helpers: direct transcriptions of NHSRplotthedots (0-based indices)
# ---------------------------------------------------------------------------
def _windows(a: np.ndarray, width: int) -> np.ndarray:
    return np.lib.stride_tricks.sliding_window_view(a, width)


def _seven_point_one_side_mean(rtm: np.ndarray) -> np.ndarray:
    """ptd_seven_point_one_side_mean: point i ends 7 points on one side."""
    n = rtm.size
    out = np.zeros(n, dtype=bool)
    if n >= 7:
        w = _windows(rtm, 7)
        out[6:] = (w[:, -1] != 0) & (w == w[:, -1:]).all(axis=1)
    return out


def _part_of_seven(flag: np.ndarray) -> np.ndarray:
    """ptd_part_of_seven_trend: point i or one of the next 6 ends a run."""
    n = flag.size
    if n == 0:
        return np.zeros(0, dtype=bool)
    padded = np.concatenate([np.asarray(flag) != 0, np.zeros(6, dtype=bool)])
    return _windows(padded, 7).any(axis=1)


def _seven_point_trend(y: np.ndarray) -> np.ndarray:
    """ptd_seven_point_trend: +1/-1 where point i ends 6 rises/falls in a row."""
    n = y.size
    out = np.zeros(n, dtype=int)
    if n < 7:
        return out
    w = _windows(np.sign(np.diff(y)), 6)
    out[6:] = np.where((w == 1).all(axis=1), 1, np.where((w == -1).all(axis=1), -1, 0))
    return out


def _two_in_three(close: np.ndarray, rtm: np.ndarray) -> np.ndarray:
    """ptd_two_in_three: i lies in a 3-point window with >= 2 points close to a
    limit and all 3 points on the same side of the mean."""
    n = close.size
    c = np.concatenate([[0, 0], close.astype(int), [0, 0]])
    r = np.concatenate([[0, 0], rtm.astype(int), [0, 0]])
    # windows covering original i-2..i, i-1..i+1, i..i+2 start at s = i, i + 1, i + 2
    hit = (_windows(c, 3).sum(axis=1) >= 2) & (np.abs(_windows(r, 3).sum(axis=1)) == 3)
    return hit[:n] | hit[1:n + 1] | hit[2:n + 2]


def _special_cause(
    y: np.ndarray, rtm: np.ndarray, close: np.ndarray, outside: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """ptd_special_cause_type: (rule per point or None, direction +1/-1/0)."""
    n = y.size
    part_trend = _part_of_seven(_seven_point_trend(y))
    part_two = _two_in_three(close, rtm) & close
    part_shift = _part_of_seven(_seven_point_one_side_mean(rtm).astype(int))

    sdy = np.sign(np.diff(y)) if n > 1 else np.zeros(0)
    right = np.concatenate([sdy, sdy[-1:]]) if n > 1 else np.zeros(n)
    left = np.concatenate([[0.0], sdy])
    next_part = np.concatenate([part_trend[1:], [False]])
    trend_dir = np.where(next_part & part_trend, right, left)

    side = np.where(rtm > 0, 1, -1)
    # Rules in precedence order: the first that applies names the point.
    is_out = np.asarray(outside, dtype=bool)
    is_trend = ~is_out & part_trend
    is_two = ~is_out & ~part_trend & part_two
    is_shift = ~is_out & ~part_trend & ~part_two & part_shift
    rule = np.full(n, None, dtype=object)
    rule[is_out] = "outside_limits"
    rule[is_trend] = "trend"
    rule[is_two] = "two_in_three"
    rule[is_shift] = "shift"
    direction = np.zeros(n, dtype=int)
    direction[is_out] = np.where(rtm[is_out] == 1, 1, -1)
    direction[is_trend] = np.where(trend_dir[is_trend] == 1, 1, -1)
    direction[is_two] = side[is_two]
    direction[is_shift] = side[is_shift]
    return rule, direction


def _variation(direction: np.ndarray, improvement: int) -> np.ndarray:
    """ptd_point_type: orient the special-cause direction."""
    out = np.full(direction.size, "common_cause", dtype=object)
    if improvement == 0:
        out[direction != 0] = "special_cause_neutral"
    else:
        v = direction * improvement
        out[v > 0] = "special_cause_improvement"
        out[v < 0] = "special_cause_concern"
    return out


# ---------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------
def _segments(n: int, dates: Any, rebase: Any) -> np.ndarray:
    """Segment number per (sorted) row from rebase dates or positions."""
    starts = np.zeros(n, dtype=bool)
    if rebase is not None:
        items = list(rebase) if np.ndim(rebase) else [rebase]
        for r in items:
            if dates is None:
                i = int(r)
                if not 0 <= i < n:
                    raise ValueError(f"rebase position {r!r} outside 0..{n - 1}")
                starts[i] = True
            else:
                after = np.flatnonzero(np.asarray(dates >= _coerce_like(r, dates)))
                if after.size:
                    starts[after[0]] = True
    if n:
        starts[0] = False
    return np.cumsum(starts)


def _coerce_like(value: Any, dates: pd.Series) -> Any:
    if pd.api.types.is_datetime64_any_dtype(dates):
        return pd.Timestamp(value)
    return value


def spc(
    values: Any,
    improvement: str = "increase",
    target: Any = None,
    dates: Any = None,
    rebase: Any = None,
    min_points: int = 13,
    fix_after: int | None = None,
    screen_outliers: bool = True,
) -> pd.DataFrame:
    """XmR chart with Making Data Count rules, as NHSRplotthedots ``ptd_spc``.

    Parameters
    ----------
    values : array-like of float
        The series (one value per period, no gaps in time).
    improvement : {"increase", "decrease", "neutral"}
        Direction of improvement (ptd ``improvement_direction``).
    target : float, array-like or None
        A target (ptd ``target``); stored in the ``target`` column and used by
        :func:`spc_summary` for assurance.
    dates : array-like or None
        Period of each value; rows are sorted by it (stable).  Without dates
        the input order is used.
    rebase : iterable or None
        Where the limits are recalculated (ptd ``rebase``): dates (a new
        segment starts at the first period on or after each date) or, without
        ``dates``, 0-based row positions.
    min_points : int
        Segments with fewer non-NaN points get ``trial_limits=True`` (13).
    fix_after : int or None
        ptd ``fix_after_n_points``: mean and moving ranges from the first
        ``fix_after`` points of each segment only; later points are judged
        against those fixed limits.
    screen_outliers : bool
        ptd ``screen_outliers`` (default True): drop moving ranges
        ``>= 3.267 x`` the mean moving range before the final mean mR.

    Returns
    -------
    pandas.DataFrame
        One row per value with columns ``date`` (only when ``dates`` given),
        ``value``, ``segment``, ``mean``, ``lower_limit``, ``upper_limit``,
        ``lower_2sigma``, ``upper_2sigma``, ``moving_range`` (raw, NaN at a
        segment start), ``moving_range_excluded`` (screened out),
        ``rule`` (None or one of ``RULES``: ``outside_limits``, ``trend``,
        ``two_in_three``, ``shift``), ``direction`` ("high"/"low"/None),
        ``variation`` (``common_cause``, ``special_cause_improvement``,
        ``special_cause_concern``, ``special_cause_neutral``; None for NaN
        values), ``trial_limits``, ``segment_points``, ``target``.

    Source: NHS England / NHS Improvement "Making Data Count" (2019) and
    "Making Data Count: strengthening your decisions"; NHSRplotthedots
    (nhs-r-community) ``ptd_spc_standard``, ``ptd_special_cause_type``,
    ``ptd_point_type``; Wheeler DJ (1995) Advanced Topics in SPC (2.66 and
    3.267 constants).
    """
    if improvement not in _DIRECTIONS:
        raise ValueError("improvement must be 'increase', 'decrease' or 'neutral'")
    y_in = np.asarray(values, dtype=float).ravel()
    n = y_in.size
    if dates is not None:
        d_ser = pd.Series(pd.Series(dates).to_numpy()).reset_index(drop=True)
        if d_ser.size != n:
            raise ValueError("dates must have the same length as values")
        order = np.argsort(d_ser.to_numpy(), kind="stable")
        d_ser = d_ser.iloc[order].reset_index(drop=True)
    else:
        d_ser = None
        order = np.arange(n)
    y = y_in[order]
    if target is None:
        tgt = np.full(n, np.nan)
    elif np.ndim(target) == 0:
        tgt = np.full(n, float(target))
    else:
        tgt = np.asarray(target, dtype=float).ravel()
        if tgt.size != n:
            raise ValueError("target must be a scalar or have the same length as values")
        tgt = tgt[order]

    segment = _segments(n, d_ser, rebase)
    cols: dict[str, np.ndarray] = {
        name: np.full(n, np.nan)
        for name in ("mean", "lower_limit", "upper_limit", "lower_2sigma", "upper_2sigma", "moving_range")
    }
    excluded = np.zeros(n, dtype=bool)
    rule = np.full(n, None, dtype=object)
    direction = np.full(n, None, dtype=object)
    variation = np.full(n, None, dtype=object)
    trial = np.zeros(n, dtype=bool)
    seg_points = np.zeros(n, dtype=int)
    imp = _DIRECTIONS[improvement]

    for s in np.unique(segment):
        rows = np.flatnonzero((segment == s) & np.isfinite(y))
        seg_points[segment == s] = rows.size
        trial[segment == s] = rows.size < min_points
        if rows.size == 0:
            continue
        ys = y[rows]
        fix = ys if fix_after is None else ys[: int(fix_after)]
        mean = float(np.mean(fix))
        mr_all = np.abs(np.diff(ys))
        cols["moving_range"][rows[1:]] = mr_all
        mr = np.abs(np.diff(fix))
        amr = float(np.mean(mr)) if mr.size else float("nan")
        keep = np.ones(mr.size, dtype=bool)
        if screen_outliers and mr.size and amr > 0:
            keep = mr < SCREEN_FACTOR * amr
            amr = float(np.mean(mr[keep])) if keep.any() else float("nan")
        excluded[rows[1 : 1 + mr.size][~keep]] = True
        lpl, upl = mean - LIMIT_FACTOR * amr, mean + LIMIT_FACTOR * amr
        nlpl, nupl = mean - CLOSE_FACTOR * amr, mean + CLOSE_FACTOR * amr
        cols["mean"][segment == s] = mean
        cols["lower_limit"][segment == s] = lpl
        cols["upper_limit"][segment == s] = upl
        cols["lower_2sigma"][segment == s] = nlpl
        cols["upper_2sigma"][segment == s] = nupl

        outside = (ys > upl) | (ys < lpl)
        rtm = np.sign(ys - mean).astype(int)
        close = ~outside & ((ys < nlpl) | (ys > nupl))
        r, dvec = _special_cause(ys, rtm, close, outside)
        rule[rows] = r
        direction[rows] = np.where(dvec > 0, "high", np.where(dvec < 0, "low", None))
        variation[rows] = _variation(dvec, imp)

    out: dict[str, Any] = {}
    if d_ser is not None:
        out["date"] = d_ser.to_numpy()
    out.update(
        {
            "value": y,
            "segment": segment.astype(int),
            "mean": cols["mean"],
            "lower_limit": cols["lower_limit"],
            "upper_limit": cols["upper_limit"],
            "lower_2sigma": cols["lower_2sigma"],
            "upper_2sigma": cols["upper_2sigma"],
            "moving_range": cols["moving_range"],
            "moving_range_excluded": excluded,
            "rule": pd.Series(rule, dtype=object),
            "direction": pd.Series(direction, dtype=object),
            "variation": pd.Series(variation, dtype=object),
            "trial_limits": trial,
            "segment_points": seg_points,
            "target": tgt,
        }
    )
    df = pd.DataFrame(out)
    df.attrs["improvement"] = improvement
    df.attrs["min_points"] = min_points
    return df


def assurance_type(target: float | None, lower_limit: float, upper_limit: float, improvement: str) -> str:
    """Assurance of meeting a target, as NHSRplotthedots ``ptd_calculate_assurance_type``.

    * ``target > upper_limit``: ``"consistently_fail"`` when improvement is an
      increase, ``"consistently_pass"`` when a decrease;
    * ``target < lower_limit``: ``"consistently_pass"`` (increase) or
      ``"consistently_fail"`` (decrease);
    * otherwise (including NaN limits) ``"inconsistent"``;
    * no target: ``"no_target"``; neutral improvement direction (ptd gives NA):
      ``"not_applicable"``.
    """
    if improvement not in _DIRECTIONS:
        raise ValueError("improvement must be 'increase', 'decrease' or 'neutral'")
    if target is None or (isinstance(target, float) and np.isnan(target)):
        return "no_target"
    if improvement == "neutral":
        return "not_applicable"
    inc = improvement == "increase"
    if target > upper_limit:
        return "consistently_fail" if inc else "consistently_pass"
    if target < lower_limit:
        return "consistently_pass" if inc else "consistently_fail"
    return "inconsistent"


_RULE_TEXT = {
    "outside_limits": {"high": "is above the upper limit", "low": "is below the lower limit"},
    "trend": {"high": "is part of a run of 7 increasing points", "low": "is part of a run of 7 decreasing points"},
    "two_in_three": {
        "high": "is one of 2 in 3 points close to the upper limit",
        "low": "is one of 2 in 3 points close to the lower limit",
    },
    "shift": {
        "high": "is part of a run of 7 points above the mean",
        "low": "is part of a run of 7 points below the mean",
    },
}
_VARIATION_TEXT = {
    "common_cause": "Common cause variation",
    "special_cause_improvement": "Special cause improvement",
    "special_cause_concern": "Special cause concern",
    "special_cause_neutral": "Special cause variation",
}
_ASSURANCE_TEXT = {
    "consistently_pass": "the target of {t} is consistently met",
    "consistently_fail": "the target of {t} is consistently missed",
    "inconsistent": "the target of {t} may or may not be met (it lies between the process limits)",
}
_ASSURANCE_ICON = {"consistently_pass": "P", "consistently_fail": "F", "inconsistent": "?"}


def spc_summary(
    df: pd.DataFrame,
    improvement: str | None = None,
    target: float | None = None,
    fmt: Callable[[float], str] | None = None,
) -> dict[str, Any]:
    """Summarise an :func:`spc` frame as Making Data Count icons and a sentence.

    Keys of the returned dict:

    ``variation``
        The latest (non-NaN) point's variation: ``common_cause``,
        ``special_cause_improvement``, ``special_cause_concern``,
        ``special_cause_neutral`` (None if there is no value).
    ``variation_icon``
        MDC variation icon code: ``"CC"`` common cause (grey);
        ``"SI-H"`` / ``"SI-L"`` special cause improvement, high / low (blue);
        ``"SC-H"`` / ``"SC-L"`` special cause concern, high / low (orange);
        ``"SN-H"`` / ``"SN-L"`` special cause neutral, high / low (purple).
        High/low is the side of the mean (or trend direction) of the rule.
    ``rule``, ``direction``
        The latest point's rule (see :data:`RULES`) and "high"/"low".
    ``assurance``
        :func:`assurance_type` against the latest segment's limits:
        ``consistently_pass``, ``consistently_fail``, ``inconsistent``,
        ``no_target`` or ``not_applicable`` (neutral direction).
    ``assurance_icon``
        ``"P"`` pass, ``"F"`` fail, ``"?"`` inconsistent, None otherwise.
    ``enough_points``
        False when the latest segment has trial limits (fewer than
        ``min_points``); the sentence then starts "Not enough points".
    ``latest_value``, ``mean``, ``lower_limit``, ``upper_limit``,
    ``segment_points``, ``target``, ``sentence``.

    ``improvement`` defaults to the one :func:`spc` recorded; ``target``
    defaults to the frame's ``target`` column; ``fmt`` formats numbers in the
    sentence (default ``"{:g}"``, e.g. pass ``lambda v: f"{v:.0f}%"``).

    Source: NHS England "Making Data Count" variation and assurance icons;
    NHSRplotthedots ``ptd_calculate_assurance_type`` and ``summary.ptd_spc_df``.
    """
    improvement = improvement or df.attrs.get("improvement", "increase")
    if improvement not in _DIRECTIONS:
        raise ValueError("improvement must be 'increase', 'decrease' or 'neutral'")
    fmt = fmt or (lambda v: f"{v:g}")
    valid = df[np.isfinite(df["value"].to_numpy(dtype=float))]
    if target is None and "target" in df and df["target"].notna().any():
        target = float(df["target"].dropna().iloc[-1])
    if valid.empty:
        return {
            "variation": None,
            "variation_icon": None,
            "rule": None,
            "direction": None,
            "assurance": "no_target" if target is None else "inconsistent",
            "assurance_icon": None,
            "enough_points": False,
            "latest_value": float("nan"),
            "mean": float("nan"),
            "lower_limit": float("nan"),
            "upper_limit": float("nan"),
            "segment_points": 0,
            "target": target,
            "sentence": "No data to assess.",
        }
    last = valid.iloc[-1]
    variation = last["variation"]
    rule = last["rule"]
    direction = last["direction"]
    if variation == "common_cause" or direction is None:
        icon = "CC"
    else:
        letter = {"special_cause_improvement": "SI", "special_cause_concern": "SC", "special_cause_neutral": "SN"}[
            variation
        ]
        icon = f"{letter}-{'H' if direction == 'high' else 'L'}"
    lpl, upl = float(last["lower_limit"]), float(last["upper_limit"])
    assurance = assurance_type(target, lpl, upl, improvement)
    enough = not bool(last["trial_limits"])
    seg_n = int(last["segment_points"])
    min_points = int(df.attrs.get("min_points", 13))

    parts = []
    if not enough:
        parts.append(f"Not enough points ({seg_n} of {min_points}) for reliable limits, so these are trial limits. ")
    if variation == "common_cause":
        if np.isfinite(lpl) and np.isfinite(upl):
            parts.append(
                f"Common cause variation: the latest point ({fmt(float(last['value']))}) is within the "
                f"expected range of {fmt(lpl)} to {fmt(upl)}"
            )
        else:
            parts.append("Common cause variation: too few points to set limits")
    else:
        parts.append(f"{_VARIATION_TEXT[variation]}: the latest point {_RULE_TEXT[rule][direction]}")
    if assurance in _ASSURANCE_TEXT:
        parts.append("; " + _ASSURANCE_TEXT[assurance].format(t=fmt(float(target))))
    sentence = "".join(parts) + "."

    return {
        "variation": variation,
        "variation_icon": icon,
        "rule": rule,
        "direction": direction,
        "assurance": assurance,
        "assurance_icon": _ASSURANCE_ICON.get(assurance),
        "enough_points": enough,
        "latest_value": float(last["value"]),
        "mean": float(last["mean"]),
        "lower_limit": lpl,
        "upper_limit": upl,
        "segment_points": seg_n,
        "target": target,
        "sentence": sentence,
    }
