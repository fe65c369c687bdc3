"""The measure engine: measures x areas x periods -> one tidy table with statistics.

Numerators and denominators are summed in SQL (sql/measure_values.sql) for every area at once:
parent areas already exist in the store as sums of their localities, so every figure is
sum(numerator) / sum(denominator) at the level asked for. Python then adds confidence limits,
benchmarks, significance, recent trend, rank among statistical neighbours, and disclosure
control. Disclosure control runs before anything leaves this module: a suppressed cell has no
value, no interval and no numerator, and secondary suppression stops it being recovered from
the totals of overlapping areas (localities -> councils, footprints -> Cumbria).
"""
from __future__ import annotations

import re
import threading
import warnings
from collections import OrderedDict

import numpy as np
import pandas as pd

from send_metrics import contract
from send_metrics.stats import comparisons, disclosure, intervals, trends
from send_metrics.catalogue import Measure, load_catalogue, measures_by_id
from send_metrics.config import sql_text
from send_metrics.db import Database

ENGLAND = "E92000001"
Z_LEVELS = {"95": 0.95, "998": 0.998}

#: A statistical-neighbour verdict needs at least this many neighbours with both a numerator and a
#: denominator (the pooled value is still shown, with ``neighbours_n``, when fewer have data).
MIN_NEIGHBOURS = 5

#: Kinds compared with England, the region and neighbours. Counts, medians, growth and gaps
#: are not (``not_compared``); a mean is compared only where it has an interval (its
#: standard deviation is loaded), since the comparison is of the interval with the benchmark.
COMPARABLE_KINDS = ("proportion", "rate", "gap", "mean")

#: Kinds whose neighbours are pooled as a sum over a sum (a mean: total points over pupils).
POOLED_KINDS = ("proportion", "rate", "mean")

OUTPUT_COLUMNS = [
    "measure_id", "measure_title", "area_code", "area_name", "area_level", "period", "period_label",
    "value", "numerator", "denominator", "lower_95", "upper_95", "lower_998", "upper_998", "sd",
    "unit", "polarity", "kind",
    "england_value", "england_source", "sig_england_95", "sig_england_998",
    "region_code", "region_value", "sig_region_95",
    "neighbours_value", "neighbours_n", "sig_neighbours_95",
    "trend", "trend_verdict", "rank", "rank_of",
    "suppressed", "suppression_reason", "source_symbol", "coverage_note", "denominator_source",
    "value_source",
]
# Kinds a published value can stand in for (an area's own figure when no file gives its counts).
PUBLISHED_KINDS = ("proportion", "rate", "count", "mean")
# ONS code prefixes of councils (unitary, district, metropolitan, London borough, county), regions and
# England: a publisher's figure for these stays as published.
PUBLISHED_LEVEL_PREFIXES = ("E06", "E07", "E08", "E09", "E10", "E12", "E92")


def _ident(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"not a safe identifier: {name}")
    return name


def _sum_expr(column: str, condition: str) -> str:
    """Sum that is NULL when any contributing cell is a symbol (a symbol is never a zero)."""
    c = _ident(column)
    cond = condition or "true"
    return (f"CASE WHEN count(*) FILTER (WHERE ({cond}) AND {c} IS NULL) > 0 THEN NULL "
            f"ELSE sum({c}) FILTER (WHERE {cond}) END")


def _symbol_expr(column: str, condition: str) -> str:
    c = _ident(column)
    return f"max({c}_symbol) FILTER (WHERE {condition or 'true'})"


def _sumsq_expr(m: Measure) -> str:
    """Sum of squares of the observations behind a mean (``(n - 1) sd^2 + total^2 / n`` per row),
    NULL when any row lacks its standard deviation; NULL for every other measure."""
    if not (m.kind == "mean" and m.ci_method == "t"):
        return "NULL"
    num, den = _ident(m.numerator), _ident(m.denominator)
    cond = m.numerator_filter or "true"
    return (f"CASE WHEN count(*) FILTER (WHERE ({cond}) AND (sd IS NULL OR {num} IS NULL OR {den} IS NULL "
            f"OR {den} <= 0)) > 0 THEN NULL "
            f"ELSE sum(({den} - 1) * sd * sd + {num} * {num} / {den}) FILTER (WHERE {cond}) END")


def _values_sql(m: Measure) -> str:
    ds = contract.DATASETS[m.dataset]
    period = contract.period_column(ds)
    den_same = m.denominator and not m.denominator_dataset
    if den_same:
        den = _sum_expr(m.denominator, m.denominator_filter)
    else:
        den = "NULL"
    numerator = _sum_expr(m.numerator, m.numerator_filter)
    if m.wait_over_weeks is not None:
        # No band edge at N weeks in this area's and month's source (a band straddles it): the share
        # waiting N weeks or more is not available, never estimated.
        straddling = ", ".join(f"'{c}'" for c in contract.wait_bands_straddling(float(m.wait_over_weeks)))
        if straddling:
            numerator = (f"CASE WHEN count(*) FILTER (WHERE ({m.denominator_filter or 'true'}) AND wait_band IN "
                         f"({straddling})) > 0 THEN NULL ELSE {numerator} END")
    return sql_text("measure_values").format(
        measure_id=_ident(m.id.lower()) and m.id, period=period, dataset=_ident(m.dataset),
        numerator=numerator,
        numerator_symbol=_symbol_expr(m.numerator, m.numerator_filter),
        denominator=den, sumsq=_sumsq_expr(m))


def _period_label(period, monthly: bool) -> str:
    if monthly:
        return pd.Timestamp(period).strftime("%b %Y")
    return str(int(period))


