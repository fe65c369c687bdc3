"""Waiting times: for one service and area, SPC over months of the waiting list, the median wait
or the share seen within 18 weeks; and the waiting list by wait band with and without an EHC plan.

Widgets, layout and calls only. Series come from the measure engine (disclosure-controlled). The
wait-band breakdown is built from raw counts (sql/waiting_bands.sql) and protected by
send_metrics.measures.waiting_times.protect_bands - primary and secondary suppression over the area
hierarchies, EHCP status and wait bands - before anything is shown."""
import pandas as pd
import streamlit as st

from dashboard import nhs_compare, ui
from send_metrics.catalogue import measures_by_id
from send_metrics.contract import codes
from send_metrics.measures import release, waiting_times
from send_metrics.measures.waiting_times import STATUS, VIEWS
from send_metrics.present import charts, spc_charts

NO_REBASE = "none"


def _url_select(label: str, options: list, key: str, default, format_func=str, horizontal: bool = False):
    """A selector kept in the URL (?key=value); an unknown URL value falls back to the default."""
    if horizontal:
        return ui.url_select(label, options, key, default, format_func=format_func, widget=st.radio, horizontal=True)
    return ui.url_select(label, options, key, default, format_func=format_func)


def _area_options(codes) -> list[str]:
    codes = set(codes)
    first = [*ui.FOOTPRINTS, *ui.LOCALITIES, "E06000063", "E06000064", "E10000006", "E07000029", "E38000215",
             "E38000228", "RNN", "RTX", "E92000001"]
    return [c for c in first if c in codes]


@st.cache_resource(show_spinner=False, max_entries=256, ttl=3600)
def _series(load_id: str, measure_id: str, area: str) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """An area's monthly series of a measure, its published months and their labels (read only)."""
    series = ui.table([measure_id], [area]).sort_values("period")
    kept = series.dropna(subset=["value"])
    return series, kept, dict(zip(kept["period"], kept["period_label"]))


def spc_section(m, area: str) -> None:
    load_id = ui.database().load_id
    _, kept, labels = _series(load_id, m.id, area)
    rebase = _url_select("Rebase the limits from (e.g. when a waiting-list initiative started)",
                         [NO_REBASE, *kept["period"].tolist()[2:-1]], "rebase", NO_REBASE,
                         format_func=lambda p: "No rebase" if p == NO_REBASE else labels.get(p, p))
    _spc_view(load_id, m.id, area, rebase).show()


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _spc_view(load_id: str, measure_id: str, area: str, rebase: str) -> ui.View:
    """The SPC chart of a waiting-time measure for an area and rebase month (see ui.View)."""
    view = ui.View()
    m = measures_by_id()[measure_id]
    series, kept, labels = _series(load_id, measure_id, area)
    if len(kept) < 6:
        view.call(st.info, f"{ui.area_md(area)} has {len(kept)} published months for this measure; an SPC chart "
                  "needs at least 6. Choose a larger area (a footprint or council) or another measure.")
        return view
    dates = pd.to_datetime(kept["period"].str[:10])
    rebase_dates = [pd.Timestamp(rebase[:10])] if rebase != NO_REBASE else []
    frame, summ, fig = spc_charts.measure_spc(kept["value"], dates.to_numpy(), m, rebase_dates)
    name = ui.area_name(area)
    sentence = f"{m.title}, {name}, month by month. " + summ["sentence"]
    if rebase_dates:
        sentence += f" Limits are recalculated from {labels.get(rebase, rebase)}."
    dropped = len(series) - len(kept)
    if dropped:
        sentence += f" {dropped} suppressed months (small numbers) are left out."
    view.call(ui.chart_with_table, fig, spc_charts.spc_table(frame, kept["period_label"]),
              title=spc_charts.spc_title(name, summ, kept["period_label"].iloc[-1]),
              sentence=sentence, key=f"waiting_spc_{m.id}",
              source=f"{m.source} SPC rules: NHS England Making Data Count.")
    return view


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _bands(load_id: str, service: str, month: str) -> pd.DataFrame:
    """Protected waiting list by area, EHCP status and wait band for one service and month, with
    the other outputs of the waiting list (shared between sessions: callers only read it)."""
    return release.waiting_bands(ui.engine(), service, month)


def bands_section(service: str, area: str, months: list[str], month_labels: dict[str, str]) -> None:
    month = _url_select("Month for the wait bands", months[::-1], "month", months[-1],
                        format_func=lambda p: month_labels.get(p, p))
    load_id = ui.database().load_id
    _bands_view(load_id, service, area, month, month_labels.get(month, month)).show()


