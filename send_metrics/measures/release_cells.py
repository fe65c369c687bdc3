"""Every cell the dashboard's outputs publish or withhold of one count table (issue 17.10);
``release_systems`` writes each as a 0/1 row over the table's basic counts (leaf area x category
combination), per period and count column.

The outputs built on a count table:

* the measure table (every measure's numerator and denominator: the Board, Trends, Equity,
  Benchmarks and Waiting pages' figures, the board pack and ``measures --format csv``), a count
  shown when some measure shows it and withheld when measures built on it exist but none does;
* the Data explorer at every grain it offers (every choice of up to two breakdown columns, and
  its downloads, which hold the same cells);
* the Needs page's need-by-age and need-by-setting tables, and the Waiting page's wait-band tables.

``measures.release`` protects them together (one protected version of each table) and
``tools.disclosure_attack`` attacks what they publish; both read the cells from here. A cell's
:meth:`Cell.key` names it in its own output, so a release decision reaches the output that shows it.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from send_metrics import contract
from send_metrics.catalogue import load_catalogue
from send_metrics.contract import codes
from send_metrics.measures import breakdowns, explore, waiting_times
from send_metrics.measures.engine.sums import measure_quantities
from send_metrics.stats import disclosure

DATASETS = ("ehcp_caseload", "ehcp_assessments", "ehcp_ceased", "school_census", "waiting_list", "waiting_activity",
            "outcomes")


def publisher_areas(engine) -> set[str]:
    """Areas at the levels whose figures the publisher itself shows (``disclosure.PUBLISHER_LEVELS``)."""
    levels = engine.db.query("SELECT area_code, area_level FROM areas")
    return set(levels.loc[levels["area_level"].isin(list(disclosure.PUBLISHER_LEVELS)), "area_code"].astype(str))


def published_figures(engine, dataset: str) -> dict[str, set[str]]:
    """Period -> the areas whose figures of ``dataset`` anyone holds, for a dataset the publisher
    shows in full (``contract.Dataset.published_in_full``: DfE's SEN2 release, unsuppressed, for
    every council in every breakdown the dashboard offers); empty for any other. Only the periods
    an area publishes for (``sql/publisher_figures.sql``): Cumberland's figures before April 2023
    are built back from its localities and are the dashboard's own."""
    ds = contract.DATASETS[dataset]
    if not ds.published_in_full or dataset not in loaded_datasets(engine.db, (dataset,)):
        return {}
    period = contract.period_column(ds)
    rows = engine.db.query_file("publisher_figures", {"levels": sorted(disclosure.PUBLISHER_LEVELS)},
                                dataset=explore._q(dataset), period=explore._q(period),
                                period_end=contract.period_end_sql(ds, f"f.{explore._q(period)}"))
    out: dict[str, set[str]] = {}
    for area, per in zip(rows["area_code"].astype(str), rows["period"].map(_norm_period)):
        out.setdefault(per, set()).add(area)
    return out


def loaded_datasets(db, datasets=DATASETS) -> tuple[str, ...]:
    """The datasets of ``datasets`` that the load holds (a store without a table has nothing to attack)."""
    present = set(db.query("SELECT table_name FROM information_schema.tables")["table_name"])
    return tuple(d for d in datasets if d in present)


@dataclass
class Cell:
    source: str
    dataset: str
    period: str
    column: str
    area: str
    members: dict  # breakdown column -> frozenset of allowed values (absent: any)
    suppressed: bool
    label: str = ""
    reason: str = ""

    def key(self) -> str:
        """The cell's name: which output, dataset, count column, area, period and categories.
        The explorer's grains are named by their columns in sorted order, whatever order a
        caller lists them in."""
        if "__cond__" in self.members:
            kind, members = self.source, self.members["__cond__"]
        else:
            dims = sorted(self.members)
            kind = ("explorer:" + "x".join(dims)) if self.source.startswith("explorer") else self.source
            members = ";".join(f"{d}={'/'.join(sorted(self.members[d]))}" for d in dims)
        return cell_key(kind, self.dataset, self.column, self.area, self.period, members)


KEY_SEP = "\x1f"


def cell_key(kind: str, dataset: str, column: str, area: str, period: str, members: str) -> str:
    return KEY_SEP.join((kind, dataset, column, str(area), str(period)[:10], members))


def explorer_keys(table: pd.DataFrame, dataset: str, grain: tuple[str, ...], period: str, column: str) -> list[str]:
    """:meth:`Cell.key` of each row of an explorer grain's table for one count column."""
    dims = sorted(grain)
    kind = "explorer:" + "x".join(dims)
    values = table[["area_code", period, *dims]].astype(str).to_numpy()
    return [cell_key(kind, dataset, column, v[0], v[1], ";".join(f"{d}={x}" for d, x in zip(dims, v[2:])))
            for v in values]


