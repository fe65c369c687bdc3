"""Headline tiles and plain-English sentences generated from the statistics.

Used by the board overview page and the board pack, so the board reads exactly what the
dashboard shows. Sentences are built from the computed significance, trend and SPC verdicts,
never from a template that ignores the numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from send_metrics.catalogue import Measure, measures_by_id
from send_metrics.stats.spc import spc, spc_summary

if TYPE_CHECKING:  # the engine is passed in
    from send_metrics.measures.engine import Engine

HEADLINE_MEASURES = [
    "ehcp_rate_0_25", "ehcp_caseload", "pupils_ehcp_pct", "pupils_sen_support_pct", "new_plans",
    "timeliness_20wk_ex", "requests_refused_pct", "reviews_on_time_pct", "review_decisions_4wk_pct",
    "tribunal_appeal_rate",
    "wait_18wk_SLT", "wait_over18_SLT", "wait_median_AUTISM", "autism_over_13wk_pct", "wait_18wk_CAMHS",
    "mh_cyp_access",
    "ks2_rwm_ehc_plan", "gap_ks2_rwm_ehc_plan", "ks4_att8_ehc_plan", "ks4_destination_ehc_plan",
    "persistent_absence_ehc_plan", "eet_16_17_ehc_plan",
]

# NHS figures are published by sub-ICB and by provider, not by council. When a council has no figure of
# its own for an NHS measure (no locality extract), the Board shows the NHS area that serves it, named
# with what it really covers, never as the council's own figure.
NHS_DATASETS = ("waiting_list", "waiting_activity", "mental_health")
HEALTH_COUNTERPARTS: dict[str, list[tuple[str, str, str]]] = {
    # council: [(NHS area, short label, what it covers)], sub-ICB first, then provider
    "E06000063": [
        ("E38000215", "NHS 01H (North Cumbria)",
         "NHS figure for sub-ICB 01H, North Cumbria: Allerdale, Carlisle and Copeland without the Millom area, "
         "and Eden - not Cumberland exactly"),
        ("RNN", "NHS RNN (North Cumbria)",
         "NHS figure for provider RNN (North Cumbria Integrated Care NHS FT), which serves North Cumbria - a "
         "provider's caseload, not Cumberland exactly"),
    ],
    "E06000064": [
        ("E38000228", "NHS 01K (South Cumbria and Lancaster)",
         "NHS figure for sub-ICB 01K: South Cumbria (Barrow-in-Furness, South Lakeland, the Millom area) AND "
         "Lancaster district - not Westmorland and Furness, and not South Cumbria alone"),
        ("RTX", "NHS RTX (South Cumbria and north Lancashire)",
         "NHS figure for provider RTX (University Hospitals of Morecambe Bay NHS FT), which serves South Cumbria "
         "and north Lancashire - not Westmorland and Furness, and not South Cumbria alone"),
    ],
}

IMPROVEMENT = {"higher_is_better": "increase", "lower_is_better": "decrease", "no_judgement": "neutral"}

SIG_PHRASE = {"better": "significantly better than", "worse": "significantly worse than",
              "similar": "similar to", "higher": "significantly higher than",
              "lower": "significantly lower than"}
TREND_PHRASE = {"improving": "improving over the last five points",
                "getting_worse": "getting worse over the last five points",
                "increasing": "increasing over the last five points",
                "decreasing": "decreasing over the last five points",
                "no_significant_change": "no significant change over the last five points"}
VARIATION_PHRASE = {"special_cause_improvement": "special-cause improvement",
                    "special_cause_concern": "special-cause concern",
                    "special_cause_neutral": "special-cause variation",
                    "common_cause": "common-cause variation (no signal)"}


@dataclass
class Tile:
    measure: Measure
    area_code: str
    period_label: str
    value: float
    lower_95: float
    upper_95: float
    england_value: float
    sig_england: str
    neighbours_value: float
    sig_neighbours: str
    trend_verdict: str
    variation: str | None
    variation_icon: str | None
    assurance: str | None
    assurance_icon: str | None
    suppressed: bool
    sentence: str
    series: pd.DataFrame
    spc_frame: pd.DataFrame | None
    spc_trial: bool = False  # the SPC verdict rests on trial limits (fewer than 13 points)
    covers: str = ""  # set when the figure is another area's (an NHS sub-ICB or provider), saying which
    covers_label: str = ""
    value_source: str = ""  # a published value standing for the area's own (e.g. LAIT), naming it
    source_symbol: str = ""  # the publisher's symbol in the source cell (c, x, z, ...) when there is no value


def spc_for(series: pd.DataFrame, m: Measure) -> pd.DataFrame | None:
    """SPC frame for a measure's series, or None when there are too few points to chart."""
    values = series["value"].to_numpy(dtype=float)
    keep = ~np.isnan(values)
    if int(keep.sum()) < 6:
        return None
    period = series["period"][keep]  # only the two columns needed, not the whole rows
    dates = pd.to_datetime(period.str[:10] if m.monthly else period.str[:4] + "-01-01")
    return spc(values[keep], improvement=IMPROVEMENT[m.polarity], target=m.target, dates=dates.to_numpy())


