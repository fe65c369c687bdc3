"""About and accessibility: where the data comes from and when it was loaded, the synthetic-data
notice, the disclosure-control policy, a summary of the statistical methods, and the
accessibility statement (in the style of the DfE dashboard guidance)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import ui
from send_metrics.config import PROJECT_ROOT, load_config

AXE_SUMMARY = PROJECT_ROOT / "docs" / "screenshots" / "axe-summary.json"
STATEMENT_PREPARED = "23 November 2026"
CONTACT = "the SEND data and performance team of the Cumbria partnership (send.data@example.org)"


@st.cache_data(show_spinner=False, max_entries=4, ttl=3600)
def _sources(load_id: str) -> pd.DataFrame:
    return ui.database().query(
        "SELECT dataset, count(*) AS files, sum(rows_loaded) AS rows_loaded, "
        "string_agg(DISTINCT edition, ', ' ORDER BY edition) AS editions, max(loaded_at) AS loaded_at "
        "FROM manifest WHERE dataset IS NOT NULL AND status <> 'rejected' GROUP BY dataset ORDER BY dataset")


@st.cache_data(show_spinner=False, max_entries=4, ttl=3600)
def _publications(load_id: str) -> pd.DataFrame:
    return ui.database().query(
        "SELECT source AS publication, min(year) AS first_year, max(year) AS last_year, "
        "string_agg(DISTINCT edition, ', ' ORDER BY edition) AS editions, count(*) AS figures "
        "FROM benchmarks GROUP BY source ORDER BY source")


def last_test() -> dict | None:
    """Summary written by tests/pages/test_browser.py (date, pages checked, axe findings), if present."""
    try:
        return json.loads(Path(AXE_SUMMARY).read_text())
    except (OSError, ValueError):
        return None


def render_data() -> None:
    st.header("Data sources and dates")
    try:
        db = ui.database()
        db.refresh()
    except ui.NoData:
        st.info("No data has been loaded yet, so there are no sources to list.")
        return
    info = db.load_info
    st.markdown(f"The figures come from load **{ui.escape(db.load_id)}**, finished "
                f"{ui.escape(info.get('loaded_at', 'at an unknown time'))}. A load reads every extract in "
                "the data folder, checks it against the data contract and keeps the latest edition of each "
                "figure (earlier editions stay queryable).")
    if db.is_demo:
        st.subheader("Synthetic demonstration data")
        st.markdown("**This is synthetic demonstration data.** The local files (EHC plans, assessments, school "
                   "census, waiting lists, outcomes, population for the Cumbria localities) are made up; they "
                    "reproduce a few published council totals so the dashboard looks realistic. The published "
                   "benchmarks (England, regions, other councils, statistical neighbours) are real. Do not use "
                    "these figures for decisions.")
    sources = _sources(db.load_id)
    sources["editions"] = sources["editions"].fillna("not stated")
    st.subheader("Datasets in this load")
    st.markdown("Each dataset, how many files and rows it came from, the editions kept and when it was loaded.")
    st.dataframe(sources, hide_index=True)
    pubs = _publications(db.load_id)
    pubs["editions"] = pubs["editions"].fillna("not stated")
    if len(pubs):
        st.subheader("Published benchmarks")
        st.markdown("Published figures used to compare Cumbria with England, the North West and statistical "
                    "neighbours.")
        st.dataframe(pubs, hide_index=True)
    both = pd.concat([sources.assign(kind="dataset"), pubs.assign(kind="publication")], ignore_index=True)
    st.download_button("Download the list of sources (CSV)", data=ui.safe_csv_bytes(both),
                       file_name="data-sources.csv", mime="text/csv", key="dl_sources", icon=":material/download:")
    st.markdown("Geography: ONS codes for councils, former districts, sub-ICB locations and ICBs; the seven "
                "dashboard localities (e.g. Millom) are built from LSOAs. Source: Office for National "
                "Statistics licensed under the Open Government Licence v.3.0. Contains OS data © Crown "
                "copyright and database right.")


def render_policy(low: int, high: int) -> None:
    st.header("Disclosure control")
    st.markdown(f"""
