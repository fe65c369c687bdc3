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
from send_metrics.measures.engine.sums import measure_quantities
from send_metrics.stats import disclosure

# Measures whose numerators split one published total (the shared denominator): a single
# suppressed share could otherwise be recovered as total minus the others.
CATEGORY_FAMILIES = ("need_share_", "setting_")
LINKED_REASON = "linked: the same count is suppressed in another measure"
CATEGORY_REASON = "secondary: protects a suppressed share of the same total"

def protect_counts(base: pd.DataFrame, by_id: dict[str, Measure], hierarchies: list[tuple[str, list[str]]],
                   low: int, high: int) -> pd.DataFrame:
    """Disclosure control on the counts behind every measure, before any value is computed.

    Suppression works on quantities, not on measures: a quantity is the count that a
    numerator or a denominator sums (dataset, column and filter: :func:`measure_quantities`)
    for one area and period, so measures built on the same count share their suppression
    (``requests`` and the denominator of ``requests_refused_pct``; ``wait_list_AUTISM`` and
    the denominator of ``autism_over_13wk_pct``). Repeated until nothing changes:

    1. primary: a quantity is withheld when a measure protects it (the numerator of a
       ``numerator`` measure; the denominator, a cohort of children, of a ``numerator`` or
       ``denominator`` measure, population denominators excepted) and it is a small count
       (zero never is);
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
    disc = mids.map({i: m.disclosure for i, m in by_id.items()}).to_numpy(object)
    num = base["numerator"].to_numpy(dtype=float)
    den = base["denominator"].to_numpy(dtype=float)
    qn = mids.map({i: q[0] for i, q in quant.items()}).to_numpy(object)
    qd = mids.map({i: q[1] for i, q in quant.items()}).to_numpy(object)
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
                                                 primary_reason_text=prim_text)
        newly = done["suppressed"].to_numpy(dtype=bool) & ~withheld[idx]
        mark(idx[newly], done["suppression_reason"].to_numpy(dtype=object)[newly])
        added[idx[newly]] = True
        return added

    # 4. categories sharing a total
    families = []
    for prefix in CATEGORY_FAMILIES:
        rows = np.flatnonzero(mids.str.startswith(prefix).to_numpy(dtype=bool) & has_d)
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

    # Back to measure cells.
    den_w = has_d & withheld[row_qd]
    sup = withheld[row_qn] | den_w
    own_num = small[:n] & (disc == "numerator")
    own_den = np.zeros(n, dtype=bool)
    own_den[d_rows] = small[n:] & (disc[d_rows] != "none")
    prot_q = np.where((disc == "denominator") & has_d, row_qd, row_qn)
    prot_reason = pd.Series(qreason[prot_q], dtype=object)
    prot_sec = (withheld[prot_q] & prot_reason.str.startswith("secondary").fillna(False).to_numpy(dtype=bool))
    reason = np.full(n, None, dtype=object)
    reason[sup] = LINKED_REASON
    # Hidden because the other count of the cell was chosen as a complementary suppression.
    for other_q, other_w, word in ((row_qn, withheld[row_qn], "numerator"), (row_qd, den_w, "denominator")):
        other_reason = pd.Series(qreason[other_q], dtype=object)
        pick = (sup & ~prot_sec & (other_q != prot_q) & other_w
                & other_reason.str.startswith("secondary").fillna(False).to_numpy(dtype=bool))
        reason[pick] = other_reason[pick].str.replace("secondary: ", f"linked: the {word} ",
                                                      n=1).to_numpy(dtype=object)
    reason[sup & prot_sec] = prot_reason[sup & prot_sec].to_numpy(object)
    reason[sup & own_den] = "primary: denominator " + prim_text.split(": ", 1)[-1]
    own = (own_num | (own_den & (disc == "denominator"))) & sup
    reason[own] = prim_text
    base["suppressed"] = sup
    base["suppression_reason"] = pd.Series(reason, index=base.index, dtype=object)
    base.loc[sup, "numerator"] = np.nan
    base.loc[den_w | (sup & (disc == "denominator")), "denominator"] = np.nan
    return base
