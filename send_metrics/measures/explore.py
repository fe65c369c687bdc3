"""The Data explorer's tables: what each dataset offers (from the data contract), the sums at the
grain an analyst asks for, protected before anything is shown, and the view, labels and download
built from them.

Disclosure control (BRIEF §7) runs before anything is shown or downloaded:

* Sums are computed for every area and period at the chosen grain (area x period x breakdown
  columns) whatever the filters, then protected (``measures.explore_protection``), then filtered;
  so every view of the same grain shows the same suppression pattern and two views cannot be
  subtracted to recover a cell.
* Area and period are always part of the grain and a filtered column is always a breakdown, so a
  view never shows a sum over a hand-picked subset of areas, periods or categories.

Identifiers in SQL come only from the data contract (``grouped_sql``); no widget or URL value is
ever put into SQL. Streamlit-free, so all of it is tested without a page (tests/measures/test_explore.py);
the page (pages/explorer.py) caches ``protected_table`` per load and grain.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pandas as pd

from send_metrics import contract
from send_metrics.contract import codes
from send_metrics.catalogue import load_catalogue
from send_metrics.measures.explore_protection import ALL, blank_suppressed, protect
from send_metrics.measures.linear_repair import single_thread_blas

AREAS = "areas"  # the geography table, offered beside the datasets
MAX_BREAKDOWNS = 2
MAX_CELLS = 150_000
MAX_SERIES = 6
# Rows of these datasets do not add up across one column (different measures or outcomes):
# that column is always a breakdown.
REQUIRED_BREAKDOWN = {"benchmarks": "measure_id", "outcomes": "outcome"}
DEFAULT_AREAS = ("E06000063", "E06000064")  # Cumberland, Westmorland and Furness


# -- what each dataset offers (from the contract) ----------------------------------------
class Spec(NamedTuple):
    name: str
    title: str
    description: str
    period: str
    breakdowns: tuple[str, ...]
    indicators: tuple[str, ...]
    required: tuple[str, ...]


def dataset_names() -> list[str]:
    """Datasets of the contract with figures to add up, then the areas table. Person-level rows
    have none: they are counted into the caseload at load and never shown one by one."""
    return [d.name for d in contract.DATASETS.values() if not d.reference and d.indicators] + [AREAS]


def dataset_title(name: str) -> str:
    return contract.DATASETS[name].title if name != AREAS else "Areas (geography)"


def spec(name: str) -> Spec:
    ds = contract.DATASETS[name]
    breakdowns = [c.name for c in ds.filters if c.name != "time_identifier"]
    if name == "benchmarks":
        breakdowns = ["measure_id"]
    required = (REQUIRED_BREAKDOWN[name],) if name in REQUIRED_BREAKDOWN else ()
    # A standard deviation (contract spreads) is not a count and does not add up: not explored.
    spreads = {sd for sd, _, _ in ds.spreads}
    return Spec(name, ds.title, ds.description, contract.period_column(ds), tuple(breakdowns),
                tuple(c.name for c in ds.indicators if c.name not in spreads), required)


def code_labels(column: str) -> dict[str, str]:
    """Readable labels for a code column, from the contract's code lists."""
    lists = {"primary_need": codes.PRIMARY_NEEDS, "age_band": codes.AGE_BANDS,
             "setting_type": codes.SETTING_TYPES, "phase": codes.PHASES,
             "sen_status": codes.SEN_STATUSES, "service": codes.SERVICES,
             "ehcp_status": codes.EHCP_STATUSES, "area_level": codes.AREA_LEVELS}
    if column == "outcome":
        return {k: v[2] for k, v in codes.OUTCOMES.items()}
    if column == "wait_band":
        return {k: (f"{lo:g} to {hi:g} weeks" if hi is not None else f"{lo:g} weeks or more")
                for k, (lo, hi) in codes.WAIT_BANDS.items()} | {codes.UNBANDED: codes.wait_band_label(codes.UNBANDED)}
    labels = dict(lists.get(column, {}))
    if column == "primary_need":
        labels["NONE"] = "No SEN"
    return labels


def _q(name: str) -> str:
    """Quote an identifier that has been checked against the contract."""
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a contract identifier: {name!r}")
    return '"' + name + '"'


