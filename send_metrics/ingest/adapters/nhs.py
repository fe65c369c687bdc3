"""NHS England publications: autism waiting time statistics, the MHSDS monthly time series and the
Community Health Services (CHS) waiting lists.

Only what maps faithfully onto the contract is loaded:

* Autism waiting time statistics (long CSV, `PRIMARY_LEVEL` = sub-ICB): new "suspected autism"
  referrals of children aged 0-17 in the month (ASD12a) -> `waiting_activity.referrals_received`
  for service AUTISM; children with an open referral (ASD16b), of whom open 13 weeks or more
  (ASD16c) -> `waiting_list` in the publisher's own two bands (0to13wk, 13plus). Sub-ICB 01K goes to E38000228, whose coverage note says it includes
  Lancaster district: it is never treated as South Cumbria; 01H goes to E38000215 (= North Cumbria).
* MHSDS monthly time series: MHS95 (children and young people under 18 with at least one contact in
  the rolling 12 months) and the eating-disorder treatment waits ED86/ED86a (urgent, within 1 week)
  and ED87/ED87a/ED87b (routine, within 4 weeks), for sub-ICBs 01H and 01K (CCGs of the same codes
  before July 2022), provider RNN and England -> `mental_health`, by the month a reporting period ends.
* CHS waiting lists (xlsx): the total list (Table 4) and its wait bands 0-1, 1-2, 2-4, 4-12, 12-18,
  18-52, 52+ weeks (Tables 4a-4g), loaded in the publisher's own bands, for England and the providers
  RNN (North Cumbria) and RTX (South Cumbria and north Lancashire, UHMB) -> `waiting_list`.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from send_metrics.contract import codes
from send_metrics.ingest.adapters.common import combine, file_edition, plural, read_table, write_csv

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
    from send_metrics.ingest.adapters.result import AdaptResult
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
    # The waiting list: children aged 0-17 with an open referral (ASD16b), of whom open 13 weeks or
    # more (ASD16c), in the publisher's own two bands: 13plus = ASD16c, 0to13wk = ASD16b - ASD16c.
    cells: dict[tuple[str, str], dict[str, str]] = {}
    for r in top[top["metric"].isin(["ASD16b", "ASD16c"])].itertuples(index=False):
        code = SUB_ICB.get(r.primarylevel)
        month = _month(r.reportingperiodstart)
        if code is None or month is None:
            continue
        cells.setdefault((month, code), {})[r.metric] = _value(r.metricvalue)
    list_rows = []
    for (month, code), v in sorted(cells.items()):
        total, over = v.get("ASD16b", ""), v.get("ASD16c", "")
        if total == "":
            continue
        under = combine([total, over], "diff") if over != "" else ""
        for band, value in (("0to13wk", under), ("13plus", over)):
            if value != "":
                list_rows.append([month, "Month", code, "sub_icb", "", "AUTISM", "all", band, value, edition])
    notes.append("ASD16b (children aged 0-17 with an open suspected-autism referral) and ASD16c (of whom the referral "
                 "has been open 13 weeks or more) -> waiting_list for service AUTISM in the publisher's two bands: "
                 "13plus = ASD16c, 0to13wk = ASD16b - ASD16c (both published rounded to 5, so the under-13-weeks "
                 "band is a difference of rounded counts; '*' makes both 'c'). The list size is ASD16b and the share "
                 "open 13 weeks or more is ASD16c / ASD16b; no other band edge exists in this source")
    notes.append("not loaded: age-group breakdown rows; adult metrics; closed referrals (ASD13), referrals not seen "
                 "again (ASD14) and first-appointment splits (ASD18/ASD19), which no contract column holds")
    outputs = [("waiting_activity", write_csv(workdir, "waiting_activity_autism", ACTIVITY_COLS, rows))] if rows else []
    if list_rows:
        outputs.append(("waiting_list", write_csv(workdir, "waiting_list_autism", LIST_COLS, list_rows)))
    return AdaptResult("NHS England autism waiting time statistics", outputs, notes)


MHSDS_COLS = ["time_period", "time_identifier", "area_code", "area_level", "area_name", "cyp_in_contact", "ed_urgent",
              "ed_urgent_1wk", "ed_routine", "ed_routine_4wk", "edition"]
MHSDS_MEASURES = {"MHS95": ("cyp_in_contact",), "ED86": ("ed_urgent",), "ED86a": ("ed_urgent_1wk",),
                  "ED87": ("ed_routine",), "ED87a": ("ed_routine_4wk",), "ED87b": ("ed_routine_4wk",)}
# Geographic breakdowns read: the sub-ICB (and, before July 2022, the CCG of the same code and
# footprint) of residence or GP practice, the provider, England. STP, ICB and region rows are not
# dashboard areas; the ethnicity, age, ... breakdowns of England have no contract dimension.
MHSDS_BREAKDOWNS = {"subicbofresidence": "sub_icb", "subicbgppracticeorresidence": "sub_icb",
                    "ccgofresidence": "sub_icb", "ccggppracticeorresidence": "sub_icb", "provider": "provider",
                    "england": "england"}


def adapt_mhsds(path: Path, workdir: Path):
    from send_metrics.ingest.adapters.result import AdaptResult
    from send_metrics.ingest.adapters.common import text_key
    t = read_table(path)
    df = t.df
    notes = list(t.notes)
    edition, evidence = file_edition(path)
    notes.append(f"edition {edition}, from {evidence}")
    df = df[df["measureid"].isin(list(MHSDS_MEASURES))]
    if "secondarylevel" in df:
        df = df[df["secondarylevel"].isin(["NONE", ""])]
    cells: dict[tuple[str, str], dict[str, list[str]]] = {}
    levels: dict[str, str] = {}
    statuses: dict[tuple[str, str], set[str]] = {}
    providers = {"RNN", "RTX"}
    for r in df.itertuples(index=False):
        kind = MHSDS_BREAKDOWNS.get(text_key(r.breakdown))
        if kind is None:
            continue
        code = {"sub_icb": SUB_ICB.get(r.primarylevel), "england": "E92000001",
                "provider": r.primarylevel if r.primarylevel in providers else None}[kind]
        month = _month(r.reportingperiodend) if hasattr(r, "reportingperiodend") else None
        if code is None or month is None:
            continue
        levels[code] = kind
        statuses.setdefault((month, code), set()).add(getattr(r, "status", ""))
        for col in MHSDS_MEASURES[r.measureid]:
            cells.setdefault((month, code), {}).setdefault(col, []).append(_value(r.measurevalue))
    rows = []
    for (month, code), v in sorted(cells.items()):
        row = [month, "Month", code, levels[code], ""]
        for col in MHSDS_COLS[5:-1]:
            parts = v.get(col)
            if col == "ed_routine_4wk":
                row.append(combine(parts) if parts and len(parts) == 2 else "")  # ED87a + ED87b, both needed
            else:
                row.append(parts[0] if parts else "")
        rows.append(row + [edition])
    provisional = sorted({m for (m, _), st in statuses.items() if "Performance" in st})
    notes.append("MHS95 (children and young people aged under 18 with at least one contact in the 12 months to the "
                 "month) -> mental_health.cyp_in_contact; ED86 / ED86a (urgent eating-disorder cases entering "
                 "treatment, of which within 1 week) -> ed_urgent / ed_urgent_1wk; ED87 / ED87a + ED87b (routine "
                 "cases, of which within 4 weeks) -> ed_routine / ed_routine_4wk; the month is the one the reporting "
                 "period ends in (MHS95: rolling 12 months; ED: rolling 3 months); '*' (suppressed by NHS England) "
                 "-> 'c'; the published proportions (ED86e, ED87e) are recomputed as sums over sums")
    notes.append("areas: sub-ICBs 01H and 01K (before July 2022 the CCGs of the same codes and footprints: NHS North "
                 "Cumbria CCG, NHS Morecambe Bay CCG), provider RNN and England; other sub-ICBs, STPs, ICBs, regions "
                 "and the England breakdowns by age, ethnicity, ... are not loaded; " + SUB_ICB_NOTE)
    if provisional:
        notes.append(f"months {provisional[0][:4]}-{provisional[0][4:]} to {provisional[-1][:4]}-{provisional[-1][4:]} "
                     "are 'Performance' (provisional) figures in this file; earlier months are 'Final'")
    notes.append("not loaded: the other MHSDS measures (MHS01 ... MHS108, EIP23), which no contract column holds")
    outputs = [("mental_health", write_csv(workdir, "mental_health_mhsds", MHSDS_COLS, rows))] if rows else []
    return AdaptResult("NHS England Mental Health Services Data Set (MHSDS) time series", outputs, notes)


def adapt_text(path: Path, workdir: Path, header: list[str], keys: set[str]):
    from send_metrics.ingest.adapters.result import AdaptResult
    if AUTISM_KEYS <= keys:
        return adapt_autism(path, workdir)
    if MHSDS_KEYS <= keys:
        return adapt_mhsds(path, workdir)
    if {"therapy", "totalwaitinglist"} <= keys or {"organisationname", "totalwaitinglist"} <= keys:
        return AdaptResult("Community Health Services waiting list (derived table)", [], [
            "recognised (a derived table of CHS waiting lists: total, >18-52 and >52 weeks); the contract's wait "
            "bands need the whole distribution, so it is not loaded"])
    return None


# CHS SitRep service columns (children and young people) -> contract service codes. Screening,
# immunisation, the child health information service, rapid response, safeguarding and looked-after
# children teams are not SEND waiting lists (safeguarding and LAC are published nationally only).
CHS_SERVICES = {
    "(cyp) community paediatric service": "PAEDS",
    "(cyp) therapy interventions: speech and language": "SLT",
    "(cyp) therapy interventions: occupational therapy": "OT",
    "(cyp) therapy interventions: physiotherapy": "PHYSIO",
    "(cyp) audiology": "AUDIOLOGY",
    "(cyp) therapy interventions: dietetics": "DIETETICS",
    "(cyp) therapy interventions: orthotics": "ORTHOTICS",
    "(cyp) wheelchair, orthotics, prosthetics and equipment": "WHEELCHAIR",
    "(cyp) community nursing services (planned care and rapid response teams)": "CYP_NURSING",
    "(cyp) nursing and therapy teams support for long term conditions": "CYP_LTC",
}
# Providers loaded (ODS code -> the name the publisher uses; built-in areas with their footprints in
# send_metrics/reference/areas.csv). Files without an organisation-code column are matched by name.
CHS_PROVIDERS = {
    "RNN": "north cumbria integrated care nhs foundation trust",
    "RTX": "university hospitals of morecambe bay nhs foundation trust",
}
PROVIDER_NOTE = ("providers are not geographies: RNN (North Cumbria Integrated Care NHS FT) serves North Cumbria; "
                 "RTX (University Hospitals of Morecambe Bay NHS FT) serves South Cumbria and north Lancashire "
                 "(UHMB), never South Cumbria alone")
LIST_COLS = ["time_period", "time_identifier", "area_code", "area_level", "area_name", "service", "ehcp_status",
             "wait_band", "waiting", "edition"]


def _chs_band(title: str) -> str | None:
    """'Total waiting list ...' -> 'total'; 'Number waiting >18-52 weeks (127-364 days) ...' -> '18to52wk';
    'Number waiting over 52 weeks ...' -> '52plus'. None when the title is not a CHS table."""
    t = title.lower()
    if t.startswith("total waiting list"):
        return "total"
    m = re.search(r"waiting\s*>?\s*(\d+)\s*-\s*(\d+)\s*weeks", t)
    if m:
        return f"{int(m.group(1))}to{int(m.group(2))}wk"
    m = re.search(r"waiting\s*(?:over|more than|>)\s*(\d+)\s*weeks", t)
    if m:
        return f"{int(m.group(1))}plus"
    return None


def _chs_month(title: str) -> str | None:
    from send_metrics.ingest.adapters.common import MONTHS
    m = re.search(r"([a-z]+)\s+(20\d{2})\s*$", title.strip().lower())
    if m and m.group(1) in MONTHS:
        return f"{m.group(2)}{MONTHS[m.group(1)]:02d}"
    return None


def _cell(v) -> str:
    """A CHS cell as published: blank (no organisation submitted) -> '', '*' -> 'c'."""
    if v is None:
        return ""
    if isinstance(v, (int, float)):
        return str(int(v)) if float(v).is_integer() else repr(float(v))
    t = str(v).strip()
    return "c" if t == "*" else t


def read_chs_tables(path: Path) -> dict:
    """{sheet: (title, header row number, [(row number, org type, org code, org name, {column label: value})])}
    for every 'Table 4*' sheet of a CHS workbook (both layouts: the 2023 spring files with the
    organisation type only on the first row of a group and no codes; later files with type, code, name)."""
    import openpyxl
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    out = {}
    try:
        for ws in wb.worksheets:
            if not re.fullmatch(r"table 4[a-z]?", ws.title.strip().lower()):
                continue
            ws.reset_dimensions()  # some files carry a wrong stored dimension (A1:A1)
            rows = list(ws.iter_rows(values_only=True))
            title = next((str(c) for c in (rows[0] if rows else ()) if c), "")
            hdr = next((i for i, r in enumerate(rows) if any(str(c).startswith(("(A)", "(CYP)")) for c in r if c)), None)
            if hdr is None:
                continue
            labels = {j: " ".join(str(c).split()) for j, c in enumerate(rows[hdr]) if c and str(c).startswith("(")}
            org_type, body = "", []
            for i in range(hdr + 1, len(rows)):
                r = rows[i]
                if not r or not any(c not in (None, "") for c in r):
                    continue
                a, b, c = (list(r) + [None, None, None])[:3]
                if a and b is not None and isinstance(a, str) and a.strip():
                    org_type, code = a.strip(), str(b or "").strip()
                else:
                    if b and str(b).strip():
                        org_type = str(b).strip()
                    code = ""
                name = str(c or "").strip()
                if not name:
                    continue
                body.append((i + 1, org_type, code, name, {lab: r[j] if j < len(r) else None for j, lab in labels.items()}))
            out[ws.title.strip()] = (title, hdr + 1, body)
    finally:
        wb.close()
    return out


def adapt_chs(path: Path, workdir: Path, tables: dict):
    from send_metrics.ingest.adapters.result import AdaptResult
    edition, evidence = file_edition(path)
    notes = [f"edition {edition}, from {evidence}"]
    by_band: dict[str, tuple[str, dict]] = {}
    month = None
    for sheet, (title, _hdr, body) in tables.items():
        band = _chs_band(title)
        if band is None:
            continue
        if band != "total" and band not in codes.WAIT_BANDS:
            notes.append(f"{sheet}: wait band '{title}' is not a contract band code ({band}); not loaded")
            continue
        month = month or _chs_month(title)
        by_band[band] = (sheet, body)
    if "total" not in by_band or month is None:
        return None
    wanted = {v: k for k, v in CHS_PROVIDERS.items()}
    cells: dict[tuple[str, str], dict[str, str]] = {}
    where: dict[str, str] = {}
    for band, (sheet, body) in by_band.items():
        for rownum, org_type, code, name, vals in body:
            t = org_type.lower()
            if t in ("national", "") and name.lower() == "england":
                area = "E92000001"
            elif t == "provider" or code in CHS_PROVIDERS or name.lower() in wanted:
                area = code if code in CHS_PROVIDERS else wanted.get(name.lower())
                if area is None:
                    continue
            else:
                continue
            if band == "total":
                where[area] = f"{sheet} row {rownum}"
            for label, v in vals.items():
                svc = CHS_SERVICES.get(label.lower())
                if svc:
                    cells.setdefault((area, svc), {})[band] = _cell(v)
    rows, unbanded, inconsistent, blank = [], 0, [], 0
    band_codes = [b for b in codes.WAIT_BAND_SETS["nhs_chs"] if b in by_band]
    for (area, svc), vals in sorted(cells.items()):
        total = vals.get("total", "")
        if total == "":
            blank += 1  # no organisation submitted for this service line
            continue
        level = "england" if area == "E92000001" else "provider"
        out = {b: vals.get(b, "") for b in band_codes}
        nums = [to_int(out[b]) for b in band_codes]
        t = to_int(total)
        if t is not None and all(n is not None for n in nums):
            rest = t - sum(nums)
            if rest < 0:
                inconsistent.append(f"{area} {svc}")
                continue
            if rest:
                out[codes.UNBANDED] = str(rest)
                unbanded += 1
        elif t is not None and all(out[b] == "" for b in band_codes):
            out = {codes.UNBANDED: str(t)}
            unbanded += 1
        elif total == "c" or any(v == "c" for v in out.values()):
            out = {b: ("c" if v in ("", "c") else v) for b, v in out.items()}
        for b, v in out.items():
            if v == "":
                continue
            rows.append([month, "Month", area, level, "", svc, "all", b, v, edition])
    notes.append(f"month {month[:4]}-{month[4:]} (from the table titles); wait bands "
                 f"{', '.join(codes.wait_band_label(b) for b in band_codes)} (Tables 4a-4g, the publisher's own "
                 "bands, loaded as they are) and the total list (Table 4)")
    notes.append("loaded: England and providers " + ", ".join(f"{a} ({where.get(a, 'not in the file')})"
                                                             for a in CHS_PROVIDERS) + "; " + PROVIDER_NOTE)
    notes.append(f"{plural(len({s for _, s in cells}), 'CYP service')} mapped (" + ", ".join(
        sorted({s for _, s in cells})) + "); other CYP lines (screening, immunisation, child health information, "
        "rapid response, safeguarding, looked-after children) and adult services are not SEND waiting lists: "
        "not loaded; ICB and region rows are sums of providers (basis: provider), not geographies: not loaded")
    if unbanded:
        notes.append(f"{plural(unbanded, 'list')} where the weekly bands do not add up to the total ('some providers "
                     "were still collecting data by weeks waiting'): the difference is loaded as wait band "
                     "'unbanded', so the list size equals the published total and shares use banded waits only")
    if blank:
        notes.append(f"{plural(blank, 'provider service line')} blank (no organisation submitted): no figure")
    if inconsistent:
        notes.append("bands exceed the total, not loaded: " + ", ".join(inconsistent))
    outputs = [("waiting_list", write_csv(workdir, "waiting_list_chs", LIST_COLS, rows))] if rows else []
    return AdaptResult("NHS England Community Health Services waiting lists (xlsx)", outputs, notes)


def to_int(v: str) -> int | None:
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def adapt_workbook(path: Path, workdir: Path):
    """CHS waiting-list workbooks are recognised from their sheet titles."""
    try:
        tables = read_chs_tables(path)
    except Exception:
        return None
    if not tables or not any(_chs_band(t) for t, _, _ in tables.values()):
        return None
    return adapt_chs(path, workdir, tables)