def sentence_for(m: Measure, row: pd.Series, spc_sum: dict | None) -> str:
    if bool(row.get("suppressed")):
        return f"{m.title}: not shown for {row['period_label']} - suppressed to protect small numbers."
    if pd.isna(row.get("value")):
        sym = row.get("source_symbol")
        if isinstance(sym, str) and sym.strip().lower() in PUBLISHER_SYMBOL_TEXT:
            return (f"{m.title}: no figure for {row['period_label']} - "
                    f"{PUBLISHER_SYMBOL_TEXT[sym.strip().lower()]}.")
        return f"{m.title}: no figure for {row['period_label']} - {missing_reason(m)}."
    parts = []
    sig_e = str(row.get("sig_england_95"))
    if sig_e in SIG_PHRASE:
        parts.append(f"{SIG_PHRASE[sig_e].capitalize()} England ({with_unit(m, row['england_value'])})")
    sig_n = str(row.get("sig_neighbours_95"))
    if sig_n in SIG_PHRASE:
        parts.append(f"{SIG_PHRASE[sig_n]} statistical neighbours ({with_unit(m, row['neighbours_value'])})")
    trend = str(row.get("trend_verdict"))
    if trend in TREND_PHRASE:
        parts.append(TREND_PHRASE[trend])
    if spc_sum and spc_sum.get("variation"):
        v = VARIATION_PHRASE.get(spc_sum["variation"], "")
        if not spc_sum.get("enough_points", True):
            v += " (trial limits: fewer than 13 points)"
        parts.append(v)
        if spc_sum.get("assurance") in ("consistently_pass", "consistently_fail", "inconsistent") and m.target is not None:
            target = target_text(m)
            parts.append({"consistently_pass": f"the target of {target} is consistently met",
                          "consistently_fail": f"the target of {target} will not be met without change",
                          "inconsistent": f"the target of {target} is met only some of the time"}[spc_sum["assurance"]])
    if not parts:
        parts.append("no benchmark or trend is available yet")
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def tiles(engine: Engine, area_code: str, period: str | None = None,
          measure_ids: list[str] | None = None, table: pd.DataFrame | None = None) -> list[Tile]:
    """One tile per headline measure that has data for the area (latest period unless given).

    ``table`` may hold the area's rows of the measure table already (``engine.table(ids,
    [area_code])``); otherwise they are read from the engine."""
    by_id = measures_by_id()
    ids = [i for i in (measure_ids or HEADLINE_MEASURES) if i in by_id]
    if table is None:
        table = engine.table(ids, [area_code])
    # One pass over the table instead of a filter of every column per measure.
    groups = dict(iter(table.groupby("measure_id", sort=False))) if len(table) else {}
    year = str(period)[:4] if period else None
    out = []
    counterparts = HEALTH_COUNTERPARTS.get(area_code, [])
    nhs_ids = [i for i in ids if by_id[i].dataset in NHS_DATASETS and i not in groups]
    other: dict[str, dict[str, pd.DataFrame]] = {}
    if counterparts and nhs_ids:
        t2 = engine.table(nhs_ids, [c for c, _, _ in counterparts])
        for code, _, _ in counterparts:
            part = t2[t2["area_code"] == code]
            other[code] = dict(iter(part.groupby("measure_id", sort=False))) if len(part) else {}
    for mid in ids:
        m = by_id[mid]
        series = groups.get(mid)
        covers = label = ""
        if (series is None or series.empty) and mid in nhs_ids:
            for code, short, text in counterparts:
                s2 = other.get(code, {}).get(mid)
                if s2 is not None and not s2.empty and (s2["value"].notna().any() or s2["suppressed"].any()):
                    series, covers, label = s2, text, short
                    break
        if series is None or series.empty:
            continue
        if not series["period"].is_monotonic_increasing:  # rows come in period order already
            series = series.sort_values("period")
        if period and not m.monthly:
            keep = (series["period"].str[:4] <= year).to_numpy(dtype=bool)
            n = int(keep.sum())
            if n == 0:
                continue
            # In period order the rows kept are the first n: a slice, not a copy of every column.
            series = series.iloc[:n] if keep[:n].all() else series[keep]
        row = series.iloc[-1]
        frame = spc_for(series, m)
        summ = spc_summary(frame, IMPROVEMENT[m.polarity], m.target) if frame is not None else None
        src = row.get("value_source")
        src = src if isinstance(src, str) else ""
        sentence = sentence_for(m, row, summ)
        if covers:
            sentence = f"{covers}. {sentence}"
        if src:
            sentence = f"{sentence} Value as published ({src.removeprefix('published: ')}): no interval, so not " \
                       "tested against England." if pd.isna(row["lower_95"]) else \
                f"{sentence} Value as published ({src.removeprefix('published: ')})."
        out.append(Tile(
            measure=m, area_code=str(row["area_code"]) if covers else area_code, period_label=row["period_label"],
            value=row["value"],
            lower_95=row["lower_95"], upper_95=row["upper_95"], england_value=row["england_value"],
            sig_england=str(row["sig_england_95"]), neighbours_value=row["neighbours_value"],
            sig_neighbours=str(row["sig_neighbours_95"]), trend_verdict=str(row["trend_verdict"]),
            variation=summ.get("variation") if summ else None,
            variation_icon=summ.get("variation_icon") if summ else None,
            assurance=summ.get("assurance") if summ else None,
            assurance_icon=summ.get("assurance_icon") if summ else None,
            suppressed=bool(row["suppressed"]), sentence=sentence,
            series=series, spc_frame=frame,
            spc_trial=bool(summ) and not summ.get("enough_points", True),
            covers=covers, covers_label=label, value_source=src,
            source_symbol=str(row.get("source_symbol")).strip().lower()
            if isinstance(row.get("source_symbol"), str) else ""))
    return out