Some figures are about very few children, for example in Millom. To make sure no child can be
identified:

- **Small counts are suppressed.** Any count of children from **{low} to {high}** is not shown
  (set by `SEND_SUPPRESS_MIN` and `SEND_SUPPRESS_MAX`; linked health data can use a higher
  threshold). Zero is shown.
- **Rates built on them are suppressed too:** a percentage, rate or interval whose numerator
  (or, for cohort measures, denominator) is suppressed is not shown.
- **The rest of the group, below council level.** For a locality, a former district, a health
  footprint or the rest of a council, a percentage is not shown when the rest of its group is
  a small count (64 of 68 plans issued on time would show that 4 were late), nor when it is
  none or all of a group of {high + 1}-{2 * (high + 1)} children (a fact about every child in it).
  Council figures are not subject to this rule (their publisher shows them), and are used as
  complements only when nothing else can protect a small count (never those the publisher shows in
  full, below).
- **The publisher's own figures are known to everyone.** DfE's EHC plan statistics show every
  council's caseload, assessments and ceased plans unsuppressed, by need, age and setting. For
  those tables, every council figure DfE publishes (Cumbria's to January 2023, Cumberland's and
  Westmorland and Furness's since) is taken as known to anyone: it is never withheld to protect
  another cell, and the cells below council level must stay safe with it in hand. A category no
  child in a locality falls in is shown as 0 (so it can be withheld like any other cell), because
  a missing row would itself say 0. Where a council's published figure is itself small (1 child),
  each of its localities is known to hold 0 or 1: that is the publisher's statement, and the
  locality's own count stays withheld.
- **Secondary suppression.** Localities add up to councils, to the North and South Cumbria
  health footprints and to Cumbria, so a suppressed locality could be worked out by
  subtraction. Further cells are therefore suppressed until no suppressed value can be
  recovered from the totals shown, checked by linear algebra across the overlapping
  geographies. In the data explorer the totals over each breakdown are taken into account as
  well.
- **One protected version across pages.** The measure table, the Needs page, the Waiting bands
  and the data explorer at every breakdown show the same counts in different cuts. For the
  localities and every area built from them, everything these pages publish of one table is
  checked together: a count withheld on one page is withheld on every page that shows it, and
  further cells are withheld until no small count can be worked out from any combination of
  pages, nor narrowed to two neighbouring values by also using that no count is below zero or
  above the group it is part of (cells a board reads in the measure table are never the ones
  chosen).
- **Everywhere.** Control is applied before anything reaches a page, a chart, a table or a
  download. Suppressed values appear as blanks or gaps (and as `c` in CSV files), never as zero.
- Published figures (DfE, NHS England, ONS) are shown as published; their own suppression
  symbols are kept.
""")


def render_methods() -> None:
    st.header("Methods")
    st.markdown("""
- **Values** are always a sum over a sum at the level shown (never an average of rates).
- **Confidence intervals (95%, and 99.8% for comparisons):** Wilson score interval for
  proportions; Byar's method (exact Poisson below 10 events) for counts and rates; Newcombe's
  hybrid score method for the difference between two proportions (the North–South gap).
- **Benchmarking:** as OHID Fingertips — an area is *better* or *worse* than England (or its
  statistical neighbours) only when its interval lies wholly on one side of the benchmark;
  otherwise *similar*. Shown with a symbol and words, not colour alone.
- **Recent trend:** as Fingertips, over the last five points of an unbroken annual series: for
  proportions the chi-square test for trend (Cochran-Armitage) on the counts, with the direction
  from a least-squares fit; for rates an inverse-variance weighted trend. Reported as increasing or
  decreasing only when significant (chi-square, p < 0.002) and every leave-one-out fit agrees on
  its direction. Counts and monthly series are not tested.
- **Statistical process control:** NHS England *Making Data Count* XmR charts (as
  NHSRplotthedots): special-cause variation flagged by points outside the limits, runs of seven,
  two of three near a limit, and trends; assurance against a target from the process limits.
- **Funnel plots:** each council against England at 95% and 99.8% limits: Wilson-based limits
  for percentages (as PHE and Fingertips; the exact binomial limits of Spiegelhalter remain an
  option in the code), exact Poisson for rates. When councils vary more than chance allows the
  limits are widened by the multiplicative over-dispersion model, and the chart says so and gives
  the additive (DerSimonian-Laird random-effects) result beside it.
- **Counts** (plans, requests, children waiting) are never compared with England, the region or
  neighbours: areas differ in size, so compare the rate. Neighbours are pooled as the sum of
  their numerators over the sum of their denominators, using only neighbours with both, and a
  verdict against neighbours needs at least five of them.
- **Demand projection:** a log-linear trend of EHC plans over the last six years, extended
  five years with 80% and 95% prediction intervals and back-tested on past years; see the
  Needs and demand page.

Each measure's method is listed on the **Definitions** page.
""")


def render_accessibility() -> None:
    st.header("Accessibility statement")
    test = last_test()
    tested = test.get("date") if test else None
    st.markdown(f"""
This statement applies to the SEND needs dashboard of the Cumbria partnership. We want as many
people as possible to be able to use it. For example, you should be able to:

- change colours, contrast levels and fonts using your browser or device settings;
- zoom in up to 400% without the text spilling off the screen;
- navigate most of the dashboard using just a keyboard or speech recognition software;
- listen to most of the dashboard using a screen reader;
- get every figure as a table and as a CSV download.

### How accessible this dashboard is

We aim to meet the **Web Content Accessibility Guidelines (WCAG) 2.2 at level AA**. We know some
parts are not fully accessible:

- Charts are drawn on a canvas and are not read by screen readers. Every chart has an active
  title, a sentence saying what it shows, a data table one click away and a CSV download with the
  same figures.
- Interactive tables are drawn on a canvas too; screen readers can use their grid, and every
  table can be downloaded as CSV.
- Significance and SPC signals are shown with symbols and words as well as colour (Government
  Analysis Function accessible palette, 3:1 contrast for graphics).
- Some controls (drop-down lists, the file upload box, the page menu) come from the Streamlit
  framework and may not announce every change to a screen reader.
- The map of localities may not be usable without sight; the same figures are in the tables.

### Feedback and reporting problems

If you find a problem, or need the information in a different format (accessible PDF, large
print, a spreadsheet), contact {CONTACT}. We will reply within 5 working days.

### Enforcement procedure

The Equality and Human Rights Commission (EHRC) is responsible for enforcing the Public Sector
Bodies (Websites and Mobile Applications) (No. 2) Accessibility Regulations 2018. If you are not
happy with how we respond to your complaint, contact the Equality Advisory and Support Service
(EASS).

### How we tested this dashboard

Every page is opened in headless Chromium and checked automatically with axe-core against
WCAG 2.0 and 2.1 A and AA rules; the test fails on any serious or critical problem. Keyboard use
and screen readers are checked by hand before each release.
""")
    if test:
        pages = test.get("pages", {})
        rows = [{"page": p, "serious or critical": v.get("serious_critical", 0), "other findings": v.get("other", 0)}
                for p, v in pages.items()]
        st.markdown(f"Last automated test: **{ui.escape(tested)}** ({len(rows)} pages).")
        if rows:
            st.dataframe(pd.DataFrame(rows), hide_index=True)
    st.markdown(f"This statement was prepared on {STATEMENT_PREPARED}"
                f"{'' if not tested else ' and the pages were last tested automatically on ' + ui.escape(tested)}.")


def render() -> None:
    ui.page("About and accessibility", "Where the data comes from, how small numbers are protected, the "
            "methods behind the figures, and how accessible this dashboard is.")
    try:
        cfg = ui.database().config
    except ui.NoData:
        cfg = load_config()
    render_data()
    render_policy(cfg.suppress_min, cfg.suppress_max)
    render_methods()
    render_accessibility()


if __name__ == "__main__":
    ui.guarded(render)
