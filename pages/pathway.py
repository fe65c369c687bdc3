"""Pathway: where the weeks go between a request for an EHC needs assessment, the decision to
assess, the decision to issue and the final plan, from the council's SEN2 person-level return.

Kaplan-Meier curves with censoring for open cases (send_metrics.measures.pathway, statsmodels), medians with
95% intervals, the share still waiting at 6 and 20 weeks, by locality, health footprint, primary need
or age group; and the requests open on the latest census date by how long they have waited. A table
beside every chart and CSV downloads; groups of 1-4 requests and counts of 1-4 are suppressed. What a
council, first year and grouping show (curves, tables, figures, download bytes) is computed once per
load and kept (st.cache_resource, read only), not again on every rerun."""
from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from dashboard import ui
from send_metrics.measures import pathway
from send_metrics.present.export import safe_csv_bytes

SOURCE = "the council's SEN2 person-level return (COLLECT Blade export), request level; DfE guide to the return"
COLUMNS = {"group": "Group", "requests": "Requests", "completed": "Step done", "still_open": "Open (censored)",
           "median_weeks": "Median weeks", "median_lower_95": "95% low", "median_upper_95": "95% high",
           "pct_waiting_past_6_weeks": "% waiting at 6 wks", "pct_waiting_past_20_weeks": "% waiting at 20 wks",
           "suppression_reason": "Suppressed"}


def _shown(table: pd.DataFrame) -> pd.DataFrame:
    t = table[[c for c in COLUMNS if c in table.columns]].rename(columns=COLUMNS)
    return t.round(1)


@st.cache_resource(show_spinner=False, max_entries=4, ttl=3600)
def _councils(load_id: str) -> dict[str, tuple[list[int], bool]]:
    """Each council with pathway rows: its request years and whether its rows reach localities."""
    rows = pathway.load_rows(ui.database())
    if rows.empty:
        return {}
    return {c: (sorted(int(y) for y in g["year"].unique()), bool(g["area_level"].eq("locality").any()))
            for c, g in rows.groupby("council", sort=True)}


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _built(load_id: str, council: str, first: int, group: str, low: int, high: int) -> dict:
    """Everything the page shows for a council, first year and grouping, computed once per load
    (curves, suppressed tables, figures, download bytes); read only, as ui.View."""
    rows = pathway.load_rows(ui.database())
    rows = rows[rows["council"] == council]
    part = rows[rows["year"] >= first]
    overall = pd.concat([pathway.summarise(part, s, None, low, high)[0] for s in pathway.STEPS], ignore_index=True)
    steps = []
    for step, (label, _col) in pathway.STEPS.items():
        table, curve = pathway.summarise(part, step, group, low, high)
        fig = None if curve.empty else ui.safe_figure(
            pathway.pathway_figure(curve, f"{label}, {ui.area_name(council)}"))
        shown = _shown(table)
        steps.append((step, label, fig, shown, safe_csv_bytes(shown), safe_csv_bytes(curve.round(2))))
    open_t = pathway.open_cases(rows, low, high)
    fig = px.bar(open_t.dropna(subset=["requests"]), x="waited", y="requests", color="waiting_for", barmode="group",
                 labels={"waited": "Waited since the request", "requests": "Requests", "waiting_for": "Waiting for"},
                 title=f"Requests open in January {open_t.attrs.get('census_year', '')}, {ui.area_name(council)}")
    shown = open_t.rename(columns={"waiting_for": "Waiting for", "waited": "Waited", "requests": "Requests",
                                   "suppressed": "Suppressed (1-4)"})
    return {"reading": pathway.reading(overall), "steps": steps, "open": (ui.safe_figure(fig), shown,
                                                                          safe_csv_bytes(shown))}


