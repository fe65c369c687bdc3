"""A synthetic SEN2 person-level return for Cumberland (DfE 942), as COLLECT's Blade export writes it.

`write_export(out)` writes three returns (January 2024, 2025 and 2026, each in a different layout of
the return: 1.1, 1.2 and 1.3), nine files each, named `Blade-Export_<DD-MM-YYYY>_<module>.csv`, plus a
small synthetic postcode lookup in the National Statistics Postcode Lookup (NSPL) layout and a small
Get Information About Schools (GIAS) extract. Everything is synthetic and deterministic (fixed seed):
no name, date of birth, UPN or postcode belongs to anyone.

Calibrated so that the local measures equal the published council figures the demo shows for Cumberland
(DfE "Education, health and care plans" release 2025, 26 June 2025, and 2026, as transcribed in
`reference/published_benchmarks.csv`; the Cumberland SEND and AP strategy 2024 for the autism share), and for
2025 activity the demo's synthetic figures (`demo.py`), so that the export and the demo never give one figure two
values:

* caseload on the January census date: 2024 = 2,656, 2025 = 2,893, 2026 = 3,088;
* primary need, January 2025, as published (sen_needs_all_plans.csv: ASD 1,041, SLCN 623, SEMH 574, MLD 17,
  SLD 303, PMLD 32, SPLD 45, HI 33, VI 28, MSI 0, PD 191, OTH 0, no need recorded 6); January 2024 autism
  955 of 2,656 (35.96%, the strategy);
* setting, January 2024 and 2025, as published (caseload.csv placements: mainstream 1,557 / 1,754, state
  special 467 / 517, alternative provision 31 / 43, independent special 83 / 80); post-16, early years and
  other share the rest as the demo's shares do;
* requests for assessment in a calendar year, refusals, decisions and decisions within 6 weeks: 2023 551,
  129, 529, 522; 2024 718, 278, 690, 683 (requests.csv); 2025 772, 262, 745, 611 (the demo's, synthetic);
* new plans in a calendar year: 2023 = 402, 2024 = 412 (DfE), 2025 = 318 (the demo's, synthetic);
* 20-week timeliness: 2023 104 of 393 (26.5%) including and 104 of 384 (27.1%) excluding exceptions;
  2024 159 of 378 (42.1%) and 159 of 373 (42.6%); 2025 19 of 286 (6.6%) and 19 of 284 (6.7%);
* plans ceased in calendar 2023: 260, by reason as published (CEASED_2023).
  New plans not in the timeliness denominator are plans issued after an assessment completed by
  another LA (assessment outcome S).

`tests/ingest/test_sen2_person_level.py` checks every one of these from the export alone.

Each return is a snapshot of one case history as at its census date: a step dated after the census
date is not yet known (blank), so a request open at one census appears decided in the next return.
"""
from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

from send_metrics.ingest.sen2_blade import MODULES, blade_date, module_columns
from send_metrics.tools.sen2_blade_world import (
    Case,
    LA,
    OTHER_SETTING_CODES,
    RETURNS,
    SCHOOLS,
    SCHOOL_BY_SETTING,
    SEED,
    _World,
    build,
    build_large,
)


