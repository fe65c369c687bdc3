"""The SQL that sums each measure's numerator and denominator (``sql/measure_values.sql`` filled in
from the catalogue), and the quantities those sums are: one key per counted thing, shared by every
measure that counts it, so that disclosure control treats them as one number.

Identifiers come from the catalogue, never from a user, and are checked against a safe pattern
before they are written into SQL (values are always parameters).
"""
from __future__ import annotations

import re

from send_metrics import contract
from send_metrics.contract import codes
from send_metrics.catalogue import Measure
from send_metrics.config import sql_text

def _ident(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"not a safe identifier: {name}")
    return name


def _sum_expr(column: str, condition: str) -> str:
    """Sum that is NULL when any contributing cell is a symbol (a symbol is never a zero)."""
    c = _ident(column)
    cond = condition or "true"
    return (f"CASE WHEN count(*) FILTER (WHERE ({cond}) AND {c} IS NULL) > 0 THEN NULL "
            f"ELSE sum({c}) FILTER (WHERE {cond}) END")


def _symbol_expr(column: str, condition: str) -> str:
    c = _ident(column)
    return f"max({c}_symbol) FILTER (WHERE {condition or 'true'})"


def _sumsq_expr(m: Measure) -> str:
    """Sum of squares of the observations behind a mean (``(n - 1) sd^2 + total^2 / n`` per row),
    NULL when any row lacks its standard deviation; NULL for every other measure."""
    if not (m.kind == "mean" and m.ci_method == "t"):
        return "NULL"
    num, den = _ident(m.numerator), _ident(m.denominator)
    cond = m.numerator_filter or "true"
    return (f"CASE WHEN count(*) FILTER (WHERE ({cond}) AND (sd IS NULL OR {num} IS NULL OR {den} IS NULL "
            f"OR {den} <= 0)) > 0 THEN NULL "
            f"ELSE sum(({den} - 1) * sd * sd + {num} * {num} / {den}) FILTER (WHERE {cond}) END")


def values_sql(m: Measure) -> str:
    ds = contract.DATASETS[m.dataset]
    period = contract.period_column(ds)
    den_same = m.denominator and not m.denominator_dataset
    if den_same:
        den = _sum_expr(m.denominator, m.denominator_filter)
    else:
        den = "NULL"
    numerator = _sum_expr(m.numerator, m.numerator_filter)
    if m.wait_over_weeks is not None:
        # No band edge at N weeks in this area's and month's source (a band straddles it): the share
        # waiting N weeks or more is not available, never estimated.
        straddling = ", ".join(f"'{c}'" for c in codes.wait_bands_straddling(float(m.wait_over_weeks)))
        if straddling:
            numerator = (f"CASE WHEN count(*) FILTER (WHERE ({m.denominator_filter or 'true'}) AND wait_band IN "
                         f"({straddling})) > 0 THEN NULL ELSE {numerator} END")
    return sql_text("measure_values").format(
        measure_id=_ident(m.id.lower()) and m.id, period=period, dataset=_ident(m.dataset),
        numerator=numerator,
        numerator_symbol=_symbol_expr(m.numerator, m.numerator_filter),
        denominator=den, sumsq=_sumsq_expr(m))


def quantity_key(dataset: str, column: str, condition: str = "") -> str:
    """The count a numerator or denominator sums: dataset, column and filter (spacing ignored).

    Two measures with the same key publish the same number for an area and period, so they
    must share suppression. The part of a waiting list whose wait is recorded in a band is, almost
    always, the whole list (and otherwise a part of it published beside it): the two share one key,
    which can only suppress more, never less."""
    condition = " ".join((condition or "").split()).replace(BANDED_ONLY, "")
    return f"{dataset}|{column}|{condition}"


BANDED_ONLY = " AND wait_band <> 'unbanded'"


def measure_quantities(measures) -> dict[str, tuple[str, str | None]]:
    """measure id -> (numerator quantity, denominator quantity or None), from the catalogue.

    Denominators from another dataset (population) are None: they are never small counts of
    children and are not shared with any count measure. Gaps have no quantity of their own."""
    out: dict[str, tuple[str, str | None]] = {}
    for m in measures:
        if m.kind == "gap":
            continue
        den = (quantity_key(m.dataset, m.denominator, m.denominator_filter)
               if m.denominator and not m.denominator_dataset else None)
        out[m.id] = (quantity_key(m.dataset, m.numerator, m.numerator_filter), den)
    return out