def grouped_sql(sp: Spec, breakdowns: tuple[str, ...]) -> dict[str, str]:
    """Identifiers for sql/explorer_grouped.sql; every one is checked against the contract."""
    for b in breakdowns:
        if b not in sp.breakdowns:
            raise ValueError(f"{b!r} is not a breakdown column of {sp.name}")
    dims = ["area_code", sp.period, *breakdowns]
    sets = ["(" + ", ".join(_q(d) for d in dims) + ")"]
    for b in breakdowns:
        if b in sp.required:
            continue  # no view shows the total over a required breakdown
        sets.append("(" + ", ".join(_q(d) for d in dims if d != b) + ")")
    flags = [f"GROUPING({_q(b)}) AS {_q('_all_' + b)}" for b in breakdowns] or ["0 AS _no_breakdown"]
    sums = [f"CASE WHEN count(*) FILTER (WHERE {_q(i)} IS NULL) > 0 THEN NULL ELSE sum({_q(i)}) END "
            f"AS {_q(i)}" for i in sp.indicators]
    dim_sql = [f"CAST({_q(sp.period)} AS VARCHAR) AS {_q(sp.period)}" if d == sp.period else _q(d)
               for d in dims]
    return {"dataset": _q(sp.name)[1:-1], "dims": ", ".join(dim_sql), "margin_flags": ", ".join(flags),
            "sums": ", ".join(sums), "grouping_sets": ", ".join(sets)}


def period_label(value: str, monthly: bool) -> str:
    return str(value)[:7] if monthly else str(value)


# -- the protected grain -----------------------------------------------------------------------
class TooBig(Exception):
    pass


def protected_table(db, dataset: str, breakdowns: tuple[str, ...], low: int, high: int, hierarchies,
                    coarser: Callable[[tuple[str, ...]], pd.DataFrame] | None = None, *,
                    below_council, areas=None) -> pd.DataFrame:
    """The grain of one dataset, this output's own disclosure control applied (flags kept, values
    not yet blanked). Pages serve it through ``measures.release.explorer_table``, which adds what
    the other outputs built on the same table require (one protected version across outputs).

    ``coarser(breakdowns)`` gives the own protected table of a coarser grain (one breakdown
    fewer), whose margins this grain must show exactly as that view does; by default the coarser
    grains are computed here. ``below_council``: areas where the rest-of-group rule applies
    (required: the engine's ``below_council_areas()``).
    The areas of the hierarchies (localities and everything built from them) are protected apart
    from all other areas, which they never add up with, so that ``areas`` (a subset, e.g. only
    those) gives exactly the rows the whole table would. :class:`TooBig` when the cells to protect
    (of ``areas`` only, when given) are more than :data:`MAX_CELLS`: a page asks for every area, so
    the explorer refuses such a grain, while the release protects the same grain's cells of the
    localities alone (issue 19: at national scale every council's would be too many)."""
    sp = spec(dataset)
    if coarser is None:
        def coarser(fewer):
            return protected_table(db, dataset, fewer, low, high, hierarchies, below_council=below_council,
                                   areas=areas)
    cells = db.query_file("explorer_grouped", **grouped_sql(sp, breakdowns))
    if areas is not None:
        cells = cells[cells["area_code"].astype(str).isin({str(a) for a in areas})].reset_index(drop=True)
    if len(cells) > MAX_CELLS:  # the cells protected here: only those of ``areas`` when given
        raise TooBig(f"This breakdown has {len(cells):,} cells; choose fewer breakdown columns.")
    for b in breakdowns:
        cells.loc[cells[f"_all_{b}"] == 1, b] = ALL
        cells[b] = cells[b].astype(object).fillna("(missing)")
    cells = cells.drop(columns=[c for c in cells.columns if c.startswith("_")]).reset_index(drop=True)
    coarse = {b: coarser(tuple(o for o in breakdowns if o != b)) for b in breakdowns if b not in sp.required}
    exempt = {}
    if dataset == "benchmarks" and "measure_id" in cells:
        # A published value is a count only for count measures; rates and percentages are not.
        kinds = {m.id: m.kind for m in load_catalogue()}
        exempt["value"] = cells["measure_id"].map(lambda i: kinds.get(i, "count") != "count").to_numpy(dtype=bool)
    local = cells["area_code"].astype(str).isin({str(a) for p, ch in hierarchies for a in (p, *ch)}).to_numpy()
    parts = []
    # One BLAS thread: the same cells always give the same choices (multi-threaded LAPACK sums in
    # a varying order), so a page's table is exactly the one measures.release verified.
    with single_thread_blas():
        for rows in (local, ~local):
            if not rows.any():
                continue
            part = cells[rows].reset_index(drop=True)
            part["_row"] = np.flatnonzero(rows)
            parts.append(protect(part, breakdowns, sp.indicators, sp.period, tuple(hierarchies), low, high,
                                 {b: c for b, c in coarse.items()}, {k: v[rows] for k, v in exempt.items()},
                                 rest_of_group_areas=below_council, parts_of=parts_of(dataset, part)))
        if not parts:
            return protect(cells, breakdowns, sp.indicators, sp.period, tuple(hierarchies), low, high, coarse,
                           exempt, rest_of_group_areas=below_council, parts_of=parts_of(dataset, cells))
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values("_row", kind="stable").drop(columns="_row").reset_index(drop=True)


