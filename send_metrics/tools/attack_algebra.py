"""The linear algebra of the disclosure attack (``tools.disclosure_attack``): the row space of the
published cells (a robust SVD), its null space, and the linear programmes that bound a withheld
cell over non-negative counts (HiGHS). Apart from the collection of cells so each part stays short."""
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


class _BoundsLP:
    """The least and greatest value of a sum of basic counts given the published cells
    (``P x = b``), counts never negative and parts never above their wholes (``A_ub x <= 0``):
    one HiGHS model per system, re-solved with a new objective for each cell (HiGHS starts from
    the last basis, far quicker than building each programme afresh)."""

    def __init__(self, P: np.ndarray, b: np.ndarray, A_ub: np.ndarray | None):
        import highspy
        self.highspy = highspy
        n = P.shape[1]
        rows = [P] if len(P) else []
        lower = [np.asarray(b, dtype=float)] if len(P) else []
        upper = [np.asarray(b, dtype=float)] if len(P) else []
        if A_ub is not None and len(A_ub):
            rows.append(A_ub)
            lower.append(np.full(len(A_ub), -highspy.kHighsInf))
            upper.append(np.zeros(len(A_ub)))
        a = np.vstack(rows) if rows else np.zeros((0, n))
        h = self.h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n, len(a)
        lp.col_cost_ = np.zeros(n)
        lp.col_lower_ = np.zeros(n)
        lp.col_upper_ = np.full(n, highspy.kHighsInf)
        lp.row_lower_ = np.concatenate(lower) if lower else np.zeros(0)
        lp.row_upper_ = np.concatenate(upper) if upper else np.zeros(0)
        cols = a.T
        nz = cols != 0
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = np.concatenate([[0], np.cumsum(nz.sum(axis=1))]).astype(np.int32)
        lp.a_matrix_.index_ = np.nonzero(nz)[1].astype(np.int32)
        lp.a_matrix_.value_ = cols[nz].astype(float)
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


def _null_space(P: np.ndarray, q: np.ndarray) -> np.ndarray:
    """An orthonormal basis of the null space of P (rows), given the basis ``q`` of its row space."""
    n = P.shape[1]
    if len(q) == 0:
        return np.eye(n)
    if len(q) == n:
        return np.zeros((0, n))
    _, _, vt = np.linalg.svd(q, full_matrices=True)
    return vt[len(q):]


def _positive_null_space(P: np.ndarray, x0: np.ndarray) -> np.ndarray:
    """An orthonormal basis of the directions that keep every published cell and every zero count
    as they are: a zero blocks any direction that would take it below zero, so directions that
    leave zeros alone certify more cells."""
    pos = x0 > 0
    n = P.shape[1]
    if not pos.any():
        return np.zeros((0, n))
    sub = P[:, pos]
    if len(sub):
        _, s, vt = np.linalg.svd(sub, full_matrices=True)
        rank = int((s > 1e-9 * max(1.0, float(s.max()) if len(s) else 1.0)).sum())
        basis = vt[rank:]
    else:
        basis = np.eye(int(pos.sum()))
    out = np.zeros((len(basis), n))
    out[:, pos] = basis
    return out


def _moves_by_more_than_one(c: np.ndarray, null: np.ndarray, x0: np.ndarray, A_ub) -> bool:
    """True when, from the true counts, moving along the null-space direction that changes the
    cell most keeps every count non-negative (and parts within wholes) over a range of the cell
    wider than 1: then it cannot be pinned to within 1, and no linear programme is needed."""
    if null.shape[0] == 0:
        return False
    d = null.T @ (null @ c)
    gain = float(c @ d)
    if gain < 1e-9:
        return False
    lo, hi = -np.inf, np.inf
    neg, pos = d < -1e-12, d > 1e-12
    if pos.any():
        lo = max(lo, float(np.max(-x0[pos] / d[pos])))
    if neg.any():
        hi = min(hi, float(np.min(x0[neg] / -d[neg])))
    if A_ub is not None and len(A_ub):
        g, slack = A_ub @ d, -(A_ub @ x0)  # g t <= slack
        up, down = g > 1e-12, g < -1e-12
        if up.any():
            hi = min(hi, float(np.min(slack[up] / g[up])))
        if down.any():
            lo = max(lo, float(np.max(slack[down] / g[down])))
    return (hi - lo) * gain > 1 + 1e-7
