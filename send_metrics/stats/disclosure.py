"""Statistical disclosure control (SDC) for every table, chart, label and download.

Purpose
-------
Small counts about children with SEND can identify a child, so (BRIEF section
7) counts in a configurable range (default 1-4; e.g. 1-10 for linked health
data) are suppressed, rates built on them are suppressed too, and further
cells are suppressed so that no suppressed value can be recovered by
subtraction - from a total, or by combining overlapping geographies
(localities sum to councils, to health footprints and to Cumbria; North +
South = Cumbria = Cumberland + Westmorland and Furness).

* :func:`primary_suppress` - mask of counts inside the threshold range.
* :func:`round_to_base` - optional rounding to a base (e.g. 5).
* :func:`secondary_suppress` - complementary suppression over additive
  hierarchies, iterated to a fixed point and verified by linear algebra and,
  optionally, by linear-programming bounds over non-negative counts (the
  equations, the tests and the loop are in ``recoverability``).
* :func:`suppress` - primary + secondary in one call.
* :func:`audit_suppression` - report any suppressed cell still recoverable.
* :func:`apply_to_rates` - null rates / percentages whose numerator or
  denominator is suppressed.

Invariants
----------
* Pure functions: inputs are never modified; a new DataFrame is returned with
  the original index and row order.
* A suppressed cell is never un-suppressed; secondary suppression only adds.
* Suppression never changes values: the count column keeps the true value so
  later stages can still compute on it; callers must hide suppressed values
  at every output (use :func:`apply_to_rates` and the ``suppressed`` flag).
* Cells are compared only within a group (same measure, period, filters...),
  given by ``group_cols``.  Within a group each ``area_code`` occurs once.
* Every cell that is published (not suppressed, value not NaN) is assumed known
  to an attacker, together with the hierarchy equations and the fact that
  counts are non-negative.  Cells absent from a group, or with a NaN value,
  are treated as unpublished unknowns.  If a total is published in another
  table, include it in the same group so that it is taken into account.
* Guarantee after :func:`secondary_suppress`: for every suppressed cell with a
  known value, its unit vector is not in the row space of the equation
  matrix restricted to the unknown cells (it cannot be derived by any linear
  combination of the published cells), and with ``check_bounds=True`` the
  non-negative counts consistent with what is published allow at least two
  integer values for it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from send_metrics.stats.recoverability import GroupEquations, Hierarchy, protect_group

__all__ = [
    "primary_suppress",
    "round_to_base",
    "secondary_suppress",
    "suppress",
    "audit_suppression",
    "apply_to_rates",
    "primary_reason",
    "complement_suppress",
    "complement_reason",
    "group_max",
    "PUBLISHER_LEVELS",
]

# Area levels whose figures the publisher (DfE) itself shows: the complement and small-group
# rules below are not applied to them (their figures stay as published, issue 17.10); every other
# level (a locality, a former district, a health footprint...) is a table the dashboard makes itself.
PUBLISHER_LEVELS = frozenset({"england", "region", "council", "former_council", "combined"})


def primary_reason(threshold_low: float = 1, threshold_high: float = 4) -> str:
    """Text of the primary suppression reason, e.g. ``"primary: count 1–4"``."""
    return f"primary: count {threshold_low:g}–{threshold_high:g}"


def primary_suppress(
    counts: Any, threshold_low: float = 1, threshold_high: float = 4, suppress_zero: bool = False
) -> Any:
    """Boolean mask of counts that must be suppressed (primary suppression).

    A count ``c`` is suppressed when ``max(threshold_low, 1) <= c <= threshold_high``
    (default 1-4, i.e. "fewer than 5 but not zero"): zero is never a disclosive
    small count, so a range starting at 0 means the same as one starting at 1,
    and an empty range (e.g. 0-0 or 1-0) suppresses nothing.  Zero is flagged
    only with ``suppress_zero``.  NaN is never flagged (there is nothing to hide).

    Source: ONS "Statistical disclosure control policy for tables"; NHS
    England / NHS Digital small-number suppression rule (1-7 or 1-4 as
    configured); DfE EES "c" symbol convention.  Scalars give ``bool``,
    arrays / Series give a numpy bool array.
    """
    scalar = np.ndim(counts) == 0
    c = np.asarray(counts, dtype=float)
    mask = (c >= max(threshold_low, 1)) & (c <= threshold_high)
    if suppress_zero:
        mask = mask | (c == 0)
    if scalar:
        return bool(mask)
    return np.asarray(mask, dtype=bool)


def group_max(threshold_high: float = 4) -> int:
    """Largest group (denominator) in which none or all having an attribute is itself disclosive.

    A group of 5-10 children of whom 0 or all were, say, seen on time tells every parent of
    every child in it what happened to their child. The range starts just above the
    suppression range and ends at twice its top plus two (default 5-10; 11-22 with a 1-10 rule).
    """
    return int(2 * (threshold_high + 1))


def complement_reason(kind: str, threshold_low: float = 1, threshold_high: float = 4) -> str:
    """Reason text for :func:`complement_suppress` ("complement" or "group")."""
    if kind == "complement":
        return (f"primary: the rest of the group (denominator minus numerator) is "
                f"{threshold_low:g}–{threshold_high:g}")
    return f"primary: none or all of a group of {threshold_high + 1:g}–{group_max(threshold_high)}"


def complement_suppress(numerator: Any, denominator: Any, threshold_low: float = 1,
                        threshold_high: float = 4) -> tuple[np.ndarray, np.ndarray]:
    """Masks (complement, group) of part-of-group counts that disclose through the rest of the group.

    For a numerator that counts part of its denominator (64 of 68 plans issued on time):

    * complement: ``denominator - numerator`` is a count in the suppression range (4 late);
    * group: the denominator is a small group (``threshold_high + 1`` to :func:`group_max`) and
      the numerator is 0 or the whole group (attribute disclosure: all 7 were late).

    An empty suppression range (e.g. 1-0) switches both off, as it does primary suppression.
    Either way the numerator must be withheld (with the denominator published, the numerator
    and the complement are recoverable from each other). NaN gives False. Source: ONS
    "Statistical disclosure control policy for tables produced from administrative sources"
    (group disclosure: zeros and full cells in small groups); Hundepool et al. (2012) 4.2.
    """
    x = np.atleast_1d(np.asarray(numerator, dtype=float))
    n = np.atleast_1d(np.asarray(denominator, dtype=float))
    ok = np.isfinite(x) & np.isfinite(n) & (x <= n)
    ok &= n > threshold_high  # a small group is suppressed as a count in its own right
    comp = np.asarray(primary_suppress(np.where(ok, n - x, np.nan), threshold_low, threshold_high),
                      dtype=bool) & ok
    small_group = ok & (n >= threshold_high + 1) & (n <= group_max(threshold_high))
    if max(threshold_low, 1) > threshold_high:  # an empty suppression range switches control off
        small_group &= False
    group = small_group & ((x == 0) | (x == n)) & ~comp
    return comp, group


def round_to_base(counts: Any, base: int = 5) -> Any:
    """Round counts to the nearest multiple of ``base`` (halves round up).

    ``round_to_base([0, 2, 3, 7, 8, 12.5], 5) -> [0, 0, 5, 5, 10, 15]``;
    NaN stays NaN.  Source: ONS rounding convention for published counts
    (e.g. Census and DfE tables rounded to the nearest 5).
    """
    if base <= 0:
        raise ValueError("base must be positive")
    scalar = np.ndim(counts) == 0
    c = np.asarray(counts, dtype=float)
    out = np.floor(c / base + 0.5) * base
    if scalar:
        return float(out)
    return out


def _group_keys(cells: pd.DataFrame, group_cols: Sequence[str] | None, exclude: Iterable[str]) -> list[str]:
    if group_cols is not None:
        return list(group_cols)
    ex = set(exclude)
    return [c for c in cells.columns if c not in ex]


def secondary_suppress(
    cells: pd.DataFrame,
    hierarchies: Sequence[Hierarchy],
    value_col: str = "count",
    suppressed_col: str = "suppressed",
    *,
    area_col: str = "area_code",
    group_cols: Sequence[str] | None = None,
    reason_col: str = "suppression_reason",
    primary_reason_text: str | None = None,
    labels: Mapping[str, str] | None = None,
    check_bounds: bool = True,
    fixed_areas: Iterable[str] = (),
) -> pd.DataFrame:
    """Complementary (secondary) suppression over additive area hierarchies.

    Parameters
    ----------
    cells : DataFrame
        One row per published cell: ``area_col``, the grouping columns
        (measure, period, filters...), ``value_col`` (the true count) and the
        boolean ``suppressed_col`` (primary suppression already applied).
    hierarchies : list of ``(parent_code, [child_codes])``
        Additive relationships ``parent = sum(children)``, e.g.
        ``("E06000063", ["LOC-ALLERDALE", "LOC-CARLISLE", "LOC-COPELAND-N",
        "LOC-MILLOM"])``.  Overlapping and redundant relationships are fine.
    group_cols : list of str, optional
        Columns identifying a group of comparable cells.  Default: every
        column except area, value, flag and reason - pass it explicitly when
        the frame also carries per-area numbers such as rates or
        denominators.
    primary_reason_text : str, optional
        Reason for cells that arrive suppressed without one (default
        ``"primary: count 1–4"``).
    labels : mapping, optional
        Area names used in the reason text instead of codes.
    check_bounds : bool
        Also require, by linear programming over non-negative counts, that at
        least two integer values remain possible for each suppressed cell
        (catches disclosure by bounds that the rank test cannot see).
    fixed_areas : iterable of str
        Areas whose figures a publisher shows as they are (a council's DfE
        figure, issue 17.10): chosen as complements only when no other cell
        can protect a suppressed one (so protection never fails open).

    Algorithm (per group, repeated until nothing changes)
    -----------------------------------------------------
    1. For every equation with exactly one unknown term, where that term is a
       suppressed cell, suppress one more term of that equation: the smallest
       unsuppressed child, or the parent if no child is left.
    2. Linear-algebra check: with ``A_U`` the equation matrix restricted to the
       unknown cells (suppressed, NaN or absent), a suppressed cell is
       recoverable iff its unit vector lies in the row space of ``A_U``
       (``rank([A_U; e_u]) == rank(A_U)``).  For a recoverable cell, suppress a
       term of one of its equations (children first, smallest first; the first
       choice that removes the problem) and go back to 1.
    3. Optional bounds check (``check_bounds``), handled as in 2.

    Source: Hundepool A et al. (2012) Statistical Disclosure Control, Wiley,
    (secondary cell suppression, linked tables); ONS "Statistical
    disclosure control policy for tables produced from administrative
    sources"; Cox LH (1980) "Suppression methodology and statistical
    disclosure control", JASA 75:377-385.

    Returns
    -------
    DataFrame
        A copy with ``suppressed_col`` updated and ``reason_col`` filled
        ("primary: count 1–4", "secondary: protects a suppressed cell in
        <parent>", or None).
    """
    labels = dict(labels or {})
    reason_default = primary_reason_text or primary_reason()
    out = cells.copy()
    sup = out[suppressed_col].fillna(False).astype(bool).to_numpy().copy()
    if reason_col in out.columns:
        reasons = np.array(out[reason_col].tolist(), dtype=object)
        reasons = np.array([r if isinstance(r, str) else None for r in reasons], dtype=object)
    else:
        reasons = np.full(len(out), None, dtype=object)
    for i in np.flatnonzero(sup):
        if reasons[i] is None:
            reasons[i] = reason_default
    values = pd.to_numeric(out[value_col], errors="coerce").to_numpy(dtype=float)
    codes = out[area_col].astype(object).to_numpy()

    fixed = frozenset(str(a) for a in fixed_areas)
    keys = _group_keys(out, group_cols, [area_col, value_col, suppressed_col, reason_col])
    if keys:
        grouper = out.groupby(keys, sort=False, dropna=False).indices
        positions = list(grouper.values())
    else:
        positions = [np.arange(len(out))]
    if len(out) > 1 and len(positions) == len(out):
        warnings.warn(
            "every group holds a single cell, so hierarchies cannot be checked; pass group_cols",
            RuntimeWarning,
            stacklevel=2,
        )

    for pos in positions:
        pos = np.asarray(pos)
        if not sup[pos].any():
            continue
        g_codes = [str(c) for c in codes[pos]]
        if len(set(g_codes)) != len(g_codes):
            raise ValueError(f"{area_col} repeated within a group; check group_cols")
        group = GroupEquations(g_codes, values[pos], hierarchies, fixed)
        if not group.eqs:
            continue
        g_sup = sup[pos].copy()
        g_reasons = list(reasons[pos])
        protect_group(group, g_sup, g_reasons, labels, check_bounds)
        sup[pos] = g_sup
        reasons[pos] = np.array(g_reasons, dtype=object)

    out[suppressed_col] = sup
    out[reason_col] = pd.Series(reasons, index=out.index, dtype=object)
    return out


def suppress(
    cells: pd.DataFrame,
    hierarchies: Sequence[Hierarchy],
    value_col: str = "count",
    threshold_low: float = 1,
    threshold_high: float = 4,
    suppress_zero: bool = False,
    **kwargs: Any,
) -> pd.DataFrame:
    """Primary then secondary suppression: adds ``suppressed`` and ``suppression_reason``.

    ``kwargs`` go to :func:`secondary_suppress` (``area_col``, ``group_cols``,
    ``labels``, ``check_bounds``...).  Source: as :func:`primary_suppress` and
    :func:`secondary_suppress`.
    """
    df = cells.copy()
    counts = pd.to_numeric(df[value_col], errors="coerce").to_numpy(dtype=float)
    df["suppressed"] = primary_suppress(counts, threshold_low, threshold_high, suppress_zero)
    text = primary_reason(threshold_low, threshold_high)
    if suppress_zero:
        text += " or zero"
    return secondary_suppress(
        df, hierarchies, value_col=value_col, suppressed_col="suppressed", primary_reason_text=text, **kwargs
    )


def audit_suppression(
    cells: pd.DataFrame,
    hierarchies: Sequence[Hierarchy],
    value_col: str = "count",
    suppressed_col: str = "suppressed",
    *,
    area_col: str = "area_code",
    group_cols: Sequence[str] | None = None,
    reason_col: str = "suppression_reason",
    check_bounds: bool = True,
) -> pd.DataFrame:
    """Rows whose suppressed value can still be recovered (empty when safe).

    Returns the offending rows of ``cells`` with a ``problem`` column:
    ``"recoverable by linear combination"`` or ``"pinned by non-negativity"``.
    Intended for tests and for a CI check of every published extract.
    """
    sup = cells[suppressed_col].fillna(False).astype(bool).to_numpy()
    values = pd.to_numeric(cells[value_col], errors="coerce").to_numpy(dtype=float)
    codes = cells[area_col].astype(object).to_numpy()
    keys = _group_keys(cells, group_cols, [area_col, value_col, suppressed_col, reason_col])
    if keys:
        positions = list(cells.groupby(keys, sort=False, dropna=False).indices.values())
    else:
        positions = [np.arange(len(cells))]
    bad_rows: list[int] = []
    problems: list[str] = []
    for pos in positions:
        pos = np.asarray(pos)
        if not sup[pos].any():
            continue
        group = GroupEquations([str(c) for c in codes[pos]], values[pos], hierarchies)
        if not group.eqs:
            continue
        g_sup = sup[pos]
        unknown = group.unknown(g_sup)
        for term in group.protected_terms(g_sup):
            problem = None
            if group.recoverable(term, unknown):
                problem = "recoverable by linear combination"
            elif check_bounds and group.pinned(term, unknown):
                problem = "pinned by non-negativity"
            if problem:
                bad_rows.append(int(pos[group.present[term]]))
                problems.append(problem)
    result = cells.iloc[bad_rows].copy()
    result["problem"] = pd.Series(problems, index=result.index, dtype=object)
    return result


def apply_to_rates(
    df: pd.DataFrame,
    rate_cols: str | Sequence[str],
    suppressed_cols: str | Sequence[str] = ("suppressed",),
) -> pd.DataFrame:
    """Null rates (and their CIs) whose numerator or denominator is suppressed.

    Every column in ``rate_cols`` (e.g. ``["rate", "lower", "upper"]``) is set
    to NaN in rows where any of ``suppressed_cols`` (e.g. ``"suppressed"`` for
    the numerator and ``"denominator_suppressed"``) is True.  Returns a copy.
    Source: BRIEF section 7 ("rates built on them" are suppressed); ONS SDC
    policy (a rate reveals its numerator when the denominator is published).
    """
    rate_cols = [rate_cols] if isinstance(rate_cols, str) else list(rate_cols)
    suppressed_cols = [suppressed_cols] if isinstance(suppressed_cols, str) else list(suppressed_cols)
    out = df.copy()
    mask = np.zeros(len(out), dtype=bool)
    for c in suppressed_cols:
        mask |= out[c].fillna(False).astype(bool).to_numpy()
    for c in rate_cols:
        col = pd.to_numeric(out[c], errors="coerce").astype(float).to_numpy().copy()
        col[mask] = np.nan
        out[c] = col
    return out
