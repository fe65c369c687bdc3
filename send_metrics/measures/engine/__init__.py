"""The measure engine: measures x areas x periods -> one tidy table with statistics.

Numerators and denominators are summed in SQL (sql/measure_values.sql) for every area at once:
parent areas already exist in the store as sums of their localities, so every figure is
sum(numerator) / sum(denominator) at the level asked for. Python then adds confidence limits,
benchmarks, significance, recent trend, rank among statistical neighbours, and disclosure
control. Disclosure control runs before anything leaves this module: a suppressed cell has no
value, no interval and no numerator, and secondary suppression stops it being recovered from
the totals of overlapping areas (localities -> councils, footprints -> Cumbria).

The steps, in the order ``Engine._compute`` runs them: ``sums`` (the SQL behind each measure and the
quantities it counts), ``protect`` (disclosure control of those counts), values and intervals (here),
``benchmarks`` (England, region, statistical neighbours, rank) and ``trends`` (Fingertips' recent
trend). The derived tables are kept beside the load and, for the demo, shipped prebuilt.
"""
from __future__ import annotations

import importlib
import threading
from collections import OrderedDict

import numpy as np
import pandas as pd

from send_metrics.contract import codes
from send_metrics.stats import comparisons, disclosure, intervals
from send_metrics.catalogue import Measure, load_catalogue
from send_metrics.db import Database
from send_metrics.measures.engine.benchmarks import NEIGHBOURS_SQL, add_benchmarks, add_ranks
from send_metrics.measures.engine.by_value import starts_with
from send_metrics.measures.engine.prefetch import Prefetching
from send_metrics.measures.engine.sums import values_sql
from send_metrics.measures.engine.protect import protect_counts
from send_metrics.measures.engine.trends import add_trends

Z_LEVELS = {"95": 0.95, "998": 0.998}

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


def _period_label(period, monthly: bool) -> str:
    if monthly:
        return pd.Timestamp(period).strftime("%b %Y")
    return str(int(period))


