"""Equity: North vs South Cumbria and the seven localities, side by side for every measure.

Gaps and ratios with intervals and verdicts come from send_metrics.measures.equity over the measure
engine's disclosure-controlled table; waiting times by EHCP status come from raw counts that
send_metrics.measures.equity.protect_table suppresses before anything is shown."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import nhs_compare, ui
from send_metrics.present import charts, maps
from send_metrics import contract
from send_metrics.measures import equity
from send_metrics.stats import comparisons
from send_metrics.catalogue import load_catalogue, measures_by_id

ATTRIBUTION = ("Source: Office for National Statistics licensed under the Open Government Licence v3.0. "
               "Contains OS data © Crown copyright and database right 2024.")
SHORT = {"LOC-ALLERDALE": "Allerdale", "LOC-CARLISLE": "Carlisle", "LOC-COPELAND-N": "Copeland (N)",
         "LOC-MILLOM": "Millom area", "LOC-EDEN": "Eden", "LOC-BARROW-FURNESS": "Barrow",
         "LOC-SOUTH-LAKELAND": "South Lakeland"}
FOOTPRINT_OF = {"LOC-ALLERDALE": "North Cumbria", "LOC-CARLISLE": "North Cumbria",
                "LOC-COPELAND-N": "North Cumbria", "LOC-EDEN": "North Cumbria",
                "LOC-MILLOM": "South Cumbria", "LOC-BARROW-FURNESS": "South Cumbria",
                "LOC-SOUTH-LAKELAND": "South Cumbria"}
STATUS_LABEL = {"ehc_plan": "with an EHC plan", "no_ehc_plan": "no EHC plan", "ALL": "all children",
                "all": "status not recorded"}
ALL_GROUPS = "All groups"


def _num(v) -> str:
    return "" if pd.isna(v) else f"{v:,.2f}"


def coverage_notes() -> None:
    st.markdown(
        "**Which footprint each figure covers.** *North Cumbria* is Allerdale, Carlisle, Copeland "
        "without the Millom area, and Eden (exactly NHS sub-ICB 01H). *South Cumbria* is "
        "Barrow-in-Furness, South Lakeland and the Millom area. Every North and South figure on this "
        "page is built by adding up the localities' counts from local extracts. Council-level DfE "
        "data (the published benchmarks) **cannot split Millom** from Cumberland, nor Eden from "
        "Westmorland and Furness, so it is never used for a footprint. NHS figures published for "
        "**sub-ICB 01K include Lancaster** district and three Craven LSOAs: they are not South "
        "Cumbria and are not used here.")
    with ui.section("What each area really covers", "equity_coverage") as is_open:
        if is_open:
            st.table(_coverage_table(ui.database().load_id))


@st.cache_resource(show_spinner=False, max_entries=4)
def _coverage_table(load_id: str) -> pd.DataFrame:
    """What each area covers (once per load; shared, only read)."""
    a = ui.areas()
    codes = [*equity_codes(), "E06000063", "E06000064", "E38000215", "E38000228"]
    notes = a[a["area_code"].isin(codes)].copy()
    notes["_o"] = notes["area_code"].map({c: i for i, c in enumerate(codes)})
    notes = notes.sort_values("_o")[["area_name", "area_level", "coverage_note"]]
    return notes.rename(columns={"area_name": "Area", "area_level": "Level", "coverage_note": "Coverage"}).fillna("")


def equity_codes() -> list[str]:
    return [*ui.FOOTPRINTS, *ui.LOCALITIES]


# The per-year tables below are shared between sessions (st.cache_resource): callers only read
# them (filter, assign into new frames), never change them in place.
@st.cache_resource(show_spinner=False, max_entries=16, ttl=3600)
def _rows(load_id: str, year: str) -> pd.DataFrame:
    by_id = measures_by_id()
    codes = [*equity_codes(), *sorted({p for p, _ in _hierarchies(load_id)})]
    return equity.rows_for_year(ui.table_index().year_rows(year, codes), year, by_id)


# The columns equity.compare_pair and equity.rest_rows read: a narrower table makes their
# row-by-row lookups much cheaper and gives the same result.
COMPARE_INPUT = ["measure_id", "area_code", "period", "period_label", "value", "lower_95", "upper_95",
                 "numerator", "denominator", "suppressed"]


@st.cache_resource(show_spinner=False, max_entries=16, ttl=3600)
def _footprint_comparison(load_id: str, year: str) -> pd.DataFrame:
    rows = _rows(load_id, year)
    pair = rows.loc[rows["area_code"].isin([equity.NORTH, equity.SOUTH]), COMPARE_INPUT]
    return equity.compare_pair(pair, equity.NORTH, equity.SOUTH, measures_by_id(), "North", "South")


def footprint_section(year: str) -> None:
    comp = _footprint_comparison(ui.database().load_id, year)
    if comp.empty:
        st.info("No measure has figures for both North and South Cumbria in this year. Choose another year.")
        return
    groups = [g for g in dict.fromkeys(comp["group"]) if g]
    options = [ALL_GROUPS, *groups]
    if "group" not in st.session_state or st.session_state["group"] not in options:
        raw = st.query_params.get("group")
        st.session_state["group"] = raw if raw in options else ALL_GROUPS
    group = st.selectbox("Measure group", options, key="group", bind="query-params")
    _footprint_view(ui.database().load_id, year, group).show()


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _footprint_view(load_id: str, year: str, group: str) -> ui.View:
    """The North vs South chart, table and sentence for a year and measure group (see ui.View)."""
    view = ui.View()
    comp = _footprint_comparison(load_id, year)
    shown = comp if group == ALL_GROUPS else comp[comp["group"] == group]
    tested = shown[shown["verdict"].isin(["a_higher", "a_lower", "no_difference"])]
    n_sig = int(tested["verdict"].isin(["a_higher", "a_lower"]).sum())
    title = charts.fit_title(f"{n_sig} of {len(tested)} tested measures differ, North vs South",
                             "How North and South Cumbria compare")
    fig = charts.ratio_forest(tested, x_title="Ratio North ÷ South (1 = no difference)",
                              names={"a_higher": "▲ North significantly higher",
                                     "a_lower": "▼ North significantly lower",
                                     "no_difference": "● No significant difference"})
    data = shown.assign(**{c: shown[c].round(2) for c in ["value_a", "lower_a", "upper_a", "value_b", "lower_b",
                                                            "upper_b", "gap", "gap_lower", "gap_upper",
                                                            "ratio", "ratio_lower", "ratio_upper"]})
    sentence = equity.comparison_sentence(shown, "North Cumbria", "South Cumbria")
    sentence += (" Each row's symbol and words give the verdict: ▲ North significantly higher, ▼ North "
                 "significantly lower, ● no significant difference (95% intervals). Counts, medians "
                 "and averages without the pupils' standard deviation have no interval and are in the table only.")
    view.call(
        ui.chart_with_table, fig, data, title=title, sentence=sentence, key=f"equity_footprints_{year}",
        slot="equity_footprints",
        source="Local extracts summed from localities (measure engine); intervals: Newcombe (difference of "
               "proportions), MOVER (difference of rates, and of averages on their Student's t intervals) and MOVER-R "
               "(ratios) on the same intervals, so the "
               "verdict agrees with both.",
        table_columns={"measure_title": "Measure", "period_label": "Period", "value_a": "North",
                       "lower_a": "North 95% lower", "upper_a": "North 95% upper", "value_b": "South",
                       "lower_b": "South 95% lower", "upper_b": "South 95% upper", "gap": "Gap (North − South)",
                       "gap_lower": "Gap 95% lower", "gap_upper": "Gap 95% upper", "gap_unit": "Gap unit",
                       "ratio": "Ratio (North ÷ South)", "ratio_lower": "Ratio 95% lower",
                       "ratio_upper": "Ratio 95% upper", "verdict_text": "Verdict", "method": "Method"})
    return view


def _locality_frame(rows: pd.DataFrame, m) -> pd.DataFrame:
    loc = rows[(rows["measure_id"] == m.id) & rows["area_code"].isin(ui.LOCALITIES)].copy()
    loc["label"] = [f"{SHORT.get(c, n)} ({FOOTPRINT_OF.get(c, '')[:5]})"
                    for c, n in zip(loc["area_code"], loc["area_name"])]
    loc["footprint"] = loc["area_code"].map(FOOTPRINT_OF)
    return loc


def locality_section(year: str, rows: pd.DataFrame, m, locality: str) -> None:
    load_id = ui.database().load_id
    view = _locality_view(load_id, year, m.id, locality)
    view.show()
    if view.extra.get("map"):
        _map_view(load_id, year, m.id).show()


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _locality_view(load_id: str, year: str, measure_id: str, locality: str) -> ui.View:
    """The seven localities ranked, for a year, measure and focus locality (see ui.View)."""
    view = ui.View()
    m = measures_by_id()[measure_id]
    rows = _rows(load_id, year)
    loc = _locality_frame(rows, m)
    if loc.empty:
        view.call(st.info, f"{m.title} has no locality figures for {year}. Choose another measure or year.")
        return view
    shown = loc.dropna(subset=["value"])
    focus = loc[loc["area_code"] == locality]
    focus_label = focus["label"].iloc[0] if len(focus) else None
    has_focus = len(focus) and pd.notna(focus["value"].iloc[0])
    england = float(loc["england_value"].dropna().iloc[0]) if loc["england_value"].notna().any() else None
    fig = charts.ranked_bars(loc, label="label", highlight=focus_label if has_focus else None, x_title=m.unit,
                             benchmark=england, sig="sig_england_95")
    fp = rows[(rows["measure_id"] == m.id) & rows["area_code"].isin(ui.FOOTPRINTS)].set_index("area_code")["value"]
    charts.add_reference_line(fig, fp.get(equity.NORTH), "North", dash="dot", colour="#12436D", position="top right")
    charts.add_reference_line(fig, fp.get(equity.SOUTH), "South", dash="dashdot", colour="#1D7A73",
                              position="bottom right")
    name = ui.area_name(locality)
    if len(focus) and pd.notna(focus["value"].iloc[0]):
        rank = int((shown["value"] > focus["value"].iloc[0]).sum()) + 1
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(rank if rank < 20 else rank % 10, "th")
        title = charts.fit_title(f"{name}: {rank}{suffix} highest of {len(shown)} localities "
                                 f"({m.format_value(focus['value'].iloc[0])})",
                                 f"{name}: {rank}{suffix} highest of {len(shown)} localities")
    else:
        title = charts.fit_title(f"Seven localities compared, {year}", "Localities compared")
    parts = []
    if len(shown) >= 2:
        top, bottom = shown.loc[shown["value"].idxmax()], shown.loc[shown["value"].idxmin()]
        parts.append(f"Across the localities {ui.lower_first(m.title)} ranges from "
                     f"{m.format_value(bottom['value'])} in {bottom['area_name']} to "
                     f"{m.format_value(top['value'])} in {top['area_name']} ({top['period_label']}).")
    if len(focus) and pd.notna(focus["value"].iloc[0]):
        f = focus.iloc[0]
        sig = str(f["sig_england_95"])
        ci = (f" (95% CI {m.format_value(f['lower_95'])} to {m.format_value(f['upper_95'])})"
              if pd.notna(f["lower_95"]) else "")
        vs = {"better": "▲ significantly better than England", "worse": "▼ significantly worse than England",
              "higher": "▲ significantly higher than England", "lower": "▼ significantly lower than England",
              "similar": "● similar to England"}.get(sig, "not compared with England (no England figure)")
        parts.append(f"{name}: {m.format_value(f['value'])}{ci}, {vs}")
    if fp.notna().any():
        parts.append(f"North Cumbria {m.format_value(fp.get(equity.NORTH))}, South Cumbria "
                     f"{m.format_value(fp.get(equity.SOUTH))} (dotted lines).")
    n_sup = int(loc["value"].isna().sum())
    if n_sup:
        parts.append(f"{n_sup} locality figures are suppressed (small numbers) and not drawn.")
    data = loc.assign(value=loc["value"].round(2), lower_95=loc["lower_95"].round(2),
                      upper_95=loc["upper_95"].round(2), sig=loc["sig_england_95"].map(ui.sig_text),
                      note=loc["suppression_reason"].fillna(""))
    view.call(ui.chart_with_table, fig, data, title=title, sentence=" ".join(p.rstrip(".") + "." for p in parts),
                        key=f"equity_localities_{m.id}", slot="equity_localities", source=m.source,
                        table_columns={"area_name": "Locality", "footprint": "Health footprint",
                                       "period_label": "Period", "value": f"Value ({m.unit})",
                                       "lower_95": "95% lower", "upper_95": "95% upper", "sig": "vs England",
                                       "coverage_note": "Covers", "note": "Note"})
    view.extra["map"] = True
    return view


@st.cache_resource(show_spinner=False, max_entries=2, ttl=3600)
def _geojson(path: str, mtime: float) -> dict | None:
    """The boundaries, shared between sessions (maps.locality_map only reads them)."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _map_view(load_id: str, year: str, measure_id: str) -> ui.View:
    """The locality map for a year and measure (see ui.View)."""
    view = ui.View()
    m = measures_by_id()[measure_id]
    map_section(view, _locality_frame(_rows(load_id, year), m), m, year)
    return view