def part_whole_pairs(dataset: str) -> list[tuple[str, str]]:
    """(part, whole) count columns of `dataset` where one counts part of the other in the same row:
    a proportion measure's numerator and denominator over the same rows (seen within 18 weeks of
    seen). For outcomes only the outcomes in :func:`_count_outcomes` are counts of children."""
    pairs = {(m.numerator, m.denominator) for m in load_catalogue()
             if m.dataset == dataset and m.kind == "proportion" and m.disclosure == "numerator"
             and m.denominator and not m.denominator_dataset and m.numerator != m.denominator
             and (m.numerator_filter or "") == (m.denominator_filter or "")}
    return sorted(pairs)


def parts_of(dataset: str, cells: pd.DataFrame) -> dict[str, dict[str, np.ndarray]]:
    """For each indicator that counts part of another in the same row (:func:`part_whole_pairs`),
    the whole's values, NaN in rows where the part is not a count of children (e.g. an outcome
    that is a mean)."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for part, whole in part_whole_pairs(dataset):
        if not {part, whole} <= set(cells.columns):
            continue
        values = pd.to_numeric(cells[whole], errors="coerce").to_numpy(dtype=float)
        rows = np.ones(len(cells), dtype=bool)
        if dataset == "outcomes":  # one column pair for every outcome, some of them means
            rows = cells["outcome"].astype(str).isin(_count_outcomes()).to_numpy()
        out.setdefault(part, {})[whole] = np.where(rows, values, np.nan)
    return out


def _count_outcomes() -> set[str]:
    """Outcomes whose numerator counts children (a proportion the engine protects), not a mean."""
    found = set()
    for m in load_catalogue():
        if m.dataset == "outcomes" and m.kind == "proportion" and m.disclosure == "numerator":
            found |= set(re.findall(r"outcome = '([a-z0-9_]+)'", m.numerator_filter or ""))
    return found


# -- the view: choices offered, rows shown -----------------------------------------------------
def area_labels(areas: pd.DataFrame, codes) -> dict[str, str]:
    """Unique labels for area codes (the URL holds the label): a name shared by several areas,
    such as Carlisle the locality and Carlisle the former district, gets its level added.
    ``areas``: the areas table (area_code, area_name, area_level)."""
    a = areas.drop_duplicates("area_code").set_index("area_code")
    names = {c: str(a.at[c, "area_name"]) if c in a.index else str(c) for c in codes}
    counts = Counter(names.values())
    out = {}
    for c in codes:
        label = names[c]
        if counts[label] > 1:
            level = str(a.at[c, "area_level"]) if c in a.index else ""
            label = f"{label} ({level.replace('_', ' ')})"
        out[c] = label
    counts = Counter(out.values())
    return {c: (f"{v} {c}" if counts[v] > 1 else v) for c, v in out.items()}


def area_options(table: pd.DataFrame, names: dict[str, str],
                 areas: pd.DataFrame) -> tuple[list[str], list[str], dict[str, str]]:
    """The areas of a protected table in name order, the ones chosen at first, and their unique
    labels (``area_labels``)."""
    options = sorted(table["area_code"].unique(), key=lambda c: (names.get(c, c), c))
    return options, [a for a in DEFAULT_AREAS if a in options] or options[:3], area_labels(areas, options)


def filter_values(table: pd.DataFrame, column: str, required: bool) -> tuple[list, list]:
    """Values of a breakdown column in the order of the contract's code list, and the ones chosen at
    first (rows of a required breakdown do not add up: start with one of them)."""
    values = sorted(table[column].unique())
    default = values[:1] if required else []
    order = list(code_labels(column))
    return sorted(values, key=lambda v: (order.index(v) if v in order else len(order), str(v))), default


def code_text(column: str) -> Callable[[object], str]:
    """How a filter shows a code: 'ASD - Autism spectrum disorder'."""
    labels = code_labels(column)
    return lambda v: f"{v} - {labels[v]}" if v in labels else str(v)


def view_rows(table: pd.DataFrame, sp: Spec, breakdowns: tuple[str, ...], areas: list[str], start: str, end: str,
              filters: dict[str, list], area_label: dict[str, str]) -> pd.DataFrame:
    """The rows of a protected table (with its ``period_label``) an analyst asked for, suppressed
    values blanked and named in a 'suppressed' column, codes in the order of the contract's code
    lists (age bands by age, not as text)."""
    shown = table[table["area_code"].isin(areas)]
    shown = shown[(shown["period_label"] >= start) & (shown["period_label"] <= end)]
    for b, vals in filters.items():
        if vals:
            shown = shown[shown[b].isin(vals)]
    shown = blank_suppressed(shown, sp.indicators)
    shown.insert(0, "area_name", shown["area_code"].map(lambda c: area_label.get(c, c)))
    out = shown[["area_name", "area_code", "period_label", *breakdowns, *sp.indicators, "suppressed"]]
    out = out.rename(columns={"period_label": "period"})
    order_keys = {b: {k: i for i, k in enumerate(code_labels(b))} for b in breakdowns}
    out = out.sort_values(["area_name", "period", *breakdowns], kind="stable", key=lambda col: col.map(
        lambda v, o=order_keys[col.name]: o.get(v, len(o))) if col.name in order_keys else col)
    return out.reset_index(drop=True)


# -- words for the table, the chart and the download -------------------------------------------
ACRONYMS = {"ehc": "EHC", "ehcp": "EHCP", "sen": "SEN", "ks2": "KS2", "ks4": "KS4", "eet": "EET", "neet": "NEET",
            "slt": "SLT", "ot": "OT", "camhs": "CAMHS", "la": "LA", "id": "ID"}


def header(column: str) -> str:
    """A column name as a heading: 'primary_need' -> 'Primary need', 'ehc_plans' -> 'EHC plans'."""
    words = [ACRONYMS.get(w, w) for w in column.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def indicator_label(dataset: str, column: str) -> str:
    """Plain words for an indicator, from the contract's column description."""
    desc = contract.DATASETS[dataset].column(column).description
    if desc.startswith(("See ", "Of which", "Of whom")):
        return column.replace("_", " ").capitalize()
    return desc.split(", ")[0]