def key_messages(tile_list: list[Tile], limit: int = 5) -> list[str]:
    """The three to five things a board should know, ranked by the strength of the evidence."""
    scored = []
    for t in tile_list:
        m = t.measure
        if t.suppressed or t.value is None or np.isnan(t.value):
            continue
        where = f" ({t.covers_label})" if t.covers_label else ""
        if t.sig_england in ("better", "worse"):
            strength = 3 if t.sig_england == "worse" else 2
            scored.append((strength, f"{m.title}{where} is {SIG_PHRASE[t.sig_england]} England: "
                                     f"{with_unit(m, t.value)} against {with_unit(m, t.england_value)} "
                                     f"({t.period_label})."))
        elif t.sig_england in ("higher", "lower"):
            # No judgement is made on the measure, but a real difference from England is context a board
            # should know (e.g. more plans per 1,000 children than England).
            scored.append((1, f"{m.title}{where} is {SIG_PHRASE[t.sig_england]} England: "
                              f"{with_unit(m, t.value)} against {with_unit(m, t.england_value)} "
                              f"({t.period_label}); no judgement is made on this measure."))
        if t.variation in ("special_cause_improvement", "special_cause_concern"):
            strength = 3 if t.variation == "special_cause_concern" else 2
            if t.spc_trial:
                # The tile's caveat travels with the message: trial limits are provisional.
                scored.append((strength - 1, f"{m.title}{where}: {VARIATION_PHRASE[t.variation]} in the latest point "
                                             f"({with_unit(m, t.value)}, {t.period_label}) on trial limits "
                                             "(fewer than 13 points): provisional, to be confirmed as more "
                                             "points arrive."))
            else:
                scored.append((strength, f"{m.title}{where}: {VARIATION_PHRASE[t.variation]} in the latest "
                                         f"point ({with_unit(m, t.value)}, {t.period_label}) - a real change, "
                                         "not noise."))
        if t.trend_verdict in ("improving", "getting_worse"):
            scored.append((2 if t.trend_verdict == "getting_worse" else 1,
                           f"{m.title}{where} is {TREND_PHRASE[t.trend_verdict]}."))
    noise = [t for t in tile_list if t.variation == "common_cause"]
    scored.sort(key=lambda s: -s[0])
    messages = []
    for _, text in scored:
        if text not in messages:
            messages.append(text)
        if len(messages) >= limit - (1 if noise else 0):
            break
    if noise:
        messages.append(noise_message(noise))
    return messages[:limit]


