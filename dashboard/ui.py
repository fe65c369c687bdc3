"""Shared page furniture: data access, selectors kept in the URL, charts with their tables and
downloads, the synthetic-data banner, and error handling that never shows a traceback.

Pages stay thin: they pick measures and areas, call send_metrics for numbers and figures, and
render them through these helpers. Everything shown has been through disclosure control in
send_metrics.measures.engine before it reaches here. Beside it: the measure table's index
(``table_index``), sign-in for the analyst pages (``sign_in``) and the cached functions' key memo
(``cache_keys``), which this module installs on import.
"""
from __future__ import annotations

import html
import os
import traceback
from collections import Counter
from contextlib import contextmanager
from collections.abc import Mapping
from typing import Callable

import pandas as pd
import streamlit as st

from dashboard import cache_keys
from dashboard.table_index import TableIndex
from send_metrics.catalogue import Measure, load_catalogue, measures_by_id
from send_metrics.config import load_config, open_sections
from send_metrics.db import Database, NoData, get_database
from send_metrics.measures.engine import Engine, get_engine
from send_metrics.present.export import parquet_bytes, safe_csv_bytes
from send_metrics.present.safe_text import for_markdown, safe_figure

# Before any cached function of the pages is defined: each one's key is then worked out once.
cache_keys.memoize_function_keys()

DEFAULT_AREA = "E06000063"  # Cumberland
CUMBRIA_AREAS = ["E06000063", "E06000064", "HF-NORTH-CUMBRIA", "HF-SOUTH-CUMBRIA", "E10000006",
                 "LOC-ALLERDALE", "LOC-CARLISLE", "LOC-COPELAND-N", "LOC-MILLOM", "LOC-EDEN",
                 "LOC-BARROW-FURNESS", "LOC-SOUTH-LAKELAND", "E38000215"]
LOCALITIES = ["LOC-ALLERDALE", "LOC-CARLISLE", "LOC-COPELAND-N", "LOC-MILLOM", "LOC-EDEN",
              "LOC-BARROW-FURNESS", "LOC-SOUTH-LAKELAND"]
FOOTPRINTS = ["HF-NORTH-CUMBRIA", "HF-SOUTH-CUMBRIA"]

SIG_TEXT = {"better": "▲ Better", "worse": "▼ Worse", "similar": "● Similar", "higher": "▲ Higher",
            "lower": "▼ Lower", "not_compared": "– Not compared"}


# -- data ------------------------------------------------------------------------------
# Long first-use work says what it is doing, in words, while it runs (never a blank page): the
# first start loads the data folder; each new load needs its measure table (shipped prebuilt for
# the demo, see send_metrics.measures.prebuilt; computed once per load otherwise).
LOADING_TEXT = "Loading the data folder into the store (first start, or the files changed)..."
PREPARING_TEXT = ("Preparing the figures for this load: every measure for every area, with its statistics and "
                  "disclosure control. This happens once per load (up to a minute for a large one); the page "
                  "appears as soon as it is done.")

# The one protected version of each table across pages (send_metrics.measures.release) is worked
# out on a page's first use of a new load, unless the loader or the demo's shipped tables already
# did: shown only when it takes more than half a second (Streamlit's spinner delay). The Needs and
# Explorer pages say it in their own spinners.
PROTECTING_TEXT = ("Protecting small numbers for this load: working out which figures every page must withhold, "
                   "so that no small count can be recovered by combining pages. This happens once per load "
                   "(minutes, up to half an hour for a national one); the page appears as soon as it is done.")


@st.cache_resource(show_spinner=LOADING_TEXT)
def _database() -> Database:
    """One database per process. Loads the extracts first when there is no load yet."""
    config = load_config()
    from send_metrics.ingest.store import load
    try:
        load(config)  # cheap when nothing changed: compares file hashes
    except Exception:  # a failed load keeps the previous one; the page reports NoData if none
        pass
    return get_database(config)


def database() -> Database:
    return _database()


def engine() -> Engine:
    return get_engine(database())


@st.cache_resource(show_spinner=PREPARING_TEXT, max_entries=2)
def _table_index(load_id: str) -> TableIndex:
    return TableIndex(engine().full_table())


def table_index() -> TableIndex:
    db = database()
    db.refresh()
    return _table_index(db.load_id)