class Column(NamedTuple):
    name: str
    heading: str
    help: str | None = None
    number: bool = False
    format: str | None = None  # of a number: "%.0f" for a count


def _is_count(dataset: str, column: str) -> bool:
    return contract.DATASETS[dataset].column(column).kind == "count"


def table_columns(dataset: str, breakdowns, indicators) -> list[Column]:
    """The columns of the ``labelled`` view as shown, in order: headings in words, a code column's
    label instead of its code, counts as whole numbers."""
    return [Column("area_name", "Area"), Column("area_code", "Area code"), Column("period", "Period"),
            *[Column(f"{b}_label", header(b)) for b in breakdowns],
            *[Column(i, header(i), indicator_label(dataset, i), True, "%.0f" if _is_count(dataset, i) else None)
              for i in indicators],
            Column("suppressed", "Suppressed values", "Which values in the row are suppressed (small numbers)")]


def labelled(out: pd.DataFrame, breakdowns) -> pd.DataFrame:
    """The view as people read it: a ``<column>_label`` beside every code column (from the
    contract's code lists) and the suppressed columns named in words. The codes stay (the CSV and
    Parquet downloads keep codes)."""
    table = out.copy()
    for b in breakdowns:
        labels = code_labels(b)
        table[f"{b}_label"] = table[b].map(lambda v, lab=labels: lab.get(v, v))
    table["suppressed"] = table["suppressed"].astype(str).str.replace("_", " ")
    return table