def noise_message(noise: list[Tile]) -> str:
    """The common-cause line, worded for the frequency of the measures it lists (monthly measures
    vary month to month, annual ones year to year) and caveated when limits are trial limits."""
    listed = ", ".join(t.measure.title for t in noise[:3]) + (" and others" if len(noise) > 3 else "")
    monthly = {t.measure.monthly for t in noise}
    if monthly == {True}:
        what = "month-to-month noise"
    elif monthly == {False}:
        what = "year-to-year noise"
    else:
        what = "month-to-month or year-to-year noise"
    text = f"Common-cause variation only ({what}, no action signal): {listed}."
    if any(t.spc_trial for t in noise):
        text += " Some of these rest on trial limits (fewer than 13 points), so a signal may yet appear."
    return text


def multiple_comparisons_note(tile_list: list[Tile]) -> str:
    """How many significance tests the headline shows and what 1 in 20 means for them.

    Comparisons with England and with neighbours are at 95% (a false alarm 1 time in 20 when
    nothing differs); recent trends at 99.8% (1 in 500), so the expected number of false alarms
    is ``0.05 x comparisons + 0.002 x trends``."""
    n95 = ntr = 0
    for t in tile_list:
        if t.suppressed:
            continue
        n95 += t.sig_england not in ("not_compared", "nan", "None")
        n95 += t.sig_neighbours not in ("not_compared", "nan", "None")
        ntr += t.trend_verdict not in ("not_tested", "not_enough_data", "nan", "None")
    n = n95 + ntr
    if n == 0:
        return "No significance tests are shown for this area."
    expected = 0.05 * n95 + 0.002 * ntr
    return (f"{n} significance tests are shown in the headline measures: {n95} comparisons with England or "
            f"neighbours at 95% and {ntr} recent trend{'s' if ntr != 1 else ''} at 99.8%. Even if nothing really "
            f"differed, about 1 in 20 of the comparisons (and 1 in 500 of the trends) would come out significant "
            f"by chance: here about {expected:.1f} in all. Read a single 'significant' with that in mind, and give "
            "more weight to findings that persist or agree with each other.")


# -- the Fingertips-style summary table ---------------------------------------------------------
# One row per headline measure: value with its unit, 95% interval, England and neighbours, a
# red/amber/green mark against the benchmark (symbol and word as well as colour), a trend arrow
# with words, a sparkline, and the SPC verdict; ordered by concern. Built here (no Streamlit) for
# the Board page and the board pack, so both show the same table.