def _norm_period(p) -> str:
    return str(p)[:10]


# -- what each output publishes ---------------------------------------------------------------
def engine_cells(engine, areas=None) -> list[Cell]:
    """Numerators and denominators of the measure table, as cells of their count tables."""
    return measure_cells(engine.full_table(), areas)


def measure_cells(table: pd.DataFrame, areas=None) -> list[Cell]:
    """The counts of a measure table (the engine's rows: measure_id, area_code, period, numerator,
    denominator, suppression_reason) as cells: a count is shown when some row shows it, withheld
    when rows are built on it and none does (its reason: a withholding row's)."""
    if areas is not None:
        table = table[table["area_code"].astype(str).isin({str(a) for a in areas})]
    quant = measure_quantities(load_catalogue())
    reason = table["suppression_reason"] if "suppression_reason" in table else pd.Series(None, index=table.index)
    parts = []
    for role, i in (("numerator", 0), ("denominator", 1)):
        q = table["measure_id"].map({mid: pair[i] for mid, pair in quant.items()})
        shown = table[role].notna()
        parts.append(pd.DataFrame({"q": q, "area": table["area_code"].astype(str),
                                   "period": table["period"].map(_norm_period), "shown": shown,
                                   "why": reason.where(~shown).astype(object)}))
    status = pd.concat(parts, ignore_index=True).dropna(subset=["q"])
    status = status.groupby(["q", "area", "period"], sort=False).agg(
        shown=("shown", "any"), why=("why", "first")).reset_index()
    out = []
    parts_of: dict[str, list[str]] = {}
    columns = [status[c].to_numpy(dtype=object) for c in ("q", "area", "period", "why")]
    for q, area, period, shown, why in zip(*columns[:3], status["shown"].to_numpy(dtype=bool).tolist(), columns[3]):
        if q not in parts_of:
            parts_of[q] = q.split("|", 2)
        dataset, column, cond = parts_of[q]
        if dataset not in DATASETS:
            continue
        out.append(Cell("measures", dataset, period, column, area, {"__cond__": cond}, not shown, q,
                        why if isinstance(why, str) and not shown else ""))
    return out


def explorer_grains(dataset: str) -> list[tuple[str, ...]]:
    sp = explore.spec(dataset)
    optional = [b for b in sp.breakdowns if b not in sp.required]
    grains = []
    for k in range(explore.MAX_BREAKDOWNS - len(sp.required) + 1):
        for combo in itertools.combinations(optional, k):
            grains.append(tuple(sp.required) + tuple(b for b in optional if b in combo))
    return grains


class OwnOutputs:
    """Each output's tables with only its own disclosure control (what ``measures.release``
    protects together), for every area or only ``areas``. ``measures.release.ServedOutputs``
    gives them as pages serve them."""

    def __init__(self, engine, areas=None):
        self.engine, self.areas = engine, areas
        self._grains: dict = {}

    def explorer(self, dataset: str, grain: tuple[str, ...]) -> pd.DataFrame:
        key = (dataset, tuple(grain))
        if key not in self._grains:
            e = self.engine
            self._grains[key] = explore.protected_table(
                e.db, dataset, tuple(grain), e.suppress_min, e.suppress_max, e.hierarchies(),
                lambda fewer: OwnOutputs.explorer(self, dataset, fewer),  # own margins, as the release saw them
                below_council=e.below_council_areas(), areas=self.areas)
        return self._grains[key]

    def needs(self, year: int) -> dict[str, pd.DataFrame]:
        if self.areas is None:
            return breakdowns.for_year(self.engine, year)
        return breakdowns.compute_year(self.engine, year, areas=self.areas)

    def waiting(self, service: str, month: str) -> pd.DataFrame:
        return waiting_times.bands(self.engine, service, month, areas=self.areas)


def explorer_cells(outputs, dataset: str, grains=None) -> list[Cell]:
    sp = explore.spec(dataset)
    out = []
    for grain in grains or explorer_grains(dataset):
        try:
            t = outputs.explorer(dataset, grain)
        except explore.TooBig:
            # Too many cells even for ``outputs.areas`` alone: then the explorer refuses this grain
            # for every area as well (a page's grain holds every cell of theirs), so it publishes none.
            continue
        for ind in sp.indicators:
            flags = t[f"{ind}__suppressed"].to_numpy(dtype=bool)
            reasons = t[f"{ind}__reason"].to_numpy(dtype=object)
            vals = pd.to_numeric(t[ind], errors="coerce").to_numpy(dtype=float)
            keys = t[["area_code", sp.period, *grain]].astype(str).to_numpy()
            for k, f, v, why in zip(keys, flags, vals, reasons):
                if not np.isfinite(v):
                    continue
                members = {b: frozenset([val]) for b, val in zip(grain, k[2:])}
                out.append(Cell(f"explorer {'x'.join(grain) or 'totals'}", dataset, _norm_period(k[1]), ind, k[0],
                                members, bool(f), reason=why if isinstance(why, str) else ""))
    return out


