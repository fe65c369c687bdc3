"""Disclosure control for raw-count breakdowns that the measure engine does not cover (wait bands,
EHCP status, need by age band or setting): :func:`protect_table` for one table, :func:`protect_linked`
for several tables that share the totals of one dimension, and :func:`share_within` for the shares
a protected table may show. No Streamlit here.

Tables are protected with :mod:`send_metrics.stats.disclosure`: primary suppression of counts in the
configured range, then complementary suppression over the area hierarchies and over every category
total, sub-table by sub-table (the tau-Argus "HiTaS" approach) until no sub-table changes, then a
check of the whole linked table (:mod:`send_metrics.measures.linear_repair`): no suppressed cell may
be a linear combination of the published ones; any that is gets a further complementary
suppression. Values of suppressed cells are returned as NaN; inputs are never modified.
"""
from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from send_metrics.measures.linear_repair import linear_repair, single_thread_blas
from send_metrics.stats import disclosure

ALL = "ALL"


def _sum_or_nan(s: pd.Series) -> float:
    return float(s.sum()) if s.notna().all() else np.nan


def _margins(df: pd.DataFrame, keys: list[str], dims: list[str], value_col: str) -> pd.DataFrame:
    """The table with a total ("ALL") over each dimension and each combination of dimensions;
    a total is NaN when any cell in it is (a symbol is never a zero)."""
    frames = [df[[*keys, *dims, value_col]]]
    for r in range(1, len(dims) + 1):
        for sub in itertools.combinations(dims, r):
            keep = [d for d in dims if d not in sub]
            agg = df.groupby([*keys, *keep], dropna=False, sort=False)[value_col].agg(["sum", "count", "size"])
            g = agg["sum"].where(agg["count"] == agg["size"]).rename(value_col).reset_index()
            for d in sub:
                g[d] = ALL
            frames.append(g[[*keys, *dims, value_col]])
    return pd.concat(frames, ignore_index=True)