def _period_labels(periods: pd.Series, measure_ids: pd.Series, monthly: dict[str, bool]) -> list[str]:
    """:func:`_period_label` of every row, worked out once per distinct (period, monthly) pair
    (a national table has 664,000 rows but a few hundred distinct periods)."""
    mid_codes, mid_uniques = pd.factorize(measure_ids)
    flags = np.array([monthly.get(mid, False) for mid in mid_uniques], dtype=bool)[mid_codes]
    p_codes, p_uniques = pd.factorize(periods, use_na_sentinel=False)
    keys, inverse = np.unique(p_codes.astype(np.int64) * 2 + flags, return_inverse=True)
    labels = np.array([_period_label(p_uniques[k // 2], bool(k % 2)) for k in keys], dtype=object)
    return labels[inverse.reshape(-1)].tolist()


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
            out = self.in_periods(out, periods)
        return out.reset_index(drop=True)

    @staticmethod
    def in_periods(rows: pd.DataFrame, periods) -> pd.DataFrame:
        """The rows of ``rows`` (measure table rows) whose period is one of ``periods`` (a label,
        a period, or a month as YYYY-MM), as :meth:`table` filters them."""
        wanted = {str(p) for p in periods}
        return rows[rows["period_label"].isin(wanted) | rows["period"].astype(str).isin(wanted)
                    | rows["period"].astype(str).str[:7].isin(wanted)]

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
        (send_metrics.measures.prebuilt). With ``needs`` the release of every dataset too
        (send_metrics.measures.release), which pages otherwise compute on first use. Returns (measure
        rows, census years computed or adopted)."""
        from send_metrics.measures.breakdowns import census_years, precompute
        self.db.refresh()
        if self.adopt_prebuilt(self.db.load_id) and self.derived_complete():
            return len(self.full_table()), len(census_years(self))
        rows = len(self.full_table())
        if not needs:
            return rows, 0
        years = precompute(self)
        from send_metrics.measures import release  # one protected version across outputs (issue 17.10)
        release.precompute(self)
        return rows, years

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
    AREAS_SQL = "SELECT area_code, area_name, area_level, coverage_note FROM areas"
    ROLLUP_SQL = "SELECT ancestor, leaf FROM rollup_map ORDER BY ancestor, leaf"

    def _areas(self, db=None) -> pd.DataFrame:
        return (self.db if db is None else db).query(self.AREAS_SQL)

    @staticmethod
    def _base_sql(measures: list[Measure]) -> list[str]:
        """The query of each dataset's sums (one per dataset, in catalogue order)."""
        by_dataset: dict[str, list[Measure]] = {}
        for m in measures:
            if m.kind == "gap":
                continue
            by_dataset.setdefault(m.dataset, []).append(m)
        return ["\nUNION ALL\n".join(values_sql(m) for m in ms) for ms in by_dataset.values()]

    def _base(self, measures: list[Measure], db=None) -> pd.DataFrame:
        """Numerators and denominators for every measure, area and period (one query per dataset)."""
        db = self.db if db is None else db
        frames = []
        for sql in self._base_sql(measures):
            df = db.query(sql)
            df["period"] = df["period"].astype(str).str[:10]
            frames.append(df)
        base = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        # Denominators from another dataset (population): the latest year at or before the period.
        for m in measures:
            if m.denominator_dataset:
                den = db.query_file("population_denominator")
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

    @staticmethod
    def _median_params() -> dict:
        bands = codes.WAIT_BANDS
        return {"codes": list(bands), "lows": [float(lo) for lo, _ in bands.values()],
                "highs": [None if hi is None else float(hi) for _, hi in bands.values()]}

    def _median_waits(self, measures: list[Measure], db=None) -> pd.DataFrame:
        if not any(m.kind == "median_wait" for m in measures):
            return pd.DataFrame()
        return (self.db if db is None else db).query_file("wait_median", self._median_params())

    def _compute(self) -> pd.DataFrame:
        measures = list(load_catalogue())
        # Every query of the computation starts at once, on two threads (DuckDB runs without
        # Python's lock), and scipy.stats is imported beside them; each step takes its result
        # when it comes to it (send_metrics.measures.engine.prefetch).
        queries = [("sql", sql, None) for sql in self._base_sql(measures)]
        queries += [("sql", self.AREAS_SQL, None), ("sql", self.ROLLUP_SQL, None),
                    ("file", "population_denominator", None), ("file", "published_benchmarks", None),
                    ("file", "published_benchmarks", None),  # own figures, then benchmarks
                    ("file", "wait_median", self._median_params()), ("file", "area_region", None),
                    ("sql", NEIGHBOURS_SQL, None), ("sql", NEIGHBOURS_SQL, None)]  # benchmarks, ranks
        with Prefetching(self.db, queries) as db:
            stats_ready = db.submit(importlib.import_module, "scipy.stats")
            return self._compute_on(db, measures, stats_ready)

    def _compute_on(self, db, measures: list[Measure], stats_ready) -> pd.DataFrame:
        by_id = {m.id: m for m in measures}
        base = self._base(measures, db)
        areas = self._areas(db)
        stats_ready.result()  # imported before any step needs it (no import runs on two threads)
        if base.empty:
            return pd.DataFrame(columns=OUTPUT_COLUMNS)
        base["numerator"] = pd.to_numeric(base["numerator"], errors="coerce").astype(float)
        base["denominator"] = pd.to_numeric(base["denominator"], errors="coerce").astype(float)
        base["sumsq"] = pd.to_numeric(base["sumsq"], errors="coerce").astype(float)

        # Disclosure control first: everything after works on protected numbers (a mean's spread
        # goes with its counts: none where either is withheld).
        levels = dict(zip(areas["area_code"].astype(str), areas["area_level"].astype(str)))  # see below_council_areas
        base = protect_counts(base, by_id, self.hierarchies(db), self.suppress_min, self.suppress_max, levels)
        from send_metrics.measures import release  # and against every combination of its counts (issue 17.10)
        base = release.protect_measure_counts(self, base)
        base.loc[base["numerator"].isna() | base["denominator"].isna(), "sumsq"] = np.nan

        base = self._values_and_intervals(base, by_id)
        base = self._published_own(base, by_id, db)
        base = self._add_median_waits(base, measures, db)
        base = pd.concat([base, self._growth(base, by_id), self._gaps(base, by_id)], ignore_index=True)
        base = base.merge(areas, on="area_code", how="left")
        base = add_benchmarks(db, base, by_id)
        base = add_ranks(db, add_trends(base, by_id), by_id)
        meta = pd.DataFrame([{"measure_id": m.id, "measure_title": m.title, "unit": m.unit,
                              "polarity": m.polarity, "kind": m.kind} for m in measures])
        base = base.merge(meta, on="measure_id", how="left")
        base["period_label"] = _period_labels(base["period"], base["measure_id"], {m.id: m.monthly for m in measures})
        for col in OUTPUT_COLUMNS:
            if col not in base.columns:
                base[col] = np.nan
        order = {m.id: i for i, m in enumerate(measures)}
        base["_o"] = base["measure_id"].map(order)
        base = base.sort_values(["_o", "area_code", "period"]).drop(columns="_o")
        return base[OUTPUT_COLUMNS].reset_index(drop=True)

    def below_council_areas(self) -> frozenset[str]:
        """Areas whose tables the dashboard makes itself (a locality, a former district, a health
        footprint...), where the rest-of-group rule applies; figures at
        :data:`disclosure.PUBLISHER_LEVELS` stay as the publisher shows them (issue 17.10)."""
        areas = self._areas()
        return frozenset(areas.loc[~areas["area_level"].isin(list(disclosure.PUBLISHER_LEVELS)),
                                   "area_code"].astype(str))

    def hierarchies(self, db=None) -> list[tuple[str, list[str]]]:
        """Additive relationships: every rolled-up area equals the sum of its localities."""
        rm = (self.db if db is None else db).query(self.ROLLUP_SQL)
        return [(a, list(g["leaf"])) for a, g in rm.groupby("ancestor", sort=True)]

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

    def _published_own(self, base: pd.DataFrame, by_id: dict[str, Measure], db=None) -> pd.DataFrame:
        """An area's published value of a measure (a `benchmarks` row: LAIT, a DfE total the contract
        cannot hold as rows) where no loaded file gives the counts for that area and period: the
        published value stands, with `value_source` naming the publication and edition. With its
        published numerator and denominator it gets an interval (small counts below council level are
        suppressed; at council level and above the publisher's figure stays as published); without them (LAIT publishes percentages only) it has no interval, so
        it is never tested against England or neighbours. Computed figures always win; annual
        measures only (benchmarks are annual)."""
        pub = (self.db if db is None else db).query_file("published_benchmarks")
        if pub.empty:
            return base
        ok = {i for i, m in by_id.items() if m.kind in PUBLISHED_KINDS and not m.monthly}
        pub = pub[pub["measure_id"].isin(ok) & pub["value"].notna()].copy()
        if pub.empty:
            return base
        pub["period"] = pub["year"].astype(int).astype(str)
        mine = base[base["measure_id"].isin(pub["measure_id"].unique())]  # only these can match
        have = set(zip(mine["measure_id"], mine["area_code"], mine["period"].astype(str).str[:4]))
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

    def _add_median_waits(self, base: pd.DataFrame, measures: list[Measure], db=None) -> pd.DataFrame:
        med = self._median_waits(measures, db)
        if med.empty:
            return base
        base = base.merge(med, on=["measure_id", "area_code", "period"], how="left")
        is_med = pd.Series(starts_with(base["measure_id"], "wait_median_"), index=base.index)
        # The median is shown only when the list size behind it may be shown.
        ok = is_med & ~base["suppressed"].astype(bool)
        base.loc[is_med, "value"] = np.where(ok[is_med], base.loc[is_med, "median"], np.nan)
        return base.drop(columns="median")

    def _growth(self, base: pd.DataFrame, by_id: dict[str, Measure]) -> pd.DataFrame:
        rows = []
        labels = {mid: base.index[pos] for mid, pos in base.groupby("measure_id", sort=False).indices.items()}
        for m in by_id.values():
            if m.kind != "growth":
                continue
            g = base.loc[labels.get(m.id, base.index[:0])].sort_values("period")
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
        of = base.groupby("measure_id", sort=False).indices
        for m in by_id.values():
            if m.kind != "gap":
                continue
            a_id, b_id = m.gap_of
            a = base.iloc[of.get(a_id, [])].set_index(["area_code", "period"])
            b = base.iloc[of.get(b_id, [])].set_index(["area_code", "period"])
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