def render() -> None:
    ui.page("EHC needs assessment pathway",
            "Weeks from a request for an EHC needs assessment to each decision and to the final plan, "
            "with open cases counted for as long as they have waited (Kaplan-Meier).")
    db = ui.database()
    cfg = db.config
    councils = _councils(db.load_id)
    if not councils:
        st.info("No SEN2 person-level return is loaded. Export your return from COLLECT (the nine Blade CSV "
                "files) and drop them into the data folder: see docs/sen2-person-level.md.", icon=":material/info:")
        return
    council = ui.select_area(list(councils), key="pw_area", label="Council")
    years, has_localities = councils[council]
    if not has_localities:
        st.warning("No ONS postcode lookup was loaded with the return, so requests are not placed in localities "
                   "or health footprints: only council-wide curves are shown. Drop the ONS Postcode Directory or "
                   "National Statistics Postcode Lookup (with LSOA 2021 codes) into the data folder.",
                   icon=":material/location_off:")
    c1, c2 = st.columns(2)
    with c1:
        first = st.selectbox("Requests received from", years, index=max(0, len(years) - 3), key="pw_from")
    with c2:
        group = st.selectbox("Compare by", list(pathway.GROUPINGS), format_func=pathway.GROUPINGS.get, key="pw_group")
    low, high = cfg.suppress_min, cfg.suppress_max
    built = _built(db.load_id, council, first, group, low, high)
    st.markdown("**Reading:** " + built["reading"] + " Statutory limits: the decision whether to assess "
                "within 6 weeks, the final plan within 20 weeks of the request.")
    for step, label, fig, shown, summary_csv, curve_csv in built["steps"]:
        st.header(f"{label}: weeks since the request")
        left, right = st.columns([3, 2])
        with left:
            if fig is None:
                st.info("Every group here is too small to show (1-4 requests).")
            else:
                st.plotly_chart(fig, key=f"pw_chart_{step}", width="stretch", config={"displaylogo": False})
        with right:
            st.dataframe(shown, hide_index=True, width="stretch")
            st.download_button("Download summary CSV", data=summary_csv, file_name=f"pathway_{step}.csv",
                               mime="text/csv", key=f"pw_dl_{step}", icon=":material/download:")
            st.download_button("Download curve CSV", data=curve_csv, file_name=f"pathway_{step}_curve.csv",
                               mime="text/csv", key=f"pw_dlc_{step}", icon=":material/download:")
        st.caption(f"Source: {SOURCE}. A group of {low}-{high} requests is not shown.")
    st.header("Open cases on the latest census date")
    fig, shown, open_csv = built["open"]
    left, right = st.columns([3, 2])
    with left:
        st.plotly_chart(fig, key="pw_open", width="stretch", config={"displaylogo": False})
    with right:
        st.dataframe(shown, hide_index=True, width="stretch")
        st.download_button("Download open cases CSV", data=open_csv, file_name="pathway_open_cases.csv",
                           mime="text/csv", key="pw_dl_open", icon=":material/download:")
    st.caption(f"Source: {SOURCE}. Counts of {low}-{high} are suppressed: left out of the chart, blank in the table.")
    _reconciliation(db, council, low, high)


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _local_vs_published(load_id: str, council: str) -> pd.DataFrame:
    from send_metrics.measures.reconcile import local_vs_published
    return local_vs_published(ui.database(), area=council)


RECONCILE_COLUMNS = {"period": "Year", "figure_title": "Figure", "local": "Your return", "published": "DfE published",
                     "difference": "Difference", "explanation": "Why they can differ"}


def _reconciliation(db, council: str, low: int, high: int) -> None:
    """The council's own figures beside DfE's for the same return (send_metrics.measures.reconcile)."""
    from send_metrics.measures.reconcile import STATUS_TEXT
    st.header("Your return beside DfE's published figures")
    table = _local_vs_published(db.load_id, council)
    compared = table[table["published"].notna()] if not table.empty else table
    if compared.empty:
        st.info("DfE's 'Education, health and care plans' release is not loaded for this council and these years, so "
                "there is nothing to compare yet: the figures above are your own, months before DfE publishes them. "
                "Drop the release's CSV files into the data folder to see them side by side.", icon=":material/info:")
        return
    same = int((compared["difference"] == 0).sum())
    st.markdown(f"{same:,} of {len(compared):,} figures that DfE has published are the same in your return. "
                "Where they differ, the last column says what can explain it.")
    shown = table.copy()

    def count(v) -> str:
        return "" if v is None or v != v else f"{v:,.0f}"
    shown["local"] = shown["local"].map(count)
    # A figure DfE has not published, or that is not in the release loaded, says so; a suppressed one is blank.
    shown["published"] = [STATUS_TEXT.get(st_, count(v)) for v, st_ in zip(shown["published"], shown["status"])]
    shown["difference"] = shown["difference"].map(lambda v: "" if v is None or v != v else f"{v:+,.0f}")
    shown = shown[list(RECONCILE_COLUMNS)].rename(columns=RECONCILE_COLUMNS)
    st.dataframe(shown, hide_index=True, width="stretch",
                 column_config={"Why they can differ": st.column_config.TextColumn(width="large")})
    st.download_button("Download comparison CSV", data=safe_csv_bytes(shown), file_name="sen2_local_vs_dfe.csv",
                       mime="text/csv", key="pw_dl_reconcile", icon=":material/download:")
    st.caption(f"Sources: {SOURCE}; DfE 'Education, health and care plans' (the edition loaded). Counts of "
               f"{low}-{high}, and counts that would reveal one, are blank on both sides.")


ui.guarded(render)