def table(measure_ids=None, area_codes=None, periods=None) -> pd.DataFrame:
    """A slice of the measure table (a new frame the caller may change), as Engine.table."""
    return table_index().table(tuple(measure_ids) if measure_ids else None,
                               tuple(area_codes) if area_codes else None, tuple(periods) if periods else None)


def measures_with_data() -> frozenset[str]:
    """Measures with at least one published value in the current load."""
    return table_index().measures_with_data


@st.cache_data(show_spinner=False, max_entries=8, ttl=3600)
def _areas(load_id: str) -> pd.DataFrame:
    return database().query("SELECT area_code, area_name, area_level, coverage_note FROM areas ORDER BY area_name")


def areas() -> pd.DataFrame:
    db = database()
    db.refresh()
    return _areas(db.load_id)


class _AreaInfo:
    """Name, level and coverage note of every area, as dicts (read-only, shared per load)."""

    def __init__(self, a: pd.DataFrame):
        self.names = dict(zip(a["area_code"], a["area_name"].astype(str)))
        self.name_values = dict(zip(a["area_code"], a["area_name"]))
        self.levels = dict(zip(a["area_code"], a["area_level"]))
        self.notes = dict(zip(a["area_code"], a["coverage_note"]))


@st.cache_resource(show_spinner=False, max_entries=4)
def _area_info(load_id: str) -> _AreaInfo:
    # Shared read-only dicts: names are looked up many times per page run.
    return _AreaInfo(_areas(load_id))


def _load_id() -> str:
    db = database()
    if db.load_id is None:
        db.refresh()
    return db.load_id


_AREA_MEMO: list = [("", None)]  # [(load id, _AreaInfo)]: skips the cache lookup on repeated calls


def area_info() -> _AreaInfo:
    """Area dicts of the current load (checked for a new load once per page run, in ui.page)."""
    load_id = _load_id()
    memo_id, info = _AREA_MEMO[0]  # one tuple, swapped whole: safe between sessions' threads
    if memo_id != load_id or info is None:
        info = _area_info(load_id)
        _AREA_MEMO[0] = (load_id, info)
    return info


def area_name(code: str) -> str:
    return area_info().names.get(code, code)


@st.cache_resource(show_spinner=False, max_entries=4)
def _areas_with_data(load_id: str) -> tuple[str, ...]:
    full = _table_index(load_id).full
    return tuple(sorted(full["area_code"].dropna().unique().tolist()))


def areas_with_data() -> list[str]:
    """Areas that have at least one measure value (so selectors never offer empty areas)."""
    db = database()
    db.refresh()
    return list(_areas_with_data(db.load_id))


# -- page furniture ----------------------------------------------------------------------
APP_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "app.py")


def ensure_navigation() -> None:
    """A deep link opened before app.py ever ran in this session makes Streamlit run the page
    file on its own (its pages/ folder discovery), without the app's navigation and layout.
    Hand over to app.py, which runs this same page inside st.navigation, then stop this run."""
    if st.session_state.get("_navigation_ready"):
        return
    import runpy
    runpy.run_path(APP_PATH, run_name="__main__")
    st.stop()


def page(title: str, intro: str) -> None:
    ensure_navigation()
    # The first run of a page after arriving at it (by the sidebar, a link or a new session): its
    # selectors then take the URL or the session's selection (see shared_widget).
    st.session_state[ARRIVED] = st.session_state.get("_page") != title
    st.session_state["_page"] = title
    st.title(title)
    st.caption(intro)
    try:
        if database().is_demo:
            st.warning("**Synthetic demonstration data.** The local figures on this page are made up "
                       "(they reproduce a few published council totals); published benchmarks are real. "
                       "Load your own extracts on the Upload page or with `python -m send_metrics load`.",
                       icon=":material/science:")
    except NoData:
        pass


@contextmanager
def section(label: str, key: str):
    """A collapsible section whose content is drawn only when it is open (``with ui.section(...) as
    is_open: if is_open: ...``): a closed section costs the browser nothing on a rerun, and opening
    it reruns the page once. SEND_OPEN_SECTIONS=1 draws every section open instead."""
    if open_sections():
        with st.expander(label, expanded=True):
            yield True
        return
    box = st.expander(label, key=f"section_{key}", on_change="rerun")
    with box:
        yield bool(box.open)


