"""Equity: North vs South Cumbria and the seven localities, side by side for every measure.

Widgets, layout and calls only: the gaps, ratios, verdicts and protected waits by EHCP status are computed
in send_metrics.measures.footprints and send_metrics.measures.localities."""
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import nhs_compare, ui
from send_metrics.present import charts, maps
from send_metrics.measures import footprints, localities
from send_metrics.measures.footprints import ALL_GROUPS, NORTH, SOUTH
from send_metrics.measures.pair_comparison import rows_for_year
from send_metrics.catalogue import load_catalogue, measures_by_id

EQUITY_CODES = [*ui.FOOTPRINTS, *ui.LOCALITIES]


def coverage_notes() -> None:
    st.markdown(footprints.COVERAGE_NOTE)
    with ui.section("What each area really covers", "equity_coverage") as is_open:
        if is_open:
            st.table(_coverage_table(ui.database().load_id))


@st.cache_resource(show_spinner=False, max_entries=4)
def _coverage_table(load_id: str) -> pd.DataFrame:
    """What each area covers (once per load; shared, only read)."""
    return footprints.coverage_table(ui.areas(), [*EQUITY_CODES, "E06000063", "E06000064", "E38000215", "E38000228"])


# The per-year tables below are shared between sessions (st.cache_resource): callers only read
# them (filter, assign into new frames), never change them in place.
@st.cache_resource(show_spinner=False, max_entries=16, ttl=3600)
def _rows(load_id: str, year: str) -> pd.DataFrame:
    codes = [*EQUITY_CODES, *sorted({p for p, _ in _hierarchies(load_id)})]
    return rows_for_year(ui.table_index().year_rows(year, codes), year, measures_by_id())


@st.cache_resource(show_spinner=False, max_entries=16, ttl=3600)
def _footprint_comparison(load_id: str, year: str) -> pd.DataFrame:
    return footprints.footprint_comparison(_rows(load_id, year), measures_by_id())


def footprint_section(year: str) -> None:
    st.header("North and South Cumbria, every measure")
    comp = _footprint_comparison(ui.database().load_id, year)
    if comp.empty:
        st.info("No measure has figures for both North and South Cumbria in this year. Choose another year.")
        return
    options = [ALL_GROUPS, *[g for g in dict.fromkeys(comp["group"]) if g]]
    if "group" not in st.session_state or st.session_state["group"] not in options:
        raw = st.query_params.get("group")
        st.session_state["group"] = raw if raw in options else ALL_GROUPS
    group = st.selectbox("Measure group", options, key="group", bind="query-params")
    _footprint_view(ui.database().load_id, year, group).show()


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _footprint_view(load_id: str, year: str, group: str) -> ui.View:
    """The North vs South chart, table and sentence for a year and measure group (see ui.View)."""
    view = ui.View()
    s = footprints.footprint_summary(_footprint_comparison(load_id, year), group)
    fig = charts.ratio_forest(s["tested"], x_title="Ratio North ÷ South (1 = no difference)",
                              names=footprints.FOOTPRINT_VERDICT_NAMES)
    view.call(ui.chart_with_table, fig, s["data"], title=charts.fit_title(*s["titles"]), sentence=s["sentence"],
              key=f"equity_footprints_{year}", slot="equity_footprints", source=footprints.FOOTPRINT_SOURCE,
              table_columns=footprints.FOOTPRINT_COLUMNS)
    return view


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _locality_view(load_id: str, year: str, measure_id: str, locality: str) -> ui.View:
    """The seven localities ranked, for a year, measure and focus locality (see ui.View)."""
    view = ui.View()
    m = measures_by_id()[measure_id]
    s = localities.locality_summary(_rows(load_id, year), m, ui.LOCALITIES, locality, ui.area_name(locality), year,
                                    ui.lower_first(m.title), ui.sig_text)
    if s["frame"].empty:
        view.call(st.info, f"{m.title} has no locality figures for {year}. Choose another measure or year.")
        return view
    fig = charts.ranked_bars(s["frame"], label="label", highlight=s["highlight"], x_title=m.unit,
                             benchmark=s["england"], sig="sig_england_95")
    fp = s["footprints"]
    charts.add_reference_line(fig, fp.get(NORTH), "North", dash="dot", colour="#12436D", position="top right")
    charts.add_reference_line(fig, fp.get(SOUTH), "South", dash="dashdot", colour="#1D7A73", position="bottom right")
    view.call(ui.chart_with_table, fig, s["data"], title=charts.fit_title(*s["titles"]), sentence=s["sentence"],
              key=f"equity_localities_{m.id}", slot="equity_localities", source=m.source, table_columns=s["columns"])
    view.extra["map"] = True
    return view