def explorer_targets(engine, dataset: str, areas, published: dict[str, set[str]]) -> list[Cell]:
    """For the measure table's own pass (``measures.release.protect_measure_counts``), where the
    publisher's figures of ``dataset`` are known to anyone (``published``, from
    :func:`published_figures`): the explorer's own withheld cells of ``areas`` as targets, and the
    publisher's figures at every grain as known cells. The release never withholds a count of the
    measure table, so its counts, with everything the publisher shows, must not work out, nor pin,
    a small count the explorer withholds."""
    out = []
    for c in explorer_cells(OwnOutputs(engine, areas=areas), dataset):
        if c.area in published.get(c.period, ()):
            out.append(replace(c, source=PUBLISHER, suppressed=False, reason=""))
        elif c.suppressed:
            out.append(replace(c, source=f"{TARGETS} a count the explorer withholds", reason=""))
    return out


def needs_cells(outputs) -> list[Cell]:
    out = []
    for year in breakdowns.census_years(outputs.engine):
        for name, frame in outputs.needs(year).items():
            out += needs_frame_cells(frame, name)
    return out


def needs_frame_cells(frame: pd.DataFrame, name: str) -> list[Cell]:
    """The cells of one Needs table (one row each), as sums of caseload cells (the groups of
    sql/needs_by_age.sql and sql/needs_by_setting.sql)."""
    needs = set(codes.PRIMARY_NEEDS) | {"(missing)", "ALL"}
    column = breakdowns.BREAKDOWNS[name][1]
    main = {"ASD", "SLCN", "SEMH", "MLD", "SLD"}
    group = {"primary_need": lambda n: n if n in main else "OTHER",
             "setting_type": lambda v: "other" if v in ("early_years", "other") else v,
             "age_band": lambda v: v}
    cats = [*codes.SETTING_TYPES, *codes.AGE_BANDS, "(missing)"]
    out = []
    for r in frame.itertuples(index=False):
        members = {}
        if r.need != "ALL":
            members["primary_need"] = frozenset(n for n in needs if group["primary_need"](n) == r.need)
        cat = getattr(r, column)
        if cat != "ALL":
            members[column] = frozenset(v for v in cats if group[column](v) == cat)
        why = r.suppression_reason
        out.append(Cell(f"needs {name}", "ehcp_caseload", str(int(r.year)), "ehc_plans", str(r.area_code),
                        members, bool(r.suppressed), reason=why if isinstance(why, str) else ""))
    return out


def waiting_cells(outputs) -> list[Cell]:
    """The Waiting page's wait-band tables, for every service and month."""
    out = []
    pairs = outputs.engine.db.query(
        "SELECT DISTINCT service, CAST(month AS VARCHAR) AS month FROM waiting_list ORDER BY ALL")
    for service, month in pairs.itertuples(index=False):
        out += waiting_frame_cells(outputs.waiting(service, month))
    return out


# The publisher's wait bands the Waiting page groups (sql/waiting_bands.sql); others stay as they are.
GROUPED_BANDS = {"0to4wk": "0to13wk", "4to8wk": "0to13wk", "8to13wk": "0to13wk",
                 "18to26wk": "18to52wk", "26to52wk": "18to52wk"}


def waiting_frame_cells(frame: pd.DataFrame) -> list[Cell]:
    """The cells of one Waiting table (one row each), as sums of waiting-list cells."""
    bands = list(codes.WAIT_BANDS)
    over18 = [b for b in bands if GROUPED_BANDS.get(b, b) in waiting_times.OVER18]
    sums = {"OVER18": over18, "OVER13": [b for b in bands if GROUPED_BANDS.get(b, b) in waiting_times.OVER13]}
    out = []
    for r in frame.itertuples(index=False):
        members = {"service": frozenset([str(r.service)])}
        if r.ehcp_status != "ALL":
            members["ehcp_status"] = frozenset([r.ehcp_status])
        if r.wait_band in sums:  # the engine's counts waiting 13 or 18 weeks or more
            members["wait_band"] = frozenset(sums[r.wait_band])
        elif r.wait_band != "ALL":
            members["wait_band"] = frozenset(b for b in bands if GROUPED_BANDS.get(b, b) == r.wait_band)
        why = r.suppression_reason
        out.append(Cell("waiting bands", "waiting_list", _norm_period(r.month), "waiting", str(r.area_code),
                        members, bool(r.suppressed), reason=why if isinstance(why, str) else ""))
    return out


