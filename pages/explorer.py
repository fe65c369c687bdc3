"""Data explorer for analysts: one dataset, filtered and broken down, as a table, a chart and
downloads; and a data-quality view of the latest load (manifest, quarantined rows, load notes).

Widgets and layout only: the protected sums, the view and its words are send_metrics.measures.explore
(protection: explore_protection), the data-quality tables measures.data_quality, the figures
present.explore_charts; dashboard.explore_views builds and caches the view per load and choice. No
widget or URL value reaches SQL.
"""
from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from dashboard import explore_views, sign_in, ui
from send_metrics import contract
from send_metrics.contract import codes
from send_metrics.measures import data_quality, explore
from send_metrics.present import explore_charts
from send_metrics.present.export import parquet_bytes, safe_csv_bytes

VIEWS = {"explore": "Explore a dataset", "quality": "Data quality"}
CHART_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
SUPERSEDED_HELP = "Valid rows whose figures a newer edition gives; they stay in the all-editions tables."


# -- cached per load (the explore view: dashboard.explore_views) ---------------------------------
@st.cache_data(show_spinner=False, max_entries=32, ttl=3600)
def _quality(load_id: str, table: str, *args):
    """A table of send_metrics.measures.data_quality (``table``: its function) for the load, once."""
    return getattr(data_quality, table)(ui.database(), *args)


# -- widgets kept in the URL -------------------------------------------------------------------
# Streamlit writes a bound widget's *shown* label to the URL and seeds the widget from it (unknown
# values are ignored and dropped), so these helpers only keep the session value valid.
def _select(label: str, options: list, key: str, default, format_func=str, **kw):
    if not options:
        raise ui.NoData("Nothing to choose from.")
    if key not in st.session_state or st.session_state[key] not in options:
        st.session_state[key] = default if default in options else options[0]
    return st.selectbox(label, options, key=key, format_func=format_func, bind="query-params", **kw)


def _multi(label: str, options: list, key: str, default: list, format_func=str, **kw) -> list:
    if key not in st.session_state:
        st.session_state[key] = [d for d in default if d in options]
    else:
        st.session_state[key] = [o for o in st.session_state[key] if o in options]
    return st.multiselect(label, options, key=key, format_func=format_func, bind="query-params", **kw)


def _csv_download(label: str, frame: pd.DataFrame, name: str, key: str) -> None:
    st.download_button(label, data=lambda: safe_csv_bytes(frame), file_name=f"{name}.csv", mime="text/csv", key=key,
                       icon=":material/download:")


def _downloads(frame: pd.DataFrame, stem: str, for_csv: Callable[[pd.DataFrame], pd.DataFrame] = lambda f: f):
    d1, d2 = st.columns(2)
    d1.download_button("Download CSV", data=lambda: safe_csv_bytes(for_csv(frame)), file_name=f"{stem}.csv",
                       mime="text/csv", key="dl_explorer", icon=":material/download:")
    d2.download_button("Download Parquet", data=lambda: parquet_bytes(frame), file_name=f"{stem}.parquet",
                       mime="application/octet-stream", key="dlp_explorer", icon=":material/download:")


# -- page ---------------------------------------------------------------------------------------
def render() -> None:
    ui.page("Data explorer", "For analysts: pick a dataset, filter it, break it down, and download "
            "what you see. Small numbers are suppressed before anything is shown.")
    if not sign_in.require_sign_in("The data explorer"):
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
    low, high = db.config.suppress_min, db.config.suppress_max
    dataset = _select("Dataset", explore.dataset_names(), "dataset", "ehcp_caseload",
                      format_func=explore.dataset_title)
    if dataset == explore.AREAS:
        render_areas()
        return
    sp = explore.spec(dataset)
    st.caption(sp.description)
    if dataset == "ehcp_caseload":
        st.caption("A person-level extract, when one is loaded, is counted into these cells; its rows "
                   "are never shown one by one.")

    col1, col2 = st.columns([2, 1])
    with col2:
        optional = [b for b in sp.breakdowns if b not in sp.required]
        chosen = _multi(f"Break down by (up to {explore.MAX_BREAKDOWNS})", optional, "by", [],
                        format_func=lambda c: c.replace("_", " "),
                        max_selections=explore.MAX_BREAKDOWNS - len(sp.required))
        breakdowns = tuple(sp.required) + tuple(b for b in optional if b in chosen)
    key = (db.load_id, dataset, breakdowns, low, high)
    try:
        if explore_views.built(*key):
            g = explore_views.grain(*key)
        else:
            with st.spinner("Adding up and applying disclosure control (the first time in a load, across every "
                            "page together: up to a few minutes for a national load)..."):
                g = explore_views.grain(*key)
    except explore.TooBig as exc:
        st.warning(str(exc))
        return
    if g.table.empty:
        st.info("This dataset has no rows in the current load.")
        return

    with col1:
        areas = _multi("Areas", g.area_options, "areas", g.default_areas,
                       format_func=lambda c: g.area_label.get(c, c))
    periods = g.periods
    c1, c2, c3 = st.columns(3)
    with c1:
        start = _select("From", periods, "start", periods[max(0, len(periods) - 5)])
    with c2:
        end = _select("To", periods, "end", periods[-1])
    start, end = min(start, end), max(start, end)
    filters: dict[str, list[str]] = {}
    for col, b in zip(st.columns(len(breakdowns)) if breakdowns else [], breakdowns):
        values, default = g.filters[b]
        with col:
            filters[b] = _multi(f"Only these: {b.replace('_', ' ')}", values, f"f_{b}", default,
                                format_func=explore.code_text(b), placeholder="All")
    with c3:
        indicator = _select("Indicator to chart", list(sp.indicators), "indicator", sp.indicators[0],
                            format_func=lambda c: c.replace("_", " "))

    view = explore_views.shown(db.load_id, dataset, breakdowns, low, high, tuple(areas or []), start, end,
                               tuple((b, tuple(v)) for b, v in filters.items()), indicator)
    out = view.out
    st.info(view.protection, icon=":material/shield:")
    if not areas:
        st.warning("Choose at least one area.")
        return
    if out.empty:
        st.info("No rows match these filters.")
        return

    label = ui.escape(sp.title)
    st.subheader(view.title)
    st.markdown(f"{ui.md(view.sentence)} Dataset: {label}. Suppressed values are gaps, never zeros.")
    st.plotly_chart(view.figure, key="chart_explorer", width="stretch", config=CHART_CONFIG)
    st.subheader("The table")
    st.caption(f"{len(out):,} rows. Each row sums the {label} rows for one area, period"
               f"{' and ' + ', '.join(breakdowns) if breakdowns else ''}. A dash is a value that is "
               "suppressed (named in the 'suppressed' column) or not available.")
    st.dataframe(view.table, hide_index=True, height=min(600, 38 + 35 * len(out)),
                 placeholder="–", **_table_columns(dataset, breakdowns, sp.indicators))
    _downloads(out, view.stem, lambda f: explore.csv_frame(f, sp.indicators))
    st.caption(f"Source: {label}, load {ui.escape(db.load_id or '')}. In the CSV a suppressed value is 'c'.")


