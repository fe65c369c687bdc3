"""Disclosure control of the Data explorer's tables: one grain (area x period x breakdown columns)
at a time, so that no view of the explorer, and no pair of views, discloses a small number.

* Primary: sums in SUPPRESS_MIN..SUPPRESS_MAX are suppressed (``disclosure.primary_suppress``).
* Secondary, along the area hierarchy (localities -> councils, footprints, Cumbria) with
  ``disclosure.secondary_suppress``, the same function and grouping the measure engine uses;
* then jointly with the margins over each breakdown column (the coarser views): cells are
  written as 0/1 vectors over the basic unknowns (leaf area, value of the breakdown) and
  complements are added until no suppressed cell lies in the span of the published ones, so it
  cannot be recovered from any combination of totals shown in another view either.

Apart from the explorer's queries and labels (``measures.explore``) because this is the part
whose correctness is a proof obligation: its tests check recoverability, not appearance.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from send_metrics.stats import disclosure
from send_metrics.stats.union_protection import protect_union

ALL = "(all)"  # a margin cell: the total over every value of a breakdown column


def leaf_vectors(areas: list[str], values: list[str], cell_values: list[str], hierarchies) -> np.ndarray:
    """Each cell as a 0/1 vector over the basic unknowns (leaf area, value of the breakdown).

    A rolled-up area is the sum of its leaf localities (the store builds it that way); any other
    area is a leaf itself. A margin cell (value ALL) is the sum over every value."""
    leaves_of = {parent: list(leaves) for parent, leaves in hierarchies}
    leaf_sets = [leaves_of.get(a, [a]) for a in areas]
    li = {lf: i for i, lf in enumerate(sorted({lf for s in leaf_sets for lf in s}))}
    vi = {v: i for i, v in enumerate(values)}
    nv = max(1, len(values))
    vec = np.zeros((len(areas), len(li) * nv))
    for r, (ls, v) in enumerate(zip(leaf_sets, cell_values)):
        cols = list(range(nv)) if v == ALL else [vi[v]]
        for lf in ls:
            vec[r, [li[lf] * nv + c for c in cols]] = 1.0
    return vec


def recoverable(vectors: np.ndarray, known: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Cells in `targets` whose vector lies in the span of the known cells' vectors."""
    out = np.zeros(len(vectors), dtype=bool)
    if not targets.any():
        return out
    pub = vectors[known]
    t = np.flatnonzero(targets)
    if pub.shape[0] == 0:
        out[t] = ~vectors[t].any(axis=1)
        return out
    _, s, vt = np.linalg.svd(pub, full_matrices=False)
    q = vt[s > 1e-9 * max(1.0, float(s.max()))]
    v = vectors[t]
    out[t] = np.linalg.norm(v - (v @ q.T) @ q, axis=1) < 1e-7
    return out


