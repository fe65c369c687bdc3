"""Array work of the release (issue 19 point 3: derived tables after a national load), each the
plain computation's result by a quicker road (tests/measures/test_release_speedups.py): the distinct
rows of a system, a table's category combinations in their first-appearance order, and the measure
table's withheld counts applied to its rows."""
from __future__ import annotations

import numpy as np
import pandas as pd

from send_metrics.catalogue import load_catalogue
from send_metrics.measures import explore
from send_metrics.measures.engine.sums import measure_quantities


def distinct_rows(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(vectors.astype(np.uint8), axis=0, return_inverse=True)`` (the distinct rows in
    lexicographic order, and each row's place among them), for 0/1 rows many times quicker: the
    rows packed eight columns a byte (big-endian, so the packed rows sort as the rows do) and
    sorted as 64-bit words, where ``np.unique`` compares whole rows byte by byte."""
    m = np.asarray(vectors).astype(np.uint8)
    if m.ndim != 2 or not m.size or m.max() > 1:
        distinct, inverse = np.unique(m, axis=0, return_inverse=True)
        return distinct, inverse.ravel()
    packed = np.packbits(m, axis=1)
    pad = (-packed.shape[1]) % 8
    packed = np.ascontiguousarray(np.pad(packed, ((0, 0), (0, pad))) if pad else packed)
    words = packed.view(">u8")  # big-endian: the words compare as their bytes do
    order = np.lexsort(words.T[::-1])
    ordered = words[order]
    first = np.ones(len(m), dtype=bool)
    first[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
    inverse = np.empty(len(m), dtype=np.intp)
    inverse[order] = np.cumsum(first) - 1
    return m[order[first]], inverse


def category_text(col: pd.Series) -> pd.Series:
    return col.astype(object).where(col.notna(), "(missing)").astype(str)


def first_combinations(db, dataset: str) -> pd.DataFrame:
    """The table's category combinations in the order they first appear in ``release_systems._leaf_values`` of
    every area (sorted by area, period and categories), without reading every row into Python:
    each combination's first (area, period), then the same sort."""
    dims = list(explore.spec(dataset).breakdowns)
    sp = explore.spec(dataset)
    q = ", ".join(explore._q(d) for d in dims)
    first = db.query(
        f'SELECT * FROM (SELECT {q}, min(struct_pack(a := area_code, p := CAST({explore._q(sp.period)} AS VARCHAR))) '
        f'AS f FROM "{dataset}" GROUP BY ALL) ORDER BY f.a, f.p, {q}')
    for d in dims:  # two raw values may read the same ("(missing)"): the first kept, as before
        first[d] = category_text(first[d])
    return first[dims].drop_duplicates().reset_index(drop=True)


def withhold_in_measure_rows(base: pd.DataFrame, withhold: dict[tuple[str, str, str], str]) -> pd.DataFrame:
    """``base`` (the engine's rows, a unique index) with every count of ``withhold`` (quantity,
    area, period -> reason) withheld in each row built on it: a numerator withholds the row's
    numerator, a denominator both (a row already suppressed keeps its reason). Only rows of the
    areas named are looked at."""
    quant = measure_quantities(load_catalogue())
    out = base.copy()
    out["suppression_reason"] = out["suppression_reason"].astype(object)
    named = {a for _, a, _ in withhold}
    rows = np.flatnonzero(out["area_code"].astype(str).isin(named).to_numpy())
    part = out.iloc[rows]
    area = part["area_code"].astype(str).to_numpy(dtype=object)
    period = np.array([str(p)[:10] for p in part["period"]], dtype=object)
    for role, i in (("numerator", 0), ("denominator", 1)):
        q = part["measure_id"].map({mid: pair[i] for mid, pair in quant.items()}).to_numpy(dtype=object)
        why = np.array([withhold.get((a, b, c)) for a, b, c in zip(q, area, period)], dtype=object)
        named_here = np.zeros(len(out), dtype=bool)
        named_here[rows] = np.array([w is not None for w in why], dtype=bool)
        hit = named_here & ~out["suppressed"].astype(bool).to_numpy()
        reasons = np.empty(len(out), dtype=object)
        reasons[rows] = why
        out.loc[hit, "suppressed"] = True
        out.loc[hit, "suppression_reason"] = reasons[hit]
        out.loc[hit, "numerator"] = np.nan
        if role == "denominator":
            out.loc[named_here, "denominator"] = np.nan
    return out
