"""Pathway: where the weeks go between a request for an EHC needs assessment, the decision to
assess, the decision to issue and the final plan, from the council's SEN2 person-level return.

Kaplan-Meier curves with censoring for open cases (send_metrics.measures.pathway, statsmodels), medians with
95% intervals, the share still waiting at 6 and 20 weeks, by locality, health footprint, primary need
or age group; and the requests open on the latest census date by how long they have waited. A table
beside every chart and CSV downloads; groups of 1-4 requests and counts of 1-4 are suppressed."""
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


def render() -> None:
    ui.page("EHC needs assessment pathway",
            "Weeks from a request for an EHC needs assessment to each decision and to the final plan, "
            "with open cases counted for as long as they have waited (Kaplan-Meier).")
    db = ui.database()
    cfg = db.config
    rows = pathway.load_rows(db)
    if rows.empty:
        st.info("No SEN2 person-level return is loaded. Export your return from COLLECT (the nine Blade CSV "
                "files) and drop them into the data folder: see docs/sen2-person-level.md.", icon=":material/info:")
        return
    councils = sorted(c for c in rows["council"].dropna().unique())
    council = ui.select_area(councils, key="pw_area", label="Council")
    rows = rows[rows["council"] == council]
    if not rows["area_level"].eq("locality").any():
        st.warning("No ONS postcode lookup was loaded with the return, so requests are not placed in localities "
                   "or health footprints: only council-wide curves are shown. Drop the ONS Postcode Directory or "
                   "National Statistics Postcode Lookup (with LSOA 2021 codes) into the data folder.",
                   icon=":material/location_off:")
    years = sorted(int(y) for y in rows["year"].unique())
    c1, c2 = st.columns(2)
    with c1:
        first = st.selectbox("Requests received from", years, index=max(0, len(years) - 3), key="pw_from")
    with c2:
        group = st.selectbox("Compare by", list(pathway.GROUPINGS), format_func=pathway.GROUPINGS.get, key="pw_group")
    part = rows[rows["year"] >= first]
    low, high = cfg.suppress_min, cfg.suppress_max
    overall = pd.concat([pathway.summarise(part, s, None, low, high)[0] for s in pathway.STEPS], ignore_index=True)
    st.markdown("**Reading:** " + pathway.reading(overall) + " Statutory limits: the decision whether to assess "
                "within 6 weeks, the final plan within 20 weeks of the request.")
    for step, (label, _col) in pathway.STEPS.items():
        table, curve = pathway.summarise(part, step, group, low, high)
        st.header(f"{label}: weeks since the request")
        left, right = st.columns([3, 2])
        with left:
            if curve.empty:
                st.info("Every group here is too small to show (1-4 requests).")
            else:
                st.plotly_chart(ui.safe_figure(pathway.pathway_figure(curve, f"{label}, {ui.area_name(council)}")),
                                key=f"pw_chart_{step}", width="stretch", config={"displaylogo": False})
        with right:
            shown = _shown(table)
            st.dataframe(shown, hide_index=True, width="stretch")
            st.download_button("Download summary CSV", data=safe_csv_bytes(shown), file_name=f"pathway_{step}.csv",
                               mime="text/csv", key=f"pw_dl_{step}", icon=":material/download:")
            st.download_button("Download curve CSV", data=safe_csv_bytes(curve.round(2)),
                               file_name=f"pathway_{step}_curve.csv", mime="text/csv", key=f"pw_dlc_{step}",
                               icon=":material/download:")
        st.caption(f"Source: {SOURCE}. A group of {low}-{high} requests is not shown.")
    st.header("Open cases on the latest census date")
    open_t = pathway.open_cases(rows, low, high)
    left, right = st.columns([3, 2])
    with left:
        fig = px.bar(open_t.dropna(subset=["requests"]), x="waited", y="requests", color="waiting_for", barmode="group",
                     labels={"waited": "Waited since the request", "requests": "Requests", "waiting_for": "Waiting for"},
                     title=f"Requests open in January {open_t.attrs.get('census_year', '')}, {ui.area_name(council)}")
        st.plotly_chart(ui.safe_figure(fig), key="pw_open", width="stretch", config={"displaylogo": False})
    with right:
        shown = open_t.rename(columns={"waiting_for": "Waiting for", "waited": "Waited", "requests": "Requests",
                                       "suppressed": "Suppressed (1-4)"})
        st.dataframe(shown, hide_index=True, width="stretch")
        st.download_button("Download open cases CSV", data=safe_csv_bytes(shown), file_name="pathway_open_cases.csv",
                           mime="text/csv", key="pw_dl_open", icon=":material/download:")
    st.caption(f"Source: {SOURCE}. Counts of {low}-{high} are suppressed: left out of the chart, blank in the table.")
    _reconciliation(db, council, low, high)


RECONCILE_COLUMNS = {"period": "Year", "figure_title": "Figure", "local": "Your return", "published": "DfE published",
                     "difference": "Difference", "explanation": "Why they can differ"}


def _reconciliation(db, council: str, low: int, high: int) -> None:
    """The council's own figures beside DfE's for the same return (send_metrics.measures.reconcile)."""
    from send_metrics.measures.reconcile import STATUS_TEXT, local_vs_published
    st.header("Your return beside DfE's published figures")
    table = local_vs_published(db, area=council)
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
