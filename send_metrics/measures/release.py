"""One protected version of each count table across every output built on it (issue 17.10).

Each output protects itself first (the measure table, the Data explorer at every grain, the Needs
tables, the Waiting bands). That is not enough: two outputs can disagree about the same count, or
be subtracted one from the other (the Needs page's "ASD, early years and other" minus the
explorer's "ASD, other" is "ASD, early years"). So, per dataset, every cell the outputs publish of
the areas in the hierarchies (localities and everything built from them, where the dashboard makes
its own tables) is written over the table's basic counts (``release_cells``), one system per period
and count column, and ``stats.union_protection`` withholds published cells until no sensitive
withheld cell (a small count, or one the rest-of-group rule hides) is a combination of published
ones, across all outputs together, and then (``union_protection.widen_ranges``) until no small
count is confined to a range 1 wide once counts are known never to be negative, nor below a part
another column counts, nor above a whole they are part of (a linear programme, as an attacker
would solve it):

* a count withheld in one output is withheld in every output that shows the same count;
* complements are chosen among the explorer's and the Needs tables' cells (the explorer's finer
  cuts first); the measure table's and the Waiting bands' cells are never changed here
  (:data:`DECIDING`: the measure table is computed first and every figure on the Board reads it;
  the Waiting bands are protected with its totals and kept readable), and figures at publisher
  levels (councils and above) are used only when nothing else works, and the Needs tables' band
  totals (the bars of the Needs charts: every need in one age band or setting) are kept whenever
  the other cells can protect.

What must stay unrecoverable is every small count, and for a cell withheld because the rest of
its group is small, that rest, and for a none-or-all cell the measure table shows anyway, its group
of 5-10 (``release_cells.rest_targets`` and ``group_targets``). The measure table's own pass
(:func:`protect_measure_counts`) likewise keeps the Waiting bands' small bands and its own
none-or-all splits (outcomes by SEN status) unrecoverable.

Where the publisher shows every council's figures unsuppressed (DfE's SEN2 release: caseload,
assessments, ceased plans; ``contract.Dataset.published_in_full``), anyone holds them, so they are
known from the start (``release_cells.published_figures``: only for the periods the council
publishes for), never withheld and never a target; the measure table's own pass also takes them,
at every grain, with the explorer's withheld cells as targets, since the release never changes the
measure table (an area's whole caseload or new plans, a headline on every page, is kept whenever
the other cells can protect); and the load writes each category no child in a locality falls in as a 0
(``sql/zero_fill.sql``), since a missing row says 0 and cannot be withheld. A count the publisher's
figures alone confine to a range 1 wide (a council's published 1: each of its localities holds 0 or
1) is the publisher's statement: no cut of ours widens it, so it is kept only from being narrowed
further (our zeros in the other localities would make it exactly 1), and one they give exactly is
theirs.

The result, per load and dataset, is the list of output cells to withhold (``withheld``), kept
beside the load as ``release-<dataset>`` and shipped prebuilt with the demo. Pages serve each
output through :func:`explorer_table`, :func:`needs_year` and :func:`waiting_bands`, which add it to
the output's own protection; nothing else is served. Other areas (councils outside the
hierarchies) add up with nothing the dashboard builds, and keep each output's own protection.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import pandas as pd

from send_metrics.measures import breakdowns, explore, waiting_times
from send_metrics.measures.linear_repair import single_thread_blas
from send_metrics.measures.release_arrays import distinct_rows, withhold_in_measure_rows
from send_metrics.measures.release_cells import (
    ALWAYS,
    DATASETS,
    KEY_SEP,
    TARGETS,
    WHOLE,
    OwnOutputs,
    collect,
    discloses,
    explorer_keys,
    explorer_targets,
    group_targets,
    loaded_datasets,
    measure_cells,
    needs_frame_cells,
    published_figures,
    publisher_areas,
    rest_targets,
    split_group_targets,
    waiting_band_targets,
    waiting_frame_cells,
)
from send_metrics.measures.release_systems import systems
from send_metrics.stats import disclosure
from send_metrics.stats.union_protection import protect_union, widen_ranges

COLUMNS = ["key", "reason"]
# Outputs that keep their own protection: the measure table (every figure on the Board reads it)
# and the Waiting page's wait bands (protected jointly with the measure table's totals; the
# explorer's finer bands of the same counts give way to them).
DECIDING = ("measures", "waiting bands")
SAME_COUNT = "secondary: withheld because another table withholds the same count"
ACROSS = "secondary: protects a small count that could be worked out across tables"


def stem(dataset: str) -> str:
    return f"release-{dataset}"


def stems() -> list[str]:
    return [stem(d) for d in DATASETS]


def local_areas(engine) -> frozenset[str]:
    """The areas of the hierarchies: localities and every area built from them."""
    return frozenset(str(a) for p, ch in engine.hierarchies() for a in (p, *ch))


# -- the computation ---------------------------------------------------------------------------
def compute(engine, dataset: str) -> pd.DataFrame:
    """The output cells of ``dataset`` to withhold so no combination of outputs recovers a
    sensitive cell (:data:`COLUMNS`: the cell's key, the reason)."""
    local = local_areas(engine)
    if not local or dataset not in loaded_datasets(engine.db, (dataset,)):
        return pd.DataFrame(columns=COLUMNS)
    cells = collect(engine, (dataset,), outputs=OwnOutputs(engine, areas=local))
    cells += rest_targets(engine.db, cells) + group_targets(cells)
    publisher = publisher_areas(engine)
    published = published_figures(engine, dataset)
    low, high = engine.suppress_min, engine.suppress_max
    rows = []
    with single_thread_blas():  # many mid-sized products: threads only contend
        for system in systems(engine, cells, dataset):
            rows += _protect_system(system, publisher, low, high, public_areas=published.get(system.period, set()))
    out = pd.DataFrame(rows, columns=COLUMNS).drop_duplicates("key")
    return out.sort_values("key").reset_index(drop=True)


def _protect_system(system, publisher: set[str], low: int, high: int, measures_fixed: bool = True,
                    public_areas: set[str] = frozenset()) -> list[tuple[str, str]]:
    """The cells of one system to withhold. ``public_areas``: the areas whose figures of the system's
    table and period anyone holds (``release_cells.published_figures``)."""
    vectors, values, cells = system.vectors, system.values, system.cells
    distinct, inverse = distinct_rows(vectors)
    n = len(distinct)
    shown, hidden, sensitive, fixed, soft, decided, costly, measure_rows, pinnable, public, headline = (
        np.zeros(n, dtype=bool) for _ in range(11))
    value = np.zeros(n)
    area = np.empty(n, dtype=object)
    wholes = []
    for i, c in enumerate(cells):
        u = inverse[i]
        value[u], area[u] = values[i], c.area
        public[u] |= c.area in public_areas and not c.source.startswith(TARGETS)
        if c.source == WHOLE:
            wholes.append((u, c.label))
            continue
        if c.source == ALWAYS:
            sensitive[u] = pinnable[u] = True
            continue
        if c.source.startswith(TARGETS):  # only to be kept unrecoverable; the cell itself is no output's
            small = max(1, low) <= values[i] <= high
            sensitive[u] |= small
            pinnable[u] |= small
            continue
        if c.suppressed:
            hidden[u] = True
            sensitive[u] |= (low <= values[i] <= high) or c.reason.startswith("primary")
            pinnable[u] |= discloses(c, values[i], low, high)
        else:
            shown[u] = True
        if measures_fixed and c.source.startswith(DECIDING):
            fixed[u] = True  # the measure table and the Waiting bands decide their own counts
            decided[u] |= not c.suppressed
            measure_rows[u] |= c.source == "measures"
        soft[u] |= c.area in publisher
        # An area's whole table (its caseload, its new plans): a headline on every page and the
        # denominator of many measures, kept whenever the other cells can protect (see choices).
        headline[u] |= not measures_fixed and c.source == "measures" and c.members.get("__cond__") == ""
        # A Needs table's band totals (every need, one age band or setting): the chart's bars.
        headline[u] |= measures_fixed and c.source.startswith("needs") and "primary_need" not in c.members
        costly[u] |= not c.source.startswith("explorer")  # a page's summary before the explorer's finer cuts
    # A group whose none-or-all part the measure table shows stays unrecoverable instead.
    part_of = {c.key(): inverse[i] for i, c in enumerate(cells) if not c.source.startswith(TARGETS)}
    for u, part in wholes:  # only the wholes of 5-10 (the rule's; the part's other wholes are larger)
        if max(1, low) <= high and part in part_of and decided[part_of[part]] and high < value[u] <= disclosure.group_max(high):
            sensitive[u] = pinnable[u] = True
    # Published: shown by the measure table, or by every output that shows it (and not a group
    # that must stay unrecoverable).
    known = (decided | (shown & ~hidden)) & ~(sensitive & ~fixed)
    # Where the publisher shows every figure at its levels (councils and above), they are known
    # to anyone whatever a page shows: never a target here and never withheld to protect another.
    sensitive &= ~public
    pinnable &= ~public
    known |= public
    layout = {"leaf_of": system.leaf_of, "combo_of": system.combo_of, "costly": costly}
    exact_only = np.zeros(n, dtype=bool)
    if public.any() and system.counts is not None:
        # A count the publisher's own figures confine to a range 1 wide (a council's published 1:
        # each of its localities holds 0 or 1) is the publisher's statement, and no cut of ours
        # widens it; what we publish must narrow it no further (our zeros elsewhere would make it
        # exactly 1). One the publisher's figures alone give exactly is theirs.
        by_publisher = widen_ranges(distinct, public, pinnable & ~public, public, soft, system.counts,
                                    system.lower, system.upper, **layout, search_cuts=False)
        exact_only[by_publisher.unprotectable] = True
        exact_only[by_publisher.exact] = False
        pinnable[by_publisher.exact] = False
    stages = [lambda start, f: protect_union(distinct, start, sensitive, f, soft, area, value, **layout)]
    if system.counts is not None:  # then no small count confined to a range 1 wide by non-negativity
        stages.append(lambda start, f: widen_ranges(distinct, start, pinnable, f, soft, system.counts,
                                                    system.lower, system.upper, **layout, exact_only=exact_only))
    # If a target stays recoverable (or pinned) from the deciding outputs alone (the Waiting
    # bands' own protection missed a rest of a group the measure table's counts give), fail
    # closed: only the measure table keeps its own figures and the Waiting bands give way too,
    # from then on.
    choices = [fixed | public]
    if measures_fixed and (fixed & ~measure_rows & ~public).any():
        choices.append((fixed & measure_rows) | public)
    if (headline & ~choices[0]).any():  # headlines kept where the other cells can protect
        choices.insert(0, choices[0] | headline)
    result = None
    for stage in stages:
        start = known if result is None else result.known
        for tried, f in enumerate(choices):
            result = stage(start, f)
            if not result.unprotectable:
                break
        choices = choices[tried:]
    # A figure anyone holds protects nothing by being withheld, but one count keeps one status:
    # where an output withholds it, every output does (a figure the measure table shows stays).
    withhold = ~result.known | (public & hidden & ~decided)
    out = []
    for i, c in enumerate(cells):
        if not c.suppressed and withhold[inverse[i]]:
            out.append((c.key(), SAME_COUNT if hidden[inverse[i]] else ACROSS))
    return out


def protect_measure_counts(engine, base: pd.DataFrame) -> pd.DataFrame:
    """The measure table's own counts (after ``engine.protect.protect_counts``) protected against
    every combination of them, areas of the hierarchies only: a quantity (dataset, column, filter)
    that complements are needed for is withheld in every row built on it. Figures at publisher
    levels are complements only when nothing else works, and those the publisher shows in full are
    known (with the explorer's withheld cells as targets: see the module's docstring). Runs inside
    the engine, before any value is computed, so every output after it (and the release) starts
    from the final table."""
    local = local_areas(engine)
    if not local or base.empty:
        return base
    cells = measure_cells(base, local)
    if "waiting_list" in loaded_datasets(engine.db, ("waiting_list",)):
        cells += waiting_band_targets(engine, local)
    if "outcomes" in loaded_datasets(engine.db, ("outcomes",)):
        cells += split_group_targets(engine, local & engine.below_council_areas())
    published = {d: published_figures(engine, d) for d in {c.dataset for c in cells}}
    for dataset, figures in sorted(published.items()):
        if figures:  # the publisher's figures known: the measure table's counts must not pin the explorer's
            cells += explorer_targets(engine, dataset, local, figures)
    publisher = publisher_areas(engine)
    low, high = engine.suppress_min, engine.suppress_max
    held = []
    with single_thread_blas():
        for dataset in loaded_datasets(engine.db, tuple(sorted({c.dataset for c in cells}))):
            for system in systems(engine, cells, dataset):
                held += _protect_system(system, publisher, low, high, measures_fixed=False,
                                        public_areas=published[dataset].get(system.period, set()))
    if not held:
        return base
    by_key = {c.key(): c for c in cells if not c.source.startswith(TARGETS)}
    withhold = {(by_key[k].label, by_key[k].area, by_key[k].period): why for k, why in held}
    return withhold_in_measure_rows(base, withhold)


# -- per load, kept beside it --------------------------------------------------------------------
_memory: OrderedDict[tuple, dict[str, str]] = OrderedDict()
_lock = threading.Lock()
_fill = threading.RLock()  # one computation at a time; other sessions wait for it


def withheld(engine, dataset: str) -> dict[str, str]:
    """Output cell key -> reason, for the load the engine reads (computed once per load and kept
    beside it; the demo's are shipped). A load published mid-computation is computed again."""
    result: dict[str, str] = {}
    for _attempt in range(3):
        engine.db.refresh()
        load_id = engine.db.load_id
        key = (str(engine.db.config.store_dir), load_id, engine.suppress_min, engine.suppress_max, dataset)
        with _lock:
            if key in _memory:
                _memory.move_to_end(key)
                return _memory[key]
        with _fill:
            with _lock:
                if key in _memory:
                    return _memory[key]
            table = engine.read_derived(stem(dataset), COLUMNS, load_id)
            if table is None and engine.adopt_prebuilt(load_id):
                table = engine.read_derived(stem(dataset), COLUMNS, load_id)
            if table is None:
                table = compute(engine, dataset)
                if engine.db.load_id != load_id:
                    continue
                engine.save_derived(stem(dataset), table, load_id)
            result = dict(zip(table["key"].astype(str), table["reason"].astype(str)))
            with _lock:
                _memory[key] = result
                while len(_memory) > 4 * len(DATASETS):
                    _memory.popitem(last=False)
        return result
    return result


def precompute(engine) -> int:
    """Every dataset's release for the engine's load (the loader and ``prebuild``); returns how
    many datasets hold cells to withhold."""
    return sum(bool(withheld(engine, d)) for d in DATASETS)


# -- the outputs as pages serve them ---------------------------------------------------------------
def _apply(frame: pd.DataFrame, cells_of, flag: str, reason: str, value: str | None,
           held: dict[str, str]) -> pd.DataFrame:
    """``frame`` with every cell in ``held`` withheld; ``cells_of(rows)`` gives the cells of some
    of its rows, one per row (only rows of areas the release names are looked at)."""
    areas = {k.split(KEY_SEP)[3] for k in held}
    rows = np.flatnonzero(frame["area_code"].astype(str).isin(areas).to_numpy())
    if not len(rows):
        return frame
    cells = cells_of(frame.iloc[rows])
    hit = [i for i, c in enumerate(cells) if not c.suppressed and c.key() in held]
    if not hit:
        return frame
    out = frame.copy()
    idx = out.index[rows[hit]]
    out.loc[idx, flag] = True
    out[reason] = out[reason].astype(object)
    out.loc[idx, reason] = [held[cells[i].key()] for i in hit]
    if value is not None and value in out:
        out.loc[idx, value] = np.nan
    return out


class ServedOutputs(OwnOutputs):
    """The outputs as pages serve them: own protection plus the release."""

    def explorer(self, dataset: str, grain: tuple[str, ...]) -> pd.DataFrame:
        return explorer_table(self.engine, dataset, grain, super().explorer(dataset, grain))

    def needs(self, year: int) -> dict[str, pd.DataFrame]:
        return needs_year(self.engine, year)

    def waiting(self, service: str, month: str) -> pd.DataFrame:
        return waiting_bands(self.engine, service, month)


def explorer_table(engine, dataset: str, grain: tuple[str, ...], own: pd.DataFrame) -> pd.DataFrame:
    """An explorer grain as served: its own protected table (``explore.protected_table``) plus
    the release. Values stay in place (``explore.blank_suppressed`` blanks them)."""
    held = withheld(engine, dataset)
    if not held or own.empty:
        return own
    areas = {k.split(KEY_SEP)[3] for k in held}
    rows = np.flatnonzero(own["area_code"].astype(str).isin(areas).to_numpy())
    if not len(rows):
        return own
    out = own.copy()
    period = explore.spec(dataset).period
    part = own.iloc[rows]
    for ind in explore.spec(dataset).indicators:
        keys = explorer_keys(part, dataset, tuple(grain), period, ind)
        flags = part[f"{ind}__suppressed"].to_numpy(dtype=bool)
        hit = [k for k, (key, f) in enumerate(zip(keys, flags)) if not f and key in held]
        if hit:
            idx = out.index[rows[hit]]
            out.loc[idx, f"{ind}__suppressed"] = True
            out[f"{ind}__reason"] = out[f"{ind}__reason"].astype(object)
            out.loc[idx, f"{ind}__reason"] = [held[keys[k]] for k in hit]
    return out


_served_needs: OrderedDict[tuple, dict[str, pd.DataFrame]] = OrderedDict()


def needs_year(engine, year: int) -> dict[str, pd.DataFrame]:
    """Both Needs tables of one census year as served: own protection plus the release (kept per
    load and year; callers only read them)."""
    engine.db.refresh()
    key = (str(engine.db.config.store_dir), engine.db.load_id, engine.suppress_min, engine.suppress_max, int(year))
    with _lock:
        if key in _served_needs:
            return _served_needs[key]
    tables = breakdowns.for_year(engine, year)
    held = withheld(engine, "ehcp_caseload")
    if held:
        tables = {name: _apply(frame, lambda part, name=name: needs_frame_cells(part, name), "suppressed",
                               "suppression_reason", "plans", held) for name, frame in tables.items()}
    with _lock:
        _served_needs[key] = tables
        while len(_served_needs) > 32:
            _served_needs.popitem(last=False)
    return tables


def waiting_bands(engine, service: str, month: str) -> pd.DataFrame:
    """The Waiting page's bands for one service and month as served: own protection plus the release."""
    frame = waiting_times.bands(engine, service, month)
    held = withheld(engine, "waiting_list")
    if not held or frame.empty:
        return frame
    return _apply(frame, waiting_frame_cells, "suppressed", "suppression_reason", "waiting", held)
