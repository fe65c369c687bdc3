"""How far a withheld sum of counts can move, given every published cell and that counts are never
negative (nor above a whole they are part of): the linear-programming bound of issue 17.10.

An attacker who knows the published cells ``P x = b`` and ``lower <= x <= upper`` bounds a withheld
cell ``c @ x`` by two linear programmes; a small count confined to a range 1 wide is as good as
disclosed. Shared by the release's protection (``union_protection.widen_ranges``), which must leave
every sensitive cell a wider range, and the attack tool (``tools.disclosure_attack``), which checks
that it does. The cheap certificate first (a direction that keeps every published cell and every
bound), the programmes only when it fails.
"""
from __future__ import annotations

import numpy as np


def robust_svd(a: np.ndarray):
    """Thin SVD; LAPACK's divide-and-conquer driver now and then fails to converge on these 0/1
    matrices, the slower QR-iteration driver then does the work."""
    try:
        return np.linalg.svd(a, full_matrices=False)
    except np.linalg.LinAlgError:
        import scipy.linalg
        return scipy.linalg.svd(a, full_matrices=False, lapack_driver="gesvd")


def set_colwise_matrix(lp, a: np.ndarray) -> None:
    """Give the HiGHS model ``lp`` the constraint matrix ``a`` (rows x counts), column-wise."""
    import highspy
    cols = a.T
    nz = cols != 0
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.concatenate([[0], np.cumsum(nz.sum(axis=1))]).astype(np.int32)
    lp.a_matrix_.index_ = np.nonzero(nz)[1].astype(np.int32)
    lp.a_matrix_.value_ = cols[nz].astype(float)


class BoundsLP:
    """The least and greatest value of a sum of basic counts given the published cells
    (``P x = b``), each count within its bounds (``lower`` 0 unless given, ``upper`` none unless
    given) and, optionally, ``A_ub x <= 0`` (parts never above their wholes): one HiGHS model per
    system, re-solved with a new objective for each cell (HiGHS starts from the last basis, far
    quicker than building each programme afresh)."""

    def __init__(self, P: np.ndarray, b: np.ndarray, A_ub: np.ndarray | None = None,
                 lower: np.ndarray | None = None, upper: np.ndarray | None = None):
        import highspy
        self.highspy = highspy
        n = P.shape[1]
        rows = [P] if len(P) else []
        row_lower = [np.asarray(b, dtype=float)] if len(P) else []
        row_upper = [np.asarray(b, dtype=float)] if len(P) else []
        if A_ub is not None and len(A_ub):
            rows.append(A_ub)
            row_lower.append(np.full(len(A_ub), -highspy.kHighsInf))
            row_upper.append(np.zeros(len(A_ub)))
        a = np.vstack(rows) if rows else np.zeros((0, n))
        h = self.h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        # Primal simplex: a new objective leaves the last optimum feasible, so each programme
        # starts from it (about nine times quicker than HiGHS's default dual simplex here).
        h.setOptionValue("simplex_strategy", 4)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n, len(a)
        lp.col_cost_ = np.zeros(n)
        lp.col_lower_ = np.zeros(n) if lower is None else np.asarray(lower, dtype=float)
        lp.col_upper_ = (np.full(n, highspy.kHighsInf) if upper is None
                         else np.where(np.isfinite(upper), upper, highspy.kHighsInf).astype(float))
        lp.row_lower_ = np.concatenate(row_lower) if row_lower else np.zeros(0)
        lp.row_upper_ = np.concatenate(row_upper) if row_upper else np.zeros(0)
        set_colwise_matrix(lp, a)
        h.passModel(lp)
        self.n = n

    def extreme(self, c: np.ndarray, maximise: bool) -> float | None:
        """The optimum of ``c @ x``; None when unbounded or not solved."""
        hs = self.highspy
        self.h.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), np.asarray(c, dtype=float))
        self.h.changeObjectiveSense(hs.ObjSense.kMaximize if maximise else hs.ObjSense.kMinimize)
        self.h.run()
        if self.h.getModelStatus() != hs.HighsModelStatus.kOptimal:
            return None
        return float(self.h.getInfo().objective_function_value)

    def pinned(self, c: np.ndarray, true: float) -> tuple[float, float] | None:
        """(least, greatest) when ``c @ x`` is confined to a range at most 1 wide, else None."""
        hi = self.extreme(c, maximise=True)
        if hi is None or hi - true > 1 + 1e-7:
            return None  # unbounded, or it can move by more than 1 upwards alone
        lo = self.extreme(c, maximise=False)
        if lo is None or hi - lo > 1 + 1e-7:
            return None
        return lo, hi


