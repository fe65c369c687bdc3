"""The seven Cumbrian localities: what the Equity page shows for them. No Streamlit here.

* :func:`locality_frame` / :func:`locality_summary` - the localities ranked for one measure, with
  the focus locality's place, its comparison with England and the North and South lines.
* :func:`map_frame` / :func:`map_scale` - the map's labels and a colour scale that keeps small
  differences looking small.
* :func:`rest_of_parent` / :func:`rest_rows` / :func:`rest_comparison` / :func:`rest_summary` - a
  locality against the rest of its council (e.g. the Millom area against the rest of Cumberland):
  the council's numerator and denominator minus the locality's, with an interval, computed only when
  neither is suppressed. Only counts, proportions, rates and means are additive; anything else is not
  computed. A derived count in the suppression range is suppressed again.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from send_metrics.catalogue import Measure
from send_metrics.measures import pair_comparison
from send_metrics.measures.footprints import FOOTPRINT_NAME, NORTH, SOUTH
from send_metrics.measures.pair_comparison import COMPARE_INPUT, as_float, rows_by_measure
from send_metrics.stats import disclosure, intervals

SHORT = {"LOC-ALLERDALE": "Allerdale", "LOC-CARLISLE": "Carlisle", "LOC-COPELAND-N": "Copeland (N)",
         "LOC-MILLOM": "Millom area", "LOC-EDEN": "Eden", "LOC-BARROW-FURNESS": "Barrow",
         "LOC-SOUTH-LAKELAND": "South Lakeland"}
FOOTPRINT_OF = {"LOC-ALLERDALE": FOOTPRINT_NAME[NORTH], "LOC-CARLISLE": FOOTPRINT_NAME[NORTH],
                "LOC-COPELAND-N": FOOTPRINT_NAME[NORTH], "LOC-EDEN": FOOTPRINT_NAME[NORTH],
                "LOC-MILLOM": FOOTPRINT_NAME[SOUTH], "LOC-BARROW-FURNESS": FOOTPRINT_NAME[SOUTH],
                "LOC-SOUTH-LAKELAND": FOOTPRINT_NAME[SOUTH]}
ADDITIVE = ("count", "proportion", "rate", "mean")
VS_ENGLAND = {"better": "▲ significantly better than England", "worse": "▼ significantly worse than England",
              "higher": "▲ significantly higher than England", "lower": "▼ significantly lower than England",
              "similar": "● similar to England"}
MAP_CALLOUTS = {"LOC-MILLOM": (-90, 10), "LOC-BARROW-FURNESS": (-70, 25)}
BOUNDARY_ATTRIBUTION = ("Source: Office for National Statistics licensed under the Open Government Licence v3.0. "
                        "Contains OS data © Crown copyright and database right 2024.")


def default_measure(ids: Sequence[str]) -> str:
    """The measure the locality views open on: the first of a few telling ones that has figures."""
    return next((i for i in ("autism_over_13wk_pct", "wait_median_SLT", "wait_18wk_SLT", "ehcp_rate_0_25")
                 if i in ids), ids[0])


def _sentence(parts: Sequence[str]) -> str:
    return " ".join(p.rstrip(".") + "." for p in parts)


# -- the localities ranked ----------------------------------------------------------------------
def locality_frame(rows: pd.DataFrame, m: Measure, localities: Sequence[str]) -> pd.DataFrame:
    """The localities' rows of one measure, labelled with their short name and footprint."""
    loc = rows[(rows["measure_id"] == m.id) & rows["area_code"].isin(localities)].copy()
    loc["label"] = [f"{SHORT.get(c, n)} ({FOOTPRINT_OF.get(c, '')[:5]})"
                    for c, n in zip(loc["area_code"], loc["area_name"])]
    loc["footprint"] = loc["area_code"].map(FOOTPRINT_OF)
    return loc