# Cells that no output publishes but that protection keeps unrecoverable (a small one is
# sensitive): the Waiting bands for the measure table's own pass, the rest of a group for the release.
TARGETS = "target:"
PUBLISHER = "published by the publisher"  # a figure anyone holds, not an output of ours


def _area_rows(engine, areas, leaf: pd.DataFrame) -> pd.DataFrame:
    """``leaf``'s rows (by ``area_code``) under each area of ``areas`` (column ``area``): an area
    built from localities holds theirs, any other area its own."""
    pairs = _area_pairs(engine, areas)
    return pd.DataFrame(pairs, columns=["area", "area_code"]).merge(leaf, on="area_code")


def _area_pairs(engine, areas) -> list[tuple[str, str]]:
    hier = dict(engine.hierarchies())
    return [(str(a), lf) for a in areas for lf in hier.get(str(a), [str(a)])]


def _leaves_under(engine, areas) -> dict:
    """The query parameter naming the rows :func:`_area_rows` can join (the rest of the country
    adds nothing to the areas' sums, so it is not read)."""
    return {"leaves": sorted({lf for _, lf in _area_pairs(engine, areas)})}


def waiting_band_targets(engine, areas) -> list[Cell]:
    """The Waiting page's small bands of all children (1 to 4 or whatever the engine's range is;
    every service, month and area of ``areas``) as withheld cells: what the measure table's own
    pass must keep unrecoverable, because the Waiting bands are protected after it and cannot
    withhold the measure table's counts (the count waiting 13 to 18 weeks is the count waiting 13
    weeks or more less the count waiting 18 weeks or more, both measures)."""
    leaf = engine.db.query(
        "SELECT area_code, CAST(month AS VARCHAR) AS month, service, wait_band, sum(waiting) AS waiting, "
        "count(*) FILTER (WHERE waiting IS NULL) AS symbols FROM waiting_list "
        "WHERE list_contains($leaves, CAST(area_code AS VARCHAR)) GROUP BY ALL", _leaves_under(engine, areas))
    if leaf.empty:
        return []
    leaf["band"] = leaf["wait_band"].map(lambda b: GROUPED_BANDS.get(b, b))
    leaf = leaf[leaf["band"].isin(list(waiting_times.BANDS))]
    leaf["waiting"] = leaf["waiting"].where(leaf["symbols"] == 0)  # a sum over a symbol is no number
    sums = _area_rows(engine, areas, leaf).groupby(["area", "month", "service", "band"])["waiting"].sum(min_count=1)
    small = sums[(sums >= max(1, engine.suppress_min)) & (sums <= engine.suppress_max)]  # a zero is no child
    members = {b: frozenset(w for w in codes.WAIT_BANDS if GROUPED_BANDS.get(w, w) == b) for b in waiting_times.BANDS}
    return [Cell(f"{TARGETS} waiting band", "waiting_list", _norm_period(month), "waiting", area,
                 {"service": frozenset([str(service)]), "wait_band": members[band]}, True)
            for area, month, service, band in small.index]


def split_group_targets(engine, areas, dataset: str = "outcomes", by: str = "sen_status",
                        column: str = "numerator") -> list[Cell]:
    """Groups the measure table shows split by ``by`` (outcomes by SEN status: one count for each
    status) where none or all of a group of 5-10 fall in one part (Barrow 2017: 7 permanent
    exclusions, all of pupils without SEN): the group as a target that must stay unrecoverable,
    so that the measure table's own pass withholds a part (every area of ``areas``: those below
    council level, where the rule applies)."""
    if engine.suppress_max < max(1, engine.suppress_min):
        return []  # disclosure control switched off
    sp = explore.spec(dataset)
    others = [d for d in sp.breakdowns if d != by]
    dims = ", ".join(explore._q(d) for d in others)
    leaf = engine.db.query(
        f'SELECT area_code, CAST({explore._q(sp.period)} AS VARCHAR) AS period, {dims}, {explore._q(by)} AS part, '
        f'sum({explore._q(column)}) AS v, count(*) FILTER (WHERE {explore._q(column)} IS NULL) AS symbols '
        f'FROM "{dataset}" WHERE list_contains($leaves, CAST(area_code AS VARCHAR)) GROUP BY ALL',
        _leaves_under(engine, areas))
    if leaf.empty:
        return []
    leaf["v"] = leaf["v"].where(leaf["symbols"] == 0)
    joined = _area_rows(engine, areas, leaf)
    keys = ["area", "period", *others]
    parts = joined.groupby([*keys, "part"])["v"].sum(min_count=1).unstack("part")
    whole = parts.sum(axis=1, min_count=parts.shape[1])  # a missing part (a symbol) leaves no whole
    high = engine.suppress_max
    small_group = (whole > high) & (whole <= disclosure.group_max(high))
    none_or_all = (parts.eq(0).any(axis=1) | parts.eq(whole, axis=0).any(axis=1)) & (parts.notna().all(axis=1))
    hit = parts.index[small_group & none_or_all]
    return [Cell(ALWAYS, dataset, _norm_period(k[1]), column, k[0],
                 {d: frozenset([str(v)]) for d, v in zip(others, k[2:])}, True) for k in hit]


