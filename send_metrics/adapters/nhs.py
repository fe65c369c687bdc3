"""NHS England publications: autism waiting time statistics, the MHSDS monthly time series and the
Community Health Services (CHS) waiting lists.

Only what maps faithfully onto the contract is loaded:

* Autism waiting time statistics (long CSV, `PRIMARY_LEVEL` = sub-ICB): new "suspected autism"
  referrals of children aged 0-17 in the month (ASD12a) -> `waiting_activity.referrals_received`
  for service AUTISM. The waiting list is published only as "open" and "open 13 weeks or more",
  which the contract's wait bands (0-4, 4-8, 8-13, 13-18, 18-26, 26-52, 52+ weeks) cannot hold, so
  it is reported, not loaded. Sub-ICB 01K goes to E38000228, whose coverage note says it includes
  Lancaster district: it is never treated as South Cumbria; 01H goes to E38000215 (= North Cumbria).
* MHSDS: none of its measures is a contract column (MHS95 counts children with one contact over a
  rolling 12 months; ED86/ED87 are eating-disorder treatment waits); recognised and explained.
* CHS waiting lists (xlsx): bands 0-1, 1-2, 2-4, 4-12, 12-18, 18-52, 52+ weeks do not line up
  with the contract's bands beyond 0-4 and 52+; recognised and explained.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from .common import file_edition, plural, read_table, write_csv

SUB_ICB = {"01H": "E38000215", "01K": "E38000228"}
SUB_ICB_NOTE = ("sub-ICB 01K is loaded as E38000228 (NHS Lancashire and South Cumbria ICB - 01K), which also covers "
                "Lancaster district and 3 Craven LSOAs: its figures are NOT South Cumbria; 01H (E38000215) is "
                "exactly North Cumbria")
AUTISM_KEYS = {"reportingperiodstart", "primarylevel", "metric", "metricvalue"}
MHSDS_KEYS = {"reportingperiodstart", "primarylevel", "measureid", "measurevalue"}
ACTIVITY_COLS = ["time_period", "time_identifier", "area_code", "area_level", "area_name", "service", "ehcp_status",
                 "referrals_received", "referrals_accepted", "seen", "seen_within_18_weeks", "edition"]


def _month(d: str) -> str | None:
    for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%d/%m/%y"):
        try:
            return dt.datetime.strptime(d.strip()[:10], fmt).strftime("%Y%m")
        except ValueError:
            continue
    return None


def _value(v: str) -> str:
    v = v.strip()
    return "c" if v in ("*", "-") else v  # '*' = suppressed by NHS England


def adapt_autism(path: Path, workdir: Path):
    from . import AdaptResult
    t = read_table(path)
    df = t.df
    notes = list(t.notes)
    top = df[(df.get("secondarylevel", "NONE") == "NONE")] if "secondarylevel" in df else df
    levels = sorted(set(top["primarylevel"]))
    rows, skipped = [], set()
    ends = [e for e in map(_month, top.get("reportingperiodend", top["reportingperiodstart"])) if e]
    edition, evidence = file_edition(path)
    notes.append(f"edition {edition}, from {evidence}" + (f"; latest month in the file {max(ends)[:4]}-{max(ends)[4:]}"
                                                          if ends else ""))
    for r in top[top["metric"] == "ASD12a"].itertuples(index=False):
        code = SUB_ICB.get(r.primarylevel)
        if code is None:
            skipped.add(r.primarylevel)
            continue
        month = _month(r.reportingperiodstart)
        if month is None:
            continue
        rows.append([month, "Month", code, "sub_icb", r.primaryleveldescription if hasattr(r, "primaryleveldescription")
                     else "", "AUTISM", "all", _value(r.metricvalue), "", "", "", edition])
    notes.append(f"{plural(len(levels), 'sub-ICB')} in the file; ASD12a (new suspected-autism referrals, aged 0-17) "
                 "-> waiting_activity.referrals_received for service AUTISM, EHCP status 'all'; accepted / seen / "
                 "seen within 18 weeks are not published here ('x')")
    notes.append(SUB_ICB_NOTE)
    if skipped:
        notes.append(f"{plural(len(skipped), 'sub-ICB')} outside the dashboard's areas ignored (only 01H and 01K "
                     "are Cumbrian)")
    notes.append("not loaded: the open waiting list (ASD16b) and those open 13 weeks or more (ASD16c) - the "
                 "contract's wait bands cannot hold a single 13-week split; age-group breakdown rows; adult metrics")
    outputs = [("waiting_activity", write_csv(workdir, "waiting_activity_autism", ACTIVITY_COLS, rows))] if rows else []
    return AdaptResult("NHS England autism waiting time statistics", outputs, notes)


def adapt_text(path: Path, workdir: Path, header: list[str], keys: set[str]):
    from . import AdaptResult
    if AUTISM_KEYS <= keys:
        return adapt_autism(path, workdir)
    if MHSDS_KEYS <= keys:
        return AdaptResult("NHS England Mental Health Services Data Set (MHSDS) time series", [], [
            "recognised; no MHSDS measure is a contract column: MHS95 counts children with at least one contact "
            "over a rolling 12 months (not referrals or waits), ED86/ED87 are eating-disorder treatment waits "
            "(1, 4, 12 weeks), MHS32 counts referrals of all ages; nothing loaded",
            SUB_ICB_NOTE + " (if MHSDS measures are added to the contract)"])
    if {"therapy", "totalwaitinglist"} <= keys or {"organisationname", "totalwaitinglist"} <= keys:
        return AdaptResult("Community Health Services waiting list (derived table)", [], [
            "recognised (a derived table of CHS waiting lists: total, >18-52 and >52 weeks); the contract's wait "
            "bands need the whole distribution, so it is not loaded"])
    return None


def adapt_workbook(path: Path, workdir: Path):
    """CHS waiting-list workbooks are recognised from their sheet titles."""
    from . import AdaptResult
    try:
        import openpyxl
        wb = openpyxl.load_workbook(path, read_only=True)
    except Exception:
        return None
    try:
        titles = []
        for ws in wb.worksheets[:20]:
            first = next(ws.iter_rows(min_row=1, max_row=1, values_only=True), ())
            titles.append(" ".join(str(c) for c in first if c))
    finally:
        wb.close()
    text = " ".join(titles).lower()
    if "waiting" in text and re.search(r"0-1 weeks|providers in scope", text):
        return AdaptResult("NHS England Community Health Services waiting lists (xlsx)", [], [
            "recognised (CHS SitRep: waiting list by ICB and provider, one table per wait band)",
            "not loaded: its bands (0-1, 1-2, 2-4, 4-12, 12-18, 18-52, 52+ weeks) do not line up with the "
            "contract's (0-4, 4-8, 8-13, 13-18, 18-26, 26-52, 52+); only 0-4 and 52+ could be filled, which "
            "would undercount every list",
            "provider rows (RNN North Cumbria Integrated Care, RTX University Hospitals of Morecambe Bay, RW5 "
            "Lancashire & South Cumbria NHS FT) would be labelled by provider (area_level 'provider'), never "
            "as a geography"])
    return None