def quantity_key(dataset: str, column: str, condition: str = "") -> str:
    """The count a numerator or denominator sums: dataset, column and filter (spacing ignored).

    Two measures with the same key publish the same number for an area and period, so they
    must share suppression. The part of a waiting list whose wait is recorded in a band is, almost
    always, the whole list (and otherwise a part of it published beside it): the two share one key,
    which can only suppress more, never less."""
    condition = " ".join((condition or "").split()).replace(BANDED_ONLY, "")
    return f"{dataset}|{column}|{condition}"


BANDED_ONLY = " AND wait_band <> 'unbanded'"


def measure_quantities(measures) -> dict[str, tuple[str, str | None]]:
    """measure id -> (numerator quantity, denominator quantity or None), from the catalogue.

    Denominators from another dataset (population) are None: they are never small counts of
    children and are not shared with any count measure. Gaps have no quantity of their own."""
    out: dict[str, tuple[str, str | None]] = {}
    for m in measures:
        if m.kind == "gap":
            continue
        den = (quantity_key(m.dataset, m.denominator, m.denominator_filter)
               if m.denominator and not m.denominator_dataset else None)
        out[m.id] = (quantity_key(m.dataset, m.numerator, m.numerator_filter), den)
    return out


class Engine:
    """Computes the full measure table once per load and keeps it (bounded) in memory."""

    def __init__(self, db: Database, suppress_min: int | None = None, suppress_max: int | None = None):
        self.db = db
        self.suppress_min = db.config.suppress_min if suppress_min is None else suppress_min
        self.suppress_max = db.config.suppress_max if suppress_max is None else suppress_max
        self._cache: OrderedDict[str, pd.DataFrame] = OrderedDict()
        self._lock = threading.Lock()
        self._fill = threading.RLock()  # one computation of a missing table at a time (sessions wait for it)

    # -- public ----------------------------------------------------------------------
    def table(self, measure_ids=None, area_codes=None, periods=None) -> pd.DataFrame:
        """The measure table, disclosure control applied, filtered as asked."""
        full = self.full_table()
        out = full
        if measure_ids:
            out = out[out["measure_id"].isin(list(measure_ids))]
        if area_codes:
            out = out[out["area_code"].isin(list(area_codes))]
        if periods:
            wanted = {str(p) for p in periods}
            out = out[out["period_label"].isin(wanted) | out["period"].astype(str).isin(wanted)
                      | out["period"].astype(str).str[:7].isin(wanted)]
        return out.reset_index(drop=True)

    def full_table(self) -> pd.DataFrame:
        """The whole measure table of the load the database reads. Loads and readers never mix: a
        table is saved and cached only under the load it was computed from, and a computation
        during which a new load was published (the database moved on, so its queries may have read
        both) is thrown away and done again on the new load."""
        table = None
        for _attempt in range(3):
            self.db.refresh()
            load_id = self.db.load_id
            key = f"{load_id}/{self.suppress_min}-{self.suppress_max}"
            with self._lock:
                if key in self._cache:
                    self._cache.move_to_end(key)
                    return self._cache[key]
            with self._fill:
                with self._lock:  # another session may have filled it while this one waited
                    if key in self._cache:
                        self._cache.move_to_end(key)
                        return self._cache[key]
                table = self.read_derived("measures", OUTPUT_COLUMNS, load_id)
                if table is None and self.adopt_prebuilt(load_id):
                    table = self.read_derived("measures", OUTPUT_COLUMNS, load_id)
                if table is None:
                    table = self._compute()
                    if self.db.load_id != load_id:
                        continue  # a load was published mid-computation: recompute on it
                    self.save_derived("measures", table, load_id)
                with self._lock:
                    self._cache[key] = table
                    while len(self._cache) > 2:
                        self._cache.popitem(last=False)
            return table
        return table  # loads kept arriving: serve the last computation, saved nowhere

    def derived_complete(self) -> bool:
        """Whether the measure table kept beside the current load exists (a load killed after it
        was published has none; the next ``load`` computes it)."""
        self.db.refresh()
        path = self.derived_path("measures", self.db.load_id)
        return path is not None and path.exists()

    def compute_derived(self, needs: bool = False) -> tuple[int, int]:
        """Compute the tables kept beside a load, as the loader does after every load: the measure
        table; with ``needs``, the needs breakdowns of every census year too (which start from
        it). Without it, each census year's breakdowns are computed when a page first asks for
        them (send_metrics.measures.breakdowns.for_year: a second or two a year at national scale), so a
        new load is ready sooner. A demo load whose shipped tables fit gets both at once
        (send_metrics.measures.prebuilt). Returns (measure rows, census years computed or adopted)."""
        from send_metrics.measures.breakdowns import census_years, precompute
        self.db.refresh()
        if self.adopt_prebuilt(self.db.load_id) and self.derived_complete():
            return len(self.full_table()), len(census_years(self))
        rows = len(self.full_table())
        return rows, (precompute(self) if needs else 0)

    def adopt_prebuilt(self, load_id: str | None) -> bool:
        """Put the derived tables shipped with the demo beside load ``load_id`` when they were
        computed from the same content with the same code and settings (send_metrics.measures.prebuilt);
        True when they are in place. Any failure means "compute them", never a wrong table."""
        from send_metrics.measures import prebuilt
        if getattr(self, "compute_afresh", False):  # set by `prebuild`: never adopt the shipped set
            return False
        try:
            return bool(load_id) and prebuilt.adopt(self, load_id)
        except Exception:  # noqa: BLE001 - a shortcut only: the tables are then computed
            return False

    def measure_values(self, measures: list[Measure] | None = None) -> pd.DataFrame:
        """Numerator, denominator and value of each measure for every area and period, straight
        from SQL: no statistics and NO disclosure control (internal use: benchmarks and tests)."""
        measures = [m for m in (measures or load_catalogue()) if m.kind not in ("gap", "growth", "median_wait")]
        base = self._base(measures)
        mult = base["measure_id"].map({m.id: m.multiplier for m in measures})
        ratio = base["measure_id"].map({m.id: bool(m.denominator) for m in measures}).astype(bool)
        num = pd.to_numeric(base["numerator"], errors="coerce").astype(float)
        den = pd.to_numeric(base["denominator"], errors="coerce").astype(float)
        base["numerator"], base["denominator"] = num, den
        with np.errstate(divide="ignore", invalid="ignore"):
            base["value"] = np.where(ratio, num / den.where(den > 0) * mult, num)
        return base[["measure_id", "area_code", "period", "numerator", "denominator", "value"]]

    # -- derived tables are computed once per load and kept beside it --------------------
    def derived_path(self, stem: str, load_id: str | None = None):
        """Where a table derived from load ``load_id`` (default: the load the database reads; with
        this engine's disclosure settings) is kept: inside that load's own folder, never another's.
        None when the load is unknown, gone or not a finished load."""
        if load_id is None:
            self.db.refresh()
            load_id = self.db.load_id
        if not load_id or "/" in load_id or "\\" in load_id or load_id.startswith(".") or load_id.endswith(".partial"):
            return None
        load_dir = self.db.config.store_dir / "loads" / load_id
        if not (load_dir / "load.json").is_file():
            return None
        return load_dir / f"{stem}-{self.suppress_min}-{self.suppress_max}.parquet"

    def read_derived(self, stem: str, columns: list[str], load_id: str | None = None) -> pd.DataFrame | None:
        """A derived table of ``load_id`` (default: the load the database reads), or None when it
        is missing, damaged or of another layout (a damaged file is recomputed, never trusted)."""
        if load_id is None:
            self.db.refresh()
            load_id = self.db.load_id
        path = self.derived_path(stem, load_id)
        if path is None or not path.exists():
            return None
        try:
            table = pd.read_parquet(path)
        except Exception:
            return None
        return table if list(table.columns) == columns else None

    def save_derived(self, stem: str, table: pd.DataFrame, load_id: str) -> None:
        """Keep ``table``, computed from load ``load_id``, beside that load (and only that load:
        the id is the caller's, taken before it computed, so a load published meanwhile is never
        written into)."""
        path = self.derived_path(stem, load_id)
        if path is None:
            return
        tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
        try:
            table.to_parquet(tmp, index=False)
            tmp.replace(path)  # atomic: readers see the whole file or none
        except OSError:
            tmp.unlink(missing_ok=True)

    # -- steps -----------------------------------------------------------------------
    def _areas(self) -> pd.DataFrame:
        return self.db.query("SELECT area_code, area_name, area_level, coverage_note FROM areas")

    def _base(self, measures: list[Measure]) -> pd.DataFrame:
        """Numerators and denominators for every measure, area and period (one query per dataset)."""
        frames = []
        by_dataset: dict[str, list[Measure]] = {}
        for m in measures:
            if m.kind == "gap":
                continue
            by_dataset.setdefault(m.dataset, []).append(m)
        for dataset, ms in by_dataset.items():
            sql = "\nUNION ALL\n".join(_values_sql(m) for m in ms)
            df = self.db.query(sql)
            df["period"] = df["period"].astype(str).str[:10]
            frames.append(df)
        base = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        # Denominators from another dataset (population): the latest year at or before the period.
        for m in measures:
            if m.denominator_dataset:
                den = self.db.query_file("population_denominator")
                base = self._attach_population(base, m, den)
        return base

    @staticmethod
    def _attach_population(base: pd.DataFrame, m: Measure, den: pd.DataFrame) -> pd.DataFrame:
        rows = base["measure_id"] == m.id
        part = base[rows].copy()
        part["_year"] = part["period"].str[:4].astype("int64")
        den = den.astype({"area_code": "string", "year": "int64"}).sort_values("year")
        part["area_code"] = part["area_code"].astype("string")
        merged = pd.merge_asof(part.sort_values("_year"), den.rename(columns={"year": "_year"}),
                               on="_year", by="area_code", direction="backward")
        merged["denominator"] = merged["population"]
        if "denominator_source" in merged:
            # The denominator's year is stated with it: a rate for 2025 over mid-2020 says so.
            merged["denominator_source"] = merged["denominator_source"].astype(object)
        merged = merged.drop(columns=["population", "_year"])
        return pd.concat([base[~rows], merged], ignore_index=True)

    def _median_waits(self, measures: list[Measure]) -> pd.DataFrame:
        if not any(m.kind == "median_wait" for m in measures):
            return pd.DataFrame()
        bands = contract.WAIT_BANDS
        return self.db.query_file("wait_median", {
            "codes": list(bands), "lows": [float(lo) for lo, _ in bands.values()],
            "highs": [None if hi is None else float(hi) for _, hi in bands.values()]})

    def _compute(self) -> pd.DataFrame:
        measures = list(load_catalogue())
        by_id = {m.id: m for m in measures}
        base = self._base(measures)
        areas = self._areas()
        if base.empty:
            return pd.DataFrame(columns=OUTPUT_COLUMNS)
        base["numerator"] = pd.to_numeric(base["numerator"], errors="coerce").astype(float)
        base["denominator"] = pd.to_numeric(base["denominator"], errors="coerce").astype(float)
        base["sumsq"] = pd.to_numeric(base["sumsq"], errors="coerce").astype(float)

        # Disclosure control first: everything after works on protected numbers (a mean's spread
        # goes with its counts: none where either is withheld).
        base = self._protect(base, by_id)
        base.loc[base["numerator"].isna() | base["denominator"].isna(), "sumsq"] = np.nan

        base = self._values_and_intervals(base, by_id)
        base = self._published_own(base, by_id)
        base = self._add_median_waits(base, measures)
        base = pd.concat([base, self._growth(base, by_id), self._gaps(base, by_id)], ignore_index=True)
        base = base.merge(areas, on="area_code", how="left")
        base = self._benchmarks(base, by_id)
        base = self._trend_and_rank(base, by_id)
        meta = pd.DataFrame([{"measure_id": m.id, "measure_title": m.title, "unit": m.unit,
                              "polarity": m.polarity, "kind": m.kind} for m in measures])
        base = base.merge(meta, on="measure_id", how="left")
        monthly = {m.id: m.monthly for m in measures}
        base["period_label"] = [_period_label(p, monthly.get(mid, False))
                                for p, mid in zip(base["period"], base["measure_id"])]
        for col in OUTPUT_COLUMNS:
            if col not in base.columns:
                base[col] = np.nan
        order = {m.id: i for i, m in enumerate(measures)}
        base["_o"] = base["measure_id"].map(order)
        base = base.sort_values(["_o", "area_code", "period"]).drop(columns="_o")
        return base[OUTPUT_COLUMNS].reset_index(drop=True)

    def hierarchies(self) -> list[tuple[str, list[str]]]:
        """Additive relationships: every rolled-up area equals the sum of its localities."""
        rm = self.db.query("SELECT ancestor, leaf FROM rollup_map ORDER BY ancestor, leaf")
        return [(a, list(g["leaf"])) for a, g in rm.groupby("ancestor", sort=True)]

    # -- disclosure control --------------------------------------------------------------
    # Measures whose numerators split one published total (the shared denominator): a single
    # suppressed share could otherwise be recovered as total minus the others.
    CATEGORY_FAMILIES = ("need_share_", "setting_")
    LINKED_REASON = "linked: the same count is suppressed in another measure"
    CATEGORY_REASON = "secondary: protects a suppressed share of the same total"

    def _protect(self, base: pd.DataFrame, by_id: dict[str, Measure]) -> pd.DataFrame:
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
        low, high = self.suppress_min, self.suppress_max
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
                mark(new, self.LINKED_REASON)
                added |= new

        # 3. area hierarchies
        hier = self.hierarchies()
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
        for prefix in self.CATEGORY_FAMILIES:
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
                        mark(parts[first], self.CATEGORY_REASON)
                        added[parts[first]] = True
                        served[ginv[first]] = True
                    left = totals[need & ~served]  # nothing left to hide: withhold the total
                    mark(left, self.CATEGORY_REASON)
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
        reason[sup] = self.LINKED_REASON
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

    def _values_and_intervals(self, base: pd.DataFrame, by_id: dict[str, Measure]) -> pd.DataFrame:
        out = []
        for mid, g in base.groupby("measure_id", sort=False):
            m = by_id[mid]
            g = g.copy()
            num = g["numerator"].to_numpy(dtype=float)
            den = g["denominator"].to_numpy(dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                if m.kind == "count" or m.kind == "growth" or m.kind == "median_wait":
                    value = num
                else:
                    value = np.where(den > 0, num / den * m.multiplier, np.nan)
            g["value"] = value
            sd = np.full(len(g), np.nan)
            if m.ci_method == "t" and m.kind == "mean":
                sd = np.asarray(intervals.sd_from_sum_of_squares(num, g["sumsq"].to_numpy(dtype=float), den)) * m.multiplier
            g["sd"] = sd
            for level, conf in Z_LEVELS.items():
                lo = hi = np.full(len(g), np.nan)
                if m.ci_method == "t" and m.kind == "mean":
                    lo, hi = intervals.mean_ci(value, sd, den, conf)
                elif m.ci_method == "wilson" and m.kind == "proportion":
                    lo, hi = intervals.wilson_ci(num, den, conf)
                    lo, hi = np.asarray(lo) * m.multiplier, np.asarray(hi) * m.multiplier
                elif m.ci_method == "byar" and m.kind == "rate":
                    lo, hi = intervals.rate_ci(num, den, m.multiplier, conf)
                elif m.ci_method == "byar" and m.kind == "count":
                    lo, hi = intervals.byar_ci(num, conf)
                g[f"lower_{level}"] = lo
                g[f"upper_{level}"] = hi
            out.append(g.drop(columns="sumsq", errors="ignore"))
        return pd.concat(out, ignore_index=True)

    def _published_own(self, base: pd.DataFrame, by_id: dict[str, Measure]) -> pd.DataFrame:
        """An area's published value of a measure (a `benchmarks` row: LAIT, a DfE total the contract
        cannot hold as rows) where no loaded file gives the counts for that area and period: the
        published value stands, with `value_source` naming the publication and edition. With its
        published numerator and denominator it gets an interval (small counts below council level are
        suppressed; at council level and above the publisher's figure stays as published); without them (LAIT publishes percentages only) it has no interval, so
        it is never tested against England or neighbours. Computed figures always win; annual
        measures only (benchmarks are annual)."""
        pub = self.db.query_file("published_benchmarks")
        if pub.empty:
            return base
        ok = {i for i, m in by_id.items() if m.kind in PUBLISHED_KINDS and not m.monthly}
        pub = pub[pub["measure_id"].isin(ok) & pub["value"].notna()].copy()
        if pub.empty:
            return base
        pub["period"] = pub["year"].astype(int).astype(str)
        have = set(zip(base["measure_id"], base["area_code"], base["period"].astype(str).str[:4]))
        pub = pub[[k not in have for k in zip(pub["measure_id"], pub["area_code"], pub["period"])]]
        if pub.empty:
            return base
        low, high = self.suppress_min, self.suppress_max
        rows = []
        for mid, g in pub.groupby("measure_id", sort=False):
            m = by_id[mid]
            g = g.copy()
            value = pd.to_numeric(g["value"], errors="coerce").to_numpy(float)
            num = pd.to_numeric(g["numerator"], errors="coerce").to_numpy(float)
            den = pd.to_numeric(g["denominator"], errors="coerce").to_numpy(float)
            if m.kind == "count":
                num, den = value.copy(), np.full(len(g), np.nan)
            both = ~np.isnan(num) & (~np.isnan(den) | (m.kind == "count"))
            num = np.where(both, num, np.nan)
            den = np.where(both & (m.kind != "count"), den, np.nan)
            # A figure its publisher shows unsuppressed at council level or above stays as published
            # (issue 17.10): the publisher's own disclosure control applies, and withholding one cell
            # of a published breakdown alone would only invite subtraction from the published total.
            council_or_above = g["area_code"].astype(str).str[:3].isin(PUBLISHED_LEVEL_PREFIXES).to_numpy()
            small = np.zeros(len(g), dtype=bool)
            if m.disclosure != "none":
                small |= ~council_or_above & np.asarray(disclosure.primary_suppress(den, low, high), dtype=bool)
            if m.disclosure == "numerator":
                small |= ~council_or_above & np.asarray(disclosure.primary_suppress(num, low, high), dtype=bool)
            out = pd.DataFrame({
                "measure_id": mid, "area_code": g["area_code"].to_numpy(), "period": g["period"].to_numpy(),
                "numerator": np.where(small, np.nan, num), "denominator": np.where(small, np.nan, den),
                "value": np.where(small, np.nan, value), "suppressed": small,
                "suppression_reason": np.where(small, disclosure.primary_reason(low, high), None),
                "value_source": [f"published: {s} (edition {e})" if isinstance(e, str) and e else f"published: {s}"
                                 for s, e in zip(g["source"], g["edition"])]})
            for level, conf in Z_LEVELS.items():
                lo = hi = np.full(len(out), np.nan)
                n_, d_ = out["numerator"].to_numpy(float), out["denominator"].to_numpy(float)
                if m.ci_method == "wilson" and m.kind == "proportion":
                    lo, hi = intervals.wilson_ci(n_, d_, conf)
                    lo, hi = np.asarray(lo) * m.multiplier, np.asarray(hi) * m.multiplier
                elif m.ci_method == "byar" and m.kind == "count":
                    lo, hi = intervals.byar_ci(n_, conf)
                out[f"lower_{level}"] = lo
                out[f"upper_{level}"] = hi
            rows.append(out)
        return pd.concat([base, *rows], ignore_index=True)

    def _add_median_waits(self, base: pd.DataFrame, measures: list[Measure]) -> pd.DataFrame:
        med = self._median_waits(measures)
        if med.empty:
            return base
        base = base.merge(med, on=["measure_id", "area_code", "period"], how="left")
        is_med = base["measure_id"].str.startswith("wait_median_")
        # The median is shown only when the list size behind it may be shown.
        ok = is_med & ~base["suppressed"].astype(bool)
        base.loc[is_med, "value"] = np.where(ok[is_med], base.loc[is_med, "median"], np.nan)
        return base.drop(columns="median")

    def _growth(self, base: pd.DataFrame, by_id: dict[str, Measure]) -> pd.DataFrame:
        rows = []
        for m in by_id.values():
            if m.kind != "growth":
                continue
            g = base[base["measure_id"] == m.id].sort_values("period")
            base.drop(g.index, inplace=True)
            for area, s in g.groupby("area_code"):
                s = s.sort_values("period")
                prev = s["numerator"].shift(1)
                prev_year = s["period"].str[:4].astype(int).shift(1)
                year = s["period"].str[:4].astype(int)
                consecutive = (year - prev_year) == 1
                with np.errstate(divide="ignore", invalid="ignore"):
                    val = np.where(consecutive & (prev > 0), (s["numerator"] - prev) / prev * 100, np.nan)
                r = s.copy()
                r["value"] = val
                r["denominator"] = prev.where(consecutive)
                # Either year suppressed means the change is suppressed too.
                r["suppressed"] = s["suppressed"].astype(bool) | s["suppressed"].astype(bool).shift(1, fill_value=False)
                r.loc[r["suppressed"], ["value", "numerator", "denominator"]] = np.nan
                r["suppression_reason"] = np.where(r["suppressed"], "built on a suppressed count", None)
                rows.append(r)
        return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()

    def _gaps(self, base: pd.DataFrame, by_id: dict[str, Measure]) -> pd.DataFrame:
        rows = []
        for m in by_id.values():
            if m.kind != "gap":
                continue
            a_id, b_id = m.gap_of
            a = base[base["measure_id"] == a_id].set_index(["area_code", "period"])
            b = base[base["measure_id"] == b_id].set_index(["area_code", "period"])
            j = a.join(b, lsuffix="_a", rsuffix="_b", how="inner")
            if j.empty:
                continue
            r = pd.DataFrame(index=j.index)
            r["measure_id"] = m.id
            r["value"] = j["value_a"] - j["value_b"]
            r["numerator"] = np.nan
            r["denominator"] = np.nan
            for level, conf in Z_LEVELS.items():
                if m.ci_method == "newcombe":
                    d, lo, hi = comparisons.proportion_difference_ci(j["numerator_a"], j["denominator_a"],
                                                              j["numerator_b"], j["denominator_b"], conf)
                    r[f"lower_{level}"] = np.asarray(lo) * m.multiplier
                    r[f"upper_{level}"] = np.asarray(hi) * m.multiplier
                else:
                    r[f"lower_{level}"] = np.nan
                    r[f"upper_{level}"] = np.nan
            sup = j["suppressed_a"].astype(bool) | j["suppressed_b"].astype(bool)
            r["suppressed"] = sup
            r["suppression_reason"] = np.where(sup, "built on a suppressed count", None)
            r.loc[sup, ["value", "lower_95", "upper_95", "lower_998", "upper_998"]] = np.nan
            rows.append(r.reset_index())
        return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()

    def _benchmarks(self, base: pd.DataFrame, by_id: dict[str, Measure]) -> pd.DataFrame:
        published = self.db.query_file("published_benchmarks")
        published["period"] = published["year"].astype(str)
        base["_year"] = base["period"].str[:4]
        # England: our own computed value when England data is loaded, else the published one.
        eng = base[base["area_code"] == ENGLAND][["measure_id", "period", "value"]].rename(
            columns={"value": "england_value"})
        eng["england_source"] = "computed from loaded England data"
        if "value_source" in base:
            src = base.loc[base["area_code"] == ENGLAND, "value_source"]
            eng.loc[src.notna().to_numpy(), "england_source"] = src[src.notna()].to_numpy()
        pub_eng = published[published["area_code"] == ENGLAND][["measure_id", "period", "value", "source"]].rename(
            columns={"value": "england_pub", "source": "england_pub_source"})
        base = base.merge(eng, on=["measure_id", "period"], how="left")
        base = base.merge(pub_eng.rename(columns={"period": "_year"}), on=["measure_id", "_year"], how="left")
        use_pub = base["england_value"].isna() & base["england_pub"].notna()
        base.loc[use_pub, "england_value"] = base.loc[use_pub, "england_pub"]
        base.loc[use_pub, "england_source"] = base.loc[use_pub, "england_pub_source"]
        base = base.drop(columns=["england_pub", "england_pub_source"])
        # Region: the region above the area (for localities and footprints, their council's region).
        region_of = self.db.query_file("area_region")
        base = base.merge(region_of, on="area_code", how="left")
        reg_comp = base[["measure_id", "period", "area_code", "value"]].rename(
            columns={"area_code": "region_code", "value": "region_value"})
        base = base.merge(reg_comp, on=["measure_id", "period", "region_code"], how="left")
        pub_reg = published[["measure_id", "period", "area_code", "value"]].rename(
            columns={"area_code": "region_code", "value": "region_pub", "period": "_year"})
        base = base.merge(pub_reg, on=["measure_id", "_year", "region_code"], how="left")
        base["region_value"] = base["region_value"].fillna(base["region_pub"])
        base = base.drop(columns=["region_pub"])
        # Statistical neighbours: sum of numerators over sum of denominators of the neighbours that
        # have both (loaded data first; published numerators and denominators otherwise). Never a
        # mean of rates, and nothing for counts (areas of different size are not compared).
        nb = self.db.query("SELECT area_code, neighbour_code FROM statistical_neighbours")
        base["neighbours_value"] = np.nan
        base["neighbours_n"] = np.nan
        if not nb.empty:
            vals = base[["measure_id", "period", "area_code", "numerator", "denominator"]].rename(
                columns={"area_code": "neighbour_code"})
            loaded = pool_neighbours(nb.merge(vals, on="neighbour_code", how="inner"), by_id,
                                     ["area_code", "measure_id", "period"])
            pub = published[["measure_id", "period", "area_code", "numerator", "denominator"]].rename(
                columns={"area_code": "neighbour_code", "period": "_year"})
            pubp = pool_neighbours(nb.merge(pub, on="neighbour_code", how="inner"), by_id,
                                   ["area_code", "measure_id", "_year"]).rename(
                columns={"neighbours_value": "nbp_value", "neighbours_n": "nbp_n"})
            base = base.drop(columns=["neighbours_value", "neighbours_n"]).merge(
                loaded, on=["area_code", "measure_id", "period"], how="left")
            base = base.merge(pubp, on=["area_code", "measure_id", "_year"], how="left")
            use = base["neighbours_n"].fillna(0) < base["nbp_n"].fillna(0)
            base.loc[use, "neighbours_value"] = base.loc[use, "nbp_value"]
            base.loc[use, "neighbours_n"] = base.loc[use, "nbp_n"]
            base = base.drop(columns=["nbp_value", "nbp_n"])
        pol = base["measure_id"].map(lambda i: by_id[i].polarity).to_numpy(dtype=object)
        lo95, hi95 = base["lower_95"].to_numpy(float), base["upper_95"].to_numpy(float)
        lo998, hi998 = base["lower_998"].to_numpy(float), base["upper_998"].to_numpy(float)
        for col, bench in (("england", "england_value"), ("region", "region_value"),
                           ("neighbours", "neighbours_value")):
            if bench not in base.columns:
                base[bench] = np.nan
            b = base[bench].to_numpy(float)
            base[f"sig_{col}_95"] = comparisons.compare_to_benchmark(lo95, hi95, b, pol)
            if col == "england":
                base["sig_england_998"] = comparisons.compare_to_benchmark(lo998, hi998, b, pol)
        # Fewer than MIN_NEIGHBOURS neighbours with data: the pooled value is shown with its count,
        # but no verdict rests on it.
        few = ~(base["neighbours_n"].fillna(0) >= MIN_NEIGHBOURS)
        base.loc[few, "sig_neighbours_95"] = "not_compared"
        # Counts (and anything that is not a ratio) are never compared with England, the region or
        # neighbours: areas of different size (Fingertips compares only rates and proportions).
        not_ratio = ~base["measure_id"].map(lambda i: by_id[i].kind in COMPARABLE_KINDS).astype(bool)
        base.loc[not_ratio, ["sig_england_95", "sig_england_998", "sig_region_95",
                             "sig_neighbours_95"]] = "not_compared"
        # Never compare an area with itself.
        is_eng = base["area_code"] == ENGLAND
        base.loc[is_eng, ["sig_england_95", "sig_england_998"]] = "not_compared"
        is_reg = base["area_code"] == base["region_code"]
        base.loc[is_reg, "sig_region_95"] = "not_compared"
        return base.drop(columns=["_year"])

    def _trend_and_rank(self, base: pd.DataFrame, by_id: dict[str, Measure]) -> pd.DataFrame:
        base = base.sort_values(["measure_id", "area_code", "period"]).reset_index(drop=True)
        trend = np.full(len(base), "not_enough_data", dtype=object)
        verdict = np.full(len(base), "not_enough_data", dtype=object)
        value = base["value"].to_numpy(float)
        lower = base["lower_95"].to_numpy(float)
        upper = base["upper_95"].to_numpy(float)
        num = base["numerator"].to_numpy(float)
        den = base["denominator"].to_numpy(float)
        year = pd.to_numeric(base["period"].astype(str).str[:4], errors="coerce").to_numpy(float)
        for (mid, _area), idx in base.groupby(["measure_id", "area_code"], sort=False).indices.items():
            m = by_id[mid]
            # As Fingertips: recent trends only for annual proportions and crude rates; counts,
            # monthly series and everything else are not tested.
            if m.monthly or m.kind not in ("proportion", "rate") or m.ci_method == "none":
                trend[idx] = verdict[idx] = "not_tested"
                continue
            if len(idx) < 5:
                continue
            if m.kind == "proportion":
                t = rolling_proportion_trend(num[idx], den[idx], year[idx])
            else:
                t = rolling_recent_trend(value[idx], lower[idx], upper[idx], years=year[idx])
            trend[idx[4:]] = t
            verdict[idx[4:]] = [trends.trend_verdict(x, m.polarity) for x in t]
        base["trend"] = trend
        base["trend_verdict"] = verdict
        # Rank among the area and its statistical neighbours (1 = best; highest for no judgement).
        nb = self.db.query("SELECT area_code, neighbour_code FROM statistical_neighbours")
        base["rank"] = np.nan
        base["rank_of"] = np.nan
        if nb.empty:
            return base
        peers = pd.concat([nb, pd.DataFrame({"area_code": nb["area_code"].unique(),
                                             "neighbour_code": nb["area_code"].unique()})])
        peers = peers.astype({"area_code": "string", "neighbour_code": "string"})
        vals = base[["measure_id", "period", "area_code", "value"]].dropna(subset=["value"]).rename(
            columns={"area_code": "neighbour_code"}).astype({"neighbour_code": "string"})
        x = peers.merge(vals, on="neighbour_code")
        if x.empty:
            return base
        lower_better = x["measure_id"].map(lambda i: by_id[i].polarity == "lower_is_better").to_numpy(bool)
        x["score"] = np.where(lower_better, x["value"], -x["value"])
        x["rank"] = x.groupby(["area_code", "measure_id", "period"])["score"].rank(method="min")
        x["rank_of"] = x.groupby(["area_code", "measure_id", "period"])["score"].transform("count")
        own = x[(x["area_code"] == x["neighbour_code"]) & (x["rank_of"] >= 2)][
            ["area_code", "measure_id", "period", "rank", "rank_of"]]
        base = base.drop(columns=["rank", "rank_of"]).astype({"area_code": "string"}).merge(
            own, on=["area_code", "measure_id", "period"], how="left")
        return base


def pool_neighbours(x: pd.DataFrame, by_id: dict[str, Measure], keys: list[str]) -> pd.DataFrame:
    """Pooled neighbour value: sum of numerators over sum of denominators of the neighbours that
    have both, and how many they are (``neighbours_n``).

    ``x`` holds one row per (area, neighbour, measure, period) with ``numerator`` and
    ``denominator``. A neighbour whose numerator is suppressed or missing takes no part at all
    (its denominator is not pooled either): 50/100, suppressed/100 and 90/100 give 140/200 =
    70.0%, not 140/300. Only proportions, rates and means (total points over pupils) are pooled;
    counts and everything else get no neighbour value. Never an average of rates or of means."""
    cols = [*keys, "neighbours_value", "neighbours_n"]
    if x.empty:
        return pd.DataFrame(columns=cols)
    x = x[x["measure_id"].map(lambda i: i in by_id and by_id[i].kind in POOLED_KINDS).astype(bool)]
    num = pd.to_numeric(x["numerator"], errors="coerce").astype(float)
    den = pd.to_numeric(x["denominator"], errors="coerce").astype(float)
    ok = np.isfinite(num) & np.isfinite(den) & (den > 0)
    x = x.assign(_num=num, _den=den)[ok.to_numpy(dtype=bool)]
    if x.empty:
        return pd.DataFrame(columns=cols)
    agg = x.groupby(keys).agg(_num=("_num", "sum"), _den=("_den", "sum"),
                              neighbours_n=("_num", "count")).reset_index()
    mult = agg["measure_id"].map(lambda i: by_id[i].multiplier).astype(float)
    agg["neighbours_value"] = agg["_num"] / agg["_den"] * mult
    agg["neighbours_n"] = agg["neighbours_n"].astype(float)
    return agg[cols]


def _unbroken(years, window: int) -> np.ndarray | None:
    """For each window of ``window`` consecutive rows, whether its years run on without a gap."""
    if years is None:
        return None
    from numpy.lib.stride_tricks import sliding_window_view as windows
    y = np.asarray(years, dtype=float)
    return (np.diff(windows(y, window), axis=1) == 1).all(1)


def rolling_proportion_trend(numerators, denominators, years=None, window: int = 5,
                             chi2_threshold: float = trends.TREND_CHI2_THRESHOLD) -> np.ndarray:
    """trends.proportion_trend (Fingertips' chi-square test for trend) for every window of 5
    consecutive annual points; a window with a missing year, a missing or suppressed count, or a
    point at 0% or 100% is "not_enough_data". Identical to trends.proportion_trend per window
    (tested)."""
    from numpy.lib.stride_tricks import sliding_window_view as windows
    x, n = (np.asarray(a, dtype=float) for a in (numerators, denominators))
    if x.size < window:
        return np.array([], dtype=object)
    xw, nw = windows(x, window), windows(n, window)
    ok = (np.isfinite(xw) & np.isfinite(nw) & (nw > 0) & (xw > 0) & (xw < nw)).all(1)
    unbroken = _unbroken(years, window)
    if unbroken is not None:
        ok &= unbroken
    xs, ns = np.where(ok[:, None], xw, 1.0), np.where(ok[:, None], nw, 3.0)
    chi2 = trends.chi2_trend_statistic(xs, ns)
    logit = np.log(xs / (ns - xs))
    t = np.arange(1, window + 1, dtype=float)
    masks = np.vstack([np.ones(window, dtype=bool), ~np.eye(window, dtype=bool)])  # full, then leave-one-out
    signs = []
    for keep in masks:
        tt, yy = t[keep], logit[:, keep]
        slope = ((tt - tt.mean()) * (yy - yy.mean(1, keepdims=True))).sum(1) / ((tt - tt.mean()) ** 2).sum()
        signs.append(np.where(slope < 0, -1.0, 1.0))
    signs = np.array(signs)
    robust = np.abs(signs.sum(0)) == len(masks)
    significant = ok & (chi2 > chi2_threshold) & robust
    out = np.where(significant, np.where(signs[0] > 0, "increasing", "decreasing"), "no_significant_change")
    return np.where(ok, out, "not_enough_data").astype(object)


def rolling_recent_trend(values, lower, upper, window: int = 5,
                         chi2_threshold: float = trends.TREND_CHI2_THRESHOLD, years=None) -> np.ndarray:
    """trends.recent_trend for every window of 5 consecutive points at once (vectorised).

    Entry k is the trend of points k..k+4; a window with a missing value or a zero-width
    interval is "not_enough_data". Identical to calling trends.recent_trend on each window
    (tested), but fast enough for every measure, area and month of national data.
    """
    from numpy.lib.stride_tricks import sliding_window_view as windows
    v, lo, hi = (np.asarray(a, dtype=float) for a in (values, lower, upper))
    if v.size < window:
        return np.array([], dtype=object)
    y, se = windows(v, window), windows((hi - lo) / 3.92, window)
    ok = np.isfinite(y).all(1) & np.isfinite(se).all(1) & (se > 0).all(1)
    unbroken = _unbroken(years, window)
    if unbroken is not None:
        ok &= unbroken
    t = np.arange(window, dtype=float)

    def wls_slope(yy, ww):
        tbar = (ww * t).sum(-1) / ww.sum(-1)
        d = t - tbar[..., None]
        stt = (ww * d * d).sum(-1)
        return (ww * d * yy).sum(-1) / stt, stt

    with np.errstate(divide="ignore", invalid="ignore"):
        w = 1.0 / se ** 2
        full, stt = wls_slope(y, w)
        chi2 = full * full * stt
        # Leave-one-out: weight 0 on point i, for each i (shape windows x 5 x 5).
        loo, _ = wls_slope(y[:, None, :], w[:, None, :] * (1.0 - np.eye(window)))
    sign = np.sign(full)
    robust = (np.sign(loo) == sign[:, None]).all(1)
    significant = ok & (chi2 > chi2_threshold) & (full != 0) & robust
    out = np.where(significant, np.where(sign > 0, "increasing", "decreasing"), "no_significant_change")
    out = np.where(ok, out, "not_enough_data")
    return out.astype(object)


def median_from_bands(counts: dict[str, float], edges: dict[str, tuple[float, float | None]]) -> float:
    """Median of banded waits by linear interpolation within the median band.

    The open-ended top band cannot be interpolated: a median falling in it is its lower edge.
    """
    items = sorted(((edges[b][0], edges[b][1], float(c)) for b, c in counts.items()
                    if b in edges and c is not None and c == c), key=lambda t: t[0])
    total = sum(c for *_, c in items)
    if total <= 0:
        return float("nan")
    half, cum = total / 2, 0.0
    for lo, hi, c in items:
        if c > 0 and cum + c >= half:
            if hi is None:
                return float(lo)
            return lo + (half - cum) / c * (hi - lo)
        cum += c
    return float(items[-1][0])


_engines: dict[int, Engine] = {}
_engines_lock = threading.Lock()


def get_engine(db: Database) -> Engine:
    with _engines_lock:
        eng = _engines.get(id(db))
        if eng is None:
            eng = _engines[id(db)] = Engine(db)
        return eng