def write_large_export(out: Path, open_plans: int = 20_000, years: int = 5,
                       seed: int = SEED) -> dict[str, object]:
    """The benchmark's large council, written as the export, postcode lookup and GIAS extract."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    w, returns = build_large(open_plans, years, seed)
    written = _write_returns(w, returns, out, "NSPL_synthetic_large.csv")
    return {"files": written, "people": len(w.people), "cases": len(w.cases), "returns": len(returns)}


# -- snapshots ----------------------------------------------------------------------------------

def _known(d: dt.date | None, census: dt.date) -> dt.date | None:
    return d if d is not None and d <= census else None


def _in_return(c: Case, census: dt.date) -> bool:
    if c.received > census:
        return False
    year_start = dt.date(census.year - 1, 1, 1)
    steps = [d for d in (c.received, c.decision, c.assessed, c.start, c.cease) if d is not None and d <= census]
    active = c.start is not None and c.start <= census and (c.cease is None or c.cease > census)
    closed = ((c.decision is not None and c.decision <= census and c.request_outcome in ("A", "B"))
              or (c.assessed is not None and c.assessed <= census and c.assessment_outcome in ("A", "N"))
              or (c.start is not None and c.start <= census))
    open_case = not closed
    return active or open_case or any(d >= year_start for d in steps)


def snapshot_rows(w: _World, year: int, census: dt.date, version: str) -> dict[str, list[dict]]:
    """The nine modules of one return, as at its census date."""
    rng = random.Random(SEED * 1000 + year)
    rows: dict[str, list[dict]] = {m: [] for m in MODULES}
    ids = {m: 0 for m in MODULES}

    def add(module: str, values: dict) -> str:
        ids[module] += 1
        tid = str(ids[module] + {"sen2": 1, "person": 10, "requests": 20, "assessment": 30, "namedplan": 40,
                                 "plandetail": 50, "activeplans": 60, "placementdetail": 70, "senneed": 80}[module]
                  * 1_000_000 + year * 0)
        key = MODULES[module][0]
        row = {key: tid, "NativeId": f"{module[:3].upper()}{year}-{ids[module]}", f"{module}orderseqcolumn": ids[module],
               "sourceid": f"{year}{ids[module]:07d}", **values}
        rows[module].append(row)
        return tid

    sen2_id = add("sen2", {"collection": "SEN2", "year": year, "referencedate": blade_date(census), "sourcelevel": "L",
                           "lea": LA, "softwarecode": "SYNTHETIC", "release": "Ver1", "serialno": 1,
                           "datetime": blade_date(census + dt.timedelta(days=40)), "dmo": "Synthetic DMO",
                           "dco": "Synthetic DCO", "dsco": "Synthetic DSCO"})
    person_ids: dict[int, str] = {}
    cases = sorted((c for c in w.cases if _in_return(c, census)), key=lambda c: (c.person.n, c.received))
    for c in cases:
        p = c.person
        if p.n not in person_ids:
            person_ids[p.n] = add("person", {
                "sen2tableid": sen2_id, "surname": p.surname, "forename": p.forename,
                "personbirthdate": blade_date(p.birth), "gendercurrent": p.sex, "sex": p.sex, "ethnicity": p.ethnicity,
                "postcode": p.postcode, "upn": p.upn, "uniquelearnernumber": p.uln,
                "upnunknown": "" if p.upn else "UN2"})
        decision = _known(c.decision, census)
        rid = add("requests", {"persontableid": person_ids[p.n], "receiveddate": blade_date(c.received),
                               "requestsource": rng.choice("12345") if c.received.year >= 2024 else "",
                               "rya": "false", "requestoutcomedate": blade_date(decision),
                               "requestoutcome": c.request_outcome if decision else "",
                               "requestmediation": "false", "requesttribunal": "false", "exported": ""})
        if decision is None or c.request_outcome != "C":
            continue
        assessed = _known(c.assessed, census)
        aid = add("assessment", {"requeststableid": rid, "assessmentoutcome": c.assessment_outcome if assessed else "",
                                 "assessmentoutcomedate": blade_date(assessed), "assessmentmediation": "false",
                                 "assessmenttribunal": "false", "othermediation": "false", "othertribunal": "false",
                                 "week20": "true" if c.week20 else "false"})
        start = _known(c.start, census)
        if start is None:
            continue
        cease = _known(c.cease, census)
        setting = p.setting
        urn, ukprn, code = "", "", ""
        if setting in SCHOOL_BY_SETTING:
            urn = str(rng.choice(SCHOOL_BY_SETTING[setting])[0])
        elif setting == "early_years":
            code = "EYP"
        else:
            code = rng.choice(OTHER_SETTING_CODES)
        npid = add("namedplan", {"assessmenttableid": aid, "startdate": blade_date(start), "planres": "false",
                                 "planwbp": "false", "pb": "false", "oa": "false", "dp": "false",
                                 "ceasedate": blade_date(cease), "ceasereason": c.cease_reason if cease else ""})
        add("plandetail", {"namedplantableid": npid, "urn": urn, "ukprn": ukprn, "sensetting": code,
                           "sensettingother": "", "placementrank": 1, "senunitindicator": "false",
                           "resourcedprovisionindicator": "false"})
        if cease is not None:
            continue
        last_review = max(start, census - dt.timedelta(days=rng.randint(20, 420)))
        apid = add("activeplans", {"requeststableid": rid, "transferla": "", "res": "false", "wbp": "false",
                                   "reviewmeeting": blade_date(last_review), "reviewoutcome": "1",
                                   "reviewdraft": "", "phasetransferduedate": "", "phasetransferfinaldate": "",
                                   "lastreview": blade_date(last_review)})
        add("placementdetail", {"activeplanstableid": apid, "urn": urn, "ukprn": ukprn, "sensetting": code,
                                "sensettingother": "", "placementrank": 1, "entrydate": blade_date(start),
                                "leavingdate": "", "attendancepattern": "FT", "senunitindicator": "false",
                                "resourcedprovisionindicator": "false", "res": "false", "wbp": "false"})
        if setting == "mainstream" and rng.random() < 0.05:  # a second, lower-ranked placement
            add("placementdetail", {"activeplanstableid": apid, "urn": "", "ukprn": "", "sensetting": "OLA",
                                    "sensettingother": "", "placementrank": 2, "entrydate": blade_date(start),
                                    "leavingdate": "", "attendancepattern": "PT", "senunitindicator": "false",
                                    "resourcedprovisionindicator": "false", "res": "false", "wbp": "false"})
        # A child with no need recorded (UNK in DfE's tables) has no senneed row.
        needs = [n for n in p.need if not (n == "DS" and version != "1.3")] or (["OTH"] if p.need else [])
        for rank, need in enumerate(needs, start=1):
            add("senneed", {"activeplanstableid": apid, "sentype": need, "sentyperank": rank})
    return rows


def write_module(path: Path, module: str, version: str, rows: list[dict]) -> None:
    cols = module_columns(module, version)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        wr = csv.writer(fh)
        wr.writerow(cols)
        for r in rows:
            wr.writerow([r.get(c, "") for c in cols])


# The National Statistics Postcode Lookup header, as ONS publishes it (NSPL May 2025).
NSPL_HEADER = ["pcd", "pcd2", "pcds", "dointr", "doterm", "usertype", "oseast1m", "osnrth1m", "osgrdind", "oa21", "cty",
               "ced", "laua", "ward", "nhser", "ctry", "rgn", "pcon", "ttwa", "itl", "park", "lsoa21", "msoa21", "wz11",
               "sicbl", "bua24", "ruc21", "oac11", "lat", "long", "lep1", "lep2", "pfa", "imd", "icb"]
GIAS_HEADER = ["URN", "LA (code)", "LA (name)", "EstablishmentNumber", "EstablishmentName", "TypeOfEstablishment (code)",
               "TypeOfEstablishment (name)", "EstablishmentStatus (name)", "PhaseOfEducation (name)", "UKPRN"]


def write_postcode_lookup(w: _World, path: Path) -> None:
    """Synthetic postcodes in the NSPL layout (one per child's address; a few spare), LSOA 2021 codes real."""
    lad = {"LOC-ALLERDALE": "E06000063", "LOC-CARLISLE": "E06000063", "LOC-COPELAND-N": "E06000063",
           "LOC-MILLOM": "E06000063"}
    with open(path, "w", newline="", encoding="utf-8") as fh:
        wr = csv.writer(fh)
        wr.writerow(NSPL_HEADER)
        for pc in sorted(w.postcodes):
            lsoa, loc = w.postcodes[pc]
            out, inward = pc.split(" ")
            row = {"pcd": f"{out:<4}{inward}"[:7], "pcd2": f"{out:<5}{inward}", "pcds": pc, "dointr": "198001",
                   "doterm": "", "usertype": "0", "osgrdind": "1", "cty": "E99999999", "ced": "E99999999",
                   "laua": lad[loc], "ctry": "E92000001", "rgn": "E12000002", "lsoa21": lsoa,
                   "icb": "E54000048" if loc == "LOC-MILLOM" else "E54000050",
                   "sicbl": "E38000228" if loc == "LOC-MILLOM" else "E38000215"}
            wr.writerow([row.get(c, "") for c in NSPL_HEADER])


def write_gias(path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        wr = csv.writer(fh)
        wr.writerow(GIAS_HEADER)
        for urn, name, kind in SCHOOLS:
            phase = "16 plus" if kind == "Further education" else ("Not applicable" if "special" in kind else "Primary")
            wr.writerow([urn, LA, "Cumberland", urn % 10000, name, "", kind, "Open", phase, ""])


def write_export(out: Path, seed: int = SEED, returns: tuple = RETURNS) -> dict[str, object]:
    """Write the synthetic export, the NSPL-layout postcode lookup and the GIAS extract into `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    w = build(seed)
    written = _write_returns(w, returns, out, "NSPL_synthetic_Cumberland.csv")
    return {"files": written, "people": len(w.people), "cases": len(w.cases)}


def _write_returns(w, returns, out: Path, lookup_name: str) -> list[Path]:
    """Write each return's nine modules as the Blade export names them, then the postcode lookup
    and the GIAS extract; the module files written, in order."""
    written = []
    for year, census, exported, version in returns:
        rows = snapshot_rows(w, year, census, version)
        tag = exported.strftime("%d-%m-%Y")
        for module in MODULES:
            path = out / f"Blade-Export_{tag}_{module}.csv"
            write_module(path, module, version, rows[module])
            written.append(path)
    write_postcode_lookup(w, out / lookup_name)
    write_gias(out / "edubasealldata_synthetic.csv")
    return written
