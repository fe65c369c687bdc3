"""Benchmarks: an area against England, its region and its DfE statistical neighbours - ranked
bars with intervals, a spine chart across measures, and a funnel plot across all councils when
national data is loaded.

Widgets, layout and calls only: the comparators, spine and funnel limits are computed in
send_metrics.measures.benchmarking from the measure engine's figures (disclosure-controlled) and
the published benchmarks (already disclosure-controlled by their publisher)."""
import numpy as np
import pandas as pd
import streamlit as st

from dashboard import ui
from send_metrics.present import charts
from send_metrics.measures import benchmarking
from send_metrics.measures.pair_comparison import rows_for_year
from send_metrics.catalogue import load_catalogue, measures_by_id


@st.cache_data(show_spinner=False, max_entries=64, ttl=3600)
def _published(load_id: str, measure_id: str, year: int) -> pd.DataFrame:
    return ui.database().query_file("benchmarks_published", {"measure": measure_id, "year": year})


@st.cache_resource(show_spinner=False, max_entries=16, ttl=3600)
def _published_year(load_id: str, year: int) -> pd.DataFrame:
    """Shared between sessions: callers only read it."""
    return ui.database().query_file("benchmarks_year", {"year": year})


@st.cache_data(show_spinner=False, max_entries=8, ttl=3600)
def _published_summary(load_id: str) -> pd.DataFrame:
    return ui.database().query("SELECT measure_id, year, count(*) AS n FROM benchmarks WHERE value IS NOT NULL "
                               "GROUP BY ALL")


@st.cache_data(show_spinner=False, max_entries=16, ttl=3600)
def _neighbours(load_id: str, area: str) -> list[str]:
    return ui.database().query_file("benchmarks_neighbours", {"area": area})["neighbour_code"].tolist()


@st.cache_data(show_spinner=False, max_entries=4, ttl=3600)
def _regions(load_id: str) -> dict[str, str]:
    r = ui.database().query_file("area_region")
    return dict(zip(r["area_code"], r["region_code"]))


@st.cache_resource(show_spinner=False, max_entries=16, ttl=3600)
def _year_table(load_id: str, year: str) -> pd.DataFrame:
    """rows_for_year of the whole measure table (shared between sessions: callers only read it),
    given only the year's own rows: the same result, much faster (see dashboard.table_index.TableIndex.year_rows)."""
    return rows_for_year(ui.table_index().year_rows(year), year, measures_by_id())


@st.cache_resource(show_spinner=False, max_entries=4)
def _area_options_for(load_id: str) -> tuple[str, ...]:
    return tuple(ui.ordered_area_options(ui.areas_with_data()))


def _area_options() -> list[str]:
    return list(_area_options_for(ui.database().load_id))


def _views(load_id: str, measure_id: str, area: str, year: str) -> tuple[ui.View, ui.View, ui.View]:
    """Ranked bars, spine chart and funnel plot for an area, measure and year, each built once per
    load and selection (see ui.View): the spine does not depend on the measure."""
    return _ranked_view(load_id, measure_id, area, year), _spine_view(load_id, year, area), \
        _funnel_view(load_id, measure_id, area, year)


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _ranked_view(load_id: str, measure_id: str, area: str, year: str) -> ui.View:
    view = ui.View()
    m = measures_by_id()[measure_id]
    loaded = _year_table(load_id, year)
    ranked_section(view, m, area, year, loaded[loaded["measure_id"] == m.id], _published(load_id, m.id, int(year)))
    return view


@st.cache_resource(show_spinner=False, max_entries=16, ttl=3600)
def _spine_view(load_id: str, year: str, area: str) -> ui.View:
    view = ui.View()
    spine_section(view, area, year)
    return view


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _funnel_view(load_id: str, measure_id: str, area: str, year: str) -> ui.View:
    view = ui.View()
    m = measures_by_id()[measure_id]
    funnel_section(view, m, area, year, _year_table(load_id, year), _published(load_id, m.id, int(year)))
    return view


def ranked_section(view: ui.View, m, area: str, year: str, loaded: pd.DataFrame, published: pd.DataFrame) -> None:
    neighbours = _neighbours(ui.database().load_id, area)
    region = _regions(ui.database().load_id).get(area)
    comp = benchmarking.comparators(loaded, published, m, area, neighbours, region)
    name = ui.area_name(area)
    s = benchmarking.ranked_summary(comp, m, area, name, year, neighbours, ui.not_loaded(m), ui.sig_text)
    if s["bars"] is None:
        view.call(st.info, f"No value of this measure is loaded or published for {ui.md(name)} or its neighbours in "
                  f"{year}. Choose another year or measure.")
        return
    fig = charts.ranked_bars(s["bars"], label="area_name", highlight=name, x_title=m.unit, benchmark=s["england"],
                             sig="sig_england")
    if s["region"]:
        charts.add_reference_line(fig, s["region"][1], s["region"][0], dash="dashdot", colour="#801650",
                                  position="bottom right")
    view.call(ui.chart_with_table, fig, s["data"], title=charts.fit_title(*s["titles"]), sentence=s["sentence"],
              key=f"bench_ranked_{m.id}", source=s["source"], table_columns=s["columns"])