def map_scale(m, values: pd.Series) -> tuple[float, float]:
    """The map's colour scale, anchored so that differences that are not significant do not look
    dramatic: 0 to 100 for a percentage, else from 0 to a little above the highest value."""
    if m.unit == "%":
        return 0.0, 100.0
    v = pd.to_numeric(values, errors="coerce").dropna()
    top = float(v.max()) if len(v) else 1.0
    return min(0.0, float(v.min()) if len(v) else 0.0), (top * 1.1 if top > 0 else 1.0)


def map_section(view: ui.View, loc: pd.DataFrame, m, year: str) -> None:
    path = Path(ui.database().config.geo_dir) / "cumbria_localities.geojson"
    geo = _geojson(str(path), path.stat().st_mtime) if path.exists() else None
    d = loc.copy()
    sup = d["suppressed"].astype(bool) if "suppressed" in d else pd.Series(False, index=d.index)
    d["value_text"] = [m.format_value(v) if pd.notna(v) else ui.missing_text(m, bool(s)).split(" (")[0]
                       for v, s in zip(d["value"], sup)]
    d["label"] = [f"{SHORT.get(c, c)}<br>{t}" for c, t in zip(d["area_code"], d["value_text"])]
    shown = d.dropna(subset=["value"])
    if len(shown) >= 2:
        top, bottom = shown.loc[shown["value"].idxmax()], shown.loc[shown["value"].idxmin()]
        title = charts.fit_title(f"Highest in {SHORT.get(top['area_code'])}, lowest in "
                                 f"{SHORT.get(bottom['area_code'])}", "Where values are highest and lowest")
    else:
        title = "Locality values on the map"
    if geo:
        fig = maps.locality_map(geo, d, value="value", label="label", colour_title=m.unit,
                                  callouts={"LOC-MILLOM": (-90, 10), "LOC-BARROW-FURNESS": (-70, 25)},
                                  scale=map_scale(m, d["value"]))
        kind = "Map"
    else:
        fig = maps.locality_schematic(d.sort_values("area_code"), name="area_name")
        kind = "Schematic (boundary file not found, so not to scale)"
    lo, hi = map_scale(m, d["value"])
    sentence = (f"{kind} of the seven localities, each shaded by {ui.lower_first(m.title)} in "
                f"{year} and labelled with its value (darker = higher, on a scale from {m.format_value(lo)} to "
                f"{m.format_value(hi)}, so small differences look small); light grey means suppressed.")
    view.call(ui.chart_with_table, fig, d, title=title, sentence=sentence, key=f"equity_map_{m.id}",
              slot="equity_map",
                        source=m.source,
                        table_columns={"area_name": "Locality", "footprint": "Health footprint",
                                       "value_text": f"Value ({m.unit})"})
    view.call(st.caption, f"Boundaries: {ATTRIBUTION}")  # the licence line, once (a trusted constant)


