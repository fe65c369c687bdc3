"""The Data explorer's cached work (pages/explorer.py): the protected table of a dataset and grain
with what its selectors offer, and the finished view of a selection (rows, figure, words, the table
as shown), each built once per load and choice and kept with ``st.cache_resource``.

Why: a selector change used to unpickle a copy of the protected table out of ``st.cache_data``,
add its period labels, filter and sort it, label it, and build and neutralise the figure, on
every rerun (py-spy on the live server: most of the page's own time). These objects are read
only: nothing that receives them changes them (the page passes them to Streamlit, which
serialises them, and to downloads, which copy). Disclosure control is unchanged: every frame
here is ``release.explorer_table``'s (the explorer's own protection plus the release), blanked by
``explore.view_rows``.
No widget or URL value reaches SQL (keys are whitelisted options of the page's selectors).
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from dashboard import ui
from send_metrics import contract
from send_metrics.measures import explore, release
from send_metrics.present import explore_charts


@st.cache_data(show_spinner=False, max_entries=32, ttl=3600)
def _own_table(load_id: str, dataset: str, breakdowns: tuple[str, ...], low: int, high: int) -> pd.DataFrame:
    """explore.protected_table (the explorer's own protection), each grain (and so each coarser
    grain it needs) computed once a load."""
    return explore.protected_table(ui.database(), dataset, breakdowns, low, high, _hierarchies(load_id),
                                   coarser=lambda fewer: _own_table(load_id, dataset, fewer, low, high),
                                   below_council=ui.engine().below_council_areas())


@st.cache_data(show_spinner=False, max_entries=32, ttl=3600)
def protected_table(load_id: str, dataset: str, breakdowns: tuple[str, ...], low: int, high: int) -> pd.DataFrame:
    """A grain as served: its own protection plus what the other outputs of the same table require
    (measures.release: one protected version across outputs)."""
    return release.explorer_table(ui.engine(), dataset, breakdowns, _own_table(load_id, dataset, breakdowns, low, high))


@st.cache_data(show_spinner=False, max_entries=4, ttl=3600)
def _hierarchies(load_id: str) -> list[tuple[str, list[str]]]:
    return ui.engine().hierarchies()


@dataclass(frozen=True)
class Grain:
    """A dataset's protected table at one grain, with its period labels, and what the selectors offer."""
    table: pd.DataFrame
    area_options: list[str]
    default_areas: list[str]
    area_label: dict[str, str]
    periods: list[str]
    filters: dict[str, tuple[list, list]]  # breakdown -> (values, chosen at first)


_BUILT: set[tuple] = set()  # grains built in this process (see ``built``)


def built(*key) -> bool:
    """Whether ``grain(*key)`` was built in this process: the page then shows no spinner, which
    costs a timer thread and a message to the browser on every rerun. After a cache clear or its
    time to live the grain is built again without one; nothing else depends on this."""
    return key in _BUILT


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def grain(load_id: str, dataset: str, breakdowns: tuple[str, ...], low: int, high: int) -> Grain:
    """The protected table (one copy out of the data cache per load and grain) and its options."""
    sp = explore.spec(dataset)
    table = protected_table(load_id, dataset, breakdowns, low, high)
    monthly = contract.DATASETS[dataset].monthly
    if table.empty:
        return Grain(table, [], [], {}, [], {})
    table["period_label"] = [explore.period_label(p, monthly) for p in table[sp.period]]
    options, default, label = explore.area_options(table, ui.area_info().names, ui.areas())
    filters = {b: explore.filter_values(table, b, b in sp.required) for b in breakdowns}
    _BUILT.add((load_id, dataset, breakdowns, low, high))
    return Grain(table, options, default, label, sorted(table["period_label"].unique()), filters)


@dataclass(frozen=True)
class Shown:
    """The finished view of one selection: its rows (codes, for the downloads), the words above it,
    the figure (neutralised) and the table as shown."""
    out: pd.DataFrame
    protection: str
    title: str
    sentence: str
    figure: object
    table: pd.DataFrame
    stem: str


@st.cache_resource(show_spinner=False, max_entries=64, ttl=3600)
def shown(load_id: str, dataset: str, breakdowns: tuple[str, ...], low: int, high: int, areas: tuple[str, ...],
          start: str, end: str, filters: tuple[tuple[str, tuple], ...], indicator: str) -> Shown:
    """explore.view_rows and the chart, sentence and table built on it, for one selection."""
    g = grain(load_id, dataset, breakdowns, low, high)
    sp = explore.spec(dataset)
    out = explore.view_rows(g.table, sp, breakdowns, list(areas), start, end,
                            {b: list(v) for b, v in filters}, g.area_label)
    protection = explore.protection_text(low, high, out)
    if out.empty:
        return Shown(out, protection, "", "", None, out, "")
    ind_label = explore.indicator_label(dataset, indicator)
    data, note = explore.chart_series(out, indicator, breakdowns)
    fig = ui.safe_figure(explore_charts.view_chart(data, indicator, ind_label,
                                                   contract.DATASETS[dataset].monthly))
    sentence = explore.chart_sentence(data, ind_label, ui.lower_first(ind_label), breakdowns, start, end, note)
    return Shown(out, protection, explore.chart_title(ind_label, breakdowns, start, end), sentence, fig,
                 explore.labelled(out, breakdowns), explore.download_stem(dataset, breakdowns, start, end))