def null_space(P: np.ndarray, q: np.ndarray) -> np.ndarray:
    """An orthonormal basis of the null space of P (rows), given the basis ``q`` of its row space."""
    n = P.shape[1]
    if len(q) == 0:
        return np.eye(n)
    if len(q) == n:
        return np.zeros((0, n))
    _, _, vt = np.linalg.svd(q, full_matrices=True)
    return vt[len(q):]


class InteriorDirections:
    """For each cell, the direction that moves it most while keeping every published cell and
    every count at a bound as they are (a count at its bound blocks any direction that would take
    it past): the cell's row over the counts off their bounds, less its projection on the
    published rows there (their row space from the Gram matrix: quick when there are fewer
    published rows than counts)."""

    def __init__(self, P: np.ndarray, x0: np.ndarray, lower: np.ndarray | None = None,
                 upper: np.ndarray | None = None):
        free = x0 > (0 if lower is None else lower)
        if upper is not None:
            free &= x0 < upper
        self.free = free
        sub = P[:, free]
        self.v = np.zeros((int(free.sum()), 0))
        if len(sub) and free.any():
            lam, u = np.linalg.eigh(sub @ sub.T)
            keep = lam > 1e-9 * max(1.0, float(lam.max()))
            self.v = (sub.T @ u[:, keep]) / np.sqrt(lam[keep])

    def of(self, c: np.ndarray) -> np.ndarray:
        d = np.zeros(len(c))
        cf = c[self.free]
        d[self.free] = cf - self.v @ (self.v.T @ cf)
        return d


def moves_by_more_than_one(c: np.ndarray, d: np.ndarray, x0: np.ndarray, A_ub=None,
                           lower: np.ndarray | None = None, upper: np.ndarray | None = None) -> bool:
    """True when, from the true counts, moving along ``d`` (a direction that keeps every
    published cell: the projection of the cell on a null space) keeps every count within its
    bounds (and parts within wholes) over a range of the cell wider than 1: then it cannot be
    pinned to within 1, and no linear programme is needed."""
    gain = float(c @ d)
    if gain < 1e-9:
        return False
    low_room = x0 - (0 if lower is None else lower)  # how far each count may fall
    lo, hi = -np.inf, np.inf
    neg, pos = d < -1e-12, d > 1e-12
    if pos.any():
        lo = max(lo, float(np.max(-low_room[pos] / d[pos])))
    if neg.any():
        hi = min(hi, float(np.min(low_room[neg] / -d[neg])))
    if upper is not None:
        high_room = upper - x0
        if pos.any():
            hi = min(hi, float(np.min(high_room[pos] / d[pos])))
        if neg.any():
            lo = max(lo, float(np.max(-high_room[neg] / -d[neg])))
    if A_ub is not None and len(A_ub):
        g, slack = A_ub @ d, -(A_ub @ x0)  # g t <= slack
        up, down = g > 1e-12, g < -1e-12
        if up.any():
            hi = min(hi, float(np.min(slack[up] / g[up])))
        if down.any():
            lo = max(lo, float(np.max(slack[down] / g[down])))
    return (hi - lo) * gain > 1 + 1e-7