def protect_table(counts: pd.DataFrame, *, dims: Sequence[str], value_col: str,
                  hierarchies: Sequence[tuple[str, Sequence[str]]], low: float = 1, high: float = 4,
                  group_cols: Sequence[str] = (), area_col: str = "area_code",
                  presuppressed: pd.DataFrame | None = None,
                  published_elsewhere: pd.DataFrame | None = None,
                  extra_sums: Sequence[Mapping] = (), labels: Mapping[str, str] | None = None,
                  max_passes: int = 50, rest_of_group_areas: Iterable[str] = ()) -> pd.DataFrame:
    """Disclosure control for a table of counts by area and one or more category dimensions.

    ``counts`` has one row per group (``group_cols``), area and leaf category of each dimension in
    ``dims``; every area of ``hierarchies`` should be present as its own row (the store holds
    rolled-up areas), and any area missing is treated as unpublished. Totals over each dimension
    are added with the category ``"ALL"``. Then:

    1. primary suppression of counts from ``low`` to ``high``; cells listed in ``presuppressed``
       (area, group columns and dimension values, ``"ALL"`` allowed: e.g. a total the measure
       engine has already suppressed) start suppressed too, with their own ``suppression_reason``
       when they carry one;
    2. complementary suppression, repeated until nothing changes: in every one-dimensional
       sub-table - the areas of a hierarchy (:func:`disclosure.secondary_suppress` with
       ``hierarchies``) and the categories of one dimension with their total - a suppressed cell
       must not be the only unknown of any equation.

    ``published_elsewhere`` lists cells (same form as ``presuppressed``) that another view shows
    anyway - e.g. the totals the measure engine publishes - so hiding them here would protect
    nothing: they are never chosen as complementary suppressions (unless listed in
    ``presuppressed``, when they are hidden everywhere).

    ``rest_of_group_areas`` are the areas below council level (issue 17.10): there a part shown
    beside its total (a share of it on a page) is also withheld, as a primary suppression, when the
    rest of the total is a small count or when it is none or all of a total of 5-10
    (:func:`disclosure.complement_suppress`), in every dimension.

    ``extra_sums`` declares other published sums of categories, e.g. the engine's "waiting 13
    weeks or more" numerator: ``{"dim": "wait_band", "categories": [...], "where": {"ehcp_status":
    "ALL"}, "name": "OVER13"}``; they take part in step 2 as published cells (or hidden ones when
    named in ``presuppressed``) but are not returned.

    Returns the cells (including the ``"ALL"`` totals) with ``suppressed`` and
    ``suppression_reason``; the value of every suppressed cell is NaN.
    """
    dims = list(dims)
    keys = [*group_cols, area_col]
    base = counts[[*keys, *dims, value_col]].copy()
    base[value_col] = pd.to_numeric(base[value_col], errors="coerce").astype(float)
    cells = _margins(base, keys, dims, value_col)
    cells["_pseudo"] = False
    pseudo = []
    for spec in extra_sums:
        d, cats, where, name = spec["dim"], list(spec["categories"]), dict(spec.get("where", {})), spec["name"]
        part = cells[cells[d].isin(cats)]
        for k, v in where.items():
            part = part[part[k] == v]
        other = [x for x in dims if x != d]
        g = part.groupby([*keys, *other], dropna=False, sort=False)[value_col].agg(_sum_or_nan).reset_index()
        g[d] = name
        g["_pseudo"] = True
        pseudo.append(g)
    if pseudo:
        cells = pd.concat([cells, *pseudo], ignore_index=True)
    cells = cells.reset_index(drop=True)
    for d in dims:
        cells[d] = cells[d].astype(str)
    vals = cells[value_col].to_numpy(float)
    sup = np.asarray(disclosure.primary_suppress(vals, low, high), dtype=bool)
    reason = np.where(sup, disclosure.primary_reason(low, high), None).astype(object)
    sensitive = sup.copy()
    if presuppressed is not None and len(presuppressed):
        pre = presuppressed.copy()
        on = [c for c in [*keys, *dims] if c in pre.columns]
        for d in dims:
            if d in pre.columns:
                pre[d] = pre[d].astype(str)
        why = pre["suppression_reason"] if "suppression_reason" in pre.columns else None
        pre = pre[on].assign(_why=why if why is not None else "suppressed in the published measure")
        pre = pre.drop_duplicates(subset=on).assign(_pre=True)
        looked = cells[on].merge(pre, on=on, how="left")
        hit = looked["_pre"].fillna(False).to_numpy(bool)
        new = hit & ~sup
        sup |= hit
        sensitive |= hit
        reason[new] = looked["_why"].to_numpy(object)[new]
    # Cells shown elsewhere whatever happens here: never usable as complements.
    locked = cells["_pseudo"].to_numpy(bool).copy()
    if published_elsewhere is not None and len(published_elsewhere):
        pe = published_elsewhere.copy()
        on = [c for c in [*keys, *dims] if c in pe.columns]
        for d in dims:
            if d in pe.columns:
                pe[d] = pe[d].astype(str)
        pe = pe[on].drop_duplicates().assign(_pe=True)
        locked |= cells[on].merge(pe, on=on, how="left")["_pe"].fillna(False).to_numpy(bool)
    locked &= ~sup

    # Equations within each dimension: (total position, part positions, label).
    flat: list[tuple[int, np.ndarray, str]] = []
    index = {tuple(r): i for i, r in enumerate(cells[[*keys, *dims]].itertuples(index=False, name=None))}
    cats = {d: [c for c in pd.unique(cells.loc[~cells["_pseudo"], d]) if c != ALL] for d in dims}
    combos_src = cells[[*keys, *dims]].drop_duplicates()
    for k, d in enumerate(dims):
        others = [x for x in dims if x != d]
        rows = combos_src[combos_src[d] == ALL][[*keys, *others]].drop_duplicates()
        for r in rows.itertuples(index=False, name=None):
            fixed = dict(zip([*keys, *others], r))

            def pos(cat, fixed=fixed, d=d):
                return index.get(tuple(fixed[c] if c != d else cat for c in [*keys, *dims]))
            total = pos(ALL)
            parts = [p for p in (pos(c) for c in cats[d]) if p is not None]
            if total is not None and parts:
                flat.append((total, np.array(parts), d))
        for spec in extra_sums:
            if spec["dim"] != d:
                continue
            for r in rows.itertuples(index=False, name=None):
                fixed = dict(zip([*keys, *others], r))
                if any(str(fixed.get(wk)) != str(wv) for wk, wv in spec.get("where", {}).items()):
                    continue
                tot = index.get(tuple(fixed[c] if c != d else spec["name"] for c in [*keys, *dims]))
                parts = [index.get(tuple(fixed[c] if c != d else cat for c in [*keys, *dims]))
                         for cat in spec["categories"]]
                parts = [p for p in parts if p is not None]
                if tot is not None and parts:
                    flat.append((tot, np.array(parts), d))
    # Area sub-tables: one per group and combination of categories.
    area_slices = list(cells.groupby([*group_cols, *dims], sort=False, dropna=False).indices.values()) \
        if (group_cols or dims) else [np.arange(len(cells))]
    area_slices = [p for p in area_slices if not cells["_pseudo"].to_numpy(bool)[p].any()]
    codes = cells[area_col].astype(str).to_numpy()
    known = np.isfinite(vals)
    labels = dict(labels or {})

    below = np.isin(codes, [str(a) for a in rest_of_group_areas])
    is_pseudo = cells["_pseudo"].to_numpy(bool)
    if below.any():
        for total, parts, _ in flat:
            if not below[total] or is_pseudo[total]:
                continue
            comp, grp = disclosure.complement_suppress(vals[parts], np.full(len(parts), vals[total]), low, high)
            for hit, word in ((comp, "complement"), (grp, "group")):
                new = parts[hit & ~sup[parts]]
                sup[new] = sensitive[new] = True
                locked[new] = False
                reason[new] = disclosure.complement_reason(word, low, high)

    def flat_pass() -> bool:
        changed = False
        again = True
        while again:
            again = False
            for total, parts, d in flat:
                members = np.concatenate([[total], parts])
                unknown = sup[members] | ~known[members]
                if unknown.sum() != 1:
                    continue
                u = members[unknown][0]
                if not (sup[u] and known[u]):
                    continue
                cand = [p for p in parts if not sup[p] and known[p] and not locked[p]]
                if cand:
                    pick = min(cand, key=lambda p: (vals[p], p))
                elif not sup[total] and known[total] and not locked[total]:
                    pick = total
                else:
                    continue  # left to the whole-table repair
                sup[pick] = True
                reason[pick] = f"secondary: protects a suppressed cell in the {d.replace('_', ' ')} total"
                again = changed = True
        return changed

    done: dict[int, bytes] = {}  # slice -> suppression pattern it was last protected with

    def area_pass() -> bool:
        changed = False
        if not hierarchies:
            return False
        for k, pos in enumerate(area_slices):
            if not sup[pos].any() or done.get(k) == sup[pos].tobytes():
                continue
            sub = pd.DataFrame({"code": codes[pos], "v": vals[pos], "s": sup[pos],
                                "r": pd.Series(reason[pos], dtype=object)})
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                res = disclosure.secondary_suppress(sub, hierarchies, value_col="v", suppressed_col="s",
                                                    area_col="code", group_cols=[], reason_col="r",
                                                    labels=labels, check_bounds=False)
            new = res["s"].to_numpy(bool) & ~locked[pos]  # cells shown elsewhere stay shown
            if (new != sup[pos]).any():
                sup[pos] = new
                reason[pos] = np.where(new, res["r"].to_numpy(object), reason[pos])
                changed = True
            done[k] = sup[pos].tobytes()
        return changed

    for _ in range(max_passes):
        a = flat_pass()
        b = area_pass()
        if not (a or b):
            break
    else:  # pragma: no cover - a fixed point is always reached on real tables
        warnings.warn("protect_table did not reach a fixed point", RuntimeWarning, stacklevel=2)

    # Whole-table check: equations of every sub-table at once.
    equations: list[tuple[int | None, list[int | None], str]] = [(t, list(p), d.replace("_", " ") + " total")
                                                                 for t, p, d in flat]
    for pos in area_slices:
        where = {c: int(i) for c, i in zip(codes[pos], pos)}
        for parent, leaves in hierarchies:
            if parent in where or any(leaf in where for leaf in leaves):
                equations.append((where.get(parent), [where.get(leaf) for leaf in leaves],
                                  labels.get(parent, parent)))
    with single_thread_blas():
        hopeless = linear_repair(equations, vals, known, sup, reason, fixed=locked, sensitive=sensitive,
                                  max_rounds=len(cells))
    exposed = [j for j in hopeless if disclosure.primary_suppress(vals[j], low, high)]
    if exposed:
        # Hidden here, but the figures other views publish (``published_elsewhere``, e.g. the
        # measure engine's totals) already give these away: report them so the source is fixed.
        where = "; ".join(", ".join(f"{c}={cells.at[j, c]}" for c in [*keys, *dims]) for j in exposed[:5])
        # The check assumes every equation holds. A parent loaded from its own rows (e.g. a
        # published council figure beside local extracts) need not equal the sum of its members,
        # and a working-out through such an equation gives a wrong number: say so.
        broken = sum(1 for t, parts, _ in equations
                     if t is not None and all(p is not None for p in parts)
                     and np.isfinite(vals[[t, *parts]]).all() and abs(vals[t] - vals[list(parts)].sum()) > 0.5)
        caveat = (f"; {broken} of the {len(equations)} equations used do not hold in this data (a parent area "
                  "loaded from its own rows, not summed from its members), so this may be a false alarm"
                  if broken else "")
        warnings.warn(f"{len(exposed)} small counts can be worked out from figures published elsewhere "
                      f"(not from this table): {where}{caveat}", RuntimeWarning, stacklevel=2)
    cells["suppressed"] = sup
    cells["suppression_reason"] = pd.Series(reason, dtype=object)
    cells.loc[cells["suppressed"], value_col] = np.nan
    return cells[~cells["_pseudo"]].drop(columns="_pseudo").reset_index(drop=True)


