"""Disclosure control of the measure table: the counts behind every measure, protected before any
value is computed (the engine's first step after summing; see ``protect_counts``).

Works on quantities, not measures (``sums.measure_quantities``), so measures built on the
same count share their suppression; the primary rule, the rest-of-group rule and the secondary
(complementary) suppression are ``stats.disclosure``'s, applied here over the area hierarchies and
the categories that share one total.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from send_metrics.catalogue import Measure
from send_metrics.measures.engine.by_value import map_values, starts_with
from send_metrics.measures.engine.sums import measure_quantities
from send_metrics.stats import disclosure

# Measures whose numerators split one published total (the shared denominator): a single
# suppressed share could otherwise be recovered as total minus the others.
CATEGORY_FAMILIES = ("need_share_", "setting_")
LINKED_REASON = "linked: the same count is suppressed in another measure"
CATEGORY_REASON = "secondary: protects a suppressed share of the same total"

def _told_by_publisher(base: pd.DataFrame, hit: np.ndarray, num: np.ndarray, den: np.ndarray,
                       hierarchies: list[tuple[str, list[str]]], publisher: frozenset[str]) -> np.ndarray:
    """Rows of `hit` (none or all of a small group) whose fact a publisher's figure already states.

    When a council publishes none of its 31 children waiting over 18 weeks, every locality inside
    it has none too: withholding a locality's 0 of 7 hides nothing, and protecting it would force
    the council's own figure to be withheld. So a row is exempt when an area at a publisher level
    that holds all of its localities shows, for the same measure and period, none (for a 0) or all
    (for a full group)."""
    out = np.zeros(len(base), dtype=bool)
    rows = np.flatnonzero(hit)
    if not len(rows) or not publisher:
        return out
    leaves = {parent: set(children) for parent, children in hierarchies}
    inside = [(a, p) for a in base["area_code"].iloc[rows].astype(str).unique()
              for p in publisher if p in leaves and leaves.get(a, {a}) <= leaves[p]]
    if not inside:
        return out
    key = ["measure_id", "period"]
    cand = base.iloc[rows][key + ["area_code"]].astype({"area_code": str}).assign(
        _row=rows, _zero=num[rows] == 0)
    cand = cand.merge(pd.DataFrame(inside, columns=["area_code", "_p"]), on="area_code")
    pub = base[key + ["area_code"]].astype({"area_code": str}).assign(_pn=num, _pd=den)
    pub = pub[pub["area_code"].isin(publisher)].rename(columns={"area_code": "_p"})
    both = cand.merge(pub, on=[*key, "_p"])
    told = np.where(both["_zero"], both["_pn"] == 0, both["_pn"] == both["_pd"])
    out[both.loc[told, "_row"].to_numpy(dtype=int)] = True
    return out


def protect_counts(base: pd.DataFrame, by_id: dict[str, Measure], hierarchies: list[tuple[str, list[str]]],
                   low: int, high: int, area_levels: dict[str, str] | None = None) -> pd.DataFrame:
    """Disclosure control on the counts behind every measure, before any value is computed.

    Suppression works on quantities, not on measures: a quantity is the count that a
    numerator or a denominator sums (dataset, column and filter: :func:`measure_quantities`)
    for one area and period, so measures built on the same count share their suppression
    (``requests`` and the denominator of ``requests_refused_pct``; ``wait_list_AUTISM`` and
    the denominator of ``autism_over_13wk_pct``). Repeated until nothing changes:

    1. primary: a quantity is withheld when a measure protects it (the numerator of a
       ``numerator`` measure; the denominator, a cohort of children, of a ``numerator`` or
       ``denominator`` measure, population denominators excepted) and it is a small count
       (zero never is); below council level (`area_levels`; :data:`disclosure.PUBLISHER_LEVELS`
       keep the publisher's figures, and an area of unknown level counts as below) the numerator
       of a proportion is withheld too when the rest of its group (denominator minus numerator)
       is a small count, or when it is none or all of a group of 5-10
       (:func:`disclosure.complement_suppress`);
    2. linking: every measure cell built on a withheld quantity is suppressed, and what it
       then hides (its numerator; its denominator too for a ``denominator`` measure) is
       withheld in every other measure built on it;
    3. complementary suppression over the area hierarchies (areas summing to a parent), per
       quantity and period, for numerators and denominators alike;
    4. complementary suppression across categories sharing one total (need shares,
       settings): never one withheld share, and the withheld shares never sum to a small
       count (or a count that could be worked out as total minus the published shares would
       itself be small).
    """
    base = base.reset_index(drop=True).copy()
    low, high = low, high
    base["source_symbol"] = base.get("numerator_symbol")
    n = len(base)
    prim_text = disclosure.primary_reason(low, high)
    if n == 0:
        base["suppressed"] = np.zeros(0, dtype=bool)
        base["suppression_reason"] = pd.Series([], dtype=object)
        return base
    quant = measure_quantities(by_id.values())
    mids = base["measure_id"].astype(object)
    disc = map_values(mids, {i: m.disclosure for i, m in by_id.items()})
    num = base["numerator"].to_numpy(dtype=float)
    den = base["denominator"].to_numpy(dtype=float)
    qn = map_values(mids, {i: q[0] for i, q in quant.items()})
    qd = map_values(mids, {i: q[1] for i, q in quant.items()})
    has_d = pd.notna(qd)
    d_rows = np.flatnonzero(has_d)

    # Every (quantity, area, period) once: ``qid`` numbers them, for numerators (the first n
    # uses) and denominators (the rest).
    use_row = np.concatenate([np.arange(n), d_rows])
    use_den = np.concatenate([np.zeros(n, dtype=bool), np.ones(len(d_rows), dtype=bool)])
    use_count = np.concatenate([num, den[d_rows]])
    q_codes, _ = pd.factorize(np.concatenate([qn, qd[d_rows]]))
    a_codes, a_names = pd.factorize(base["area_code"].astype(object).to_numpy())
    p_codes, p_names = pd.factorize(base["period"].astype(object).to_numpy())
    key = (q_codes.astype(np.int64) * len(a_names) + a_codes[use_row]) * len(p_names) + p_codes[use_row]
    qid, _ = pd.factorize(key)
    nq = int(qid.max()) + 1
    q_q = np.empty(nq, dtype=np.int64)
    q_a = np.empty(nq, dtype=np.int64)
    q_p = np.empty(nq, dtype=np.int64)
    q_q[qid], q_a[qid], q_p[qid] = q_codes, a_codes[use_row], p_codes[use_row]
    qcount = np.full(nq, np.nan)
    qcount[qid] = use_count
    row_qn = qid[:n]
    row_qd = np.zeros(n, dtype=np.int64)  # only meaningful where has_d
    row_qd[d_rows] = qid[n:]
    # Area sub-tables: one per quantity and period.
    qg, _ = pd.factorize(q_q * len(p_names) + q_p)
    ng = int(qg.max()) + 1

    # 1. primary
    small = np.asarray(disclosure.primary_suppress(use_count, low, high), dtype=bool)
    use_disc = disc[use_row]
    protects = np.where(use_den, use_disc != "none", use_disc == "numerator")
    withheld = np.zeros(nq, dtype=bool)
    withheld[qid[small & protects]] = True
    qreason = np.full(nq, None, dtype=object)
    qreason[withheld] = prim_text
    # 1b. complement and small group: a proportion published with its group size also publishes
    # the rest of the group (64 of 68 on time shows 4 late), and none or all of a small group is a
    # fact about every child in it. Below council level only: figures the publisher itself shows
    # at council level and above stay as published.
    kind = map_values(mids, {i: m.kind for i, m in by_id.items()})
    levels = map_values(base["area_code"].astype(object), area_levels or {})
    below = ~pd.Series(levels, dtype=object).isin(list(disclosure.PUBLISHER_LEVELS)).to_numpy(dtype=bool)
    part_of = has_d & (kind == "proportion") & (disc == "numerator") & below
    publisher = frozenset(a for a, lv in (area_levels or {}).items() if lv in disclosure.PUBLISHER_LEVELS)
    comp_hit, group_hit = disclosure.complement_suppress(np.where(part_of, num, np.nan), den, low, high)
    # None or all of a small group that a publisher's own figure already states: withheld from
    # view all the same, after protection, since it hides nothing (see _told_by_publisher).
    told_hit = group_hit & _told_by_publisher(base, group_hit, num, den, hierarchies, publisher)
    group_hit &= ~told_hit
    for hit, kind_word in ((comp_hit, "complement"), (group_hit, "group")):
        q = row_qn[hit & ~withheld[row_qn]]
        withheld[q] = True
        qreason[q] = disclosure.complement_reason(kind_word, low, high)

    def mark(q: np.ndarray, text) -> None:
        withheld[q] = True
        qreason[q] = text

    # 2. linking
    def propagate() -> np.ndarray:
        added = np.zeros(nq, dtype=bool)
        while True:
            sup = withheld[row_qn] | (has_d & withheld[row_qd])
            new = np.zeros(nq, dtype=bool)
            new[row_qn[sup]] = True
            dd = sup & has_d & (disc == "denominator")
            new[row_qd[dd]] = True
            new &= ~withheld
            if not new.any():
                return added
            mark(new, LINKED_REASON)
            added |= new

    # 3. area hierarchies
    hier = hierarchies
    hier_areas = {a for p, ch in hier for a in (p, *ch)}
    in_hier = pd.Index(a_names).isin(list(hier_areas))

    def area_pass(dirty: np.ndarray) -> np.ndarray:
        added = np.zeros(nq, dtype=bool)
        if not hier:
            return added
        touched = np.zeros(ng, dtype=bool)
        touched[qg[withheld]] = True
        idx = np.flatnonzero((touched & dirty)[qg] & in_hier[q_a] & np.isfinite(qcount))
        if not len(idx):
            return added
        cells = pd.DataFrame({"g": qg[idx], "area_code": np.asarray(a_names, dtype=object)[q_a[idx]],
                              "count": qcount[idx], "suppressed": withheld[idx],
                              "suppression_reason": qreason[idx]})
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="every group holds a single cell")
            done = disclosure.secondary_suppress(cells, hier, value_col="count", group_cols=["g"],
                                                 primary_reason_text=prim_text, fixed_areas=publisher)
        newly = done["suppressed"].to_numpy(dtype=bool) & ~withheld[idx]
        mark(idx[newly], done["suppression_reason"].to_numpy(dtype=object)[newly])
        added[idx[newly]] = True
        return added

    # 4. categories sharing a total
    families = []
    for prefix in CATEGORY_FAMILIES:
        rows = np.flatnonzero(starts_with(mids, prefix) & has_d)
        if len(rows):
            pairs = pd.DataFrame({"p": row_qn[rows], "t": row_qd[rows]}).drop_duplicates()
            totals, ginv = np.unique(pairs["t"].to_numpy(), return_inverse=True)
            families.append((pairs["p"].to_numpy(), totals, ginv))

    def category_pass() -> np.ndarray:
        added = np.zeros(nq, dtype=bool)
        for parts, totals, ginv in families:
            k = len(totals)
            pc = qcount[parts]
            # A share with no rows is a known zero when its total is known (a total is NULL
            # when any cell in it is), so only real counts are unknowns or complements.
            finite = np.isfinite(pc)
            total = qcount[totals]
            # Counts outside the family's measures (e.g. needs outside the catalogue) are
            # total minus the shares: a small one is itself a count to protect.
            rest = total - np.bincount(ginv, np.where(finite, pc, 0.0), k)
            rest_small = np.asarray(disclosure.primary_suppress(rest, low, high), dtype=bool)
            for _ in range(len(parts) + 2):
                u = withheld[parts] & finite
                n_shares = np.bincount(ginv, u, k)
                n_u = n_shares + rest_small
                s_u = np.bincount(ginv, np.where(u, pc, 0.0), k) + np.where(rest_small, rest, 0.0)
                # never one hidden share beside its published total; never a small hidden sum
                need = np.isfinite(total) & ~withheld[totals] & ((n_shares == 1) | ((n_u >= 1) & (s_u <= high)))
                if not need.any():
                    break
                cand = need[ginv] & ~withheld[parts] & finite
                cand &= ~((s_u <= high)[ginv] & (pc <= 0))  # a zero cannot lift a small sum
                served = np.zeros(k, dtype=bool)
                ci = np.flatnonzero(cand)
                if len(ci):
                    # smallest positive share first, then zeros
                    ci = ci[np.lexsort((pc[ci], pc[ci] <= 0, ginv[ci]))]
                    first = ci[np.r_[True, ginv[ci][1:] != ginv[ci][:-1]]]
                    mark(parts[first], CATEGORY_REASON)
                    added[parts[first]] = True
                    served[ginv[first]] = True
                left = totals[need & ~served]  # nothing left to hide: withhold the total
                mark(left, CATEGORY_REASON)
                added[left] = True
        return added

    propagate()
    dirty = np.ones(ng, dtype=bool)
    for _ in range(200):
        added = area_pass(dirty)
        later = category_pass()
        later |= propagate()
        if not (added | later).any():
            break
        # an area sub-table is at its fixed point after its pass: redo only those changed since
        dirty = np.zeros(ng, dtype=bool)
        dirty[qg[later]] = True
    else:  # pragma: no cover - withheld cells only grow, so this always stops
        warnings.warn("disclosure control did not reach a fixed point", RuntimeWarning, stacklevel=2)

    told_q = row_qn[told_hit & ~withheld[row_qn]]
    withheld[told_q] = True
    qreason[told_q] = disclosure.complement_reason("group", low, high)
    propagate()

    # Back to measure cells.
    den_w = has_d & withheld[row_qd]
    sup = withheld[row_qn] | den_w
    own_num = small[:n] & (disc == "numerator")
    own_den = np.zeros(n, dtype=bool)
    own_den[d_rows] = small[n:] & (disc[d_rows] != "none")
    prot_q = np.where((disc == "denominator") & has_d, row_qd, row_qn)
    prot_reason = pd.Series(qreason[prot_q], dtype=object)
    prot_sec = withheld[prot_q] & starts_with(prot_reason, "secondary")
    reason = np.full(n, None, dtype=object)
    reason[sup] = LINKED_REASON
    # Hidden because the other count of the cell was chosen as a complementary suppression.
    for other_q, other_w, word in ((row_qn, withheld[row_qn], "numerator"), (row_qd, den_w, "denominator")):
        other_reason = pd.Series(qreason[other_q], dtype=object)
        pick = (sup & ~prot_sec & (other_q != prot_q) & other_w
                & starts_with(other_reason, "secondary"))
        reason[pick] = other_reason[pick].str.replace("secondary: ", f"linked: the {word} ",
                                                      n=1).to_numpy(dtype=object)
    reason[sup & prot_sec] = prot_reason[sup & prot_sec].to_numpy(object)
    reason[sup & own_den] = "primary: denominator " + prim_text.split(": ", 1)[-1]
    own = (own_num | (own_den & (disc == "denominator"))) & sup
    reason[own] = prim_text
    for hit, kind_word in ((comp_hit, "complement"), (group_hit | told_hit, "group")):
        reason[hit & sup & ~own] = disclosure.complement_reason(kind_word, low, high)
    base["suppressed"] = sup
    base["suppression_reason"] = pd.Series(reason, index=base.index, dtype=object)
    base.loc[sup, "numerator"] = np.nan
    base.loc[den_w | (sup & (disc == "denominator")), "denominator"] = np.nan
    return base
