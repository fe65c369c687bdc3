"""Needs and demand: the primary-need mix of EHC plans over time, by age band and by setting,
against England, and the demand projection with its intervals and backtest error.

Widgets and layout only: each section's rows, table, title and sentence are
send_metrics.measures.needs_view; the age and setting breakdowns are protected together by
send_metrics.measures.breakdowns (once per load and census year, on first use) before anything is
shown. Each section is built once per load and selection (ui.View) and drawn from there.
"""
import numpy as np
import pandas as pd
import streamlit as st

from dashboard import ui
from send_metrics.measures import needs_view, release
from send_metrics.measures.needs_view import MAIN_NEEDS, METHODS, NEED_LABEL
from send_metrics.present import charts

# Each need keeps its colour and pattern in every chart (charts.NEED_COLOURS), whatever its rank.
NEED_COLOURS, NEED_PATTERNS = charts.need_colours(NEED_LABEL)
NEED_COLOURS[needs_view.OTHER_OR_SUPPRESSED] = NEED_COLOURS[NEED_LABEL["OTHER"]]
NEED_PATTERNS[needs_view.OTHER_OR_SUPPRESSED] = NEED_PATTERNS[NEED_LABEL["OTHER"]]


def _draw(view: ui.View, fig, s: needs_view.Section, key: str, slot: str) -> None:
    """A section's chart with its table, title and sentence (see ui.chart_with_table)."""
    view.call(ui.chart_with_table, fig, s.table, title=charts.fit_title(*s.titles), sentence=s.sentence, key=key,
              slot=slot, source=s.source, table_columns=s.columns)


def _stacked(data: pd.DataFrame, x: str, colour: str):
    return charts.stacked_share(data, x=x, colour=colour, y="share", y_title="% of EHC plans",
                                colours=NEED_COLOURS, patterns=NEED_PATTERNS)


def mix_section(area: str) -> None:
    _mix_view(ui.database().load_id, area).show()


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _mix_view(load_id: str, area: str) -> ui.View:
    """The primary-need mix over time for an area (see ui.View)."""
    view = ui.View()
    s = needs_view.need_mix(ui.table(needs_view.IDS, [area]), area, ui.area_name(area))
    if s.message:
        view.call(st.info, s.message)
    else:
        _draw(view, _stacked(s.data, "year", "need"), s, f"needs_mix_{area}", "needs_mix")
    return view


def england_section(area: str, year: str) -> None:
    _england_view(ui.database().load_id, area, year).show()


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _england_view(load_id: str, area: str, year: str) -> ui.View:
    """An area's need mix against England's for a census year (see ui.View)."""
    view = ui.View()
    name = ui.area_name(area)
    s = needs_view.against_england(ui.table(needs_view.IDS, [area]), area, year, name, ui.sig_text)
    if s.message:
        view.call(st.info, s.message)
        return view
    fig = charts.dot_compare(s.data, label="label", value="value", lower="lower_95", upper="upper_95",
                             benchmark="england_value", sig="sig_england_95", x_title="% of EHC plans", name=name)
    _draw(view, fig, s, f"needs_england_{area}", "needs_england")
    return view


def _breakdowns(year: str) -> dict[str, pd.DataFrame]:
    """Need by age band and need by setting for every area, protected together and with the other
    outputs of the caseload (computed once per load and year, on first use; shared between
    sessions: callers only read the tables)."""
    return release.needs_year(ui.engine(), int(year))