@st.cache_data(show_spinner=False, max_entries=64, ttl=3600)
def _spine(load_id: str, year: str, area: str) -> pd.DataFrame:
    """benchmarking.area_spine for an area and year."""
    return benchmarking.area_spine(_year_table(load_id, year), _published_year(load_id, int(year)), measures_by_id(),
                                   area)


def spine_section(view: ui.View, area: str, year: str) -> None:
    spine = _spine(ui.database().load_id, year, area)
    if spine.empty:
        view.call(st.info, f"No measure has both an England value and at least three other councils' values for "
                  f"{year}. Choose another year (published comparator figures cover fewer measures in the latest "
                  "year).")
        return
    s = benchmarking.spine_summary(spine, ui.area_name(area), year, ui.sig_text)
    view.call(ui.chart_with_table, charts.spine_chart(spine), s["data"], title=charts.fit_title(*s["titles"]),
              sentence=s["sentence"], key=f"bench_spine_{area}",
              source="Measure engine (local figures); DfE published figures for other councils and England.",
              table_columns=s["columns"])


def funnel_section(view: ui.View, m, area: str, year: str, loaded: pd.DataFrame, published: pd.DataFrame) -> None:
    cfg = ui.database().config
    name = ui.area_name(area)
    s = benchmarking.funnel_summary(loaded, published, m, area, name, year, ui.lower_first(m.title),
                                    cfg.suppress_min, cfg.suppress_max)
    if s["info"]:
        view.call(st.info, s["info"], **({"icon": s["icon"]} if s.get("icon") else {}))
        return
    fig = charts.funnel_plot(s["points"], s["limits"], highlight=[name], benchmark=s["benchmark"],
                             x_title="Denominator (log scale)", y_title=m.unit)
    charts.nice_log_ticks(fig, s["limits"]["denominator"])
    view.call(ui.chart_with_table, fig, s["data"], title=charts.fit_title(*s["titles"]), sentence=s["sentence"],
              key=f"bench_funnel_{m.id}", source=s["source"], table_columns=s["columns"])


def render() -> None:
    ui.page("Benchmarks", "An area against England, its region and its DfE statistical neighbours: ranked "
            "bars with intervals, a spine chart across measures, and a funnel plot across councils.")
    options = _area_options()
    load_id = ui.database().load_id
    pub_summary = _published_summary(load_id)
    have = ui.measures_with_data() | set(pub_summary["measure_id"])
    measures = [m for m in load_catalogue() if m.id in have and m.kind != "gap"]
    if not options or not measures:
        st.info("No figures are loaded yet. Load extracts on the Upload page.")
        return
    c1, c2 = st.columns(2)
    with c1:
        area = ui.select_area(options)
    with c2:
        m = ui.select_measure(measures, default="timeliness_20wk_ex")
    idx = ui.table_index()
    pos = idx.positions([m.id], [area])
    mine = idx.column("period", pos[~np.isnan(idx.values[pos])])
    pub_years = pub_summary[pub_summary["measure_id"] == m.id]
    years = sorted({str(p)[:4] for p in mine} | {str(y) for y in pub_years["year"]})
    if not years:
        st.info(f"{ui.md(m.title)} has no figures for {ui.area_md(area)}. Choose another measure or area.")
        return
    # Default: the latest year with the most published comparators.
    rich = pub_years[pub_years["n"] >= pub_years["n"].max() * 0.8] if len(pub_years) else pub_years
    best = str(int(rich["year"].max())) if len(rich) else years[-1]
    year = ui.select_period(years, label="Year", default=best)
    ranked, spine, funnel = _views(load_id, m.id, area, year)
    st.caption(f"**Definition:** {ui.escape(m.definition)} {ui.escape(m.caveats)}")

    def shown(header: str, view: ui.View):
        def draw() -> None:
            st.header(header)
            view.show()
        return draw
    ui.views({"Statistical neighbours": shown(f"{ui.area_md(area)} and its statistical neighbours", ranked),
              "Every measure against England": shown("Every measure against England", spine),
              "All councils: funnel plot": shown("All councils: funnel plot", funnel)})


ui.guarded(render)