def protect_linked(tables: Mapping[str, tuple[pd.DataFrame, Sequence[str]]], shared: str, *,
                   value_col: str, hierarchies, low: float = 1, high: float = 4,
                   group_cols: Sequence[str] = (), area_col: str = "area_code",
                   presuppressed: pd.DataFrame | None = None,
                   published_elsewhere: pd.DataFrame | None = None, max_rounds: int = 6,
                   labels: Mapping[str, str] | None = None,
                   rest_of_group_areas: Iterable[str] = ()) -> dict[str, pd.DataFrame]:
    """Protect several two-way tables that share the totals of one dimension (``shared``).

    Each table is (counts, [shared, other]). A shared total (e.g. plans with autism, all ages)
    suppressed in one table is suppressed in every table, and the tables are protected again until
    they agree. ``presuppressed`` rows name the area, group columns and ``shared`` value, and may
    name a table's other dimension too (``"ALL"`` for its total); a row without it applies to the
    shared totals of every table. ``published_elsewhere`` (see :func:`protect_table`) follows the
    same rule."""
    key = [*group_cols, area_col, shared]

    def for_table(frame: pd.DataFrame | None, dims: Sequence[str], other: str) -> pd.DataFrame | None:
        if frame is None or not len(frame):
            return None
        f = frame.copy()
        f[shared] = f[shared].astype(str)
        f[other] = f[other].fillna(ALL).astype(str) if other in f.columns else ALL
        extra_dims = [c for c in f.columns if c not in {*key, other}]
        if extra_dims:  # rows naming another table's dimension apply to that table only
            f = f[f[extra_dims].isna().all(axis=1)]
        return f[[*key, other]]
    cells_pre = presuppressed.copy() if presuppressed is not None else pd.DataFrame(columns=key)
    cells_pre[shared] = cells_pre[shared].astype(str)
    margins = pd.DataFrame(columns=key)
    out: dict[str, pd.DataFrame] = {}
    for _ in range(max_rounds):
        found = []
        for name, (counts, dims) in tables.items():
            other = [d for d in dims if d != shared][0]
            p = for_table(cells_pre, dims, other)
            parts = [x for x in (p, margins.assign(**{other: ALL})) if x is not None and len(x)]
            p = pd.concat(parts, ignore_index=True) if parts else None
            res = protect_table(counts, dims=dims, value_col=value_col, hierarchies=hierarchies, low=low,
                                high=high, group_cols=group_cols, area_col=area_col,
                                presuppressed=p if p is not None and len(p) else None,
                                published_elsewhere=for_table(published_elsewhere, dims, other), labels=labels,
                                rest_of_group_areas=rest_of_group_areas)
            out[name] = res
            found.append(res[(res[other] == ALL) & res["suppressed"]][key])
        found_all = pd.concat(found, ignore_index=True).drop_duplicates().astype({shared: str})
        merged = found_all.merge(margins.astype({shared: str}).assign(_k=True), on=key, how="left") \
            if len(margins) else found_all.assign(_k=np.nan)
        new = merged[merged["_k"].isna()][key]
        if new.empty:
            return out
        margins = pd.concat([margins, new], ignore_index=True)
    warnings.warn("protect_linked did not converge; each table is still protected on its own",
                  RuntimeWarning, stacklevel=2)
    return out


