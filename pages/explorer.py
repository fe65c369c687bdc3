"""Data explorer for analysts: one dataset, filtered and broken down, as a table, a chart and
downloads; and a data-quality view of the latest load (manifest, quarantined rows, load notes).

Disclosure control (BRIEF §7) runs before anything is shown or downloaded:

* Sums are computed for every area and period at the chosen grain (area x period x breakdown
  columns) whatever the filters, then protected, then filtered; so every view of the same grain
  shows the same suppression pattern and two views cannot be subtracted to recover a cell.
* Area and period are always part of the grain and a filtered column is always a breakdown, so a
  view never shows a sum over a hand-picked subset of areas, periods or categories.
* Primary: sums in SUPPRESS_MIN..SUPPRESS_MAX are suppressed. Secondary: along the area hierarchy
  (localities -> councils, footprints, Cumbria) with `disclosure.secondary_suppress`, the same
  function and grouping the measure engine uses, then jointly with the margins over each
  breakdown column (the coarser views), so a suppressed cell cannot be recovered from a total
  shown in another view either.

Identifiers in SQL come only from the data contract; this page never puts a widget or URL value
into SQL (values reach SQL only as parameters, in the data-quality view).
"""
from __future__ import annotations

import json
from typing import NamedTuple

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import ui
from send_metrics.present import charts
from send_metrics import contract
from send_metrics.stats import disclosure
from send_metrics.catalogue import load_catalogue
from send_metrics.present.export import parquet_bytes, safe_csv_bytes

AREAS = "areas"
ALL = "(all)"
MAX_BREAKDOWNS = 2
MAX_CELLS = 150_000
MAX_SERIES = 6
QUARANTINE_LIMIT = 5_000
# Rows of these datasets do not add up across one column (different measures or outcomes):
# that column is always a breakdown.
REQUIRED_BREAKDOWN = {"benchmarks": "measure_id", "outcomes": "outcome"}
VIEWS = {"explore": "Explore a dataset", "quality": "Data quality"}


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
    lists = {"primary_need": contract.PRIMARY_NEEDS, "age_band": contract.AGE_BANDS,
             "setting_type": contract.SETTING_TYPES, "phase": contract.PHASES,
             "sen_status": contract.SEN_STATUSES, "service": contract.SERVICES,
             "ehcp_status": contract.EHCP_STATUSES, "area_level": contract.AREA_LEVELS}
    if column == "outcome":
        return {k: v[2] for k, v in contract.OUTCOMES.items()}
    if column == "wait_band":
        return {k: (f"{lo:g} to {hi:g} weeks" if hi is not None else f"{lo:g} weeks or more")
                for k, (lo, hi) in contract.WAIT_BANDS.items()} | {contract.UNBANDED: contract.wait_band_label(contract.UNBANDED)}
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


# -- disclosure control ---------------------------------------------------------------------
def _leaf_vectors(areas: list[str], values: list[str], cell_values: list[str], hierarchies) -> np.ndarray:
    """Each cell as a 0/1 vector over the basic unknowns (leaf area, value of the breakdown).

    A rolled-up area is the sum of its leaf localities (the store builds it that way); any other
    area is a leaf itself. A margin cell (value ALL) is the sum over every value."""
    leaves_of = {parent: list(leaves) for parent, leaves in hierarchies}
    leaf_sets = [leaves_of.get(a, [a]) for a in areas]
    li = {lf: i for i, lf in enumerate(sorted({lf for s in leaf_sets for lf in s}))}
    vi = {v: i for i, v in enumerate(values)}
    nv = max(1, len(values))
    vec = np.zeros((len(areas), len(li) * nv))
    for r, (ls, v) in enumerate(zip(leaf_sets, cell_values)):
        cols = list(range(nv)) if v == ALL else [vi[v]]
        for lf in ls:
            vec[r, [li[lf] * nv + c for c in cols]] = 1.0
    return vec


