"""Definitions: the measure catalogue (send_metrics/catalogue.toml) rendered for readers, one entry
per measure with its definition, numerator, denominator, unit, polarity, interval method,
disclosure rule, source and caveats; filterable by group and downloadable as CSV; then how each
statistic is computed (send_metrics/present/methods.py, the same text as the README and the board pack)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import ui
from send_metrics import contract
from send_metrics.catalogue import POLARITY_TEXT, Measure, load_catalogue
from send_metrics.present.methods import METHODS

ALL_GROUPS = "All groups"

CI_TEXT = {
    "wilson": "Wilson score interval (proportions)",
    "byar": ("Exact Poisson interval (chi-square) below 10 events; Byar's approximation at 10 events or more "
             "(counts and rates)"),
    "newcombe": "Newcombe's hybrid score interval (difference of two proportions)",
    "t": ("Student's t interval from the standard deviation of the pupils' scores (means), when the extract "
          "holds it; none otherwise"),
    "none": "No interval",
}
KIND_TEXT = {"proportion": "Proportion", "rate": "Rate", "count": "Count", "mean": "Mean",
             "growth": "Growth", "median_wait": "Median wait (from wait bands)", "gap": "Gap between two groups"}


def disclosure_text(m: Measure, low: int, high: int) -> str:
    if m.disclosure == "numerator":
        return (f"Numerator counts from {low} to {high} are suppressed, with the value and interval built on "
                "them, and further areas are suppressed so they cannot be worked out from totals, nor from "
                "any combination of pages (a count withheld on one page is withheld on every page).")
    if m.disclosure == "denominator":
        return (f"Suppressed when the denominator (a cohort of children) is from {low} to {high}, with the "
                "value built on it; further areas are suppressed so it cannot be worked out from totals.")
    return "No suppression: the figure is not a count of children."


def dataset_title(name: str) -> str:
    ds = contract.DATASETS.get(name)
    return ds.title if ds else name


def numerator_text(m: Measure) -> str:
    text = f"{m.numerator.replace('_', ' ')} ({dataset_title(m.dataset)})"
    if m.numerator_filter:
        text += f", where {m.numerator_filter}"
    return text


def denominator_text(m: Measure) -> str:
    if m.kind == "gap":
        return "Difference between: " + ", ".join(m.gap_of)
    if not m.denominator:
        return "None (a count)"
    text = f"{m.denominator.replace('_', ' ')} ({dataset_title(m.denominator_dataset or m.dataset)})"
    if m.denominator_filter:
        text += f", where {m.denominator_filter}"
    return text


def catalogue_table(low: int, high: int) -> pd.DataFrame:
    """The catalogue as one row per measure (for the table and the CSV)."""
    return pd.DataFrame([{
        "id": m.id, "group": m.group, "title": m.title, "definition": m.definition,
        "numerator": numerator_text(m), "denominator": denominator_text(m),
        "kind": KIND_TEXT.get(m.kind, m.kind), "unit": m.unit, "polarity": POLARITY_TEXT.get(m.polarity, m.polarity),
        "interval method": CI_TEXT.get(m.ci_method, m.ci_method), "disclosure rule": disclosure_text(m, low, high),
        "target": m.target, "footprint": m.footprint, "source": m.source, "caveats": m.caveats,
    } for m in load_catalogue()])


def definition_markdown(m) -> str:
    """One measure's definition as a heading and a list of its fields (a row of catalogue_table)."""
    rows = [("Definition", m["definition"]), ("Numerator", m["numerator"]),
            ("Denominator", m["denominator"]), ("Kind and unit", f"{m['kind']}, {m['unit']}"),
            ("Polarity", m["polarity"]), ("Interval", m["interval method"]),
            ("Disclosure rule", m["disclosure rule"]), ("Source", m["source"])]
    if m["caveats"]:
        rows.append(("Caveats", m["caveats"]))
    if pd.notna(m["target"]):
        rows.append(("Target", f"{m['target']:g}"))
    if m["footprint"]:
        rows.append(("Footprint", m["footprint"]))
    rows.append(("Identifier", m["id"]))
    return f"#### {ui.md(m['title'])}\n" + "\n".join(f"- **{k}:** {ui.escape(v)}" for k, v in rows)


def render() -> None:
    ui.page("Definitions", "Every measure on the dashboard: what it counts, how it is calculated, how "
            "uncertain it is, what is suppressed, and where the data comes from.")
    try:
        cfg = ui.database().config
        low, high = cfg.suppress_min, cfg.suppress_max
    except ui.NoData:
        from send_metrics.config import load_config
        cfg = load_config()
        low, high = cfg.suppress_min, cfg.suppress_max
    table = catalogue_table(low, high)
    groups = [ALL_GROUPS, *sorted(g for g in table["group"].unique() if g)]
    if "group" not in st.session_state or st.session_state["group"] not in groups:
        raw = st.query_params.get("group")
        st.session_state["group"] = raw if raw in groups else ALL_GROUPS
    c1, c2 = st.columns([1, 2])
    with c1:
        group = st.selectbox("Group of measures", groups, key="group", bind="query-params")
    with c2:
        search = st.text_input("Search titles and definitions", key="q", placeholder="e.g. autism, 20 weeks")
    shown = table if group == ALL_GROUPS else table[table["group"] == group]
    if search:
        needle = search.strip().lower()
        hay = (shown["title"] + " " + shown["definition"] + " " + shown["id"]).str.lower()
        shown = shown[hay.str.contains(needle, regex=False)]
    st.markdown(f"**{len(shown)}** of {len(table)} measures. Every percentage, rate and average is a sum over a "
                "sum at the level shown (never an average of rates); how each statistic is computed is at the end "
                "of the page.")
    st.download_button("Download these definitions (CSV)", data=ui.safe_csv_bytes(shown),
                       file_name="definitions.csv", mime="text/csv", key="dl_definitions",
                       icon=":material/download:")
    # One section per group of measures (six), not one per measure (153): every element is drawn
    # again by the browser on each rerun, and 153 collapsibles made this the slowest page to open
    # and to filter. A group's definitions are one block of text, drawn when its section is opened.
    groups_shown = list(dict.fromkeys(shown["group"]))
    for g in groups_shown:
        of_group = shown[shown["group"] == g]
        text = "\n\n".join(definition_markdown(m) for _, m in of_group.iterrows())
        n = len(of_group)
        with ui.section(f"{ui.md(g or 'Other')} ({n} measure{'s' if n != 1 else ''})",
                        f"definitions_{g or 'other'}") as is_open:
            if is_open:
                st.markdown(text)
    st.subheader("All shown definitions as a table")
    with ui.section("The table (sortable)", "definitions_table") as is_open:
        if is_open:
            st.dataframe(shown, hide_index=True)
    st.subheader("How the statistics are computed")
    # Long fixed text, drawn when opened (it was a quarter of each rerun's bytes).
    with ui.section("Every method, as computed", "definitions_methods") as is_open:
        if is_open:
            st.markdown("\n".join(f"- **{heading}.** {ui.escape(text)}" for heading, text in METHODS))
    with ui.section("Demand projection: the two models", "definitions_demand") as is_open:
        if is_open:
            from send_metrics.measures.demand_outputs import METHOD
            st.markdown("\n".join(f"- **{k}:** {ui.escape(v)}" for k, v in METHOD))


if __name__ == "__main__":
    ui.guarded(render)