RAG = {  # significance against the benchmark -> (key, symbol and words)
    "worse": ("red", "▼ Worse"), "similar": ("amber", "● Similar"), "better": ("green", "▲ Better"),
    "higher": ("neutral", "◆ Higher"), "lower": ("neutral", "◆ Lower"),
}
RAG_COLOURS = {"red": "#D4351C", "amber": "#F47738", "green": "#00703C", "neutral": "#12436D", "none": "#BFBFBF"}
# Light tints for table cells (dark text keeps at least 4.5:1 contrast on each).
RAG_TINTS = {"red": "#F6D7D2", "amber": "#FDE3CC", "green": "#CCE2D8"}
RAG_TEXT = {"red": "Red", "amber": "Amber", "green": "Green", "neutral": "No judgement", "none": "Not compared"}
TREND_WORDS = {"improving": "Improving", "getting_worse": "Getting worse", "increasing": "Increasing",
               "decreasing": "Decreasing", "no_significant_change": "No significant change",
               "not_enough_data": "Not enough data"}
SPC_WORDS = {"special_cause_improvement": "(I) Special cause: improvement",
             "special_cause_concern": "(C) Special cause: concern",
             "special_cause_neutral": "(N) Special cause: neither better nor worse",
             "common_cause": "(~) Common cause: no signal"}
SPARK = "▁▂▃▄▅▆▇█"
UNIT_SUFFIX = {"%": "", "percentage points": " percentage points"}
NOT_AVAILABLE = "not available"
SUPPRESSED = "suppressed (small numbers)"


# What a publisher's symbol in the source cell means, said in words (never "suppressed" for a figure
# that is simply not there).
PUBLISHER_SYMBOL_TEXT = {"c": "suppressed by the publisher (c) to protect small numbers",
                         "x": "not available from the publisher (x)", "z": "not applicable (z)",
                         ":": "not available from the publisher (:)", "low": "rounds to zero (low)",
                         "u": "low reliability (u)"}


def _missing(v) -> bool:
    try:
        return v is None or bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def tile_missing_reason(t: "Tile") -> str:
    """Why a tile that is not suppressed by the dashboard has no value: the publisher's symbol in words,
    else its data is not loaded."""
    if t.source_symbol in PUBLISHER_SYMBOL_TEXT:
        return PUBLISHER_SYMBOL_TEXT[t.source_symbol]
    return missing_reason(t.measure)


def missing_reason(m: Measure) -> str:
    """Why a headline figure that is not suppressed has no value: its data is not loaded."""
    if m.denominator_dataset == "population":
        return "not loaded: needs population (ONS mid-year estimates)"
    return "not loaded: no file gives this figure"


def with_unit(m: Measure, value) -> str:
    """A value as text with its unit and the measure's precision: 39.4 per 1,000, 72.5%, 1,234 plans."""
    if _missing(value):
        return NOT_AVAILABLE
    text = m.format_value(float(value))
    suffix = UNIT_SUFFIX.get(m.unit, f" {m.unit}" if m.unit else "")
    return text + suffix


def target_text(m: Measure) -> str:
    """A measure's target with its unit: 92%, 18 weeks."""
    if m.target is None:
        return "no target"
    return f"{m.target:g}" + UNIT_SUFFIX.get(m.unit, f" {m.unit}" if m.unit else "") + ("%" if m.unit == "%" else "")


def interval_text(m: Measure, lower, upper) -> str:
    """A 95% interval as text, the unit once: 30.1 to 41.3 per 1,000; 30.1% to 41.3%."""
    if _missing(lower) or _missing(upper):
        return "no interval"
    first = m.format_value(float(lower))
    return f"{first} to {with_unit(m, upper)}"


def trend_arrow(m: Measure, verdict: str | None) -> str:
    """The recent trend as an arrow for the direction of the values and words for the verdict."""
    v = str(verdict)
    up = m.polarity == "higher_is_better"
    arrow = {"improving": "↑" if up else "↓", "getting_worse": "↓" if up else "↑", "increasing": "↑",
             "decreasing": "↓", "no_significant_change": "→"}.get(v, "–")
    return f"{arrow} {TREND_WORDS.get(v, 'Not enough data')}"


def sparkline(values) -> str:
    """Unicode block sparkline of the last points (text, so it reads out and copies as text)."""
    vals = [float(v) for v in values if not _missing(v)]
    if len(vals) < 2:
        return ""
    lo, hi = min(vals), max(vals)
    if hi == lo:
        return SPARK[3] * len(vals)
    return "".join(SPARK[min(len(SPARK) - 1, int((v - lo) / (hi - lo) * (len(SPARK) - 1) + 0.5))] for v in vals)