def recoverable(vectors: np.ndarray, known: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Cells in `targets` whose vector lies in the span of the known cells' vectors."""
    out = np.zeros(len(vectors), dtype=bool)
    if not targets.any():
        return out
    pub = vectors[known]
    t = np.flatnonzero(targets)
    if pub.shape[0] == 0:
        out[t] = ~vectors[t].any(axis=1)
        return out
    _, s, vt = np.linalg.svd(pub, full_matrices=False)
    q = vt[s > 1e-9 * max(1.0, float(s.max()))]
    v = vectors[t]
    out[t] = np.linalg.norm(v - (v @ q.T) @ q, axis=1) < 1e-7
    return out


def joint_protect(vectors: np.ndarray, values: np.ndarray, suppressed: np.ndarray,
                  fixed: np.ndarray, rows: np.ndarray | None = None,
                  cols: np.ndarray | None = None) -> tuple[np.ndarray, bool]:
    """Add suppressions until no suppressed cell is a linear combination of the published ones.

    `vectors` express every cell over the same basic unknowns (`_leaf_vectors`), so any
    combination of published cells an attacker could form is covered, not only single equations.
    `fixed` cells are shown elsewhere exactly as they are here and are never chosen as
    complements; a complement is the smallest published cell used in a combination that
    recovers the cell to protect, preferring cells in the same row (`rows`: area) or column
    (`cols`: value), which is where a complement does most good. Returns the new mask and
    whether everything could be protected (if not, every movable cell of the group is
    suppressed).
    """
    sup = suppressed.copy()
    finite = np.isfinite(values)
    for _ in range(len(values) + 1):
        known = ~sup & finite
        rec = recoverable(vectors, known, sup & finite)
        if not rec.any():
            return sup, True
        targets = np.flatnonzero(rec)[:32]
        # The published cells an attacker would combine to get each one (least-squares
        # representation); suppress the smallest movable one of each, then check again.
        pub = np.flatnonzero(known)
        coef = np.linalg.lstsq(vectors[pub].T, vectors[targets].T, rcond=None)[0]
        for k in range(len(targets)):
            used = pub[np.abs(coef[:, k]) > 1e-9]
            cands = used[~fixed[used] & ~sup[used]]
            if len(cands) == 0:
                if not (~fixed[used]).any():
                    sup |= finite & ~fixed
                    return sup, False
                continue
            t = targets[k]
            near = np.zeros(len(cands), dtype=bool)
            if rows is not None:
                near |= rows[cands] == rows[t]
            if cols is not None:
                near |= cols[cands] == cols[t]
            order = np.lexsort((vectors[cands].sum(axis=1), values[cands], ~near))
            sup[cands[order[0]]] = True
    return sup, False


def protect(cells: pd.DataFrame, breakdowns: tuple[str, ...], indicators: tuple[str, ...], period: str,
            hierarchies, low: int, high: int, coarse: dict[str, pd.DataFrame] | None = None,
            exempt: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """Disclosure control of one grain. `cells` holds the grain rows and, for each breakdown `b`,
    margin rows with b == ALL; `coarse[b]` is the protected table of the grain without `b` (its
    suppression flags are taken as they are, since that view shows them). Returns the grain rows
    with `<indicator>__suppressed` and `<indicator>__reason` columns; values are left in place
    (callers blank them with `blank_suppressed`). `exempt[indicator]` marks rows whose value is not
    a count of children (e.g. a published rate), which primary suppression leaves alone."""
    coarse = coarse or {}
    exempt = exempt or {}
    cells = cells.reset_index(drop=True).copy()
    is_margin = np.zeros(len(cells), dtype=bool)
    for b in breakdowns:
        is_margin |= (cells[b] == ALL).to_numpy()
    dims = ["area_code", period, *breakdowns]
    reason_primary = disclosure.primary_reason(low, high)
    for ind in indicators:
        vals = pd.to_numeric(cells[ind], errors="coerce").to_numpy(dtype=float)
        sup = disclosure.primary_suppress(vals, low, high)
        if ind in exempt:
            sup &= ~np.asarray(exempt[ind], dtype=bool)
        reasons = np.where(sup, reason_primary, None).astype(object)
        # Margins: exactly as the coarser view shows them.
        for b in breakdowns:
            table = coarse.get(b)
            m = (cells[b] == ALL).to_numpy()  # grouping sets give one margin column per row
            if table is None or not m.any():
                continue
            keys = [d for d in dims if d != b]
            flags = table[[*keys, f"{ind}__suppressed"]].astype({k: str for k in keys})
            looked = cells.loc[m, keys].astype(str).merge(flags, on=keys, how="left")
            sup[m] = looked[f"{ind}__suppressed"].fillna(True).to_numpy(dtype=bool)
        # 1. The area hierarchy, as the measure engine does it (same function, same grouping).
        grain = ~is_margin
        sub = pd.DataFrame({"area_code": cells.loc[grain, "area_code"], "count": vals[grain],
                            "suppressed": sup[grain], "suppression_reason": reasons[grain]})
        group_cols = [period, *breakdowns]
        for c in group_cols:
            sub[c] = cells.loc[grain, c].astype(str)
        touched = sub.groupby(group_cols)["suppressed"].transform("any") & sub["count"].notna()
        if hierarchies and touched.any():
            done = disclosure.secondary_suppress(sub[touched], hierarchies, value_col="count",
                                                 group_cols=group_cols, primary_reason_text=reason_primary)
            sup[np.flatnonzero(grain)[touched.to_numpy()]] = done["suppressed"].to_numpy(dtype=bool)
            reasons[np.flatnonzero(grain)[touched.to_numpy()]] = done["suppression_reason"].to_numpy(dtype=object)
        # 2. Jointly with the margins over each breakdown column, until nothing changes.
        for _ in range(6):
            changed = False
            for b in breakdowns:
                if not (cells[b] == ALL).any():
                    continue  # no coarser view shows a total over b
                others = [o for o in breakdowns if o != b]
                keep = np.ones(len(cells), dtype=bool)
                for o in others:
                    keep &= (cells[o] != ALL).to_numpy()
                part = cells[keep]
                groups = part.groupby([period, *others], sort=False) if others else part.groupby(period, sort=False)
                for _, g in groups:
                    idx = g.index.to_numpy()
                    if not sup[idx].any():
                        continue
                    values = sorted({v for v in g[b] if v != ALL})
                    vectors = _leaf_vectors(list(g["area_code"]), values, list(g[b]), hierarchies)
                    new, ok = joint_protect(vectors, vals[idx], sup[idx], (g[b] == ALL).to_numpy(),
                                            rows=pd.factorize(g["area_code"])[0],
                                            cols=pd.factorize(g[b])[0])
                    added = new & ~sup[idx]
                    if added.any():
                        sup[idx[added]] = True
                        reasons[idx[added]] = (f"secondary: protects a suppressed cell from the total over {b}"
                                               if ok else "secondary: whole group withheld (no safe complement)")
                        changed = True
            if not changed:
                break
        cells[f"{ind}__suppressed"] = sup
        cells[f"{ind}__reason"] = pd.Series(np.where(sup, reasons, None), index=cells.index, dtype=object)
    return cells[~is_margin].reset_index(drop=True)


def blank_suppressed(df: pd.DataFrame, indicators) -> pd.DataFrame:
    """Values of suppressed cells removed; one 'Suppressed' column says which and why."""
    out = df.copy()
    notes = [[] for _ in range(len(out))]
    for ind in indicators:
        flag = out[f"{ind}__suppressed"].to_numpy(dtype=bool)
        col = pd.to_numeric(out[ind], errors="coerce").astype(float).to_numpy().copy()
        col[flag] = np.nan
        out[ind] = col
        for i in np.flatnonzero(flag):
            notes[i].append(ind)
    out = out.drop(columns=[c for c in out.columns if c.endswith(("__suppressed", "__reason"))])
    out["suppressed"] = [", ".join(n) for n in notes]
    return out


# -- data ----------------------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=32, ttl=3600)
def protected_table(load_id: str, dataset: str, breakdowns: tuple[str, ...], low: int, high: int) -> pd.DataFrame:
    """The grain of one dataset, disclosure control applied (flags kept, values not yet blanked)."""
    sp = spec(dataset)
    db = ui.database()
    cells = db.query_file("explorer_grouped", **grouped_sql(sp, breakdowns))
    if len(cells) > MAX_CELLS:
        raise TooBig(f"This breakdown has {len(cells):,} cells; choose fewer breakdown columns.")
    for b in breakdowns:
        cells.loc[cells[f"_all_{b}"] == 1, b] = ALL
        cells[b] = cells[b].astype(object).fillna("(missing)")
    cells = cells.drop(columns=[c for c in cells.columns if c.startswith("_")]).reset_index(drop=True)
    coarse = {b: protected_table(load_id, dataset, tuple(o for o in breakdowns if o != b), low, high)
              for b in breakdowns if b not in sp.required}
    exempt = {}
    if dataset == "benchmarks" and "measure_id" in cells:
        # A published value is a count only for count measures; rates and percentages are not.
        kinds = {m.id: m.kind for m in load_catalogue()}
        exempt["value"] = cells["measure_id"].map(lambda i: kinds.get(i, "count") != "count").to_numpy(dtype=bool)
    return protect(cells, breakdowns, sp.indicators, sp.period, tuple(_hierarchies(load_id)), low, high, coarse,
                   exempt)


class TooBig(Exception):
    pass


@st.cache_data(show_spinner=False, max_entries=4, ttl=3600)
def _hierarchies(load_id: str) -> list[tuple[str, list[str]]]:
    return ui.engine().hierarchies()


@st.cache_data(show_spinner=False, max_entries=4, ttl=3600)
def _areas_table(load_id: str, levels: tuple[str, ...]) -> pd.DataFrame:
    return ui.database().query(
        "SELECT area_code, area_name, area_level, dfe_la_code, rollup_complete, coverage_note FROM areas "
        "WHERE len($levels) = 0 OR list_contains($levels, area_level) ORDER BY area_level, area_name",
        {"levels": list(levels)})


@st.cache_data(show_spinner=False, max_entries=4, ttl=3600)
def _manifest(load_id: str) -> pd.DataFrame:
    return ui.database().query(
        "SELECT source_file AS file, coalesce(dataset, '') AS dataset, status, rows_read, rows_loaded, "
        "rows_quarantined, rows_superseded, coalesce(message, '') AS message, coalesce(edition, '') AS edition, "
        "loaded_at "
        "FROM manifest ORDER BY source_file")


@st.cache_data(show_spinner=False, max_entries=16, ttl=3600)
def _quarantine(load_id: str, file: str | None, low: int, high: int) -> tuple[pd.DataFrame, int]:
    db = ui.database()
    total = db.rows("SELECT count(*) FROM quarantine WHERE $file IS NULL OR source_file = $file",
                    {"file": file})[0][0]
    rows = db.query_file("explorer_quarantine", {"file": file, "limit": QUARANTINE_LIMIT})
    return mask_small_counts(rows, low, high), int(total)


def _is_small(text, low: int, high: int) -> bool:
    try:
        v = float(str(text).replace(",", "").strip())
    except (TypeError, ValueError):
        return False
    return low <= v <= high


def mask_small_counts(rows: pd.DataFrame, low: int, high: int) -> pd.DataFrame:
    """Quarantined rows are raw data: counts in the suppression range are shown as 'c'."""
    rows = rows.copy()
    ind_names = {c.name for ds in contract.DATASETS.values() for c in ds.indicators}

    def raw(text):
        try:
            obj = json.loads(text) if isinstance(text, str) else None
        except ValueError:
            return text
        if not isinstance(obj, dict):
            return text
        for k, v in obj.items():
            if k in ind_names and _is_small(v, low, high):
                obj[k] = "c"
        return json.dumps(obj, ensure_ascii=False)

    if len(rows):
        small = [c in ind_names and _is_small(v, low, high) for c, v in zip(rows["column_name"], rows["value"])]
        rows.loc[small, "value"] = "c"
        rows["raw_row"] = rows["raw_row"].map(raw)
    return rows


# -- widgets kept in the URL -------------------------------------------------------------------
# Streamlit writes a bound widget's *shown* label to the URL and seeds the widget from it (unknown
# values are ignored and dropped), so these helpers only keep the session value valid.
def _select(label: str, options: list, key: str, default, format_func=str, **kw):
    if not options:
        raise ui.NoData("Nothing to choose from.")
    if key not in st.session_state or st.session_state[key] not in options:
        st.session_state[key] = default if default in options else options[0]
    return st.selectbox(label, options, key=key, format_func=format_func, bind="query-params", **kw)


def area_labels(codes) -> dict[str, str]:
    """Unique labels for area codes (the URL holds the label): a name shared by several areas,
    such as Carlisle the locality and Carlisle the former district, gets its level added."""
    from collections import Counter
    a = ui.areas().drop_duplicates("area_code").set_index("area_code")
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


def _multi(label: str, options: list, key: str, default: list, format_func=str, **kw) -> list:
    if key not in st.session_state:
        st.session_state[key] = [d for d in default if d in options]
    else:
        st.session_state[key] = [o for o in st.session_state[key] if o in options]
    return st.multiselect(label, options, key=key, format_func=format_func, bind="query-params", **kw)


# -- page ---------------------------------------------------------------------------------------
def render() -> None:
    ui.page("Data explorer", "For analysts: pick a dataset, filter it, break it down, and download "
            "what you see. Small numbers are suppressed before anything is shown.")
    if not ui.require_sign_in("The data explorer"):
        return
    view = st.radio("View", list(VIEWS), format_func=VIEWS.get, horizontal=True, key="view",
                    bind="query-params")
    if view == "quality":
        render_quality()
    else:
        render_explore()


def render_explore() -> None:
    db = ui.database()
    db.refresh()
    cfg = db.config
    names = dataset_names()
    titles = {n: (contract.DATASETS[n].title if n != AREAS else "Areas (geography)") for n in names}
    dataset = _select("Dataset", names, "dataset", "ehcp_caseload", format_func=titles.get)
    if dataset == AREAS:
        render_areas()
        return
    sp = spec(dataset)
    st.caption(sp.description)
    if dataset == "ehcp_caseload":
        st.caption("A person-level extract, when one is loaded, is counted into these cells; its rows "
                   "are never shown one by one.")
    monthly = contract.DATASETS[dataset].monthly
    low, high = cfg.suppress_min, cfg.suppress_max

    col1, col2 = st.columns([2, 1])
    with col2:
        optional = [b for b in sp.breakdowns if b not in sp.required]
        chosen = _multi(f"Break down by (up to {MAX_BREAKDOWNS})", optional, "by", [],
                        format_func=lambda c: c.replace("_", " "),
                        max_selections=MAX_BREAKDOWNS - len(sp.required))
        breakdowns = tuple(sp.required) + tuple(b for b in optional if b in chosen)
    with st.spinner("Adding up and applying disclosure control..."):
        try:
            table = protected_table(db.load_id, dataset, breakdowns, low, high)
        except TooBig as exc:
            st.warning(str(exc))
            return
    if table.empty:
        st.info("This dataset has no rows in the current load.")
        return
    table["period_label"] = [period_label(p, monthly) for p in table[sp.period]]

    names = ui.area_info().names
    area_options = sorted(table["area_code"].unique(), key=lambda c: (names.get(c, c), c))
    default_areas = [a for a in ("E06000063", "E06000064") if a in area_options] or area_options[:3]
    area_label = area_labels(area_options)
    with col1:
        areas = _multi("Areas", area_options, "areas", default_areas, format_func=lambda c: area_label.get(c, c))
    periods = sorted(table["period_label"].unique())
    c1, c2, c3 = st.columns(3)
    with c1:
        start = _select("From", periods, "start", periods[max(0, len(periods) - 5)])
    with c2:
        end = _select("To", periods, "end", periods[-1])
    if start > end:
        start, end = end, start
    filters: dict[str, list[str]] = {}
    if breakdowns:
        cols = st.columns(len(breakdowns))
        for col, b in zip(cols, breakdowns):
            values = sorted(table[b].unique())
            labels = code_labels(b)
            with col:
                # Rows of a required breakdown do not add up: start with one of them.
                default = values[:1] if b in sp.required else []
                values = sorted(values, key=lambda v, o=list(labels): (o.index(v) if v in o else len(o), str(v)))
                filters[b] = _multi(f"Only these: {b.replace('_', ' ')}", values, f"f_{b}", default,
                                    format_func=lambda v, lab=labels: f"{v} - {lab[v]}" if v in lab else str(v),
                                    placeholder="All")
    with c3:
        indicator = _select("Indicator to chart", list(sp.indicators), "indicator", sp.indicators[0],
                            format_func=lambda c: c.replace("_", " "))

    shown = table[table["area_code"].isin(areas or area_options[:0])]
    shown = shown[(shown["period_label"] >= start) & (shown["period_label"] <= end)]
    for b, vals in filters.items():
        if vals:
            shown = shown[shown[b].isin(vals)]
    shown = blank_suppressed(shown, sp.indicators)
    shown.insert(0, "area_name", shown["area_code"].map(lambda c: area_label.get(c, c)))
    out = shown[["area_name", "area_code", "period_label", *breakdowns, *sp.indicators, "suppressed"]]
    out = out.rename(columns={"period_label": "period"})
    # Codes in the order of the contract's code lists (age bands by age, not as text).
    order_keys = {b: {k: i for i, k in enumerate(code_labels(b))} for b in breakdowns}
    out = out.sort_values(["area_name", "period", *breakdowns], kind="stable", key=lambda col: col.map(
        lambda v, o=order_keys[col.name]: o.get(v, len(o))) if col.name in order_keys else col)
    out = out.reset_index(drop=True)

    n_sup = int((out["suppressed"] != "").sum())
    st.info(f"**Disclosure control.** Sums from {low} to {high} are suppressed (shown as a dash, named in "
            f"the 'suppressed' column), and so are other cells that would let them be worked out from an area "
            f"total (localities add up to councils, footprints and Cumbria) or from a total over a breakdown. "
            f"Area and period are always shown separately. {n_sup} of {len(out)} rows here have a suppressed "
            "cell.", icon=":material/shield:")
    if not areas:
        st.warning("Choose at least one area.")
        return
    if out.empty:
        st.info("No rows match these filters.")
        return

    label = ui.escape(sp.title)
    ind_label = indicator_label(dataset, indicator)
    st.subheader(chart_title(ind_label, breakdowns, start, end))
    fig, sentence = explorer_chart(out, indicator, ind_label, breakdowns, start, end, monthly)
    st.markdown(f"{ui.md(sentence)} Dataset: {label}. Suppressed values are gaps, never zeros.")
    st.plotly_chart(ui.safe_figure(fig), key="chart_explorer", width="stretch",
                    config={"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]})
    st.subheader("The table")
    st.caption(f"{len(out):,} rows. Each row sums the {label} rows for one area, period"
               f"{' and ' + ', '.join(breakdowns) if breakdowns else ''}. A dash is a value that is "
               "suppressed (named in the 'suppressed' column) or not available.")
    shown_table, config, order = readable_table(out, dataset, breakdowns, sp.indicators)
    st.dataframe(shown_table, hide_index=True, height=min(600, 38 + 35 * len(out)), placeholder="–",
                 column_config=config, column_order=order)
    stem = f"explorer-{dataset}{'-by-' + '-'.join(breakdowns) if breakdowns else ''}-{start}-{end}"
    d1, d2 = st.columns(2)
    with d1:
        st.download_button("Download CSV", data=lambda: csv_bytes(out, sp.indicators), file_name=f"{stem}.csv",
                           mime="text/csv", key="dl_explorer", icon=":material/download:")
    with d2:
        st.download_button("Download Parquet", data=lambda: parquet_bytes(out), file_name=f"{stem}.parquet",
                           mime="application/octet-stream", key="dlp_explorer", icon=":material/download:")
    st.caption(f"Source: {label}, load {ui.escape(db.load_id or '')}. In the CSV a suppressed value is 'c'.")


ACRONYMS = {"ehc": "EHC", "ehcp": "EHCP", "sen": "SEN", "ks2": "KS2", "ks4": "KS4", "eet": "EET", "neet": "NEET",
            "slt": "SLT", "ot": "OT", "camhs": "CAMHS", "la": "LA", "id": "ID"}


def header(column: str) -> str:
    """A column name as a heading: 'primary_need' -> 'Primary need', 'ehc_plans' -> 'EHC plans'."""
    words = [ACRONYMS.get(w, w) for w in column.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def readable_table(out: pd.DataFrame, dataset: str, breakdowns, indicators) -> tuple[pd.DataFrame, dict, list]:
    """The explorer table as people read it: a label beside every code (from the contract's code
    lists; the code column itself is not shown), headings in words, counts as whole numbers. The
    frame keeps its code columns (the CSV and Parquet downloads keep codes)."""
    table = out.copy()
    config = {"area_name": st.column_config.TextColumn("Area"),
              "area_code": st.column_config.TextColumn("Area code"),
              "period": st.column_config.TextColumn("Period"),
              "suppressed": st.column_config.TextColumn("Suppressed values", help="Which values in the row are "
                                                        "suppressed (small numbers)")}
    order = ["area_name", "area_code", "period"]
    for b in breakdowns:
        labels = code_labels(b)
        table[f"{b}_label"] = table[b].map(lambda v, lab=labels: lab.get(v, v))
        config[f"{b}_label"] = st.column_config.TextColumn(header(b))
        order.append(f"{b}_label")
    for i in indicators:
        config[i] = st.column_config.NumberColumn(
            header(i), help=indicator_label(dataset, i),
            format="%.0f" if contract.DATASETS[dataset].column(i).kind == "count" else None)
        order.append(i)
    table["suppressed"] = table["suppressed"].astype(str).str.replace("_", " ")
    order.append("suppressed")
    return table, config, order


def csv_bytes(out: pd.DataFrame, indicators) -> bytes:
    """CSV download: suppressed cells written as 'c' (the DfE symbol), formulas neutralised."""
    frame = out.copy()
    for ind in indicators:
        flags = frame["suppressed"].map(lambda s, i=ind: i in s.split(", "))
        col = frame[ind].astype(object)
        col[flags.to_numpy()] = "c"
        frame[ind] = col.map(lambda v: v if isinstance(v, str) or pd.isna(v) else
                             (int(v) if float(v).is_integer() else float(v)))
    return safe_csv_bytes(frame)


def indicator_label(dataset: str, column: str) -> str:
    """Plain words for an indicator, from the contract's column description."""
    desc = contract.DATASETS[dataset].column(column).description
    if desc.startswith(("See ", "Of which", "Of whom")):
        return column.replace("_", " ").capitalize()
    return desc.split(", ")[0]


def chart_title(ind_label: str, breakdowns, start: str, end: str, words: int = 10) -> str:
    """An active title of ten words or fewer."""
    by = f" by {' and '.join(b.replace('_', ' ') for b in breakdowns)}" if breakdowns else ""
    span = f", {start} to {end}" if start != end else f", {start}"
    for title in (ind_label + by + span, ind_label + by, ind_label):
        if len(title.split()) <= words:
            return title
    return " ".join(ind_label.split()[:words])


def explorer_chart(out: pd.DataFrame, indicator: str, ind_label: str, breakdowns, start: str, end: str,
                   monthly: bool) -> tuple[go.Figure, str]:
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
    what = ui.lower_first(ind_label)
    if data["period"].nunique() > 1:
        data = data.sort_values("period")
        # Numbers (years) or dates (months) on the x axis: numeric-looking category labels would be
        # misplaced by the end-of-line labels.
        data["x"] = pd.to_datetime(data["period"] + "-01") if monthly else data["period"].astype(int)
        fig = charts.trend_lines(data, x="x", y=indicator, group="series", y_title=ind_label)
        if not monthly:
            fig.update_xaxes(dtick=1, tickformat="d")
        sentence = (f"How {what} changed from {start} to {end}, one line per "
                    f"{'area and ' + ' and '.join(b.replace('_', ' ') for b in breakdowns) if breakdowns else 'area'}."
                    f"{note}")
    else:
        d = data.dropna(subset=[indicator]).sort_values(indicator)
        # One Figure with its layout (the default template is set once in charts): passing
        # template= or updating the layout afterwards re-validates the figure.
        fig = go.Figure(go.Bar(x=d[indicator].to_numpy(), y=d["series"].to_numpy(), orientation="h",
                               marker_color=charts.PALETTE[0],
                               text=[f"{v:,.0f}" for v in d[indicator]], textposition="auto",
                               hovertemplate="%{y}: %{x:,.0f}<extra></extra>"),
                        layout=dict(height=max(260, 34 * len(d) + 80), margin=dict(l=10, r=10, t=30, b=10),
                                    xaxis=dict(title=dict(text=ind_label)),
                                    font=dict(family="Arial, sans-serif", size=14, color="#0B0C0C")))
        sentence = f"{ind_label} in {start}, largest at the top.{note}"
    return fig, sentence


def render_areas() -> None:
    db = ui.database()
    st.caption("Every area the dashboard knows, with its level and what it really covers. "
               "Geography is not about children, so nothing here is suppressed.")
    levels_all = list(contract.AREA_LEVELS)
    levels = _multi("Area levels", levels_all, "levels", [], format_func=lambda v: contract.AREA_LEVELS.get(v, v),
                    placeholder="All levels")
    table = _areas_table(db.load_id, tuple(levels))
    counts = table.groupby("area_level", as_index=False).agg(areas=("area_code", "count"))
    counts["level"] = counts["area_level"].map(lambda v: contract.AREA_LEVELS.get(v, v))
    counts = counts.sort_values("areas")
    st.subheader("Areas by level")
    st.markdown(f"How many of the {len(table)} areas shown are at each level.")
    fig = go.Figure(go.Bar(x=counts["areas"].to_numpy(), y=counts["level"].to_numpy(), orientation="h",
                           marker_color=charts.PALETTE[0], text=counts["areas"].to_numpy(), textposition="auto"),
                    layout=dict(height=max(240, 34 * len(counts) + 80), margin=dict(l=10, r=10, t=30, b=10),
                                xaxis=dict(title=dict(text="areas")),
                                font=dict(family="Arial, sans-serif", size=14, color="#0B0C0C")))
    st.plotly_chart(ui.safe_figure(fig), key="chart_areas", width="stretch", config={"displaylogo": False})
    st.dataframe(table, hide_index=True)
    d1, d2 = st.columns(2)
    with d1:
        st.download_button("Download CSV", data=lambda: safe_csv_bytes(table), file_name="areas.csv", mime="text/csv",
                           key="dl_explorer", icon=":material/download:")
    with d2:
        st.download_button("Download Parquet", data=lambda: parquet_bytes(table), file_name="areas.parquet",
                           mime="application/octet-stream", key="dlp_explorer", icon=":material/download:")


def render_quality() -> None:
    db = ui.database()
    db.refresh()
    cfg = db.config
    info = db.load_info
    st.subheader("The latest load")
    st.markdown(f"Load **{ui.escape(db.load_id or '')}**, finished {ui.escape(info.get('loaded_at', 'unknown'))} "
                f"in {info.get('seconds', '?')} s.")
    manifest = _manifest(db.load_id)
    if len(manifest):
        bad = manifest[manifest["status"] != "loaded"]
        m1, m2, m3, m4, m5 = st.columns(5)
        m1.metric("Files", f"{len(manifest):,}")
        m2.metric("Rows loaded", f"{int(manifest['rows_loaded'].sum()):,}")
        m3.metric("Rows quarantined", f"{int(manifest['rows_quarantined'].sum()):,}")
        m4.metric("Rows superseded", f"{int(manifest['rows_superseded'].sum()):,}",
                  help="Valid rows whose figures a newer edition gives; they stay in the all-editions tables.")
        m5.metric("Files with problems", f"{len(bad):,}")
    st.subheader("Files in the load")
    st.markdown("One row per file: whether it loaded; rows read = loaded + quarantined + superseded by a newer "
                "edition; and the edition kept.")
    st.dataframe(manifest, hide_index=True)
    st.download_button("Download the manifest (CSV)", data=lambda: safe_csv_bytes(manifest),
                       file_name="load-manifest.csv",
                       mime="text/csv", key="dl_manifest", icon=":material/download:")

    st.subheader("Quarantined rows")
    files = sorted(set(_quarantine_files(db.load_id)))
    if not files:
        st.success("No rows were quarantined in this load.", icon=":material/check_circle:")
    else:
        choice = _select("File", ["(all files)", *files], "qfile", "(all files)")
        rows, total = _quarantine(db.load_id, None if choice == "(all files)" else choice,
                                  cfg.suppress_min, cfg.suppress_max)
        st.markdown(f"{total:,} problems; each names the file, row (line in the file, header = 1), column "
                    f"and reason. Counts from {cfg.suppress_min} to {cfg.suppress_max} in the raw rows are "
                    "shown as c; the original file has them.")
        if total > len(rows):
            st.caption(f"Showing the first {len(rows):,}.")
        st.dataframe(rows, hide_index=True)
        st.download_button("Download quarantined rows (CSV)", data=lambda: safe_csv_bytes(rows),
                           file_name="quarantined-rows.csv", mime="text/csv", key="dl_quarantine",
                           icon=":material/download:")

    st.subheader("Figures given by more than one file or edition")
    differ = _reconciliation(db.load_id, cfg.suppress_min, cfg.suppress_max)
    if differ.empty:
        st.success("Every figure given by more than one file or edition has the same value in each, or no "
                   "figure is given twice.", icon=":material/check_circle:")
    else:
        st.markdown(f"{differ[['dataset', 'area_code', 'period', 'figure']].drop_duplicates().shape[0]:,} figures "
                    "differ between the files or editions that give them. The dashboard uses the newest edition "
                    f"(`used`). Counts from {cfg.suppress_min} to {cfg.suppress_max} are shown as c.")
        st.dataframe(differ, hide_index=True)
        st.download_button("Download the reconciliation (CSV)", data=lambda: safe_csv_bytes(differ),
                           file_name="reconciliation.csv", mime="text/csv", key="dl_reconcile",
                           icon=":material/download:")

    st.subheader("Load notes")
    notes = [str(n) for n in info.get("notes", [])]
    if notes:
        st.dataframe(pd.DataFrame({"note": notes}), hide_index=True)
    else:
        st.markdown("The loader left no notes.")


@st.cache_data(show_spinner=False, max_entries=4, ttl=3600)
def _reconciliation(load_id: str, low: int, high: int) -> pd.DataFrame:
    from send_metrics.measures.reconcile import reconciliation
    table = reconciliation(ui.database(), differ_only=True)
    if table.empty:
        return table
    small = table["value"].between(low, high)
    table = table.assign(value=table["value"].astype(object).where(~small, "c"))
    return table[["dataset", "area_code", "area_name", "period", "figure", "edition", "value", "symbol", "cells",
                  "used", "source_file"]]


@st.cache_data(show_spinner=False, max_entries=4, ttl=3600)
def _quarantine_files(load_id: str) -> list[str]:
    return [r[0] for r in ui.database().rows("SELECT DISTINCT source_file FROM quarantine")]


if __name__ == "__main__":
    ui.guarded(render)
