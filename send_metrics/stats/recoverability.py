"""Whether a suppressed cell can still be worked out, and which further cells stop it.

The machinery behind secondary suppression (``disclosure.secondary_suppress`` and
``disclosure.audit_suppression``): the additive equations of the area hierarchies restricted to
one group of cells (:class:`GroupEquations`); the rank test that says whether a suppressed value is
a linear combination of published ones; the linear-programming bounds over non-negative counts
that say whether it is pinned to a single integer; and the fixed-point loop that adds
complementary suppressions until neither holds (:func:`protect_group`). Kept apart from the rules
(what is suppressed and why, in ``disclosure``) because it is linear algebra, with its own cost
(thousands of small linear programs solved by HiGHS on a national load).
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from send_metrics.stats.nonnegative_bounds import set_colwise_matrix

#: An additive relationship ``parent = sum(children)`` between area codes.
Hierarchy = tuple[str, Sequence[str]]

# Results of the pure linear algebra below (ranks, null spaces, linear programs), keyed by the
# problem's full content (the equation matrix, which cells are unknown, the known values): the
# groups of one national load repeat the same few systems thousands of times, and a result looked
# up is the result computed, so nothing a caller sees changes. Bounded; cleared when full.
_MEMO: dict = {}
_MEMO_MAX = 20_000


def _memo(key, compute):
    out = _MEMO.get(key, _MEMO)
    if out is _MEMO:
        if len(_MEMO) >= _MEMO_MAX:
            _MEMO.clear()
        out = _MEMO[key] = compute()
    return out


class GroupEquations:
    """Equations of the hierarchies restricted to one group of cells."""

    def __init__(self, codes: list[str], values: np.ndarray, hierarchies: Sequence[Hierarchy],
                 fixed: frozenset[str] = frozenset()):
        self.present = {c: i for i, c in enumerate(codes)}
        # Cells a publisher shows as they are (a council's DfE figure): chosen as a complement
        # only when no other cell can protect (so protection still fails closed).
        self.fixed = fixed
        self.values = values
        eqs: list[tuple[str, list[str]]] = []
        terms: list[str] = []
        for parent, children in hierarchies:
            members = [parent, *children]
            if not any(m in self.present for m in members):
                continue
            eqs.append((parent, list(children)))
            for m in members:
                if m not in terms:
                    terms.append(m)
        self.eqs = eqs
        self.terms = terms
        self.col = {t: j for j, t in enumerate(terms)}
        a = np.zeros((len(eqs), len(terms)))
        for k, (parent, children) in enumerate(eqs):
            a[k, self.col[parent]] += 1.0
            for ch in children:
                a[k, self.col[ch]] -= 1.0
        self.a = a
        # The same content as a key (see _MEMO), and each term's row in ``values`` (-1 when absent).
        self._key = (a.shape, a.tobytes())
        self._rows = np.array([self.present.get(t, -1) for t in terms], dtype=np.int64)

    def value(self, term: str) -> float:
        i = self.present.get(term)
        return float("nan") if i is None else float(self.values[i])

    def unknown(self, suppressed: np.ndarray) -> np.ndarray:
        """Boolean per term: suppressed, NaN-valued or absent from the group."""
        out = np.ones(len(self.terms), dtype=bool)
        rows = self._rows
        have = rows >= 0
        r = rows[have]
        out[have] = np.asarray(suppressed, dtype=bool)[r] | ~np.isfinite(np.asarray(self.values, dtype=float)[r])
        return out

    def protected_terms(self, suppressed: np.ndarray) -> list[str]:
        """Suppressed terms with a known value (the ones that need protection)."""
        return [
            t
            for t in self.terms
            if (i := self.present.get(t)) is not None and suppressed[i] and np.isfinite(self.values[i])
        ]

    def candidates(self, eq_index: int, suppressed: np.ndarray) -> list[str]:
        """Publishable terms of an equation, children (smallest first) then parent; fixed terms last."""
        parent, children = self.eqs[eq_index]
        kids = [
            (self.values[i], n, ch)
            for n, ch in enumerate(children)
            if (i := self.present.get(ch)) is not None and not suppressed[i] and np.isfinite(self.values[i])
        ]
        out = [ch for _, _, ch in sorted(kids)]
        ip = self.present.get(parent)
        if ip is not None and not suppressed[ip] and np.isfinite(self.values[ip]):
            out.append(parent)
        return [t for t in out if t not in self.fixed] + [t for t in out if t in self.fixed]

    def _unknowns(self, term: str, unknown: np.ndarray) -> tuple[np.ndarray | None, int]:
        """The equations restricted to the unknown cells (None when there are no equations), and
        ``term``'s column among them."""
        au = self.a[:, unknown]
        if au.shape[0] == 0:
            return None, -1
        return au, int(np.flatnonzero(unknown).tolist().index(self.col[term]))

    def recoverable(self, term: str, unknown: np.ndarray) -> bool:
        """True if ``term`` is a linear function of the known cells."""
        if not self.eqs:
            return False
        ukey = (self._key, unknown.tobytes())
        return _memo((ukey, self.col[term]), lambda: self._recoverable(term, unknown, ukey))

    def _recoverable(self, term: str, unknown: np.ndarray, ukey) -> bool:
        au, j = self._unknowns(term, unknown)
        e = np.zeros((1, au.shape[1]))
        e[0, j] = 1.0
        return np.linalg.matrix_rank(np.vstack([au, e])) == _memo((ukey, "rank"), lambda: np.linalg.matrix_rank(au))

    def _term_values(self) -> np.ndarray:
        """:meth:`value` of every term, in column order."""
        if not hasattr(self, "_values_by_term"):
            self._values_by_term = np.array([self.value(t) for t in self.terms], dtype=float)
        return self._values_by_term

    def _completed(self) -> np.ndarray | None:
        """Every term's true count, with any term of unknown value (absent, or NaN) worked out
        from an equation whose other terms all have values; None when one cannot be, or when the
        counts so completed are negative or do not satisfy every equation (inconsistent data).
        The same whatever is suppressed, so worked out once per group."""
        if not hasattr(self, "_completion"):
            x = self._term_values().copy()
            missing = ~np.isfinite(x)
            nz = self.a != 0
            while missing.any():
                solved = False
                for k in np.flatnonzero((nz & missing).sum(axis=1) == 1):
                    holes = np.flatnonzero(nz[k] & missing)
                    if len(holes) != 1:  # an earlier equation of this pass filled it
                        continue
                    h, others = holes[0], nz[k] & ~missing
                    x[h] = -float(self.a[k, others] @ x[others]) / self.a[k, h]
                    missing[h] = False
                    solved = True
                if not solved:
                    break
            ok = not missing.any() and not (x < 0).any() and np.abs(self.a @ x).max(initial=0.0) <= 1e-6
            self._completion = x if ok else None
        return self._completion

    def _moves_freely(self, term: str, unknown: np.ndarray, au: np.ndarray, j: int) -> bool:
        """Cheap certificate that ``term`` can move by >= 2 (so is not pinned).

        Along each null-space direction d of ``A_U`` the true counts x can move
        to x + t d while staying non-negative; if the reachable range of the
        term is at least 2 wide it holds at least two integers and the linear
        programmes are unnecessary.
        """
        return bool(self._free_columns(unknown, au)[j])

    def _free_columns(self, unknown: np.ndarray, au: np.ndarray) -> np.ndarray:
        """:meth:`_moves_freely` for every unknown cell at once (one answer per column of ``A_U``;
        the same arithmetic as cell by cell), kept per set of unknown cells."""
        memo = self.__dict__.setdefault("_free", {})
        ubytes = unknown.tobytes()
        if ubytes in memo:
            return memo[ubytes]
        from scipy.linalg import null_space

        free = np.zeros(au.shape[1], dtype=bool)
        basis = _memo(((self._key, ubytes), "null"), lambda: null_space(au))
        x = self._term_values()[unknown]
        if not np.all(np.isfinite(x)):
            # Cells of unknown value (not in this group): a consistent completion of the counts
            # is as good a starting point, since it satisfies the same equations; none, and it is
            # left to the LP.
            full = self._completed()
            x = None if full is None else full[unknown]
        if basis.size and x is not None:
            du = np.abs(basis)
            neg = basis < -1e-12
            pos = basis > 1e-12
            with np.errstate(divide="ignore", invalid="ignore"):
                t_up = np.where(neg, x[:, None] / -basis, np.inf).min(axis=0)
                t_down = np.where(pos, x[:, None] / basis, np.inf).min(axis=0)
                free = ((du >= 1e-9) & (du * (t_up + t_down) >= 2.0)).any(axis=1)
        memo[ubytes] = free
        return free

    def pinned(self, term: str, unknown: np.ndarray) -> bool:
        """True if non-negativity leaves fewer than two integer values for ``term``."""
        au, j = self._unknowns(term, unknown)
        if au is None:
            return False
        if self._moves_freely(term, unknown, au, j):
            return False
        known_terms = [t for t, jj in self.col.items() if not unknown[jj]]
        xk = np.array([self.value(t) for t in known_terms])
        ak = self.a[:, [self.col[t] for t in known_terms]]
        b = -(ak @ xk) if known_terms else np.zeros(au.shape[0])
        current = self.value(term)
        bounds = _memo(((self._key, unknown.tobytes()), "lp", np.asarray(b, dtype=float).tobytes(), j, current),
                       lambda: _lp_bounds(au, b, j, stop_above=current + 1 - 1e-7))
        if bounds is None:  # unbounded above, infeasible (inconsistent data) or free enough: not pinned
            return False
        low, high = bounds
        return np.floor(high + 1e-7) - np.ceil(low - 1e-7) < 1