def rag_of(t: Tile) -> tuple[str, str, str]:
    """(key, text, benchmark name): England's comparison, else the neighbours'."""
    for sig, bench in ((t.sig_england, "England"), (t.sig_neighbours, "neighbours")):
        if str(sig) in RAG:
            key, text = RAG[str(sig)]
            return key, f"{text} than {bench}" if key != "amber" else f"{text} to {bench}", bench
    return "none", "– Not compared", ""


def concern(t: Tile) -> int:
    """Higher = more concern: worse than the benchmark, an SPC concern, a worsening trend."""
    if t.suppressed or _missing(t.value):
        return -10
    score = {"red": 4, "amber": 0, "green": -2, "neutral": 0, "none": 0}[rag_of(t)[0]]
    score += {"special_cause_concern": 3, "special_cause_improvement": -1}.get(t.variation or "", 0)
    score += {"getting_worse": 2, "improving": -1}.get(t.trend_verdict, 0)
    score += {"consistently_fail": 2, "inconsistent": 1}.get(t.assurance or "", 0)
    return score


SUMMARY_COLUMNS = ["Measure", "Period", "Value", "95% interval", "England", "Neighbours", "Against benchmark",
                   "Trend", "Sparkline", "SPC", "Concern", "measure_id", "value", "lower_95", "upper_95",
                   "england_value", "neighbours_value", "rag", "series", "Summary"]


def summary_table(tile_list: list[Tile], points: int = 10, missing: dict[str, str] | None = None) -> pd.DataFrame:
    """The summary table, most concerning first: text columns for people (every number formatted
    with its unit) and numeric columns (value, lower_95, ..., series) for sorting, charts and CSV.
    ``missing`` says why a measure has no value when it is not suppressed (default: missing_reason,
    e.g. "not loaded: needs population (ONS mid-year estimates)")."""
    missing = missing or {}
    rows = []
    for order, t in enumerate(tile_list):
        m = t.measure
        gone = t.suppressed or _missing(t.value)
        key, rag_text, _ = rag_of(t)
        vals = t.series["value"].to_numpy(dtype=float)[-points:] if t.series is not None else np.array([])
        rows.append({
            "Measure": (f"[{t.covers_label}] " if t.covers_label else "") + m.title, "Period": str(t.period_label),
            "Value": (SUPPRESSED if t.suppressed else missing.get(m.id, tile_missing_reason(t))) if gone
            else with_unit(m, t.value),
            "95% interval": "" if gone else interval_text(m, t.lower_95, t.upper_95),
            "England": with_unit(m, t.england_value), "Neighbours": with_unit(m, t.neighbours_value),
            "Against benchmark": "– Not compared" if gone else rag_text,
            "Trend": trend_arrow(m, t.trend_verdict), "Sparkline": sparkline(vals),
            "SPC": SPC_WORDS.get(t.variation or "", "Too few points for SPC")
            + (" (trial limits: fewer than 13 points)" if t.variation and t.spc_trial else ""),
            "Concern": concern(t), "measure_id": m.id,
            "value": np.nan if gone else float(t.value), "lower_95": t.lower_95, "upper_95": t.upper_95,
            "england_value": t.england_value, "neighbours_value": t.neighbours_value,
            "rag": "none" if gone else key, "series": [float(v) for v in vals if not np.isnan(v)],
            "Summary": t.sentence, "_order": order})
    df = pd.DataFrame(rows, columns=[*SUMMARY_COLUMNS, "_order"])
    df = df.sort_values(["Concern", "_order"], ascending=[False, True], kind="stable")
    return df.drop(columns="_order").reset_index(drop=True)


def summary_csv_frame(table: pd.DataFrame) -> pd.DataFrame:
    """The summary as a CSV: words and numbers, one column each (no sparkline list)."""
    out = table.drop(columns=["series", "rag"]).copy()
    out.insert(out.columns.get_loc("Against benchmark") + 1, "RAG",
               table["rag"].map(RAG_TEXT).fillna("Not compared"))
    return out