@st.cache_resource(show_spinner=False, max_entries=2, ttl=3600)
def _geojson(path: str, mtime: float) -> dict | None:
    """The boundaries, shared between sessions (maps.locality_map only reads them)."""
    return localities.read_boundaries(path)


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _map_view(load_id: str, year: str, measure_id: str) -> ui.View:
    """The locality map for a year and measure (see ui.View)."""
    view = ui.View()
    m = measures_by_id()[measure_id]
    path = Path(ui.database().config.geo_dir) / "cumbria_localities.geojson"
    geo = _geojson(str(path), path.stat().st_mtime) if path.exists() else None
    s = localities.map_summary(localities.locality_frame(_rows(load_id, year), m, ui.LOCALITIES), m, bool(geo), year,
                               ui.lower_first(m.title), lambda suppressed: ui.missing_text(m, suppressed))
    fig = (maps.locality_map(geo, s["data"], value="value", label="label", colour_title=m.unit,
                               callouts=localities.MAP_CALLOUTS, scale=s["scale"]) if geo
           else maps.locality_schematic(s["data"].sort_values("area_code"), name="area_name"))
    view.call(ui.chart_with_table, fig, s["data"], title=charts.fit_title(*s["titles"]), sentence=s["sentence"],
              key=f"equity_map_{m.id}", slot="equity_map", source=m.source, table_columns=s["columns"])
    view.call(st.caption, f"Boundaries: {localities.BOUNDARY_ATTRIBUTION}")  # the licence line (trusted)
    return view