def locality_summary(rows: pd.DataFrame, m: Measure, localities: Sequence[str], locality: str, name: str,
                     year: str, lower_title: str, sig_text: Callable[[object], str]) -> dict:
    """What the ranked bars show for the rows of a year: the localities (``frame``, empty when none
    has a row), North's and South's values (``footprints``), the focus label to highlight (None when
    its figure is not shown), England's value, title candidates, the sentence and the rounded table.

    ``name``: the focus locality's name; ``lower_title``: the measure's title to use mid-sentence;
    ``sig_text``: words for a verdict against England."""
    loc = locality_frame(rows, m, localities)
    footprints = rows[(rows["measure_id"] == m.id) & rows["area_code"].isin([NORTH, SOUTH])] \
        .set_index("area_code")["value"]
    if loc.empty:
        return {"frame": loc, "footprints": footprints}
    shown = loc.dropna(subset=["value"])
    focus = loc[loc["area_code"] == locality]
    has_focus = bool(len(focus) and pd.notna(focus["value"].iloc[0]))
    england = float(loc["england_value"].dropna().iloc[0]) if loc["england_value"].notna().any() else None
    if has_focus:
        rank = int((shown["value"] > focus["value"].iloc[0]).sum()) + 1
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(rank if rank < 20 else rank % 10, "th")
        titles = (f"{name}: {rank}{suffix} highest of {len(shown)} localities "
                  f"({m.format_value(focus['value'].iloc[0])})",
                  f"{name}: {rank}{suffix} highest of {len(shown)} localities")
    else:
        titles = (f"Seven localities compared, {year}", "Localities compared")
    parts = []
    if len(shown) >= 2:
        top, bottom = shown.loc[shown["value"].idxmax()], shown.loc[shown["value"].idxmin()]
        parts.append(f"Across the localities {lower_title} ranges from "
                     f"{m.format_value(bottom['value'])} in {bottom['area_name']} to "
                     f"{m.format_value(top['value'])} in {top['area_name']} ({top['period_label']}).")
    if has_focus:
        f = focus.iloc[0]
        ci = (f" (95% CI {m.format_value(f['lower_95'])} to {m.format_value(f['upper_95'])})"
              if pd.notna(f["lower_95"]) else "")
        vs = VS_ENGLAND.get(str(f["sig_england_95"]), "not compared with England (no England figure)")
        parts.append(f"{name}: {m.format_value(f['value'])}{ci}, {vs}")
    if footprints.notna().any():
        parts.append(f"North Cumbria {m.format_value(footprints.get(NORTH))}, South Cumbria "
                     f"{m.format_value(footprints.get(SOUTH))} (dotted lines).")
    n_sup = int(loc["value"].isna().sum())
    if n_sup:
        parts.append(f"{n_sup} locality figures are suppressed (small numbers) and not drawn.")
    data = loc.assign(value=loc["value"].round(2), lower_95=loc["lower_95"].round(2),
                      upper_95=loc["upper_95"].round(2), sig=loc["sig_england_95"].map(sig_text),
                      note=loc["suppression_reason"].fillna(""))
    return {"frame": loc, "footprints": footprints, "highlight": focus["label"].iloc[0] if has_focus else None,
            "england": england, "titles": titles,
            "sentence": _sentence(parts), "data": data,
            "columns": {"area_name": "Locality", "footprint": "Health footprint", "period_label": "Period",
                        "value": f"Value ({m.unit})", "lower_95": "95% lower", "upper_95": "95% upper",
                        "sig": "vs England", "coverage_note": "Covers", "note": "Note"}}


# -- the map ----------------------------------------------------------------------------------------
def map_scale(m: Measure, values: pd.Series) -> tuple[float, float]:
    """The map's colour scale, anchored so that differences that are not significant do not look
    dramatic: 0 to 100 for a percentage, else from 0 to a little above the highest value."""
    if m.unit == "%":
        return 0.0, 100.0
    v = pd.to_numeric(values, errors="coerce").dropna()
    top = float(v.max()) if len(v) else 1.0
    return min(0.0, float(v.min()) if len(v) else 0.0), (top * 1.1 if top > 0 else 1.0)