# The spinner here, not on _bands: a cached function's spinner shows only when it is called from
# the page, not from inside another cached function.
@st.cache_resource(show_spinner=ui.PROTECTING_TEXT, max_entries=32, ttl=3600)
def _bands_view(load_id: str, service: str, area: str, month: str, label: str) -> ui.View:
    """The waiting list by wait band and EHC plan status for a service, area and month (see ui.View)."""
    view = ui.View()
    cells = _bands(load_id, service, month)
    cells = cells[cells["area_code"] == area] if len(cells) else cells
    if cells.empty:
        view.call(st.info, "No wait-band figures by EHC plan status are loaded for this service, area and month "
                  "(NHS England's published lists give wait bands for all children, not by EHC plan status: see "
                  "the provider comparison above).")
        return view
    s = waiting_times.bands_summary(cells, ui.area_name(area), codes.SERVICES.get(service, service), label)
    if s["shares"] is None:
        view.call(st.info, f"Every wait-band figure for {ui.area_md(area)} is suppressed (small numbers) this "
                  "month. Choose a larger area such as a health footprint.")
        return view
    fig = charts.stacked_share(s["shares"], x="Status", colour="Band", y="share", y_title="% of children waiting")
    fig.update_xaxes(categoryorder="array", categoryarray=list(STATUS.values()))
    charts.grey_suppressed(fig, waiting_times.SUPPRESSED)
    view.call(ui.chart_with_table, fig, s["table"], title=charts.fit_title(*s["titles"]), sentence=s["sentence"],
              key=f"waiting_bands_{service}", source=waiting_times.BANDS_SOURCE,
              table_columns=waiting_times.BANDS_COLUMNS)
    return view


@st.cache_data(show_spinner=False, max_entries=64, ttl=3600)
def _overview_rows(load_id: str, area: str, services: tuple[str, ...]) -> pd.DataFrame:
    """Every service's latest month with its SPC variation, for one area (kept per load)."""
    by_id = measures_by_id()
    t = ui.table([f"{v}_{s}" for s in services for v in VIEWS if f"{v}_{s}" in by_id], [area])
    return waiting_times.overview_rows(t, services, by_id, spc_charts.SPC_VARIATION_TEXT)


def overview(area: str, services: list[str], by_id) -> None:
    """Every service's latest month at a glance, with its SPC variation."""
    data = _overview_rows(ui.database().load_id, area, tuple(services))
    st.subheader(f"Every service in {ui.area_md(area)}, latest month")
    st.caption("Latest published month for each service, with its SPC variation (I improvement, C concern, "
               "~ common cause). Suppressed months are skipped.")
    st.dataframe(data, hide_index=True)
    st.download_button("Download CSV", data=lambda: ui.safe_csv_bytes(data),
                       file_name=f"waiting-overview-{area}.csv",
                       mime="text/csv", key="dl_waiting_overview", icon=":material/download:")


@st.cache_resource(show_spinner=False, max_entries=4)
def _lists(load_id: str) -> dict:
    """What the selectors offer, from every waiting-list measure: worked out once per load."""
    by_id = measures_by_id()
    lists = ui.table([f"wait_list_{s}" for s in codes.SERVICES if f"wait_list_{s}" in by_id])
    if lists.empty or lists["value"].notna().sum() == 0:
        return {}
    present = set(lists["measure_id"])
    services = [s for s in codes.SERVICES if f"wait_list_{s}" in present]
    period = lists["period"].astype(str).str[:10]
    return {"services": tuple(services),
            "areas": tuple(_area_options(lists.loc[lists["value"].notna(), "area_code"])),
            "months": {s: tuple(sorted(period[lists["measure_id"] == f"wait_list_{s}"].unique()))
                       for s in services},
            "labels": dict(zip(period, lists["period_label"]))}


def render() -> None:
    ui.page("Waiting times", "Waiting lists and waits for children's community services by service and "
            "area: whether change is real (SPC), and how long children with and without an EHC plan wait.")
    by_id = measures_by_id()
    meta = _lists(ui.database().load_id)
    if not meta:
        if not nhs_compare.render_section():
            st.info("No waiting-list extract is loaded. Load a provider waiting-list file on the Upload page.")
        return
    services = list(meta["services"])
    c1, c2 = st.columns(2)
    with c1:
        service = _url_select("Service", services, "service", "SLT",
                              format_func=lambda s: codes.SERVICES.get(s, s))
    with c2:
        areas = list(meta["areas"])
        # Without locality extracts (published NHS files only) the providers hold the CYP service lists.
        default = next((a for a in ("HF-SOUTH-CUMBRIA", "RTX", "RNN") if a in areas), "HF-SOUTH-CUMBRIA")
        area = ui.select_area(areas, default=default)
    views = [v for v in VIEWS if f"{v}_{service}" in by_id]
    view = _url_select("Show", views, "view", "wait_list", format_func=VIEWS.get, horizontal=True)
    m = by_id[f"{view}_{service}"]
    st.caption(f"**{ui.escape(m.title)}.** {ui.escape(m.definition)} "
               f"{ui.escape(ui.area_info().notes.get(area, '') or '')}")

    def bands() -> None:
        months = list(meta["months"].get(service, ()))
        if months:
            bands_section(service, area, months, meta["labels"])
        else:
            st.info(f"No wait-band figures are loaded for {codes.SERVICES.get(service, service)}.")
    views = {"Over time": lambda: spc_section(m, area), "Wait bands by EHC plan status": bands,
             "Every service": lambda: overview(area, services, by_id)}
    if nhs_compare.available():
        views["NHS England figures"] = nhs_compare.render_section
    ui.views(views)


ui.guarded(render)