def csv_frame(out: pd.DataFrame, indicators) -> pd.DataFrame:
    """The CSV download's frame: suppressed cells written as 'c' (the DfE symbol), whole numbers
    without a decimal point."""
    frame = out.copy()
    for ind in indicators:
        flags = frame["suppressed"].map(lambda s, i=ind: i in s.split(", "))
        col = frame[ind].astype(object)
        col[flags.to_numpy()] = "c"
        frame[ind] = col.map(lambda v: v if isinstance(v, str) or pd.isna(v) else
                             (int(v) if float(v).is_integer() else float(v)))
    return frame


def download_stem(dataset: str, breakdowns, start: str, end: str) -> str:
    return f"explorer-{dataset}{'-by-' + '-'.join(breakdowns) if breakdowns else ''}-{start}-{end}"


def chart_title(ind_label: str, breakdowns, start: str, end: str, words: int = 10) -> str:
    """An active title of ten words or fewer."""
    by = f" by {' and '.join(b.replace('_', ' ') for b in breakdowns)}" if breakdowns else ""
    span = f", {start} to {end}" if start != end else f", {start}"
    for title in (ind_label + by + span, ind_label + by, ind_label):
        if len(title.split()) <= words:
            return title
    return " ".join(ind_label.split()[:words])


def chart_series(out: pd.DataFrame, indicator: str, breakdowns) -> tuple[pd.DataFrame, str]:
    """The view's rows for the chart, one ``series`` per area and breakdown value (the
    ``MAX_SERIES`` largest when there are more), and a note saying so when some are left out."""
    data = out.copy()
    data["series"] = data["area_name"].astype(str)
    for b in breakdowns:
        labels = code_labels(b)
        data["series"] = data["series"] + " · " + data[b].map(lambda v, lab=labels: lab.get(v, v)).astype(str)
    series = list(dict.fromkeys(data["series"]))
    note = ""
    if len(series) > MAX_SERIES:
        totals = data.groupby("series")[indicator].sum(min_count=1).sort_values(ascending=False)
        keep = list(totals.index[:MAX_SERIES])
        data = data[data["series"].isin(keep)]
        note = f" The chart shows the {MAX_SERIES} largest of {len(series)} series; the table has them all."
    return data, note


def chart_sentence(data: pd.DataFrame, ind_label: str, what: str, breakdowns, start: str, end: str,
                   note: str) -> str:
    """What the chart of ``chart_series``'s rows shows: lines over time, or bars for one period.
    ``what``: the indicator's label as it reads mid-sentence."""
    if data["period"].nunique() > 1:
        per = f"{'area and ' + ' and '.join(b.replace('_', ' ') for b in breakdowns) if breakdowns else 'area'}"
        return f"How {what} changed from {start} to {end}, one line per {per}.{note}"
    return f"{ind_label} in {start}, largest at the top.{note}"


def protection_text(low: int, high: int, out: pd.DataFrame) -> str:
    """What the disclosure control did, for the box above the view."""
    n_sup = int((out["suppressed"] != "").sum())
    return (f"**Disclosure control.** Sums from {low} to {high} are suppressed (shown as a dash, named in "
            f"the 'suppressed' column), and so are other cells that would let them be worked out from an area "
            f"total (localities add up to councils, footprints and Cumbria) or from a total over a breakdown. "
            f"Below council level a sum is suppressed too when the rest of its total is {low} to {high}, or when "
            f"it is none or all of a total of {high + 1} to {2 * (high + 1)}. "
            f"Area and period are always shown separately. {n_sup} of {len(out)} rows here have a suppressed "
            "cell.")