def read_boundaries(path: str) -> dict | None:
    """The localities' boundaries (GeoJSON), or None when the file is missing or not valid JSON."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def map_summary(loc: pd.DataFrame, m: Measure, has_map: bool, year: str, lower_title: str,
                missing: Callable[[bool], str]) -> dict:
    """:func:`locality_frame` with each locality's value as text (``missing(suppressed)`` says why a
    figure is not shown) and its map label (``data``), the colour scale, title candidates and the
    sentence (``has_map``: drawn on the boundaries, else as a schematic)."""
    d = loc.copy()
    sup = d["suppressed"].astype(bool) if "suppressed" in d else pd.Series(False, index=d.index)
    d["value_text"] = [m.format_value(v) if pd.notna(v) else missing(bool(s)).split(" (")[0]
                       for v, s in zip(d["value"], sup)]
    d["label"] = [f"{SHORT.get(c, c)}<br>{t}" for c, t in zip(d["area_code"], d["value_text"])]
    shown = d.dropna(subset=["value"])
    if len(shown) >= 2:
        top, bottom = shown.loc[shown["value"].idxmax()], shown.loc[shown["value"].idxmin()]
        titles = (f"Highest in {SHORT.get(top['area_code'])}, lowest in {SHORT.get(bottom['area_code'])}",
                  "Where values are highest and lowest")
    else:
        titles = ("Locality values on the map",)
    lo, hi = map_scale(m, d["value"])
    kind = "Map" if has_map else "Schematic (boundary file not found, so not to scale)"
    sentence = (f"{kind} of the seven localities, each shaded by {lower_title} in "
                f"{year} and labelled with its value (darker = higher, on a scale from {m.format_value(lo)} to "
                f"{m.format_value(hi)}, so small differences look small); light grey means suppressed.")
    return {"data": d, "scale": (lo, hi), "titles": titles, "sentence": sentence,
            "columns": {"area_name": "Locality", "footprint": "Health footprint", "value_text": f"Value ({m.unit})"}}


# -- a locality against the rest of its council ------------------------------------------------
def council_of(locality: str, hierarchies, levels: Mapping[str, str]) -> str | None:
    """The council whose hierarchy holds ``locality`` (None when none does)."""
    for parent, leaves in hierarchies:
        if levels.get(parent) == "council" and locality in leaves:
            return parent
    return None


def rest_of_parent(m: Measure, child: Mapping, parent: Mapping, low: float = 1, high: float = 4) -> dict:
    """The parent area without the child: numerator and denominator differences, with an interval.

    Only counts, proportions, rates and means are additive; anything else is not computed. The
    result is suppressed when either input is suppressed or the derived count falls in the
    suppression range, and for a proportion when the rest of its group is small or it is none or
    all of a group of 5-10 (the rest is below council level)."""
    out = {"value": np.nan, "lower_95": np.nan, "upper_95": np.nan, "numerator": np.nan,
           "denominator": np.nan, "suppressed": False, "suppression_reason": None}
    if m.kind not in ("count", "proportion", "rate", "mean"):
        out["suppression_reason"] = "not additive: cannot be split by subtraction"
        return out
    if bool(child.get("suppressed")) or bool(parent.get("suppressed")):
        out.update(suppressed=True, suppression_reason="built on a suppressed count")
        return out
    num = as_float(parent.get("numerator")) - as_float(child.get("numerator"))
    den = np.nan
    if m.kind != "count":
        den = as_float(parent.get("denominator")) - as_float(child.get("denominator"))
    if not np.isfinite(num) or (m.kind != "count" and not (np.isfinite(den) and den > 0)) or num < 0:
        out["suppression_reason"] = "not available"
        return out
    check = den if m.disclosure == "denominator" else num
    if m.disclosure != "none" and disclosure.primary_suppress(check, low, high):
        out.update(suppressed=True, suppression_reason=disclosure.primary_reason(low, high))
        return out
    if m.kind == "proportion" and m.disclosure == "numerator":
        # The rest is an area below council level: the rest-of-group rule applies (issue 17.10).
        comp, group = disclosure.complement_suppress(num, den, low, high)
        if comp[0] or group[0]:
            out.update(suppressed=True, suppression_reason=disclosure.complement_reason(
                "complement" if comp[0] else "group", low, high))
            return out
    out["numerator"] = num
    if m.kind == "count":
        out["value"] = num
        if m.ci_method == "byar":
            out["lower_95"], out["upper_95"] = intervals.byar_ci(num, 0.95)
        return out
    out["denominator"] = den
    out["value"] = num / den * m.multiplier
    if m.kind == "proportion" and m.ci_method == "wilson" and num <= den:
        lo, hi = intervals.wilson_ci(num, den, 0.95)
        out["lower_95"], out["upper_95"] = lo * m.multiplier, hi * m.multiplier
    elif m.kind == "rate" and m.ci_method == "byar":
        out["lower_95"], out["upper_95"] = intervals.rate_ci(num, den, m.multiplier, 0.95)
    elif m.kind == "mean" and m.ci_method == "t":
        # Sums of squares subtract as the totals do: ((n - 1) sd^2 + total^2 / n) for each area.
        def sumsq(r):
            n, t = as_float(r.get("denominator")), as_float(r.get("numerator"))
            sd = as_float(r.get("sd")) / m.multiplier
            return (n - 1) * sd * sd + t * t / n if n > 0 else np.nan
        sd = intervals.sd_from_sum_of_squares(num, sumsq(parent) - sumsq(child), den) * m.multiplier
        if np.isfinite(sd):
            out["sd"] = sd
            out["lower_95"], out["upper_95"] = intervals.mean_ci(out["value"], sd, den, 0.95)
    return out


def rest_rows(table: pd.DataFrame, child: str, parent: str, measures: Mapping[str, Measure],
              low: float = 1, high: float = 4, rest_code: str = "REST") -> pd.DataFrame:
    """Measure-table-like rows for ``parent`` without ``child``, one per measure with both rows."""
    c = rows_by_measure(table, child)
    p = rows_by_measure(table, parent)
    rows = []
    for mid, m in measures.items():
        if mid not in c or mid not in p:
            continue
        r = rest_of_parent(m, c[mid], p[mid], low, high)
        r.update(measure_id=mid, area_code=rest_code, period=p[mid]["period"], period_label=p[mid]["period_label"])
        rows.append(r)
    return pd.DataFrame(rows)


def rest_comparison(rows: pd.DataFrame, locality: str, council: str, measures: Mapping[str, Measure],
                    low: float, high: float, loc_name: str, rest_name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rest of ``council`` without ``locality`` (:func:`rest_rows`) and the locality compared with
    it for every measure (:func:`pair_comparison.compare_pair`)."""
    rows = rows.loc[rows["area_code"].isin([locality, council]), COMPARE_INPUT]
    rest = rest_rows(rows, locality, council, measures, low, high)
    pair = pd.concat([rows[rows["area_code"] == locality], rest], ignore_index=True)
    return rest, pair_comparison.compare_pair(pair, locality, "REST", measures, loc_name, rest_name)