@st.cache_resource(show_spinner=False, max_entries=4, ttl=3600)
def _hierarchies(load_id: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((parent, tuple(leaves)) for parent, leaves in ui.engine().hierarchies())


def council_of(locality: str) -> str | None:
    levels = ui.area_info().levels
    for parent, leaves in _hierarchies(ui.database().load_id):
        if levels.get(parent) == "council" and locality in leaves:
            return parent
    return None


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _rest_comparison(load_id: str, year: str, locality: str, council: str, loc_name: str,
                     rest_name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    by_id = measures_by_id()
    cfg = ui.database().config
    rows = _rows(load_id, year)
    rows = rows.loc[rows["area_code"].isin([locality, council]), COMPARE_INPUT]
    rest = equity.rest_rows(rows, locality, council, by_id, cfg.suppress_min, cfg.suppress_max)
    pair = pd.concat([rows[rows["area_code"] == locality], rest], ignore_index=True)
    return rest, equity.compare_pair(pair, locality, "REST", by_id, loc_name, rest_name)


def rest_section(year: str, rows: pd.DataFrame, m, locality: str) -> None:
    _rest_view(ui.database().load_id, year, m.id, locality).show()


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _rest_view(load_id: str, year: str, measure_id: str, locality: str) -> ui.View:
    """A locality against the rest of its council, for a year and measure (see ui.View)."""
    view = ui.View()
    m = measures_by_id()[measure_id]
    rows = _rows(load_id, year)
    council = council_of(locality)
    if council is None:
        view.call(st.info, "This locality's council is not in the loaded geography.")
        return view
    loc_name, council_name = ui.area_name(locality), ui.area_name(council)
    rest_name = f"Rest of {council_name}"
    rest, comp = _rest_comparison(load_id, year, locality, council, loc_name, rest_name)
    one = comp[comp["measure_id"] == m.id]
    if m.kind not in ("count", "proportion", "rate", "mean"):
        view.call(st.info, ui.md(f"{m.title} is a {m.kind.replace('_', ' ')}, which cannot be split by subtracting "
                                 f"{loc_name} from {council_name}. Choose a percentage, rate or count to compare "
                                 f"{loc_name} with the rest of its council; every additive measure is in the table "
                                 "below."))
        all_measures_table(view, comp, locality, loc_name, rest_name, year)
        return view
    if one.empty:
        view.call(st.info, ui.md(f"{m.title} cannot be compared between {loc_name} and the rest of {council_name} "
                                 f"for {year}."))
        return view
    c = one.iloc[0]
    r = rest[rest["measure_id"] == m.id]
    council_row = rows[(rows["area_code"] == council) & (rows["measure_id"] == m.id)]
    bars = pd.DataFrame([
        {"label": loc_name, "value": c["value_a"], "lower_95": c["lower_a"], "upper_95": c["upper_a"]},
        {"label": rest_name, "value": r["value"].iloc[0] if len(r) else np.nan,
         "lower_95": r["lower_95"].iloc[0] if len(r) else np.nan,
         "upper_95": r["upper_95"].iloc[0] if len(r) else np.nan},
        {"label": f"{council_name} (whole council)",
         "value": council_row["value"].iloc[0] if len(council_row) else np.nan,
         "lower_95": council_row["lower_95"].iloc[0] if len(council_row) else np.nan,
         "upper_95": council_row["upper_95"].iloc[0] if len(council_row) else np.nan}])
    fig = charts.ranked_bars(bars, label="label", highlight=loc_name, x_title=m.unit)
    verdict = {"a_higher": "significantly higher than", "a_lower": "significantly lower than",
               "no_difference": "no different from"}.get(c["verdict"])
    if verdict:
        title = charts.fit_title(f"{loc_name} {verdict} the rest of {council_name}",
                                 f"{loc_name} {verdict} rest of council")
    else:
        title = charts.fit_title(f"{loc_name} against the rest of {council_name}", "Locality against rest of council")
    if c["verdict"] == "suppressed" or (len(r) and bool(r["suppressed"].iloc[0])):
        sentence = (f"The comparison is not shown: {loc_name} or the rest of {council_name} rests on a "
                    "suppressed small number.")
    elif np.isfinite(c["gap"]) and np.isfinite(c["gap_lower"]):
        sentence = (f"{loc_name}: {m.format_value(c['value_a'])}; rest of {council_name} (the council without "
                    f"{loc_name}): {m.format_value(c['value_b'])}. Gap {c['gap']:+.1f} {c['gap_unit']} "
                    f"(95% CI {c['gap_lower']:+.1f} to {c['gap_upper']:+.1f}): {c['verdict_text']}.")
    elif np.isfinite(c["gap"]):
        sentence = (f"{loc_name}: {m.format_value(c['value_a'])}; rest of {council_name}: "
                    f"{m.format_value(c['value_b'])} ({c['method']}).")
    else:
        sentence = f"No comparison is available for {m.title} ({c['method'] or 'not additive'})."
    sentence += (f" The rest is the council's numerator and denominator minus {loc_name}'s, computed only "
                 "when neither is suppressed.")
    if bars["value"].iloc[:2].isna().any():
        view.call(st.info, ui.md(sentence))
        all_measures_table(view, comp, locality, loc_name, rest_name, year)
        return view
    view.call(ui.chart_with_table, fig, bars.assign(**{k: bars[k].round(2) for k in ("value", "lower_95", "upper_95")}),
              title=title, sentence=sentence, key=f"equity_rest_{m.id}", slot="equity_rest", source=m.source,
              table_columns={"label": "Area", "value": f"Value ({m.unit})", "lower_95": "95% lower",
                             "upper_95": "95% upper"})
    all_measures_table(view, comp, locality, loc_name, rest_name, year)
    return view


def all_measures_table(view: ui.View, comp: pd.DataFrame, locality: str, loc_name: str, rest_name: str,
                       year: str) -> None:
    table = comp[["measure_title", "period_label", "value_a", "value_b", "gap", "gap_lower", "gap_upper",
                  "ratio", "ratio_lower", "ratio_upper", "verdict_text"]].rename(columns={
                      "measure_title": "Measure", "period_label": "Period", "value_a": loc_name,
                      "value_b": rest_name, "gap": "Gap", "gap_lower": "Gap 95% lower",
                      "gap_upper": "Gap 95% upper", "ratio": "Ratio", "ratio_lower": "Ratio 95% lower",
                      "ratio_upper": "Ratio 95% upper", "verdict_text": "Verdict"}).round(2)
    view.call(_all_measures_expander, table, locality, loc_name, rest_name, year)


def _all_measures_expander(table: pd.DataFrame, locality: str, loc_name: str, rest_name: str, year: str) -> None:
    with ui.section(ui.md(f"Every measure: {loc_name} against the {ui.lower_first(rest_name)}"),
                    "equity_rest_all") as is_open:
        if not is_open:
            return
        st.dataframe(table, hide_index=True)
        st.download_button("Download CSV", data=lambda: ui.safe_csv_bytes(table),
                           file_name=f"rest-{locality}-{year}.csv", mime="text/csv", key="dl_equity_rest_all",
                           icon=":material/download:")


@st.cache_data(show_spinner=False, max_entries=16, ttl=3600)
def _activity(load_id: str, first: str, last: str) -> pd.DataFrame:
    db = ui.database()
    raw = db.query_file("equity_activity", {"areas": list(ui.FOOTPRINTS), "first": first, "last": last})
    if raw.empty:
        return pd.DataFrame()
    raw = raw[raw["ehcp_status"].isin(["ehc_plan", "no_ehc_plan"])]
    cfg = db.config
    out = []
    # Twelve-month totals for all children can be added up from the engine's monthly figures.
    shown = raw[["service", "area_code"]].drop_duplicates().assign(ehcp_status="ALL")
    for col in ("seen", "seen_18"):
        prot = equity.protect_table(raw, dims=["ehcp_status"], value_col=col, hierarchies=[],
                                    low=cfg.suppress_min, high=cfg.suppress_max, group_cols=["service"],
                                    published_elsewhere=shown)
        out.append(prot.set_index(["service", "area_code", "ehcp_status"])[[col, "suppressed"]]
                   .rename(columns={"suppressed": f"{col}_suppressed"}))
    t = out[0].join(out[1], how="outer").reset_index()
    t["pct"], t["lower"], t["upper"] = equity.percent_ci(t["seen_18"], t["seen"])
    return t


@st.cache_data(show_spinner=False, max_entries=16, ttl=3600)
def _waits(load_id: str, first: str, last: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The activity by service, status and footprint, and the North - South gaps (kept per load)."""
    t = _activity(load_id, first, last)
    if t.empty:
        return t, pd.DataFrame()
    t = t.copy()
    t["service_label"] = t["service"].map(lambda s: contract.SERVICES.get(s, s))
    t["status_label"] = t["ehcp_status"].map(lambda s: STATUS_LABEL.get(s, s))
    t["footprint"] = t["area_code"].map({equity.NORTH: "North Cumbria", equity.SOUTH: "South Cumbria"})
    t["category"] = t["service_label"] + ": " + t["status_label"]
    order = [f"{contract.SERVICES[s]}: {STATUS_LABEL[status]}" for s in contract.SERVICES
             for status in ("ehc_plan", "no_ehc_plan", "ALL")]
    t["_o"] = t["category"].map({c: i for i, c in enumerate(order)})
    t = t.sort_values(["_o", "footprint"])
    north = t[t["area_code"] == equity.NORTH].set_index("category")
    south = t[t["area_code"] == equity.SOUTH].set_index("category")
    rows = []
    for cat in north.index.intersection(south.index):
        a, b = north.loc[cat], south.loc[cat]
        ok = all(pd.notna(v) for v in (a["seen_18"], a["seen"], b["seen_18"], b["seen"]))
        if ok:
            d, lo, hi = comparisons.proportion_difference_ci(a["seen_18"], a["seen"], b["seen_18"], b["seen"])
            verdict = comparisons.equity_verdict(lo, hi, 0.0)
            text = ("● No significant difference" if verdict != "significant" else
                    ("▲ North significantly higher (better)" if d > 0 else "▼ North significantly lower (worse)"))
            rows.append({"category": cat, "gap": d * 100, "gap_lower": lo * 100, "gap_upper": hi * 100,
                         "verdict": text})
        else:
            rows.append({"category": cat, "gap": np.nan, "gap_lower": np.nan, "gap_upper": np.nan,
                         "verdict": "✕ Not compared: suppressed (small numbers)"})
    gaps = pd.DataFrame(rows, columns=["category", "gap", "gap_lower", "gap_upper", "verdict"])
    return t, gaps


def waits_section(year: str, months: list[str]) -> None:
    _waits_view(ui.database().load_id, year, tuple(months)).show()


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _waits_view(load_id: str, year: str, months: tuple[str, ...]) -> ui.View:
    """Waits by service and EHC plan status, North against South, for a year (see ui.View)."""
    view = ui.View()
    in_year = [p for p in months if p[:4] <= year]
    if not in_year:
        view.call(st.info, "No waiting-time activity is loaded for this year.")
        return view
    last = in_year[-1]
    first = (pd.Timestamp(last) - pd.DateOffset(months=11)).strftime("%Y-%m-%d")
    t, gaps = _waits(load_id, first, last)
    if t.empty:
        view.call(st.info, "No waiting-time activity is loaded for the two footprints.")
        return view
    period_text = f"{pd.Timestamp(first):%b %Y} to {pd.Timestamp(last):%b %Y}"
    chart = t[t["ehcp_status"] != "ALL"]
    fig = charts.grouped_bars(chart, category="category", group="footprint", value="pct", lower="lower",
                              upper="upper", x_title="% seen within 18 weeks",
                              group_order=["North Cumbria", "South Cumbria"])
    split = gaps[~gaps["category"].str.endswith(STATUS_LABEL["ALL"])]
    sig = split[split["verdict"].str.contains("significantly")]  # the groups the title counts, all listed
    n_split = len(sig)
    title = charts.fit_title(f"North and South differ significantly for {n_split} of {len(split)} groups",
                             "Waits by service and EHC plan status")
    parts = [f"Share of children seen for a first appointment within 18 weeks of referral, {period_text} "
             "(12 months pooled), by service and whether the child has an EHC plan."]
    for _, g in sig.iterrows():
        parts.append(f"{g['category']}: North minus South {g['gap']:+.1f} points (95% CI {g['gap_lower']:+.1f} "
                     f"to {g['gap_upper']:+.1f}): {g['verdict'][2:]}.")
    if sig.empty:
        parts.append("No difference between North and South is statistically significant.")
    n_sup = int(chart["pct"].isna().sum())
    if n_sup:
        parts.append(f"{n_sup} bars are suppressed (small numbers) and not drawn.")
    data = t.merge(gaps, on="category", how="left")
    data = data.assign(**{c: data[c].round(1) for c in ("pct", "lower", "upper", "gap", "gap_lower", "gap_upper")})
    view.call(ui.chart_with_table, fig, data, title=title, sentence=" ".join(parts), key=f"equity_waits_{year}",
              slot="equity_waits",
                        source="Provider activity extracts by locality, summed to footprints; disclosure control "
                               "applied to the counts by EHCP status.",
                        table_columns={"service_label": "Service", "status_label": "EHCP status",
                                       "footprint": "Footprint", "seen": "Seen", "seen_18": "Seen within 18 weeks",
                                       "pct": "% within 18 weeks", "lower": "95% lower", "upper": "95% upper",
                                       "gap": "Gap North − South (points)", "gap_lower": "Gap 95% lower",
                                       "gap_upper": "Gap 95% upper", "verdict": "Verdict"})
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
        st.info("No footprint figures (North or South Cumbria built from localities) are loaded: "
                + ("the NHS comparison above uses the providers' and sub-ICBs' own published figures. " if nhs_shown
                   else "") + "Load locality-level extracts for the footprint and locality views.")
        return
    year = ui.select_period(years, label="Year (monthly measures use their latest month in the year)")

    def north_south() -> None:
        st.header("North and South Cumbria, every measure")
        footprint_section(year)

    def waits() -> None:
        st.header("Waiting times by service and EHC plan status")
        waits_section(year, list(months))
    views = {"North and South Cumbria": north_south, "The seven localities": lambda: localities_views(year),
             "Waiting times by EHC plan status": waits}
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
        ids = [x.id for x in measures]
        preferred = next((i for i in ("autism_over_13wk_pct", "wait_median_SLT", "wait_18wk_SLT", "ehcp_rate_0_25")
                          if i in ids), ids[0])
        m = ui.select_measure(measures, default=preferred, label="Measure for the locality views")
    with c2:
        locality = ui.select_area(ui.LOCALITIES, key="locality", label="Locality to focus on", default="LOC-MILLOM")
    locality_section(year, rows, m, locality)
    st.header("A locality against the rest of its council")
    rest_section(year, rows, m, locality)


ui.guarded(render)