def views(draw: Mapping[str, Callable[[], None]], key: str = "tab") -> None:
    """Tabs (label -> what draws it) of which only the chosen one is drawn: a page of several
    charts sends and draws one view per rerun. The choice is kept in the link (``?<key>=<label>``),
    so a copied link opens the same view. SEND_OPEN_SECTIONS=1 draws them all."""
    labels = list(draw)
    every = open_sections()
    tabs = st.tabs(labels) if every else st.tabs(labels, key=key, bind="query-params")
    for label, tab in zip(labels, tabs):
        if every or tab.open:
            with tab:
                draw[label]()


def guarded(render: Callable[[], None]) -> None:
    """Run a page; any failure becomes a friendly message with details for analysts."""
    try:
        render()
    except NoData as exc:
        st.info(f"{exc} Put CSV or Parquet extracts in the data folder, or use the Upload page.",
                icon=":material/folder_open:")
    except Exception as exc:  # never show a traceback to a user
        st.error("Sorry, this view could not be drawn. The data may be incomplete for this selection. "
                 "Try another area or period.", icon=":material/error:")
        with st.expander("Details for analysts"):
            st.text(f"{type(exc).__name__}: {html.escape(str(exc))[:500]}")
            st.text("".join(traceback.format_exception_only(type(exc), exc))[:500])


# -- one selection model --------------------------------------------------------------------
# Area, year and measure are one selection for the whole session: a choice made on one page is
# shown on every page that offers it. The selection lives in st.session_state[SELECTION] (a plain
# dict, not widget state, so Streamlit never drops it when a page without that widget runs) and is
# written only by an explicit choice: the user changing a selector, or a link opened with it in
# the URL. A page that cannot show the chosen value (not among its options) shows its own
# default (for the year: the latest period with data) and leaves the selection alone, so the
# choice comes back on the next page that offers it.
#
# Each selector's widget keeps its own key (the URL parameter name: area, period, measure,
# spc_area, locality). On arriving at a page (the first run of a page: ui.page sets ARRIVED),
# the value comes from the URL when it names a valid option, else the selection, else the
# default; on later runs the widget's own value stands. After drawing, the value is written to
# the URL as a code (?area=E06000063&period=2025&measure=...), so a copied link restores exactly
# the view it was copied from. Labels in old links (?area=Cumberland) are still understood.
SELECTION = "_selection"
ARRIVED = "_arrived"
WRITTEN = "_url_written"  # the value each selector last wrote to the URL


def selection() -> dict:
    """The session's selection: {"area": code, "period": "2025", "measure": id} (explicit choices)."""
    return st.session_state.setdefault(SELECTION, {})


def _url_value(key: str, options: list, labels: dict | None = None):
    raw = st.query_params.get(key)
    if raw is None:
        return None
    if raw in options:
        return raw
    if labels:
        for code, label in labels.items():
            if label == raw and code in options:
                return code
    return None


def _remember(shared: str | None, key: str) -> None:
    if shared:
        selection()[shared] = st.session_state.get(key)


def shared_widget(widget: Callable, label: str, options: list, *, key: str, shared: str | None, default,
                  labels: dict | None = None, **kwargs):
    """A selector that reads and writes the session's selection (see above) and the URL; with
    ``shared=""`` a selector of this page only (the URL, else the default, on arrival)."""
    if not options:
        raise NoData("No options have data for this selection.")
    shared = key if shared is None else shared
    if default not in options:
        default = options[0]
    arrived = bool(st.session_state.get(ARRIVED, True))
    current = st.session_state.get(key)
    if arrived or current not in options:
        chosen = selection().get(shared) if shared else None
        url = _url_value(key, options, labels) if arrived else None
        written = st.session_state.get(WRITTEN, {})
        if url is not None and written.get(key) == url and chosen != url:
            url = None  # left in the URL by this session's previous page (not a link): not a choice
        if url is not None:
            value = url
            if shared:
                selection()[shared] = url  # a link is an explicit choice
        elif chosen in options:
            value = chosen
        else:
            value = default
        st.session_state[key] = value
    fmt = kwargs.pop("format_func", None) or ((lambda c: labels.get(c, c)) if labels else str)
    value = widget(label, options, format_func=fmt, key=key, on_change=_remember, args=(shared, key), **kwargs)
    try:
        if st.query_params.get(key) != str(value):
            st.query_params[key] = str(value)
        st.session_state.setdefault(WRITTEN, {})[key] = str(value)
    except Exception:  # a URL that cannot be written never stops the page
        pass
    return value