def _first(frame: pd.DataFrame, col: str) -> float:
    return frame[col].iloc[0] if len(frame) else np.nan


def rest_summary(comp: pd.DataFrame, rest: pd.DataFrame, rows: pd.DataFrame, m: Measure, council: str,
                 loc_name: str, council_name: str, rest_name: str, year: str) -> dict:
    """What the page shows for one measure of :func:`rest_comparison`: ``info`` (a message, or None),
    and when ``drawable`` the bars (the locality, the rest and the whole council; ``table``: rounded),
    title candidates and sentence; ``all_measures`` says whether the every-measure table follows.
    Nothing is drawn when the locality's or the rest's figure is not shown (then the sentence is the
    message)."""
    one = comp[comp["measure_id"] == m.id]
    out = {"info": None, "drawable": False, "all_measures": True}
    if m.kind not in ADDITIVE:
        out["info"] = (f"{m.title} is a {m.kind.replace('_', ' ')}, which cannot be split by subtracting "
                       f"{loc_name} from {council_name}. Choose a percentage, rate or count to compare "
                       f"{loc_name} with the rest of its council; every additive measure is in the table below.")
        return out
    if one.empty:
        out.update(info=f"{m.title} cannot be compared between {loc_name} and the rest of {council_name} for {year}.",
                   all_measures=False)
        return out
    c = one.iloc[0]
    r = rest[rest["measure_id"] == m.id]
    council_row = rows[(rows["area_code"] == council) & (rows["measure_id"] == m.id)]
    bars = pd.DataFrame([
        {"label": loc_name, "value": c["value_a"], "lower_95": c["lower_a"], "upper_95": c["upper_a"]},
        {"label": rest_name, "value": _first(r, "value"), "lower_95": _first(r, "lower_95"),
         "upper_95": _first(r, "upper_95")},
        {"label": f"{council_name} (whole council)", "value": _first(council_row, "value"),
         "lower_95": _first(council_row, "lower_95"), "upper_95": _first(council_row, "upper_95")}])
    verdict = {"a_higher": "significantly higher than", "a_lower": "significantly lower than",
               "no_difference": "no different from"}.get(c["verdict"])
    if verdict:
        titles = (f"{loc_name} {verdict} the rest of {council_name}", f"{loc_name} {verdict} rest of council")
    else:
        titles = (f"{loc_name} against the rest of {council_name}", "Locality against rest of council")
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
    drawable = not bars["value"].iloc[:2].isna().any()
    return {"info": None if drawable else sentence, "drawable": drawable, "all_measures": True, "bars": bars,
            "table": bars.assign(**{k: bars[k].round(2) for k in ("value", "lower_95", "upper_95")}),
            "titles": titles, "sentence": sentence,
            "columns": {"label": "Area", "value": f"Value ({m.unit})", "lower_95": "95% lower",
                        "upper_95": "95% upper"}}


def all_measures_table(comp: pd.DataFrame, loc_name: str, rest_name: str) -> pd.DataFrame:
    """Every measure of :func:`rest_comparison`, rounded, with readable column names (shown and downloaded)."""
    return comp[["measure_title", "period_label", "value_a", "value_b", "gap", "gap_lower", "gap_upper",
                 "ratio", "ratio_lower", "ratio_upper", "verdict_text"]].rename(columns={
                     "measure_title": "Measure", "period_label": "Period", "value_a": loc_name,
                     "value_b": rest_name, "gap": "Gap", "gap_lower": "Gap 95% lower",
                     "gap_upper": "Gap 95% upper", "ratio": "Ratio", "ratio_lower": "Ratio 95% lower",
                     "ratio_upper": "Ratio 95% upper", "verdict_text": "Verdict"}).round(2)
