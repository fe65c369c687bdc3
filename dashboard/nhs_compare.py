"""North vs South from NHS England's own published figures, on the Waiting times and Equity pages.

NHS figures are published by provider (Community Health Services waiting lists) and by sub-ICB
(autism waiting time statistics), not by the dashboard's footprints, so they are compared as
published with each area's footprint stated beside the figures:

* RNN, North Cumbria Integrated Care NHS FT: North Cumbria;
* RTX, University Hospitals of Morecambe Bay NHS FT: South Cumbria and north Lancashire (UHMB),
  never South Cumbria alone;
* sub-ICB 01H (E38000215): exactly North Cumbria; sub-ICB 01K (E38000228): South Cumbria AND Lancaster.

Every value comes from the measure engine (disclosure control applied). A figure that is not
published for an area says so; only a figure withheld by disclosure control says "suppressed".
"""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import ui
from send_metrics.contract import codes
from send_metrics.catalogue import measures_by_id

PROVIDERS = {"RNN": "RNN: North Cumbria", "RTX": "RTX: South Cumbria and north Lancashire (UHMB)"}
SUB_ICBS = {"E38000215": "01H: North Cumbria", "E38000228": "01K: South Cumbria and Lancaster"}
CHS_SERVICES = ["PAEDS", "SLT", "OT", "PHYSIO", "AUDIOLOGY", "DIETETICS", "ORTHOTICS", "WHEELCHAIR", "CYP_NURSING",
                "CYP_LTC"]
CHS_VIEWS = {"wait_list": "Children waiting", "wait_over18": "% waiting 18+ weeks",
             "wait_over52": "% waiting 52+ weeks", "wait_median": "Median weeks (interpolated)"}
NEEDS_POPULATION = ("not loaded: needs population (a provider's caseload has no resident population; a rate per "
                    "1,000 children needs ONS mid-year estimates for the area it serves)")
CAVEAT = (
    "**Footprints.** NHS England publishes these figures by **provider** and by **sub-ICB**, not by the dashboard's "
    "footprints. **RNN** (North Cumbria Integrated Care NHS FT) serves **North Cumbria**. **RTX** (University "
    "Hospitals of Morecambe Bay NHS FT) serves **South Cumbria and north Lancashire (UHMB)**: Barrow, South Lakeland, "
    "the Millom area *and Lancaster district*, so its figures are **not South Cumbria alone**. Providers are not "
    "geographies: a list counts the children the trust reports, wherever they live. **Sub-ICB 01H** is exactly North "
    "Cumbria; **sub-ICB 01K is South Cumbria and Lancaster** (plus three Craven LSOAs).")


def _cell(m, row) -> str:
    if row is None:
        return "not published"
    if bool(row["suppressed"]):
        return "suppressed (small numbers)"
    if pd.isna(row["value"]):
        sym = row.get("source_symbol") if hasattr(row, "get") else None
        if isinstance(sym, str) and sym.strip().lower() == "c":
            return "suppressed by NHS England (*)"
        return "not published"
    return m.format_value(float(row["value"]))


MH_VIEWS = {"mh_cyp_access": "children in contact (12 months)", "ed_urgent_1wk_pct": "% urgent ED within 1 week",
            "ed_routine_4wk_pct": "% routine ED within 4 weeks"}


@st.cache_data(show_spinner=False, max_entries=8, ttl=3600)
def _mh_table(load_id: str) -> pd.DataFrame:
    """MHSDS by month: 01H vs 01K (with Lancaster), as published."""
    by_id = measures_by_id()
    ids = [i for i in MH_VIEWS if i in by_id]
    t = ui.table(ids, list(SUB_ICBS))
    if t.empty or (t["value"].notna().sum() == 0 and not t["suppressed"].astype(bool).any()):
        return pd.DataFrame()
    t = t.assign(period=t["period"].astype(str).str[:10])
    rows = []
    for period, g in t.groupby("period"):
        row = {"Month": g["period_label"].iloc[0]}
        for code, name in SUB_ICBS.items():
            for mid, label in MH_VIEWS.items():
                hit = g[(g["measure_id"] == mid) & (g["area_code"] == code)]
                row[f"{name} | {label}"] = _cell(by_id[mid], hit.iloc[0] if len(hit) else None)
        rows.append(row)
    return pd.DataFrame(rows).iloc[::-1].reset_index(drop=True)  # latest month first


