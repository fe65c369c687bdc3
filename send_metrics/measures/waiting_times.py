"""Waiting times for one service and area: the waiting list by wait band with and without an EHC
plan, and every service's latest month with its SPC variation. No Streamlit here.

* :func:`protect_bands` - the raw counts of sql/waiting_bands.sql protected by
  :func:`send_metrics.measures.table_protection.protect_table` (primary and complementary
  suppression over the area hierarchies, EHCP status and wait bands), starting from the totals the
  measure engine already publishes with its own suppression.
* :func:`bands_summary` - the shares of each wait band from the protected cells (hidden bands shown
  together, never one hidden count), with the title, sentence and table.
* :func:`overview_rows` - every service's latest published month, with its SPC variation.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from send_metrics.contract import codes
from send_metrics.catalogue import Measure
from send_metrics.measures.summary import IMPROVEMENT
from send_metrics.measures.table_protection import protect_table, share_within
from send_metrics.stats.spc import spc, spc_summary

VIEWS = {"wait_list": "Children waiting", "wait_median": "Median weeks waited",
         "wait_18wk": "% seen within 18 weeks"}
BANDS = {"0to13wk": "Under 13 weeks", "13to18wk": "13 to 18 weeks", "18to52wk": "18 to 52 weeks",
         "52plus": "52 weeks or more"}
STATUS = {"ALL": "All children", "ehc_plan": "With an EHC plan", "no_ehc_plan": "Without an EHC plan"}
OVER13 = ["13to18wk", "18to52wk", "52plus"]
OVER18 = ["18to52wk", "52plus"]
SUPPRESSED = "Suppressed (small numbers)"
BANDS_SOURCE = ("Provider waiting-list extract (NHS Community Health Services waiting list definitions); "
                "disclosure control over areas, EHCP status and wait bands.")
BANDS_COLUMNS = {"Status": "EHCP status", "Band": "Wait band", "Children waiting": "Children waiting",
                 "% of status": "% of status", "Note": "Note"}


def band_label(code: str) -> str:
    """A band's label: the grouped demo bands by name, any publisher's band from its bounds."""
    if code in BANDS:
        return BANDS[code]
    try:
        return codes.wait_band_label(code).capitalize()
    except ValueError:
        return code


def protect_bands(raw: pd.DataFrame, service: str, month: str, suppressed_lists: Sequence[str],
                  suppressed_over13: Sequence[str], hierarchies, low: float, high: float,
                  rest_of_group_areas: Sequence[str] = (),
                  engine_bands: Mapping[str, tuple[Sequence[str], Sequence[str]]] | None = None) -> pd.DataFrame:
    """The waiting list by area, EHCP status and wait band for one service and month, protected.

    ``raw``: sql/waiting_bands.sql's rows; ``suppressed_lists``: areas whose list size the measure
    engine suppressed this month; ``suppressed_over13``: areas whose count waiting 13 weeks or more
    it suppressed (autism only: the engine publishes that count). ``engine_bands``: for the counts
    of all children waiting 18 weeks or more (``"OVER18"``) and 52 weeks or more (``"52plus"``),
    the areas where the engine withholds them and the areas where it shows them (measures
    ``wait_over18_*`` and ``wait_over52_*``). Every count the engine shows is never a complement
    here, and every count it withholds is withheld here too, so the two cannot be combined.
    ``rest_of_group_areas``: areas below council level, where a band shown with its share of the
    list is withheld when the rest of the list is a small count (``table_protection.protect_table``).
    Empty when nothing is loaded."""
    raw = raw[raw["ehcp_status"].isin(["ehc_plan", "no_ehc_plan"])].copy()
    if raw.empty:
        return pd.DataFrame()
    raw["month"] = month
    total = {"month": month, "service": service, "ehcp_status": "ALL"}
    pre = [pd.DataFrame({"area_code": list(suppressed_lists), **total, "wait_band": "ALL"})]
    shown = [pd.DataFrame({"area_code": raw["area_code"].unique(), **total, "wait_band": "ALL"})]
    extra = []
    if service == "AUTISM":  # the engine publishes the count waiting 13 weeks or more
        extra.append({"dim": "wait_band", "categories": OVER13, "where": {"ehcp_status": "ALL"}, "name": "OVER13"})
        pre.append(pd.DataFrame({"area_code": list(suppressed_over13), **total, "wait_band": "OVER13"}))
    for band, (hidden, published) in (engine_bands or {}).items():
        if band == "OVER18":
            extra.append({"dim": "wait_band", "categories": OVER18, "where": {"ehcp_status": "ALL"}, "name": "OVER18"})
        pre.append(pd.DataFrame({"area_code": list(hidden), **total, "wait_band": band}))
        shown.append(pd.DataFrame({"area_code": list(published), **total, "wait_band": band}))
    return protect_table(raw, dims=["ehcp_status", "wait_band"], value_col="waiting", hierarchies=hierarchies,
                         low=low, high=high, group_cols=["month", "service"],
                         presuppressed=pd.concat(pre, ignore_index=True),
                         published_elsewhere=pd.concat(shown, ignore_index=True), extra_sums=extra,
                         rest_of_group_areas=rest_of_group_areas)


def bands(engine, service: str, month: str, areas=None) -> pd.DataFrame:
    """:func:`protect_bands` for one service and month of the engine's load, from the totals the
    engine publishes (this output's own protection; pages serve it through
    ``measures.release.waiting_bands``). The areas of the hierarchies are protected apart from all
    other areas, which they never add up with, so ``areas`` (a subset) gives exactly the rows the
    whole table would."""
    raw = engine.db.query_file("waiting_bands", {"service": service, "month": month})
    lists = engine.table([f"wait_list_{service}"], None, [month[:7]])
    over = engine.table(["autism_over_13wk_pct"], None, [month[:7]]) if service == "AUTISM" else lists.iloc[:0]
    engine_bands = {}
    for band, mid in (("OVER18", f"wait_over18_{service}"), ("52plus", f"wait_over52_{service}")):
        rows = engine.table([mid], None, [month[:7]])
        hidden = rows["suppressed"].astype(bool)
        engine_bands[band] = (rows.loc[hidden, "area_code"], rows.loc[~hidden & rows["numerator"].notna(), "area_code"])
    hierarchies = engine.hierarchies()
    local = {a for p, ch in hierarchies for a in (p, *ch)}
    parts = []
    for in_local in (True, False):
        rows = raw["area_code"].astype(str).isin(local) == in_local
        if areas is not None:
            rows &= raw["area_code"].astype(str).isin({str(a) for a in areas})
        if not rows.any():
            continue
        part = protect_bands(raw[rows].reset_index(drop=True), service, month,
                             lists.loc[lists["suppressed"].astype(bool), "area_code"],
                             over.loc[over["suppressed"].astype(bool), "area_code"], hierarchies,
                             engine.suppress_min, engine.suppress_max,
                             rest_of_group_areas=engine.below_council_areas(), engine_bands=engine_bands)
        if len(part):
            parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def bands_summary(cells: pd.DataFrame, name: str, service_name: str, label: str) -> dict:
    """Shares of each wait band by EHC plan status for one area's protected cells (``shares``: None
    when every figure is suppressed), with title candidates, the sentence and the table."""
    shares = share_within(cells[~cells["wait_band"].isin(["OVER13", "OVER18"])], by="ehcp_status", category="wait_band",
                          value_col="waiting")
    if shares.empty:
        return {"shares": None}
    shares["Status"] = shares["ehcp_status"].map(STATUS)
    shares["Band"] = shares["wait_band"].map(band_label)
    order = {b: i for i, b in enumerate([*BANDS.values(), SUPPRESSED])}
    s_order = {s: i for i, s in enumerate(STATUS.values())}
    shares = shares.sort_values(by=["Band", "Status"],
                                key=lambda c: c.map(order) if c.name == "Band" else c.map(s_order))

    def over18(status: str) -> float | None:
        g = shares[(shares["ehcp_status"] == status) & shares["wait_band"].isin(["18to52wk", "52plus"])]
        if len(g) < 2 or shares[(shares["ehcp_status"] == status)]["wait_band"].str.startswith("Suppressed").any():
            return None
        return float(g["share"].sum())
    with_p, without_p, all_p = over18("ehc_plan"), over18("no_ehc_plan"), over18("ALL")
    if with_p is not None and without_p is not None:
        titles = (f"{with_p:.0f}% with a plan wait 18+ weeks, {without_p:.0f}% without",
                  f"{with_p:.0f}% vs {without_p:.0f}% waiting 18+ weeks")
    elif all_p is not None:
        titles = (f"{all_p:.0f}% of children waiting have waited 18+ weeks", "How long children have waited")
    else:
        titles = ("How long children have waited, by EHC plan status",)
    total = cells[(cells["ehcp_status"] == "ALL") & (cells["wait_band"] == "ALL")]["waiting"]
    parts = [f"Children waiting for {service_name.lower()} in {name} at the end of {label}, by how long they have "
             "waited so far, with and without an EHC plan."]
    if len(total) and pd.notna(total.iloc[0]):
        parts.append(f"{total.iloc[0]:,.0f} children were waiting.")
    for code, p in (("ALL", all_p), ("ehc_plan", with_p), ("no_ehc_plan", without_p)):
        if p is not None:
            parts.append(f"{STATUS[code]}: {p:.1f}% had waited 18 weeks or more.")
    if shares["wait_band"].str.startswith("Suppressed").any():
        parts.append("The light segment labelled 'Suppressed (small numbers)' groups bands that are hidden to "
                     "protect small numbers; it never shows a single hidden count.")
    table = cells[~cells["wait_band"].isin(["OVER13", "OVER18"])].assign(
        Status=lambda d: d["ehcp_status"].map(STATUS),
        Band=lambda d: d["wait_band"].map(lambda b: "All bands" if b == "ALL" else band_label(b)),
        Note=lambda d: d["suppression_reason"].fillna("")).rename(columns={"waiting": "Children waiting"})
    table = table.merge(shares[["ehcp_status", "wait_band", "share"]], on=["ehcp_status", "wait_band"], how="left")
    table["% of status"] = table["share"].round(1)
    return {"shares": shares, "titles": titles, "sentence": " ".join(parts), "table": table}


def overview_rows(t: pd.DataFrame, services: Sequence[str], measures: Mapping[str, Measure],
                  variation_text: Mapping[str, str]) -> pd.DataFrame:
    """Every service's latest published month of each view for one area's measure-table rows ``t``,
    with its SPC variation (``variation_text`` names it) when there are 6 months or more; suppressed
    months are skipped."""
    # Plain arrays of the four columns used: far cheaper than filtering whole rows per series.
    mids = t["measure_id"].to_numpy(dtype=object)
    periods = t["period"].astype(str).to_numpy(dtype=object)
    labels = t["period_label"].to_numpy(dtype=object)
    values = t["value"].to_numpy(dtype=float)
    rows = []
    for s in services:
        row = {"Service": codes.SERVICES.get(s, s)}
        for v, label in VIEWS.items():
            m = measures.get(f"{v}_{s}")
            pos = np.flatnonzero(mids == f"{v}_{s}")
            pos = pos[np.argsort(periods[pos], kind="stable")]  # in period order
            pos = pos[~np.isnan(values[pos])]  # suppressed months are skipped
            if m is None or not len(pos):
                row[label] = "not available"
                continue
            last = pos[-1]
            text = f"{m.format_value(values[last])} ({labels[last]})"
            if len(pos) >= 6:
                frame = spc(values[pos], improvement=IMPROVEMENT[m.polarity],
                            dates=pd.to_datetime(pd.Series(periods[pos]).str[:10]).to_numpy())
                text += " " + variation_text.get(spc_summary(frame)["variation"] or "", "")
            row[label] = text
        rows.append(row)
    return pd.DataFrame(rows)