def share_within(cells: pd.DataFrame, *, by: str, category: str, value_col: str,
                 other_label: str = "Suppressed (small numbers)") -> pd.DataFrame:
    """Shares of each category within each value of ``by`` (its ``"ALL"`` total included) from a
    protected table.

    Uses the published cells only; when the ``by`` total is published, the cells that are
    suppressed are shown together as ``other_label`` (their sum is already derivable from the
    total, never a single suppressed cell). When the total is suppressed the whole bar is dropped."""
    t = cells
    totals = t[t[category] == ALL].set_index(by)[value_col]
    parts = t[t[category] != ALL]
    rows = []
    for b, g in parts.groupby(by, sort=False):
        total = totals.get(b, np.nan)
        if not np.isfinite(total) or total <= 0:
            continue
        shown = g[g[value_col].notna()]
        for _, r in shown.iterrows():
            rows.append({by: b, category: r[category], value_col: r[value_col],
                         "share": r[value_col] / total * 100, "total": total})
        hidden = total - shown[value_col].sum()
        if g[value_col].isna().any() and hidden > 0:
            rows.append({by: b, category: other_label, value_col: np.nan, "share": hidden / total * 100,
                         "total": total})
    return pd.DataFrame(rows, columns=[by, category, value_col, "share", "total"])