@st.cache_data(show_spinner=False, max_entries=8, ttl=3600)
def _chs_table(load_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    by_id = measures_by_id()
    ids = [f"{v}_{s}" for s in CHS_SERVICES for v in CHS_VIEWS if f"{v}_{s}" in by_id]
    t = ui.table(ids, list(PROVIDERS))
    if t.empty:
        return pd.DataFrame(), pd.DataFrame()
    t = t.assign(period=t["period"].astype(str).str[:10])
    have = t[t["measure_id"].str.startswith("wait_list_") & (t["value"].notna() | t["suppressed"].astype(bool))]
    rows, raw = [], []
    for (svc_id, period), g in have.groupby([have["measure_id"].str.removeprefix("wait_list_"), "period"]):
        label = g["period_label"].iloc[0]
        row = {"Service": codes.SERVICES.get(svc_id, svc_id), "Month": label}
        for code, name in PROVIDERS.items():
            for v, vlabel in CHS_VIEWS.items():
                m = by_id[f"{v}_{svc_id}"]
                hit = t[(t["measure_id"] == m.id) & (t["area_code"] == code) & (t["period"] == period)]
                r = hit.iloc[0] if len(hit) else None
                row[f"{name} | {vlabel}"] = _cell(m, r)
                raw.append({"service": svc_id, "Service": row["Service"], "period": period, "Month": label,
                            "area": name, "view": v, "value": None if r is None or bool(r["suppressed"])
                            else r["value"]})
        rows.append(row)
    return pd.DataFrame(rows), pd.DataFrame(raw)


@st.cache_data(show_spinner=False, max_entries=8, ttl=3600)
def _autism_table(load_id: str) -> pd.DataFrame:
    by_id = measures_by_id()
    ids = ["wait_list_AUTISM", "autism_over_13wk_pct"]
    t = ui.table(ids, list(SUB_ICBS))
    if t.empty or t["value"].notna().sum() == 0:
        return pd.DataFrame()
    t = t.assign(period=t["period"].astype(str).str[:10])
    rows = []
    for period, g in t.groupby("period"):
        if g["value"].isna().all() and not g["suppressed"].astype(bool).any():
            continue
        row = {"Month": g["period_label"].iloc[0]}
        for code, name in SUB_ICBS.items():
            for mid, label in (("wait_list_AUTISM", "children waiting (0-17)"),
                               ("autism_over_13wk_pct", "% open 13+ weeks")):
                hit = g[(g["measure_id"] == mid) & (g["area_code"] == code)]
                row[f"{name} | {label}"] = _cell(by_id[mid], hit.iloc[0] if len(hit) else None)
        rows.append(row)
    return pd.DataFrame(rows)


def available() -> bool:
    """Whether any provider or sub-ICB figure is loaded (the tables are cached per load)."""
    load_id = ui.database().load_id
    return not (_chs_table(load_id)[0].empty and _autism_table(load_id).empty and _mh_table(load_id).empty)


def render_section(heading: str = "North vs South from NHS England figures") -> bool:
    """The provider and sub-ICB comparison; False when no such NHS figure is loaded."""
    if not available():
        return False
    load_id = ui.database().load_id
    chs, raw = _chs_table(load_id)
    autism = _autism_table(load_id)
    mh = _mh_table(load_id)
    st.header(heading)
    st.markdown(CAVEAT)
    if not chs.empty:
        st.subheader("Community health services for children: RNN vs RTX")
        st.caption("NHS England, Community Health Services waiting lists (CHS SitRep, basis: provider), in the "
                   "publisher's own wait bands (0-1, 1-2, 2-4, 4-12, 12-18, 18-52, 52+ weeks). Shares over 18 and 52 "
                   "weeks are of children whose wait is recorded in a band; medians are estimated by interpolation "
                   "within the band holding the median (an estimate, not a published figure). "
                   f"Rate per 1,000 children: {NEEDS_POPULATION}.")
        over = raw[(raw["view"] == "wait_over18") & raw["value"].notna()]
        if not over.empty:
            fig = go.Figure()
            for area in PROVIDERS.values():
                d = over[over["area"] == area]
                fig.add_bar(name=area, x=[f"{s} ({mo})" for s, mo in zip(d["Service"], d["Month"])], y=d["value"],
                            text=[f"{v:.0f}%" for v in d["value"]], textposition="outside")
            fig.update_layout(barmode="group", height=380, margin=dict(t=30, b=10, l=10, r=10),
                              yaxis_title="% waiting 18 weeks or more", legend=dict(orientation="h", y=1.12),
                              title=None)
            st.markdown("**Share of children waiting 18 weeks or more, by service and month** "
                        "(RTX's figures include north Lancashire)")
            st.plotly_chart(ui.safe_figure(fig), key="nhs_compare_over18")
        st.dataframe(chs, hide_index=True)
        st.download_button("Download CSV", data=lambda: ui.safe_csv_bytes(chs), file_name="nhs-chs-rnn-rtx.csv",
                           mime="text/csv", key="dl_nhs_chs", icon=":material/download:")
    if not autism.empty:
        st.subheader("Autism waits: 01H vs 01K (South Cumbria and Lancaster)")
        st.caption("NHS England, Autism waiting time statistics by sub-ICB: children aged 0-17 with an open "
                   "suspected-autism referral (ASD16b) and the share open 13 weeks or more (ASD16c / ASD16b). "
                   "Published rounded to the nearest 5. **01K includes Lancaster district**: it is never South "
                   f"Cumbria. Rate per 1,000 children: {NEEDS_POPULATION.replace('a provider', 'a sub-ICB')}.")
        st.dataframe(autism, hide_index=True)
    if not mh.empty:
        st.subheader("Children's mental health: 01H vs 01K (South Cumbria and Lancaster)")
        st.caption("NHS England, Mental Health Services Monthly Statistics (MHSDS), by sub-ICB of residence (before "
                   "July 2022 the CCG of the same code and footprint): children and young people under 18 with at "
                   "least one contact in the 12 months to the month (MHS95, rounded by NHS England), and eating-"
                   "disorder cases entering treatment in the 3 months to the month within 1 week (urgent, ED86a / "
                   "ED86) and 4 weeks (routine, (ED87a + ED87b) / ED87); most eating-disorder cells are suppressed "
                   "by NHS England ('*': few cases). Counts, not rates: **01K includes Lancaster district** and the "
                   "two areas differ in size, so compare each with its own history.")
        st.dataframe(mh, hide_index=True)
    return True
