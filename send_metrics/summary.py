"""Headline tiles and plain-English sentences generated from the statistics.

Used by the board overview page and the board pack, so the board reads exactly what the
dashboard shows. Sentences are built from the computed significance, trend and SPC verdicts,
never from a template that ignores the numbers.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .catalogue import Measure, measures_by_id
from .engine import Engine
from .spc import spc, spc_summary

HEADLINE_MEASURES = [
    "ehcp_rate_0_25", "ehcp_caseload", "pupils_ehcp_pct", "pupils_sen_support_pct", "new_plans",
    "timeliness_20wk_ex", "requests_refused_pct", "reviews_on_time_pct",
    "wait_18wk_SLT", "wait_median_AUTISM", "autism_over_13wk_pct", "wait_18wk_CAMHS",
    "ks2_rwm_ehc_plan", "gap_ks2_rwm_ehc_plan", "persistent_absence_ehc_plan", "eet_16_17_ehc_plan",
]

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
    if bool(row.get("suppressed")) or pd.isna(row.get("value")):
        return (f"{m.title}: not shown for {row['period_label']} - the figure is suppressed to protect "
                "small numbers, or not available.")
    parts = []
    sig_e = str(row.get("sig_england_95"))
    if sig_e in SIG_PHRASE:
        parts.append(f"{SIG_PHRASE[sig_e].capitalize()} England ({m.format_value(row['england_value'])})")
    sig_n = str(row.get("sig_neighbours_95"))
    if sig_n in SIG_PHRASE:
        parts.append(f"{SIG_PHRASE[sig_n]} statistical neighbours ({m.format_value(row['neighbours_value'])})")
    trend = str(row.get("trend_verdict"))
    if trend in TREND_PHRASE:
        parts.append(TREND_PHRASE[trend])
    if spc_sum and spc_sum.get("variation"):
        v = VARIATION_PHRASE.get(spc_sum["variation"], "")
        if not spc_sum.get("enough_points", True):
            v += " (trial limits: fewer than 13 points)"
        parts.append(v)
        if spc_sum.get("assurance") in ("consistently_pass", "consistently_fail", "inconsistent") and m.target is not None:
            parts.append({"consistently_pass": f"the target of {m.target:g} is consistently met",
                          "consistently_fail": f"the target of {m.target:g} will not be met without change",
                          "inconsistent": f"the target of {m.target:g} is met only some of the time"}[spc_sum["assurance"]])
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
    for mid in ids:
        m = by_id[mid]
        series = groups.get(mid)
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
        out.append(Tile(
            measure=m, area_code=area_code, period_label=row["period_label"], value=row["value"],
            lower_95=row["lower_95"], upper_95=row["upper_95"], england_value=row["england_value"],
            sig_england=str(row["sig_england_95"]), neighbours_value=row["neighbours_value"],
            sig_neighbours=str(row["sig_neighbours_95"]), trend_verdict=str(row["trend_verdict"]),
            variation=summ.get("variation") if summ else None,
            variation_icon=summ.get("variation_icon") if summ else None,
            assurance=summ.get("assurance") if summ else None,
            assurance_icon=summ.get("assurance_icon") if summ else None,
            suppressed=bool(row["suppressed"]), sentence=sentence_for(m, row, summ),
            series=series, spc_frame=frame,
            spc_trial=bool(summ) and not summ.get("enough_points", True)))
    return out


def key_messages(tile_list: list[Tile], limit: int = 5) -> list[str]:
    """The three to five things a board should know, ranked by the strength of the evidence."""
    scored = []
    for t in tile_list:
        m = t.measure
        if t.suppressed or t.value is None or np.isnan(t.value):
            continue
        if t.sig_england in ("better", "worse"):
            strength = 3 if t.sig_england == "worse" else 2
            scored.append((strength, f"{m.title} is {SIG_PHRASE[t.sig_england]} England: "
                                     f"{m.format_value(t.value)} against {m.format_value(t.england_value)} "
                                     f"({t.period_label})."))
        if t.variation in ("special_cause_improvement", "special_cause_concern"):
            strength = 3 if t.variation == "special_cause_concern" else 2
            if t.spc_trial:
                # The tile's caveat travels with the message: trial limits are provisional.
                scored.append((strength - 1, f"{m.title}: {VARIATION_PHRASE[t.variation]} in the latest point "
                                             f"({m.format_value(t.value)}, {t.period_label}) on trial limits "
                                             "(fewer than 13 points): provisional, to be confirmed as more "
                                             "points arrive."))
            else:
                scored.append((strength, f"{m.title}: {VARIATION_PHRASE[t.variation]} in the latest "
                                         f"point ({m.format_value(t.value)}, {t.period_label}) - a real change, "
                                         "not noise."))
        if t.trend_verdict in ("improving", "getting_worse"):
            scored.append((2 if t.trend_verdict == "getting_worse" else 1,
                           f"{m.title} is {TREND_PHRASE[t.trend_verdict]}."))
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
    """How many significance tests the headline shows and what 1 in 20 means for them."""
    n = 0
    for t in tile_list:
        if t.suppressed:
            continue
        n += t.sig_england not in ("not_compared", "nan", "None")
        n += t.sig_neighbours not in ("not_compared", "nan", "None")
        n += t.trend_verdict not in ("not_tested", "not_enough_data", "nan", "None")
    if n == 0:
        return "No significance tests are shown for this area."
    expected = n / 20
    return (f"{n} significance tests are shown in the headline measures (against England, against neighbours "
            f"and recent trends). Each is at 95%, so even if nothing really differed about 1 in 20 would come out "
            f"significant by chance: here about {expected:.1f}. Read a single 'significant' with that in mind, "
            "and give more weight to findings that persist or agree with each other (recent trends use 99.8%, "
            "so false alarms there are rarer).")
