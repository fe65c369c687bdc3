"""The whole-table check of disclosure control: no suppressed cell may be a linear combination of
the published ones.

A table of counts with its totals is a set of linear equations (total = sum of parts). A suppressed
cell is recoverable exactly when its row of the null space of the unknown cells' equations is zero,
so one eigen-decomposition tests every cell at once; :func:`linear_repair` suppresses further cells
until none is recoverable, one connected set of equations at a time (national data: one small set
per council instead of one system of thousands). Used by :mod:`send_metrics.measures.table_protection`
after its sub-table passes. No Streamlit here.
"""
from __future__ import annotations

import hashlib
import pickle
import warnings
from collections import OrderedDict
from contextlib import contextmanager

import numpy as np


@contextmanager
def single_thread_blas():
    """Run small dense linear algebra on one BLAS thread.

    OpenBLAS spreads even a 150 x 150 eigen-decomposition over every core; on a busy two-core
    server its spinning threads made one call take over a second instead of 3 ms. The thread
    count is restored afterwards; when the OpenBLAS library is not found this does nothing."""
    lib = None
    try:
        import ctypes
        with open("/proc/self/maps") as fh:
            paths = sorted({line.split()[-1] for line in fh if "openblas" in line.lower() and "/" in line})
        for path in paths:
            cand = ctypes.CDLL(path)
            for suffix in ("scipy_openblas_{}_num_threads64_", "openblas_{}_num_threads64_", "openblas_{}_num_threads"):
                if hasattr(cand, suffix.format("set")) and hasattr(cand, suffix.format("get")):
                    lib = (getattr(cand, suffix.format("set")), getattr(cand, suffix.format("get")))
                    break
            if lib:
                break
    except Exception:  # pragma: no cover - any platform without /proc or OpenBLAS
        lib = None
    if lib is None:
        yield
        return
    before = int(lib[1]())
    lib[0](1)
    try:
        yield
    finally:
        lib[0](before)


def linear_repair(equations, vals: np.ndarray, known: np.ndarray, sup: np.ndarray, reason: np.ndarray,
                   fixed: np.ndarray | None = None, sensitive: np.ndarray | None = None,
                   max_rounds: int = 500) -> set[int]:
    """Suppress further cells until no suppressed cell is a linear combination of published ones
    (see :func:`linear_repair_connected`), one connected set of equations at a time.

    Equations that share no cell are independent: a cell's recoverability, and every cell that
    could protect it, lie in its own connected set. Solving each set apart gives the same answer
    as the whole system while keeping the dense algebra small (national data: one set per council
    of a few dozen cells, instead of one system of thousands)."""
    n = len(vals)
    fixed = np.zeros(n, dtype=bool) if fixed is None else fixed
    sensitive = np.ones(n, dtype=bool) if sensitive is None else sensitive
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i
    members_of = []
    for total, parts, _ in equations:
        cells = [int(c) for c in [total, *parts] if c is not None]
        members_of.append(cells)
        for c in cells[1:]:
            a, b = root(cells[0]), root(c)
            if a != b:
                parent[b] = a
    groups: dict[int, list[int]] = {}
    for i, (eq, cells) in enumerate(zip(equations, members_of)):
        if cells:
            groups.setdefault(root(cells[0]), []).append(i)
    hopeless: set[int] = set()
    for eq_ids in groups.values():
        cells = sorted({c for i in eq_ids for c in members_of[i]})
        pos = np.array(cells)
        if not (sup[pos] & known[pos] & sensitive[pos]).any():
            continue  # nothing hidden here to protect
        local = {c: k for k, c in enumerate(cells)}
        eqs = [(None if t is None else local[int(t)], [None if q is None else local[int(q)] for q in parts], label)
               for t, parts, label in (equations[i] for i in eq_ids)]
        sub_sup, sub_reason = sup[pos].copy(), reason[pos].copy()
        lost = _connected_once(eqs, vals[pos], known[pos], sub_sup, sub_reason, fixed=fixed[pos],
                               sensitive=sensitive[pos], max_rounds=max_rounds)
        sup[pos], reason[pos] = sub_sup, sub_reason
        hopeless |= {cells[j] for j in lost}
    return hopeless


# Connected sets already repaired, by their full content (equations, values, what is known,
# suppressed, fixed and sensitive, the reasons): protecting linked tables repeats the same sets
# round after round, and the answer is the same answer. Small: a few dozen entries.
_REPAIRED: OrderedDict[bytes, tuple] = OrderedDict()
_REPAIRED_MAX = 64


def _connected_once(equations, vals, known, sup, reason, fixed, sensitive, max_rounds) -> set[int]:
    """:func:`linear_repair_connected`, remembered by content (its warnings are given again)."""
    key = hashlib.blake2b(pickle.dumps((equations, vals, known, sup, list(reason), fixed, sensitive, max_rounds),
                                       protocol=5), digest_size=20).digest()
    hit = _REPAIRED.get(key)
    if hit is None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lost = linear_repair_connected(equations, vals, known, sup, reason, fixed=fixed, sensitive=sensitive,
                                           max_rounds=max_rounds)
        hit = (sup.copy(), reason.copy(), frozenset(lost), [(w.message, w.category) for w in caught])
        _REPAIRED[key] = hit
        while len(_REPAIRED) > _REPAIRED_MAX:
            _REPAIRED.popitem(last=False)
    else:
        _REPAIRED.move_to_end(key)
        sup[:], reason[:] = hit[0], hit[1]
    for message, category in hit[3]:
        warnings.warn(message, category, stacklevel=3)
    return set(hit[2])


