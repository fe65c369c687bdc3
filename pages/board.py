"""Board overview: headline measures as tiles, each with its interval, significance, trend,
SPC variation and assurance, and one generated sentence."""
import pandas as pd
import streamlit as st

from dashboard import ui
from send_metrics import summary
from send_metrics.report import board_pack_html

VARIATION_BADGE = {"special_cause_improvement": ":blue-badge[I Improvement]",
                   "special_cause_concern": ":orange-badge[C Concern]",
                   "special_cause_neutral": ":violet-badge[N Special cause]",
                   "common_cause": ":gray-badge[~ Common cause]"}
ASSURANCE_BADGE = {"consistently_pass": ":blue-badge[P Target met]",
                   "consistently_fail": ":orange-badge[F Target missed]",
                   "inconsistent": ":gray-badge[? Target inconsistent]"}


@st.cache_resource(show_spinner=False, max_entries=256, ttl=3600)
def _tiles(load_id: str, area: str, period: str) -> list:
    """Tiles for one area and year, kept per load (they are read-only once built)."""
    return summary.tiles(ui.engine(), area, period, table=ui.table(summary.HEADLINE_MEASURES, [area]))


def render() -> None:
    ui.page("Board overview", "Headline needs, timeliness, waiting-time and outcome measures for one "
            "area, with what is significant and what is noise.")
    with_data = ui.areas_with_data()
    have = set(with_data)
    options = [a for a in ui.CUMBRIA_AREAS if a in have] or with_data
    col1, col2 = st.columns([2, 1])
    with col1:
        area = ui.select_area(options)
    years = sorted({p[:4] for p in ui.table(summary.HEADLINE_MEASURES, [area])["period"]})
    with col2:
        period = ui.select_period(years, label="Year (monthly measures show their latest month)")
    tiles = _tiles(ui.database().load_id, area, period)
    if not tiles:
        st.info("No headline measures have data for this area.")
        return
    messages = summary.key_messages(tiles)
    if messages:
        st.subheader("What the board should know")
        st.markdown("\n".join(f"- {ui.escape(m)}" for m in messages))
        st.caption(ui.escape(summary.multiple_comparisons_note(tiles)))
    st.download_button("Download the board pack (HTML, prints to A4)",
                       data=lambda: board_pack_html(ui.engine(), area, period).encode("utf-8"),
                       file_name=f"board-pack-{area}-{period}.html", mime="text/html",
                       key="dl_board_pack", icon=":material/description:")
    st.subheader(f"Headline measures: {ui.area_md(area)}")
    cols = st.columns(3)
    for i, t in enumerate(tiles):
        m = t.measure
        with cols[i % 3].container(border=True):
            st.markdown(f"**{ui.escape(m.title)}** · {t.period_label}")
            if t.suppressed:
                st.markdown("**Suppressed** (small numbers)")
            elif pd.isna(t.value):
                st.markdown("Not loaded: needs population (ONS mid-year estimates)" if m.denominator_dataset
                            == "population" else "Not loaded: no file gives this figure")
            else:
                interval = ""
                if pd.notna(t.lower_95):
                    interval = f" (95% CI {m.format_value(t.lower_95)} to {m.format_value(t.upper_95)})"
                st.markdown(f"### {m.format_value(t.value)} {'' if m.unit == '%' else ui.escape(m.unit)}")
                st.caption(interval.strip(" ()") if interval else "No interval for this measure")
            badges = [f"England: {ui.sig_text(t.sig_england)}", f"Neighbours: {ui.sig_text(t.sig_neighbours)}"]
            st.markdown(" · ".join(badges))
            icons = [VARIATION_BADGE.get(t.variation or "", ""), ASSURANCE_BADGE.get(t.assurance or "", "")]
            if any(icons):
                st.markdown(" ".join(i for i in icons if i))
            st.markdown(ui.escape(t.sentence))
    st.divider()
    data = pd.DataFrame([{
        "Measure": t.measure.title, "Period": t.period_label,
        "Value": None if t.suppressed else t.value, "95% lower": t.lower_95, "95% upper": t.upper_95,
        "England": t.england_value, "vs England": t.sig_england, "Neighbours": t.neighbours_value,
        "vs neighbours": t.sig_neighbours, "Recent trend": t.trend_verdict,
        "SPC variation": t.variation, "Assurance": t.assurance, "Summary": t.sentence} for t in tiles])
    st.subheader("All headline figures as a table")
    st.dataframe(data, hide_index=True)
    st.download_button("Download CSV", data=lambda: ui.safe_csv_bytes(data), file_name=f"board-{area}-{period}.csv",
                       mime="text/csv", key="dl_board", icon=":material/download:")


ui.guarded(render)