def url_select(label: str, options: list, key: str, default, format_func=None, widget: Callable = st.selectbox,
               **kwargs):
    """A selector of this page only (service, view, method...) kept in the URL as a code, so a link
    restores it; labels (what older links held) are understood too."""
    labels = {o: (format_func(o) if format_func else str(o)) for o in options}
    return shared_widget(widget, label, options, key=key, shared="", default=default, labels=labels, **kwargs)


def select_area(options: list[str], key: str = "area", label: str = "Area", default: str = DEFAULT_AREA,
                shared: str = "area") -> str:
    """Area selector sharing the session's area (?area=CODE); unknown codes in the URL are ignored."""
    if not options:
        raise NoData("No areas have data.")
    names = area_labels(options)
    return shared_widget(st.selectbox, label, options, key=key, shared=shared,
                         default=default if default in options else options[0], labels=names)


LEVEL_TEXT = {"locality": "locality", "former_district": "former district", "council": "council",
              "former_council": "former council", "health_footprint": "health footprint"}


def area_labels(codes: list[str]) -> dict[str, str]:
    """Names for selectors, made unique: 'Carlisle' is a locality and a former district."""
    info = area_info()
    names = {c: str(info.name_values.get(c, c)) for c in codes}
    counts = Counter(names.values())
    for c, n in names.items():
        if counts.get(n, 0) > 1:
            level = info.levels.get(c, "")
            names[c] = f"{n} ({LEVEL_TEXT.get(str(level), level)})"
    return names


COUNCILS_FIRST = ["E06000063", "E06000064", "E10000006", *FOOTPRINTS, *LOCALITIES]


def ordered_area_options(codes, first: list[str] = COUNCILS_FIRST) -> list[str]:
    """Area codes with `first` in that order, then the rest sorted; an area whose name repeats an
    earlier one (a former district named like its locality) is left out."""
    codes = set(codes)
    names = area_info().names
    seen, out = set(), []
    for c in [*first, *sorted(codes - set(first))]:
        name = names.get(c, c)
        if c in codes and name not in seen:
            out.append(c)
            seen.add(name)
    return out


def select_many_areas(options: list[str], default: list[str], key: str = "areas", label: str = "Areas") -> list[str]:
    names = area_labels(options)
    if key not in st.session_state:
        raw = st.query_params.get_all(key) if hasattr(st.query_params, "get_all") else []
        chosen = [c for c in raw if c in options] or [c for c in default if c in options]
        st.session_state[key] = chosen
    return st.multiselect(label, options, format_func=lambda c: names.get(c, c), key=key, bind="query-params")


def select_period(options: list[str], key: str = "period", label: str = "Period", default: str | None = None) -> str:
    """Year selector sharing the session's year (?period=2025); defaults to the latest of ``options``
    (the periods with data for this page's measure and area) unless a default is given."""
    if not options:
        raise NoData("No periods have data for this selection.")
    return shared_widget(st.selectbox, label, options, key=key, shared="period",
                         default=default if default in options else options[-1])


def select_measure(measures: list[Measure], key: str = "measure", label: str = "Measure",
                   default: str | None = None) -> Measure:
    """Measure selector sharing the session's measure (?measure=ID; a title in an old link works)."""
    ids = [m.id for m in measures]
    by_id = measures_by_id()
    titles = {i: by_id[i].title for i in ids}
    mid = shared_widget(st.selectbox, label, ids, key=key, shared="measure",
                        default=default if default in ids else (ids[0] if ids else None), labels=titles)
    return by_id[mid]