@st.cache_resource(show_spinner=False, max_entries=4, ttl=3600)
def _hierarchies(load_id: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((parent, tuple(leaves)) for parent, leaves in ui.engine().hierarchies())


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _rest_comparison(load_id: str, year: str, locality: str, council: str, loc_name: str,
                     rest_name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    cfg = ui.database().config
    return localities.rest_comparison(_rows(load_id, year), locality, council, measures_by_id(), cfg.suppress_min,
                                      cfg.suppress_max, loc_name, rest_name)


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _rest_view(load_id: str, year: str, measure_id: str, locality: str) -> ui.View:
    """A locality against the rest of its council, for a year and measure (see ui.View)."""
    view = ui.View()
    m = measures_by_id()[measure_id]
    rows = _rows(load_id, year)
    council = localities.council_of(locality, _hierarchies(load_id), ui.area_info().levels)
    if council is None:
        view.call(st.info, "This locality's council is not in the loaded geography.")
        return view
    loc_name, council_name = ui.area_name(locality), ui.area_name(council)
    rest_name = f"Rest of {council_name}"
    rest, comp = _rest_comparison(load_id, year, locality, council, loc_name, rest_name)
    s = localities.rest_summary(comp, rest, rows, m, council, loc_name, council_name, rest_name, year)
    if s["info"]:
        view.call(st.info, ui.md(s["info"]))
    if s["drawable"]:
        fig = charts.ranked_bars(s["bars"], label="label", highlight=loc_name, x_title=m.unit)
        view.call(ui.chart_with_table, fig, s["table"], title=charts.fit_title(*s["titles"]), sentence=s["sentence"],
                  key=f"equity_rest_{m.id}", slot="equity_rest", source=m.source, table_columns=s["columns"])
    if s["all_measures"]:
        view.call(_all_measures_expander, localities.all_measures_table(comp, loc_name, rest_name), locality,
                  loc_name, rest_name, year)
    return view


def _all_measures_expander(table: pd.DataFrame, locality: str, loc_name: str, rest_name: str, year: str) -> None:
    with ui.section(ui.md(f"Every measure: {loc_name} against the {ui.lower_first(rest_name)}"),
                    "equity_rest_all") as is_open:
        if is_open:
            st.dataframe(table, hide_index=True)
            st.download_button("Download CSV", data=lambda: ui.safe_csv_bytes(table),
                               file_name=f"rest-{locality}-{year}.csv", mime="text/csv", key="dl_equity_rest_all",
                               icon=":material/download:")


@st.cache_data(show_spinner=False, max_entries=16, ttl=3600)
def _waits(load_id: str, first: str, last: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The activity by service, status and footprint, and the North - South gaps (kept per load)."""
    db = ui.database()
    raw = db.query_file("equity_activity", {"areas": list(ui.FOOTPRINTS), "first": first, "last": last})
    return footprints.activity_gaps(footprints.pooled_activity(raw, db.config.suppress_min, db.config.suppress_max))


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _waits_view(load_id: str, year: str, months: tuple[str, ...]) -> ui.View:
    """Waits by service and EHC plan status, North against South, for a year (see ui.View)."""
    view = ui.View()
    span = footprints.twelve_months(months, year)
    t, gaps = _waits(load_id, *span) if span else (pd.DataFrame(), None)
    if t.empty:
        view.call(st.info, "No waiting-time activity is loaded for "
                  + ("this year." if span is None else "the two footprints."))
        return view
    s = footprints.waits_summary(t, gaps, *span)
    fig = charts.grouped_bars(s["chart"], category="category", group="footprint", value="pct", lower="lower",
                              upper="upper", x_title="% seen within 18 weeks",
                              group_order=["North Cumbria", "South Cumbria"])
    view.call(ui.chart_with_table, fig, s["data"], title=charts.fit_title(*s["titles"]), sentence=s["sentence"],
              key=f"equity_waits_{year}", slot="equity_waits", source=footprints.WAITS_SOURCE,
              table_columns=footprints.WAITS_COLUMNS)
    return view


@st.cache_resource(show_spinner=False, max_entries=4)
def _periods(load_id: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Years with any footprint figure, and months of the waiting-time activity (once per load)."""
    idx = ui.table_index()
    years = sorted({str(p)[:4] for p in idx.column("period", idx.positions(None, ui.FOOTPRINTS))})
    months = sorted({str(p)[:10] for p in idx.column("period", idx.positions(["wait_18wk_SLT"], ui.FOOTPRINTS))})
    return tuple(years), tuple(months)


def render() -> None:
    ui.page("Equity: North vs South", "Compare access and outcomes between the North and South Cumbria "
            "health footprints and the seven localities, with the gap, the ratio and whether the "
            "difference is more than chance.")
    coverage_notes()
    nhs_heading = "North vs South from NHS England figures (provider and sub-ICB)"
    years, months = _periods(ui.database().load_id)
    if not years:
        nhs_shown = nhs_compare.render_section(nhs_heading)
        st.info(footprints.no_footprints_text(nhs_shown))
        return
    year = ui.select_period(years, label="Year (monthly measures use their latest month in the year)")

    def waits() -> None:
        st.header("Waiting times by service and EHC plan status")
        _waits_view(ui.database().load_id, year, months).show()
    views = {"North and South Cumbria": lambda: footprint_section(year),
             "The seven localities": lambda: localities_views(year), "Waiting times by EHC plan status": waits}
    if nhs_compare.available():
        views["NHS England figures"] = lambda: nhs_compare.render_section(nhs_heading)
    ui.views(views)


def localities_views(year: str) -> None:
    st.header("The seven localities")
    rows = _rows(ui.database().load_id, year)
    with_loc = set(rows.loc[rows["area_code"].isin(ui.LOCALITIES) & rows["value"].notna(), "measure_id"])
    measures = [m for m in load_catalogue() if m.id in with_loc]
    if not measures:
        st.info("No measure has locality figures for this year.")
        return
    c1, c2 = st.columns(2)
    with c1:
        m = ui.select_measure(measures, default=localities.default_measure([x.id for x in measures]),
                              label="Measure for the locality views")
    with c2:
        locality = ui.select_area(ui.LOCALITIES, key="locality", label="Locality to focus on", default="LOC-MILLOM")
    load_id = ui.database().load_id
    view = _locality_view(load_id, year, m.id, locality)
    view.show()
    if view.extra.get("map"):
        _map_view(load_id, year, m.id).show()
    st.header("A locality against the rest of its council")
    _rest_view(load_id, year, m.id, locality).show()


ui.guarded(render)