_HIGHS = threading.local()


def _lp_bounds(au: np.ndarray, b: np.ndarray, j: int, stop_above: float) -> tuple[float, float] | None:
    """The least and greatest value of x[j] over x >= 0 with ``au @ x = b`` (two linear programs
    solved by HiGHS, the solver scipy's ``linprog(method="highs")`` runs, called directly: scipy's
    wrapper re-checks every option on every call, which cost four fifths of the time of the
    thousands of small programs secondary suppression solves). None when the maximum is not
    optimal (unbounded or infeasible) or reaches ``stop_above``, or the minimum is not optimal."""
    import highspy
    h = getattr(_HIGHS, "h", None)
    if h is None:
        h = _HIGHS.h = highspy.Highs()
        h.setOptionValue("output_flag", False)
    m, n = au.shape
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, m
    cost = np.zeros(n)
    cost[j] = 1.0
    lp.col_cost_ = cost
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.full(n, highspy.kHighsInf)
    lp.row_lower_ = lp.row_upper_ = np.asarray(b, dtype=float)
    set_colwise_matrix(lp, au)
    lp.sense_ = highspy.ObjSense.kMaximize
    h.passModel(lp)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    high = h.getInfo().objective_function_value
    if high >= stop_above:
        return None
    h.changeObjectiveSense(highspy.ObjSense.kMinimize)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return h.getInfo().objective_function_value, high