def linear_repair_connected(equations, vals: np.ndarray, known: np.ndarray, sup: np.ndarray,
                             reason: np.ndarray, fixed: np.ndarray | None = None,
                             sensitive: np.ndarray | None = None, max_rounds: int = 500) -> set[int]:
    """Suppress further cells until no suppressed cell is a linear combination of published ones.

    ``equations`` are (total, parts, label) with cell positions (None for a cell that is not in
    the table: always unknown). A suppressed cell is recoverable exactly when its row in the null
    space of the equations restricted to the unknown cells is zero (the row space is orthogonal
    to the null space), so one eigen-decomposition tests every cell at once. Works in place on
    ``sup``/``reason``; returns the suppressed cells that figures published elsewhere already give
    away (nothing here can protect them). Only ``sensitive`` cells (small counts and cells hidden
    at their source) must stay unrecoverable; complementary suppressions need not (default: every
    suppressed cell is sensitive).
    """
    n = len(vals)
    fixed = np.zeros(n, dtype=bool) if fixed is None else fixed
    sensitive = np.ones(n, dtype=bool) if sensitive is None else sensitive
    rows, extra = [], 0
    for total, parts, _ in equations:
        row: dict[int, float] = {}
        for p, coef in [(total, 1.0), *[(q, -1.0) for q in parts]]:
            if p is None:
                p = n + extra
                extra += 1
            row[p] = row.get(p, 0.0) + coef
        rows.append(row)
    if not rows:
        return set()
    width = n + extra
    a = np.zeros((len(rows), width))
    for i, row in enumerate(rows):
        for j, v in row.items():
            a[i, j] = v
    cell_eqs = [np.flatnonzero(a[:, j]) for j in range(n)]

    def unknown_mask(s: np.ndarray) -> np.ndarray:
        u = np.ones(width, dtype=bool)
        u[:n] = s | ~known
        return u

    def analyse(s: np.ndarray):
        """Null space of the unknown cells' equations, from the eigen-decomposition of the Gram
        matrix (small and symmetric: much faster than a full SVD of the tall equation matrix;
        the entries are 0 and +-1, so it is well conditioned)."""
        cols = np.flatnonzero(unknown_mask(s))
        sub = a[:, cols]
        w, v = np.linalg.eigh(sub.T @ sub)
        tol = 1e-9 * max(1.0, float(w.max()) if w.size else 1.0)
        index = {c: k for k, c in enumerate(cols)}
        ns = v[:, w < tol]
        rec = [j for j in np.flatnonzero(s & known & sensitive)
               if ns.shape[1] == 0 or np.linalg.norm(ns[index[j]]) < 1e-6]
        return rec, (sub, v, w, tol, index)

    def recoverable(s: np.ndarray) -> list[int]:
        return analyse(s)[0]

    # Cells that stay recoverable even with every cell we may hide hidden are exposed by figures
    # published elsewhere; nothing here can help them, so they are not chased. (Worked out only
    # when something is recoverable: it is the costliest step.)
    hopeless: set[int] | None = None
    for _ in range(max_rounds):
        rec, (sub, v, w, tol, index) = analyse(sup)
        if rec and hopeless is None:
            hopeless = set(recoverable(sup | (known & ~fixed)))
        bad = [j for j in rec if j not in (hopeless or set())]
        if not bad:
            return hopeless or set()
        target = bad[0]
        eqs = cell_eqs[target]
        cands = sorted({int(j) for e in eqs for j in np.flatnonzero(a[e, :n])
                        if not sup[j] and known[j] and not fixed[j]}, key=lambda j: (vals[j], j))
        if not cands:  # nothing left to suppress near it: try every other publishable cell
            cands = sorted([int(j) for j in np.flatnonzero(~sup & known & ~fixed)], key=lambda j: (vals[j], j))
            if not cands:
                warnings.warn("disclosure repair found no cell left to suppress", RuntimeWarning, stacklevel=3)
                return hopeless or set()
        # Hiding cell c protects the target exactly when A_U y = -a_c has a solution with y_target
        # != 0 (then the null space gains a vector touching the target). All candidates at once,
        # with the least-squares solution from the same eigen-decomposition.
        ac = a[:, cands]
        inv = np.where(w > tol, 1.0 / np.where(w > tol, w, 1.0), 0.0)
        y = -(v * inv) @ (v.T @ (sub.T @ ac))
        resid = np.linalg.norm(sub @ y + ac, axis=0)
        works = (resid < 1e-6 * (1 + np.linalg.norm(ac, axis=0))) & (np.abs(y[index[target]]) > 1e-6)
        pick = cands[int(np.flatnonzero(works)[0])] if works.any() else cands[0]
        sup[pick] = True
        label = next((lab for i, (t, p, lab) in enumerate(equations) if i in set(eqs)), "table")
        reason[pick] = f"secondary: protects a suppressed cell in {label}"
    warnings.warn("disclosure repair stopped before every cell was safe", RuntimeWarning, stacklevel=3)
    return hopeless or set()