def chart_with_table(fig, data: pd.DataFrame, *, title: str, sentence: str, source: str,
                     key: str, table_columns: dict[str, str] | None = None, slot: str | None = None) -> None:
    """An accessible chart: active title, a sentence, the chart (none when ``fig`` is None), its data
    table and a CSV download.

    ``slot``: the chart's place on its page, the same whatever the selection (``key`` names the
    selection, for the download's file name). With it, the browser updates the chart drawn there
    in place when the selection changes, rather than removing it and drawing a new one (no gain
    beyond the noise was measured in side-by-side browser runs). Unique on its page.

    ``title``, ``sentence`` and ``source`` are plain text (they carry area and file names): they are
    shown as the characters they hold, never as Markdown; every label of ``fig`` is neutralised."""
    st.subheader(md(title))
    st.markdown(md(sentence))
    if fig is not None:  # None: nothing to draw that the sentence and the table do not say
        st.plotly_chart(safe_figure(fig), key=f"chart_{slot or key}", width="stretch",
                        config={"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]})
    # A frame of its own: the download callable may run after the caller has moved on.
    shown = data[list(table_columns)].rename(columns=table_columns) if table_columns else data.copy()
    with section(f"Data table: {md(title)}", f"table_{key}") as is_open:
        if is_open:
            st.table(shown.head(200))
            if len(shown) > 200:
                st.caption(f"First 200 of {len(shown)} rows; download for all.")
    # Built when the button is clicked (Streamlit runs the callable then), not on every run.
    st.download_button("Download CSV", data=lambda: safe_csv_bytes(shown), file_name=f"{key}.csv",
                       mime="text/csv", key=f"dl_{key}", icon=":material/download:")
    st.caption(f"Source: {md(source)}")


def download_parquet(data: pd.DataFrame, key: str, label: str = "Download Parquet") -> None:
    st.download_button(label, data=lambda: parquet_bytes(data), file_name=f"{key}.parquet",
                       mime="application/octet-stream", key=f"dlp_{key}", icon=":material/download:")


class View:
    """A page section's output, recorded once and replayed on every run that shows it.

    A section builder that depends only on the load and the selection records its page calls
    (``view.call(ui.chart_with_table, fig, data, ...)``, ``view.call(st.info, text)``) instead of
    making them, and is cached per (load, selection) with ``st.cache_resource``; the page then calls
    ``view.show()``. Figures, tables and sentences are built once; a rerun that changes another
    selector only sends them to the page again. Builders must not use widgets, and callers never
    change what a view holds."""

    def __init__(self):
        self.ops: list[tuple[Callable, tuple, dict]] = []
        self.extra: dict = {}

    def call(self, fn: Callable, *args, **kwargs) -> None:
        self.ops.append((fn, args, kwargs))

    def show(self) -> None:
        for fn, args, kwargs in self.ops:
            fn(*args, **kwargs)


def sig_text(value) -> str:
    return SIG_TEXT.get(str(value), "–")


def not_loaded(measure: Measure) -> str | None:
    """'not loaded: needs <dataset>' when no figure of the measure is in the load (its data, or
    its denominator's, is not loaded), else None: a missing figure is then suppressed or absent."""
    if measure.id in measures_with_data():
        return None
    from send_metrics import contract
    ds = measure.denominator_dataset or measure.dataset
    title = contract.DATASETS[ds].title if ds in contract.DATASETS else ds
    return f"not loaded: needs {title}"


def missing_text(measure: Measure, suppressed: bool = False) -> str:
    """Why a figure is not shown: suppressed (small numbers), not loaded, or not available."""
    if suppressed:
        return "suppressed (small numbers)"
    return not_loaded(measure) or "not available"


def fmt(measure: Measure, value, suppressed: bool = False) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return missing_text(measure, suppressed) if suppressed or not_loaded(measure) else \
            "suppressed or not available"
    return measure.format_value(float(value))


def lower_first(text: str) -> str:
    """Lower-case a title's first letter to use it mid-sentence, but not an acronym's ('EHC plans')."""
    text = str(text)
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def md(text) -> str:
    """Untrusted text (area, measure, service and file names, notes, reasons) for any element that
    renders Markdown (markdown, header, info, caption, labels): shown literally, never as a link,
    image, tag or directive (send_metrics.present.safe_text.for_markdown)."""
    return for_markdown(text)


escape = md  # the older name: every caller puts the text into Markdown


def area_md(code: str) -> str:
    """An area's name for a Markdown element."""
    return md(area_name(code))


__all__ = ["load_catalogue", "measures_by_id"]