def _choose(group: GroupEquations, term: str, suppressed: np.ndarray, test) -> tuple[str, str] | None:
    """Pick a cell to suppress so that ``term`` stops being recoverable.

    Candidates are the published terms of all equations, ordered: terms of an
    equation containing ``term`` first (cells a publisher shows as they are,
    ``group.fixed``, after every other), then children before parents, then
    smallest value.  The first candidate whose suppression makes
    ``test(term, unknown)`` false is chosen; failing that, the first
    candidate (the caller loops, so protection still converges).
    """
    found: dict[str, tuple[bool, int, int, float, int, str]] = {}
    order = 0
    for k, (parent, children) in enumerate(group.eqs):
        near = 0 if (term == parent or term in children) else 1
        for cand in group.candidates(k, suppressed):
            role = 1 if cand == parent else 0
            key = (cand in group.fixed, near, role, group.value(cand), order, parent)
            order += 1
            if cand not in found or key < found[cand]:
                found[cand] = key
    if not found:
        return None
    options = [(cand, key[5]) for cand, key in sorted(found.items(), key=lambda kv: kv[1][:5])]
    for cand, parent in options:
        trial = suppressed.copy()
        trial[group.present[cand]] = True
        if not test(term, group.unknown(trial)):
            return cand, parent
    return options[0]


def protect_group(
    group: GroupEquations, suppressed: np.ndarray, reasons: list[Any], labels: Mapping[str, str], check_bounds: bool
) -> None:
    """Add secondary suppressions to one group in place, to a fixed point."""

    def mark(code: str, parent: str) -> None:
        i = group.present[code]
        suppressed[i] = True
        reasons[i] = f"secondary: protects a suppressed cell in {labels.get(parent, parent)}"

    # Suppression only grows here, and a cell that cannot be worked out (or pinned) stays so when
    # more cells are withheld, so each term is cleared once rather than rechecked every round.
    cleared_rank: set[str] = set()
    cleared_bounds: set[str] = set()
    for _ in range(len(suppressed) + 2):
        changed = False
        # 1. simple pass: any equation with exactly one unknown, which is protected
        stable = False
        while not stable:
            stable = True
            unknown = group.unknown(suppressed)
            for k, (parent, children) in enumerate(group.eqs):
                cols = [group.col[t] for t in [parent, *children]]
                unk = [t for t, c in zip([parent, *children], cols) if unknown[c]]
                if len(unk) != 1:
                    continue
                t = unk[0]
                if t not in group.present or not np.isfinite(group.value(t)):
                    continue
                cands = group.candidates(k, suppressed)
                if not cands:
                    continue
                mark(cands[0], parent)
                stable = False
                changed = True
                break
        # 2. linear-algebra check (combinations of equations)
        unresolved = False
        unknown = group.unknown(suppressed)
        for term in group.protected_terms(suppressed):
            if term in cleared_rank:
                continue
            if group.recoverable(term, unknown):
                pick = _choose(group, term, suppressed, group.recoverable)
                if pick is None:
                    unresolved = True
                    continue
                mark(*pick)
                changed = True
                break
            cleared_rank.add(term)
        if changed:
            continue
        # 3. bounds check over non-negative counts
        if check_bounds:
            for term in group.protected_terms(suppressed):
                if term in cleared_bounds:
                    continue
                if not group.pinned(term, unknown):
                    cleared_bounds.add(term)
                    continue
                pick = _choose(
                    group, term, suppressed, lambda t, u: group.recoverable(t, u) or group.pinned(t, u)
                )
                if pick is None:
                    unresolved = True
                    continue
                mark(*pick)
                changed = True
                break
        if not changed:
            if unresolved:
                warnings.warn(
                    "a suppressed cell stays recoverable: every other cell of its equations is already "
                    "unpublished (check the hierarchies)",
                    RuntimeWarning,
                    stacklevel=3,
                )
            return
    warnings.warn("secondary suppression did not reach a fixed point", RuntimeWarning, stacklevel=3)