REST = "primary: the rest of the group"  # disclosure.complement_reason("complement", ...)
GROUP = "primary: none or all of a group"  # disclosure.complement_reason("group", ...)
WHOLE = f"{TARGETS} whole of a group"
ALWAYS = f"{TARGETS} a group with none or all"  # sensitive whatever its value


DENOMINATOR = "primary: denominator"  # a measure withheld for its small denominator


def discloses(cell: Cell, value: float, low: float, high: float) -> bool:
    """Whether a withheld cell's value would disclose a child if known or pinned to within 1: a
    small count (the rest of a group included, as its own target), or a cell the rule withholds
    as primary. Not a cell withheld because the rest of its group is small, because it is none or
    all of a small group, or because its measure's denominator is small: each is safe to know
    while the rest, the group or the denominator is not, and that is its own cell."""
    if cell.reason.startswith((REST, GROUP, DENOMINATOR)):
        return False
    return low <= value <= high or cell.reason.startswith("primary")


def rest_targets(db, cells: list[Cell]) -> list[Cell]:
    """For every cell an output withholds because the rest of its group is small (the whole less
    it), the rest over each of its breakdown columns as a target: what must stay unrecoverable is
    the rest, not the part (a part the measure table shows is safe while its whole is withheld)."""
    values: dict[tuple[str, str], frozenset] = {}
    out = []
    for c in cells:
        if not (c.suppressed and c.reason.startswith(REST)) or "__cond__" in c.members:
            continue
        for d, mine in c.members.items():
            if d in explore.spec(c.dataset).required:
                continue  # its values do not add up to a whole (outcomes: different outcomes)
            if (c.dataset, d) not in values:
                found = db.query(f'SELECT DISTINCT CAST({explore._q(d)} AS VARCHAR) AS v FROM "{c.dataset}"')["v"]
                values[(c.dataset, d)] = frozenset(found.fillna("(missing)").astype(str))
            rest = values[(c.dataset, d)] - mine
            if rest:
                out.append(Cell(f"{TARGETS} rest of a group", c.dataset, c.period, c.column, c.area,
                                {**c.members, d: rest}, True))
    return out


def group_targets(cells: list[Cell]) -> list[Cell]:
    """For every cell an output withholds because it is none or all of a group of 5-10, the group
    (the cell without each of its breakdown columns) as a target labelled with the cell's key:
    where another output shows the cell itself (the measure table decides its own), the group
    must stay unrecoverable instead."""
    out = []
    for c in cells:
        if not (c.suppressed and c.reason.startswith(GROUP)) or "__cond__" in c.members:
            continue
        for d in c.members:
            if d in explore.spec(c.dataset).required:
                continue
            whole = {k: v for k, v in c.members.items() if k != d}
            out.append(Cell(WHOLE, c.dataset, c.period, c.column, c.area, whole, True, label=c.key()))
    return out


def collect(engine, datasets=DATASETS, progress=None, outputs=None) -> list[Cell]:
    """Every cell of ``datasets`` the outputs publish or withhold (``outputs``: an
    :class:`OwnOutputs` or ``measures.release.ServedOutputs``; default own, every area)."""
    outputs = outputs or OwnOutputs(engine)
    datasets = loaded_datasets(engine.db, datasets)
    cells = [c for c in engine_cells(engine, outputs.areas) if c.dataset in datasets]
    for ds in datasets:
        t0 = time.time()
        cells += explorer_cells(outputs, ds)
        if progress:
            progress(f"explorer {ds}: {time.time() - t0:.0f} s")
    if "ehcp_caseload" in datasets:
        cells += needs_cells(outputs)
    if "waiting_list" in datasets:
        cells += waiting_cells(outputs)
    return cells
