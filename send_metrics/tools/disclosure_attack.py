"""An attacker's view of everything the dashboard publishes: can any suppressed count be worked out?

Every output built on a count table publishes cells, each a sum of basic counts (one leaf area -
a locality, or an area no other area is built from - and one combination of the table's category
columns, for one period and one count column). :func:`collect` gathers the cells of

* the measure table (every measure's numerator and denominator: the Board, Trends, Equity,
  Benchmarks and Waiting pages' figures, the board pack and ``measures --format csv``), a count
  shown when some measure shows it and withheld when measures built on it exist but none does;
* the Data explorer at every grain it offers (every choice of up to two breakdown columns, and
  its downloads, which hold the same cells);
* the Needs page's need-by-age and need-by-setting tables, and the Waiting page's wait-band tables;

and :func:`attack` puts each table's published cells into one linear system per period and asks,
for every withheld cell, (1) the exact rank test: is its vector a linear combination of published
vectors (then it is recovered exactly); (2) linear programming (scipy's HiGHS): the smallest and
largest value it can take given the published cells, counts that are never negative, and parts
never larger than their wholes (plans issued within 20 weeks <= plans issued). A cell whose range
is at most 1 wide is pinned to within 1.

The attacker is assumed to know how areas add up (localities to councils, former districts,
footprints and Cumbria), every published cell, and the categories of every table. Run it with
``python -m send_metrics.tools.disclosure_attack [--data-dir DIR] [--dataset NAME] [--json]``.

The cells come from ``measures.release_cells``, the same collection ``measures.release`` protects
together; tests/tools/test_disclosure_attack.py runs the attack on the demo's caseload.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from send_metrics.measures import explore
from send_metrics.measures.linear_repair import single_thread_blas
from send_metrics.measures.release import ServedOutputs
from send_metrics.measures.release_cells import (
    DATASETS,
    KEY_SEP,
    WHOLE,
    Cell,
    discloses,
    group_targets,
    loaded_datasets,
    published_figures,
    rest_targets,
)
from send_metrics.measures.release_cells import collect as _collect
from send_metrics.measures.release_systems import _Table
from send_metrics.stats import disclosure
from send_metrics.stats.nonnegative_bounds import (
    BoundsLP,
    InteriorDirections,
    moves_by_more_than_one,
    null_space,
    robust_svd,
)

__all__ = ["DATASETS", "Cell", "attack", "collect", "loaded_datasets"]


def collect(engine, datasets=DATASETS, progress=None, outputs=None):
    """Every cell the outputs publish or withhold, as pages serve them (release included; or as
    ``outputs`` give them, e.g. ``release_cells.OwnOutputs``, each output protected alone), and the
    rest of every group whose part is withheld for it (``release_cells.rest_targets``)."""
    cells = _collect(engine, datasets, progress, outputs=outputs or ServedOutputs(engine))
    return cells + rest_targets(engine.db, cells) + group_targets(cells)


@dataclass
class Result:
    cells: int = 0
    withheld: int = 0
    exact: list = field(default_factory=list)
    pinned: list = field(default_factory=list)
    exact_cells: list = field(default_factory=list)
    pinned_cells: list = field(default_factory=list)
    # Pinned at 0 only because a published 0 holds them (a council's figure, kept as the publisher
    # shows it, or a larger group's 0 that the rules let be shown, says that none of its parts has
    # any): what that figure states, not a working-out.
    published_zero: list = field(default_factory=list)
    # Confined to a range 1 wide by the publisher's own figures alone (councils and above, where
    # it shows them all: a council's published 1 puts each of its localities at 0 or 1): the
    # publisher's statement, which no output of ours can widen.
    pinned_by_publisher: list = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"published_cells": self.cells, "withheld_cells": self.withheld, "exact": len(self.exact),
                "pinned_within_1": len(self.pinned), "pinned_by_a_published_zero": len(self.published_zero),
                "pinned_by_the_publisher_alone": len(self.pinned_by_publisher),
                "seconds": round(self.seconds, 1),
                "examples_exact": self.exact[:10], "examples_pinned": self.pinned[:10]}


# -- the attack ---------------------------------------------------------------------------------
def column_pairs(dataset: str) -> list[tuple[str, str, set | None]]:
    """(part, whole, outcomes or None): count columns of `dataset` that are parts of another in the
    same row (a proportion measure's numerator and denominator over the same rows)."""
    outcomes = explore._count_outcomes() if dataset == "outcomes" else None
    return [(part, whole, outcomes) for part, whole in explore.part_whole_pairs(dataset)]


def attack(engine, cells: list[Cell], lp: bool = True, datasets=DATASETS, max_lp: int | None = None,
           rank: bool = True, lp_sensitive_only: bool = False) -> dict:
    """Rank test and LP bounds for every withheld cell; one result per dataset. With ``rank``
    False, cells the rank test would recover are still left out of the LP (they are recovered
    exactly, which the rank test reports), but not listed. With ``lp_sensitive_only``, the LP
    bounds only the cells whose disclosure would disclose a child (``release_cells.discloses``): two
    programmes per cell make bounding every withheld cell of the demo take hours."""
    with single_thread_blas():  # many small SVDs: threads only contend
        return _attack(engine, cells, lp, datasets, max_lp, rank, lp_sensitive_only)


def disclosed(res: Result, low: float, high: float) -> list[str]:
    """What a result discloses: every sensitive cell recovered exactly or pinned to within 1, and
    every none-or-all-of-a-group cell whose group is recovered too."""
    found = list(zip(res.exact, res.exact_cells)) + list(zip(res.pinned, res.pinned_cells))
    known = {c.key() for _, c in found}
    out = []
    for text, cell in found:
        value = float(text.split(" = ")[-1].split(" ")[0])
        if cell.source == WHOLE:  # a group of 5-10 (the rule's; the part's other wholes are larger)
            if cell.label in known and high < value <= disclosure.group_max(high):
                out.append(f"{text} (the group of: {cell.label.replace(KEY_SEP, ' ')})")
        elif discloses(cell, value, low, high):
            out.append(text)
    return out


def _attack(engine, cells, lp, datasets, max_lp, rank, lp_sensitive_only=False) -> dict:
    pairs_by_ds = {ds: column_pairs(ds) for ds in datasets}
    results = {}
    for ds in loaded_datasets(engine.db, datasets):
        t0 = time.time()
        res = Result()
        table = _Table(engine, ds, cells)
        cols, col_i, nv, nc, combos, dims = table.cols, table.col_i, table.nv, table.nc, table.combos, table.dims
        # The publisher's own figures (councils and above, where it shows them all) are known to
        # the attacker whatever the pages show, and are no disclosure of ours.
        published = published_figures(engine, ds)
        for period, vecs, x_true in table.periods():
            public = published.get(period, set())
            # blocks of columns linked by part <= whole
            blocks = _blocks(cols, pairs_by_ds[ds])
            for block in blocks:
                pub_rows, sup_rows = [], []
                for c in block:
                    off = block.index(c) * nv
                    for v, cell in vecs[c]:
                        full = np.zeros(len(block) * nv)
                        full[off:off + nv] = v
                        (sup_rows if cell.suppressed and cell.area not in public else pub_rows).append((full, cell))
                res.cells += len(pub_rows)
                res.withheld += len(sup_rows)
                if not sup_rows:
                    continue
                xb = np.concatenate([x_true[col_i[c]] for c in block])
                used = np.zeros(len(block) * nv, dtype=bool)
                for v, _ in pub_rows + sup_rows:
                    used |= v > 0
                idx = np.flatnonzero(used)
                P = np.array([v[idx] for v, _ in pub_rows]) if pub_rows else np.zeros((0, len(idx)))
                b = P @ xb[idx] if len(P) else np.zeros(0)
                S = np.array([v[idx] for v, _ in sup_rows])
                # exact: the row is in the row space of P
                if len(P):
                    _, s, vt = robust_svd(P)
                    q = vt[s > 1e-9 * max(1.0, float(s.max()))]
                    resid = np.linalg.norm(S - (S @ q.T) @ q, axis=1)
                    exact = resid < 1e-7
                else:
                    exact = np.zeros(len(S), dtype=bool)
                for k in (np.flatnonzero(exact) if rank else []):
                    cell = sup_rows[k][1]
                    res.exact.append(_describe(cell, float(S[k] @ xb[idx])))
                    res.exact_cells.append(cell)
                if not lp:
                    continue
                # part <= whole for every leaf of a pair in this block
                A_ub, b_ub = [], []
                pos = {j: k for k, j in enumerate(idx)}
                for part, whole, outcomes in pairs_by_ds[ds]:
                    if part in block and whole in block:
                        po, wo = block.index(part) * nv, block.index(whole) * nv
                        for j in range(nv):
                            if outcomes is not None and "outcome" in dims and \
                                    combos.iloc[j % nc]["outcome"] not in outcomes:
                                continue
                            if po + j in pos and wo + j in pos:
                                row = np.zeros(len(idx))
                                row[pos[po + j]], row[pos[wo + j]] = 1.0, -1.0
                                A_ub.append(row)
                                b_ub.append(0.0)
                A_ub = np.array(A_ub) if A_ub else None
                b_ub = np.array(b_ub) if b_ub else None
                todo = [k for k in np.flatnonzero(~exact)
                        if not lp_sensitive_only or discloses(sup_rows[k][1], float(S[k] @ xb[idx]),
                                                              engine.suppress_min, engine.suppress_max)]
                if max_lp is not None:
                    todo = todo[:max_lp]
                x0 = xb[idx]
                if len(P):
                    full_null = null_space(P, q)
                else:
                    full_null = np.eye(len(idx))
                positive_null = None
                solver = publisher_solver = None
                for k in todo:
                    c = S[k]
                    if moves_by_more_than_one(c, full_null.T @ (full_null @ c), x0, A_ub):
                        continue  # a cheap certificate: the true counts can move it by more than 1
                    if positive_null is None:
                        positive_null = InteriorDirections(P, x0)
                    if moves_by_more_than_one(c, positive_null.of(c), x0, A_ub):
                        continue  # the same, moving only counts that are not zero
                    if solver is None:
                        solver = BoundsLP(P, b, A_ub)
                    true = float(c @ x0)
                    hi = solver.extreme(c, maximise=True)
                    if hi is None or hi - true > 1 + 1e-7:
                        continue  # unbounded, or it can move by more than 1 upwards alone
                    lo = solver.extreme(c, maximise=False)
                    if lo is not None and hi - lo <= 1 + 1e-7:
                        if hi < 1e-9 and _held_by_a_published_zero(c, pub_rows, idx, x0):
                            res.published_zero.append(_describe(sup_rows[k][1], true, lo, hi))
                            continue
                        if publisher_solver is None and public:  # built once per block, when first needed
                            public_rows = [v[idx] for v, cell in pub_rows if cell.area in public]
                            if public_rows:
                                Q = np.array(public_rows)
                                publisher_solver = BoundsLP(Q, Q @ x0, A_ub)
                        if publisher_solver is not None:
                            top = publisher_solver.extreme(c, maximise=True)
                            bottom = publisher_solver.extreme(c, maximise=False)
                            # The publisher's statement only while our outputs narrow it no further
                            # (a published 1 puts a locality at 0 or 1; our zeros elsewhere could make it 1).
                            if (top is not None and bottom is not None and top - bottom <= 1 + 1e-7
                                    and hi - lo >= top - bottom - 1e-7):
                                res.pinned_by_publisher.append(_describe(sup_rows[k][1], true, lo, hi))
                                continue
                        res.pinned.append(_describe(sup_rows[k][1], true, lo, hi))
                        res.pinned_cells.append(sup_rows[k][1])
        res.seconds = time.time() - t0
        results[ds] = res
    return results


def _held_by_a_published_zero(c: np.ndarray, pub_rows, idx: np.ndarray, x0: np.ndarray) -> bool:
    """Whether a published 0 holds every basic count of ``c``."""
    inside = c > 0
    for v, _cell in pub_rows:
        w = v[idx]
        if (w[inside] > 0).all() and abs(float(w @ x0)) < 1e-9:
            return True
    return False


def _blocks(cols: list[str], pairs) -> list[list[str]]:
    parent = {c: c for c in cols}

    def root(c):
        while parent[c] != c:
            c = parent[c]
        return c
    for part, whole, _ in pairs:
        if part in parent and whole in parent:
            parent[root(part)] = root(whole)
    out: dict[str, list[str]] = {}
    for c in cols:
        out.setdefault(root(c), []).append(c)
    return list(out.values())


def _describe(cell: Cell, true: float, lo: float | None = None, hi: float | None = None) -> str:
    what = ", ".join(f"{d}={'/'.join(sorted(v))}" for d, v in cell.members.items() if d != "__cond__")
    text = f"{cell.source}: {cell.dataset} {cell.column} {cell.area} {cell.period} {what or cell.label} = {true:g}"
    if lo is not None:
        text += f" (pinned to {lo:.2f}-{hi:.2f})"
    return text


def main(argv=None) -> int:
    from dataclasses import replace
    from pathlib import Path

    from send_metrics.config import load_config
    from send_metrics.db import Database
    from send_metrics.measures.engine import Engine
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir")
    ap.add_argument("--store-dir")
    ap.add_argument("--dataset", action="append")
    ap.add_argument("--no-lp", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    config = load_config(args.data_dir)
    if args.store_dir:
        config = replace(config, store_dir=Path(args.store_dir))
    db = Database(config)
    engine = Engine(db)
    datasets = tuple(args.dataset or DATASETS)
    datasets = loaded_datasets(db, datasets)
    cells = collect(engine, datasets, progress=lambda m: print(m, file=sys.stderr, flush=True))
    results = attack(engine, cells, lp=not args.no_lp, datasets=datasets)
    summary = {ds: r.as_dict() for ds, r in results.items()}
    total = {"exact": sum(r.as_dict()["exact"] for r in results.values()),
             "pinned_within_1": sum(r.as_dict()["pinned_within_1"] for r in results.values())}
    if args.json:
        print(json.dumps({"total": total, "datasets": summary}, indent=1))
    else:
        for ds, d in summary.items():
            print(f"{ds}: {d['published_cells']} published, {d['withheld_cells']} withheld, "
                  f"{d['exact']} recovered exactly, {d['pinned_within_1']} pinned to within 1, "
                  f"{d['pinned_by_a_published_zero']} pinned at 0 by a published 0 that holds them ({d['seconds']} s)")
            for e in d["examples_exact"][:3] + d["examples_pinned"][:3]:
                print("   ", e)
        print(f"total: {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