def breakdown_section(name: str, area: str, year: str) -> None:
    _breakdown_view(ui.database().load_id, name, area, year).show()


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _breakdown_view(load_id: str, name: str, area: str, year: str) -> ui.View:
    """Need by age band or by setting ("age", "setting") for an area and census year (see ui.View)."""
    view = ui.View()
    slot = needs_view.BREAKDOWNS[name][3]
    s = needs_view.need_by_group(_breakdowns(year)[name], name, area, year, ui.area_name(area), ui.md)
    if s.message:
        view.call(st.info, s.message)
        return view
    fig = None  # no chart when every need within every group is hidden (the totals' table only)
    if s.data is not None:
        fig = _stacked(s.data, "group", "need_label")
        cats = s.extra["categories"]
        fig.update_xaxes(categoryorder="array", categoryarray=cats, tickvals=cats,
                         ticktext=[needs_view.wrap(c) for c in cats], tickangle=0)
        charts.grey_suppressed(fig, needs_view.SUPPRESSED)
    _draw(view, fig, s, f"{slot}{area}", slot)
    return view


@st.cache_data(show_spinner=False, max_entries=32, ttl=3600)
def _projection(load_id: str, area: str, method: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return needs_view.projection(ui.table(needs_view.PROJECTION_IDS, [area]), ui.engine(), method)


def projection_section(area: str) -> None:
    c1, c2 = st.columns(2)
    with c1:
        group = ui.url_select("Projection for", ["ALL", *MAIN_NEEDS], "group", "ALL",
                              format_func=lambda g: NEED_LABEL.get(g, g))
    with c2:
        method = ui.url_select("Projection method", list(METHODS), "method", "loglinear", format_func=METHODS.get)
    _projection_view(ui.database().load_id, area, group, method).show()


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _projection_view(load_id: str, area: str, group: str, method: str) -> ui.View:
    """The demand projection and its backtest for an area, group and method (see ui.View)."""
    view = ui.View()
    _, proj, test = _projection(load_id, area, method)
    s = needs_view.projection_section(proj, test, ui.engine(), group, method, ui.area_name(area), ui.md)
    if s.message:
        view.call(st.info, s.message)
        return view
    _draw(view, charts.tidy_bands(charts.projection_chart(s.data, y_title="EHC plans")), s,
          f"needs_projection_{group}", "needs_projection")
    view.call(_backtest_table, s.extra["backtest"])
    return view


def _backtest_table(table: pd.DataFrame) -> None:
    with ui.section("Backtest: how well the method did on past years", "needs_backtest") as is_open:
        if is_open:
            st.table(table)


@st.cache_resource(show_spinner=False, max_entries=4)
def _caseload_areas(load_id: str) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    """Areas with a published EHC plan caseload, in selector order, and each one's census years
    (worked out once per load)."""
    idx = ui.table_index()
    pos = idx.positions(["ehcp_caseload"], None)
    pos = pos[~np.isnan(idx.values[pos])]
    codes = idx.column("area_code", pos)
    return tuple(ui.ordered_area_options(codes)), needs_view.census_years(codes, idx.column("period", pos))


def render() -> None:
    ui.page("Needs and demand", "The primary needs of children and young people with EHC plans - over time, by "
            "age and setting, against England - and how many plans to expect in the next five years.")
    options, years_of = _caseload_areas(ui.database().load_id)
    if not years_of:
        st.info("No EHC plan caseload is loaded. Load a caseload extract on the Upload page.")
        return
    c1, c2 = st.columns(2)
    with c1:
        area = ui.select_area(list(options))
    years = list(years_of.get(area, ()))
    with c2:
        year = ui.select_period(years, label="January census")

    def mix() -> None:
        st.header("Primary-need mix over time")
        mix_section(area)

    def england() -> None:
        st.header("Against England")
        england_section(area, year)

    def groups() -> None:
        st.header("By age band and type of setting")
        with st.spinner(f"Working out the needs breakdowns for {year}, with disclosure control over every area "
                        "and every page together (once per load; up to a few minutes for a national one)..."):
            cells = _breakdowns(year)
        if not cells:
            st.info(f"No caseload breakdown is loaded for {year}.")
        else:
            breakdown_section("age", area, year)
            breakdown_section("setting", area, year)

    def demand() -> None:
        st.header("Demand projection")
        projection_section(area)
    ui.views({"Need mix over time": mix, "Against England": england, "By age and setting": groups,
              "Demand projection": demand})


ui.guarded(render)