def _table_columns(dataset: str, breakdowns, indicators) -> dict:
    """explore.table_columns as Streamlit's column settings (counts as whole numbers)."""
    cols = explore.table_columns(dataset, breakdowns, indicators)
    config = {c.name: st.column_config.NumberColumn(c.heading, help=c.help, format=c.format) if c.number
              else st.column_config.TextColumn(c.heading, help=c.help) for c in cols}
    return {"column_config": config, "column_order": [c.name for c in cols]}


def render_areas() -> None:
    st.caption("Every area the dashboard knows, with its level and what it really covers. "
               "Geography is not about children, so nothing here is suppressed.")
    levels = _multi("Area levels", list(codes.AREA_LEVELS), "levels", [],
                    format_func=lambda v: codes.AREA_LEVELS.get(v, v), placeholder="All levels")
    table = _quality(ui.database().load_id, "areas_table", tuple(levels))
    st.subheader("Areas by level")
    st.markdown(f"How many of the {len(table)} areas shown are at each level.")
    fig = explore_charts.areas_by_level(data_quality.areas_by_level(table))
    st.plotly_chart(ui.safe_figure(fig), key="chart_areas", width="stretch", config={"displaylogo": False})
    st.dataframe(table, hide_index=True)
    _downloads(table, "areas")


def render_quality() -> None:
    db = ui.database()
    db.refresh()
    low, high = db.config.suppress_min, db.config.suppress_max
    info = db.load_info
    st.subheader("The latest load")
    st.markdown(f"Load **{ui.escape(db.load_id or '')}**, finished {ui.escape(info.get('loaded_at', 'unknown'))} "
                f"in {info.get('seconds', '?')} s.")
    manifest = _quality(db.load_id, "manifest")
    if len(manifest):
        for col, (name, n) in zip(st.columns(5), data_quality.manifest_totals(manifest).items()):
            col.metric(name, f"{n:,}", help=SUPERSEDED_HELP if name == "Rows superseded" else None)
    st.subheader("Files in the load")
    st.markdown("One row per file: whether it loaded; rows read = loaded + quarantined + superseded by a newer "
                "edition; and the edition kept.")
    st.dataframe(manifest, hide_index=True)
    _csv_download("Download the manifest (CSV)", manifest, "load-manifest", "dl_manifest")

    st.subheader("Quarantined rows")
    files = _quality(db.load_id, "quarantine_files")
    if not files:
        st.success("No rows were quarantined in this load.", icon=":material/check_circle:")
    else:
        choice = _select("File", ["(all files)", *files], "qfile", "(all files)")
        rows, total = _quality(db.load_id, "quarantine", None if choice == "(all files)" else choice, low, high)
        st.markdown(f"{total:,} problems; each names the file, row (line in the file, header = 1), column "
                    f"and reason. Counts from {low} to {high} in the raw rows are shown as c; the original file "
                    "has them.")
        if total > len(rows):
            st.caption(f"Showing the first {len(rows):,}.")
        st.dataframe(rows, hide_index=True)
        _csv_download("Download quarantined rows (CSV)", rows, "quarantined-rows", "dl_quarantine")

    st.subheader("Figures given by more than one file or edition")
    differ = _quality(db.load_id, "differing_figures", low, high)
    if differ.empty:
        st.success("Every figure given by more than one file or edition has the same value in each, or no "
                   "figure is given twice.", icon=":material/check_circle:")
    else:
        st.markdown(f"{data_quality.figure_count(differ):,} figures differ between the files or editions that "
                    f"give them. The dashboard uses the newest edition (`used`). Counts from {low} to {high} are "
                    "shown as c.")
        st.dataframe(differ, hide_index=True)
        _csv_download("Download the reconciliation (CSV)", differ, "reconciliation", "dl_reconcile")

    st.subheader("Load notes")
    notes = [str(n) for n in info.get("notes", [])]
    if notes:
        st.dataframe(pd.DataFrame({"note": notes}), hide_index=True)
    else:
        st.markdown("The loader left no notes.")


if __name__ == "__main__":
    ui.guarded(render)