def proven_protect(vectors: np.ndarray, values: np.ndarray, suppressed: np.ndarray, fixed: np.ndarray,
                   n_values: int, rows: np.ndarray | None = None) -> tuple[np.ndarray, bool]:
    """Suppress until no suppressed cell is a linear combination of the published ones, by
    ``stats.union_protection``'s proven cuts: a complement no
    other published cell can stand in for, or the cheapest swap of children between two values or
    round up to four areas that no other published cell sees (one small count in Millom is protected
    by a few cells instead of the cascade through every council's, footprint's and county total
    that a greedy choice of the smallest complement made). `fixed` cells are shown elsewhere exactly as
    they are here and are never complements.
    `vectors` come from :func:`leaf_vectors` over `n_values` values. Returns the new mask and
    whether everything could be protected (if not, every movable cell of the group is suppressed)."""
    finite = np.isfinite(values)
    n = vectors.shape[1]
    n_values = max(1, n_values)
    res = protect_union(vectors, ~suppressed & finite, suppressed & finite, fixed, np.zeros(len(values), dtype=bool),
                        np.zeros(len(values)) if rows is None else np.asarray(rows), np.nan_to_num(values),
                        leaf_of=np.arange(n) // n_values, combo_of=np.arange(n) % n_values)
    if res.unprotectable:
        return suppressed | (finite & ~fixed), False
    return suppressed | (finite & ~res.known), True


def rest_of_group(cells: pd.DataFrame, ind: str, breakdowns: tuple[str, ...], period: str, below: np.ndarray,
                  wholes: dict[str, np.ndarray], low: int, high: int) -> tuple[np.ndarray, np.ndarray]:
    """Masks (complement, group) of `ind`'s cells in areas below council level (`below`) that show a
    part of a whole published beside it whose rest is a small count, or none or all of a whole of
    5-10 (``disclosure.complement_suppress``): the whole is the cell's margin over each breakdown
    (the coarser view shows it), and each of `wholes` (another indicator of the same row that
    `ind` is a part of, e.g. seen within 18 weeks of seen; NaN where a row's part is not a count)."""
    vals = pd.to_numeric(cells[ind], errors="coerce").to_numpy(dtype=float)
    comp = np.zeros(len(cells), dtype=bool)
    group = np.zeros(len(cells), dtype=bool)

    def add(whole: np.ndarray) -> None:
        c, g = disclosure.complement_suppress(np.where(below, vals, np.nan), whole, low, high)
        comp[:] |= c
        group[:] |= g
    for whole in wholes.values():
        add(whole)
    dims = ["area_code", period, *breakdowns]
    for b in breakdowns:
        m = (cells[b] == ALL).to_numpy()
        if not m.any():
            continue
        keys = [d for d in dims if d != b]
        margin = cells.loc[m, keys].astype(str).assign(_whole=vals[m])
        looked = cells[keys].astype(str).merge(margin, on=keys, how="left")["_whole"].to_numpy(dtype=float)
        add(np.where(m, np.nan, looked))
    return comp, group & ~comp


def protect(cells: pd.DataFrame, breakdowns: tuple[str, ...], indicators: tuple[str, ...], period: str,
            hierarchies, low: int, high: int, coarse: dict[str, pd.DataFrame] | None = None,
            exempt: dict[str, np.ndarray] | None = None, rest_of_group_areas=(),
            parts_of: dict[str, dict[str, np.ndarray]] | None = None) -> pd.DataFrame:
    """Disclosure control of one grain. `cells` holds the grain rows and, for each breakdown `b`,
    margin rows with b == ALL; `coarse[b]` is the protected table of the grain without `b` (its
    suppression flags are taken as they are, since that view shows them). Returns the grain rows
    with `<indicator>__suppressed` and `<indicator>__reason` columns; values are left in place
    (callers blank them with `blank_suppressed`). `exempt[indicator]` marks rows whose value is not
    a count of children (e.g. a published rate), which primary suppression leaves alone.
    `rest_of_group_areas` (below council level) also withhold a part whose rest is small
    (:func:`rest_of_group`); `parts_of[indicator]` names the wholes it is a part of, per row."""
    coarse = coarse or {}
    exempt = exempt or {}
    cells = cells.reset_index(drop=True).copy()
    is_margin = np.zeros(len(cells), dtype=bool)
    for b in breakdowns:
        is_margin |= (cells[b] == ALL).to_numpy()
    dims = ["area_code", period, *breakdowns]
    reason_primary = disclosure.primary_reason(low, high)
    for ind in indicators:
        vals = pd.to_numeric(cells[ind], errors="coerce").to_numpy(dtype=float)
        sup = disclosure.primary_suppress(vals, low, high)
        if ind in exempt:
            sup &= ~np.asarray(exempt[ind], dtype=bool)
        reasons = np.where(sup, reason_primary, None).astype(object)
        below = cells["area_code"].astype(str).isin([str(a) for a in rest_of_group_areas]).to_numpy()
        if ind in exempt:
            below &= ~np.asarray(exempt[ind], dtype=bool)
        if below.any():
            comp, grp = rest_of_group(cells, ind, breakdowns, period, below, (parts_of or {}).get(ind, {}), low, high)
            for hit, word in ((comp & ~sup, "complement"), (grp & ~sup, "group")):
                reasons[hit] = disclosure.complement_reason(word, low, high)
                sup |= hit
        # Margins: exactly as the coarser view shows them.
        for b in breakdowns:
            table = coarse.get(b)
            m = (cells[b] == ALL).to_numpy()  # grouping sets give one margin column per row
            if table is None or not m.any():
                continue
            keys = [d for d in dims if d != b]
            flags = table[[*keys, f"{ind}__suppressed"]].astype({k: str for k in keys})
            looked = cells.loc[m, keys].astype(str).merge(flags, on=keys, how="left")
            sup[m] = looked[f"{ind}__suppressed"].fillna(True).to_numpy(dtype=bool)
        # 1. The area hierarchy, as the measure engine does it (same function, same grouping).
        grain = ~is_margin
        sub = pd.DataFrame({"area_code": cells.loc[grain, "area_code"], "count": vals[grain],
                            "suppressed": sup[grain], "suppression_reason": reasons[grain]})
        group_cols = [period, *breakdowns]
        for c in group_cols:
            sub[c] = cells.loc[grain, c].astype(str)
        touched = sub.groupby(group_cols)["suppressed"].transform("any") & sub["count"].notna()
        if hierarchies and touched.any():
            done = disclosure.secondary_suppress(sub[touched], hierarchies, value_col="count",
                                                 group_cols=group_cols, primary_reason_text=reason_primary)
            sup[np.flatnonzero(grain)[touched.to_numpy()]] = done["suppressed"].to_numpy(dtype=bool)
            reasons[np.flatnonzero(grain)[touched.to_numpy()]] = done["suppression_reason"].to_numpy(dtype=object)
        # 2. Jointly with the margins over each breakdown column, until nothing changes.
        for _ in range(6):
            changed = False
            for b in breakdowns:
                if not (cells[b] == ALL).any():
                    continue  # no coarser view shows a total over b
                others = [o for o in breakdowns if o != b]
                keep = np.ones(len(cells), dtype=bool)
                for o in others:
                    keep &= (cells[o] != ALL).to_numpy()
                part = cells[keep]
                groups = part.groupby([period, *others], sort=False) if others else part.groupby(period, sort=False)
                for _, g in groups:
                    idx = g.index.to_numpy()
                    if not sup[idx].any():
                        continue
                    values = sorted({v for v in g[b] if v != ALL})
                    vectors = leaf_vectors(list(g["area_code"]), values, list(g[b]), hierarchies)
                    new, ok = proven_protect(vectors, vals[idx], sup[idx], (g[b] == ALL).to_numpy(), len(values),
                                             rows=pd.factorize(g["area_code"])[0])
                    added = new & ~sup[idx]
                    if added.any():
                        sup[idx[added]] = True
                        reasons[idx[added]] = (f"secondary: protects a suppressed cell from the total over {b}"
                                               if ok else "secondary: whole group withheld (no safe complement)")
                        changed = True
            if not changed:
                break
        cells[f"{ind}__suppressed"] = sup
        cells[f"{ind}__reason"] = pd.Series(np.where(sup, reasons, None), index=cells.index, dtype=object)
    return cells[~is_margin].reset_index(drop=True)


def blank_suppressed(df: pd.DataFrame, indicators) -> pd.DataFrame:
    """Values of suppressed cells removed; one 'Suppressed' column says which and why."""
    out = df.copy()
    notes = [[] for _ in range(len(out))]
    for ind in indicators:
        flag = out[f"{ind}__suppressed"].to_numpy(dtype=bool)
        col = pd.to_numeric(out[ind], errors="coerce").astype(float).to_numpy().copy()
        col[flag] = np.nan
        out[ind] = col
        for i in np.flatnonzero(flag):
            notes[i].append(ind)
    out = out.drop(columns=[c for c in out.columns if c.endswith(("__suppressed", "__reason"))])
    out["suppressed"] = [", ".join(n) for n in notes]
    return out
