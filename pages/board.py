"""Board overview: a Fingertips-style summary of the headline measures (value, interval, England,
neighbours, red/amber/green against the benchmark, trend, sparkline and SPC verdict, most concerning
first; built by send_metrics.measures.summary.summary_table), the key messages, and each measure in detail."""
import pandas as pd
import streamlit as st

from dashboard import ui
from send_metrics.measures import summary

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


def _styled(table: pd.DataFrame):
    """The summary for st.dataframe: the benchmark cell tinted by its red/amber/green mark (the cell
    also says it in words with a symbol, so colour is never the only cue)."""
    rag = table["rag"]

    def tint(col: pd.Series) -> list[str]:
        return [f"background-color: {summary.RAG_TINTS[r]}" if r in summary.RAG_TINTS else "" for r in rag]

    # Only the columns shown (SUMMARY_VIEW): Streamlit formats every cell of a styled frame on each
    # run and sends it all, and the hidden columns (the words, the numbers behind the CSV) were
    # half of the Board's server time and of its bytes per rerun. The CSV is made from `table`.
    return table[SUMMARY_VIEW].style.apply(tint, subset=["Against benchmark"])


SUMMARY_VIEW = ["Measure", "Value", "Against benchmark", "Trend", "series", "SPC", "95% interval", "England",
                "Neighbours", "Period", "Sparkline", "Concern"]


def summary_section(area: str, period: str, tiles: list) -> None:
    table = summary.summary_table(tiles)
    st.subheader(f"Headline measures at a glance: {ui.area_md(area)}")
    n_red = int((table["rag"] == "red").sum())
    n_concern = int(table["SPC"].str.startswith("(C)").sum())
    st.markdown(f"{len(table)} measures, most concerning first: **{n_red}** significantly worse than the "
                f"benchmark (▼ red), **{n_concern}** with a special-cause concern in the latest point (C). "
                "Click a column heading to sort.")
    st.dataframe(
        _styled(table), hide_index=True, column_order=SUMMARY_VIEW, key="board_summary",
        height=36 * (len(table) + 1) + 4,  # every row shown: no scrolling inside the table
        column_config={
            "Measure": st.column_config.TextColumn("Measure", width=440),
            "Value": st.column_config.TextColumn("Value", help="Latest value for the year, with its unit"),
            "95% interval": st.column_config.TextColumn("95% interval"),
            "Against benchmark": st.column_config.TextColumn(
                "Against benchmark", help="▼ red: significantly worse; ● amber: similar; ▲ green: significantly "
                "better (England, else statistical neighbours); ◆ higher or lower where no judgement is made"),
            "Trend": st.column_config.TextColumn("Recent trend", help="Last five points: arrow for the "
                                                 "direction, words for the verdict"),
            "series": st.column_config.LineChartColumn("Last 10 points", width="small"),
            "Sparkline": st.column_config.TextColumn("Shape", help="The last points as text blocks"),
            "SPC": st.column_config.TextColumn("SPC (latest point)", help="Making Data Count: I improvement, "
                                               "C concern, N neither, ~ common cause (noise)"),
            "Concern": st.column_config.NumberColumn("Concern order", help="Higher = more concern: worse than "
                                                     "the benchmark, SPC concern, worsening trend"),
        })
    csv = summary.summary_csv_frame(table)
    st.download_button("Download the summary (CSV)", data=lambda: ui.safe_csv_bytes(csv),
                       file_name=f"board-summary-{area}-{period}.csv", mime="text/csv", key="dl_board",
                       icon=":material/download:")
    with ui.section("What each row says, in words", "board_rows_in_words") as is_open:
        if is_open:
            st.markdown("\n".join(f"- **{ui.escape(r.Measure)}** ({ui.escape(r.Period)}): {ui.escape(r.Summary)}"
                               for r in table.itertuples()))


@st.cache_resource(show_spinner=False, max_entries=512, ttl=3600)
def _years(load_id: str, area: str) -> tuple[str, ...]:
    """Years with a row of any headline measure for the area, read from the measure table's index
    (slicing the table itself on every run took a third of the Board's server time at national scale)."""
    idx = ui.table_index()
    return tuple(sorted({str(p)[:4] for p in idx.column("period", idx.positions(summary.HEADLINE_MEASURES, [area]))}))


def _board_pack(area: str, period: str) -> bytes:
    # Imported when the pack is asked for: the report module (plotly's offline bundle, the
    # projection's statistics) is not needed to draw the Board, and a first start waits for it.
    from send_metrics.present.report.board import board_pack_html
    return board_pack_html(ui.engine(), area, period).encode("utf-8")


def render() -> None:
    ui.page("Board overview", "Headline needs, timeliness, waiting-time and outcome measures for one "
            "area, with what is significant and what is noise.")
    with_data = ui.areas_with_data()
    have = set(with_data)
    options = [a for a in ui.CUMBRIA_AREAS if a in have] or with_data
    col1, col2 = st.columns([2, 1])
    with col1:
        area = ui.select_area(options)
    years = list(_years(ui.database().load_id, area))
    with col2:
        period = ui.select_period(years, label="Year (monthly measures show their latest month)")
    tiles = _tiles(ui.database().load_id, area, period)
    if not tiles:
        st.info("No headline measures have data for this area.")
        return
    summary_section(area, period, tiles)
    messages = summary.key_messages(tiles)
    if messages:
        st.subheader("What the board should know")
        st.markdown("\n".join(f"- {ui.escape(m)}" for m in messages))
        st.caption(ui.escape(summary.multiple_comparisons_note(tiles)))
    st.download_button("Download the board pack (HTML, prints to A4)",
                       data=lambda: _board_pack(area, period),
                       file_name=f"board-pack-{area}-{period}.html", mime="text/html",
                       key="dl_board_pack", icon=":material/description:")
    with ui.section(f"Each measure in detail: {ui.area_md(area)}", "board_cards") as is_open:
        if is_open:
            cards(tiles)


def cards(tiles: list) -> None:
    cols = st.columns(3)
    for i, t in enumerate(tiles):
        m = t.measure
        with cols[i % 3].container(border=True):
            st.markdown(f"**{ui.escape(m.title)}** · {t.period_label}")
            if t.covers:
                st.caption(ui.escape(t.covers))
            if t.value_source:
                st.caption(ui.escape("Value as published: " + t.value_source.removeprefix("published: ")))
            if t.suppressed:
                st.markdown("**Suppressed** (small numbers)")
            elif pd.isna(t.value):
                st.markdown(f"**{ui.escape(summary.tile_missing_reason(t).capitalize())}**")
            else:
                st.markdown(f"### {ui.escape(summary.with_unit(m, t.value))}")
                st.caption(f"95% interval {summary.interval_text(m, t.lower_95, t.upper_95)}"
                           if pd.notna(t.lower_95) else "No interval for this measure")
            badges = [f"England: {ui.sig_text(t.sig_england)}", f"Neighbours: {ui.sig_text(t.sig_neighbours)}"]
            st.markdown(" · ".join(badges))
            icons = [VARIATION_BADGE.get(t.variation or "", ""), ASSURANCE_BADGE.get(t.assurance or "", "")]
            if any(icons):
                st.markdown(" ".join(i for i in icons if i))
            st.markdown(ui.escape(t.sentence))


ui.guarded(render)
