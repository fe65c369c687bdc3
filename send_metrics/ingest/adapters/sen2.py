"""DfE "Education, health and care plans" (SEN2) releases, every generation we know of.

Recognised by their columns (never by file name):

* EES releases 2023-2026 (`caseload`, `sen_needs_all_plans` / `sen_needs_caseload`,
  `timeliness_20_week`, `newplans`, `requests`, `assessments`, `annual_reviews`, ...): tidy
  files with `breakdown_topic, breakdown` filters;
* the management-information file of the 2023 release (`sen2_mi.csv`, snake case:
  `no_exc_20week_rate`, `tot_no_exc_ehc`, ...) and the CamelCase files of 2022 and earlier
  (`NoExc20weekRate`, `TotNoExcEHC`, ...): the same names once case and underscores are ignored;
* old caseload files (`Total_all, Total_ehc, Total_st` by age or establishment, January 2010-2022;
  the 2023 and 2024 releases' `num_caseload` by `ehcp_or_statement`) and old new-plans files
  (`Total_new_all, Total_new_ehc, Total_new_st`, calendar 2009-2021; 2023-2024: `num_new_plans`):
  their Total rows give the caseload total and `ehcp_assessments.new_plans`;
* the other files of older releases (work-based and residential placements, designated medical
  officers, characteristics): recognised and not loaded, with the reason.

Several files of one release feed one contract dataset (`ehcp_assessments` has one row per area
and year with columns from the timeliness, new-plans, requests and annual-review files). Each
file is adapted on its own, so the files of one release in one folder form a *group*: the first
file of the group (by name) writes the merged dataset and the others say so in their notes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from send_metrics import contract
from send_metrics.ingest.adapters.common import (
    EDITION_KEYS,
    records,
    SYMBOLS,
    Table,
    clean,
    combine,
    edition_column,
    file_edition,
    ees_areas,
    fmt_number,
    key,
    period_year,
    plural,
    read_columns,
    read_header,
    read_table,
    text_key,
    to_number,
    write_csv,
)

SOURCE = "DfE Education, health and care plans (SEN2)"

# -- recognition -----------------------------------------------------------------------------

EES_KEYS = {"timeperiod", "timeidentifier", "geographiclevel"}
GEO_KEYS = {"timeperiod", "timeidentifier", "geographiclevel", "countrycode", "countryname", "regioncode",
            "regionname", "newlacode", "oldlacode", "laname", "lacode", "breakdowntopic", "breakdown",
            "edition", "publication", "release", "releasedate", "publicationdate", "published", "version"}

MI_KEYS = {"noexc20weekrate", "totnoexcehc", "noexc20weekehc", "newallehc", "inreqehc", "incexc20weekrate",
           "totincexcehc", "incexc20weekehc", "assrefusedehc"}

OTHER_FILES = {  # recognised parts of the release that have no contract dataset (column key prefixes)
    "res3851": "residential settings",
    "restot": "residential settings",
    "openwbp": "work-based placements",
    "desmedoff": "designated medical / clinical officers",
    "phasetransfer": "phase transfers",
    # 2022 and earlier (sen2_wbp_residential_dmo.csv: MApprenEHC, WorkbasedEHC, Mres38week05EHC, DMO, ...)
    "workbasedehc": "work-based placements",
    "mapprenehc": "work-based placements",
    "mres38week": "residential placements",
    "mres52week": "residential placements",
    "totmres": "residential placements",
    "dmodcofunction": "designated medical / clinical officers",
    # 2023 and 2024 (sen2_wbp.csv: enrolment_type, enrolments; sen2_residential_statements.csv:
    # age, ehcp_or_statement, weeks, num_children_yp; sen2_dmo_dco.csv: dmo, dco, dmodcofunction)
    "enrolmenttype": "work-based placements",
    "numchildrenyp": "residential placements",
}

CASELOAD, NEEDS, NEEDS_NEW, TIMELINESS, NEWPLANS, REQUESTS, ASSESSMENTS, REVIEWS, MI, OLD_CASELOAD, OTHER = (
    "caseload", "needs_caseload", "needs_new_plans", "timeliness", "new_plans", "requests", "assessments",
    "annual_reviews", "management_information", "old_caseload", "other")
CEASED, PERSONAL_BUDGETS, TRIBUNALS = "ceased_plans", "personal_budgets", "tribunals"
OLD_NEWPLANS = "old_new_plans"

# Total columns of the older caseload / new-plans files, preferred first, and the 2023-2024 long
# files' counts (whose `ehcp_or_statement` Total rows are used; statements had ended by then).
# Caseload: statements and EHC plans combined (the DfE headline series), else EHC plans. New plans:
# new EHC plans (the contract's new_plans, the same figure as NewallEHC in the MI file and
# new_ehc_plans in later releases), else the combined count; new statements are not EHC plans.
OLD_CASELOAD_TOTALS = ("totalall", "totalehc", "numcaseload")
OLD_NEWPLANS_TOTALS = ("totalnewehc", "totalnewall", "numnewplans")

CASELOAD_GROUP = (CASELOAD, NEEDS)
ASSESSMENT_GROUP = (TIMELINESS, NEWPLANS, REQUESTS, REVIEWS, ASSESSMENTS)


def classify_keys(keys: set[str], first_cell: str = "") -> str | None:
    if "appealrate" in key(first_cell) or "sendtribunal" in key(first_cell):
        return TRIBUNALS
    ees = EES_KEYS <= keys
    geo = ees or bool(keys & {"newlacode", "oldlacode", "lacode"})
    if not geo:
        return None
    if keys & MI_KEYS:
        return MI
    if keys & set(OLD_CASELOAD_TOTALS):
        return OLD_CASELOAD
    if keys & set(OLD_NEWPLANS_TOTALS):
        return OLD_NEWPLANS
    if not ees:
        return None
    if "numberasd" in keys:
        return NEEDS  # caseload or new plans: told apart by time_identifier once read
    if "ehcplans" in keys and ("mainstreamtotal" in keys or "specialtotal" in keys):
        return CASELOAD
    if "plansissueddenex" in keys or "plansissued20weeksex" in keys:
        return TIMELINESS
    if "newehcplans" in keys:
        return NEWPLANS
    if "requestsreceivedinyear" in keys:
        return REQUESTS
    if "assessinyear" in keys or "assessissued" in keys:
        return ASSESSMENTS
    if "reviewexpected" in keys:
        return REVIEWS
    if "totalceased" in keys:
        return CEASED
    if "personalbudget" in keys:
        return PERSONAL_BUDGETS
    for k, what in OTHER_FILES.items():
        if any(c.startswith(k) for c in keys):
            return OTHER
    return None


def classify(path: Path) -> str | None:
    header = read_header(path)
    if not header:
        return None
    return classify_keys({key(h) for h in header}, header[0])


# -- the contract's "not broken down" codes ---------------------------------------------------

def total_code(allowed) -> str | None:
    """The contract code meaning 'all values of this dimension (not broken down in the source)'."""
    for c in ("ALL", "all", "TOTAL", "total", "Total"):
        if c in allowed:
            return c
    return None


def not_broken_down() -> dict[str, str | None]:
    return {"primary_need": total_code(contract.PRIMARY_NEEDS), "age_band": total_code(contract.AGE_BANDS),
            "setting_type": total_code(contract.SETTING_TYPES)}


# Until the contract has an "all needs" code, plans whose need the source does not give are
# recorded as UNK ("Not recorded"): true of these files, and no catalogue measure counts UNK.
INTERIM_NEED = "UNK"

# -- settings --------------------------------------------------------------------------------

SETTING_COLUMNS = {  # setting_type: alternatives, each a list of column keys summed
    "mainstream": [["mainstreamtotal"]],
    "special": [["speciallamaintained", "specialacademyfree"],
                ["speciallamaintained", "specialacademy", "specialfreeschool"]],
    "independent": [["specialindependent", "specialnonmaintained"]],
    "alternative_provision": [["apprutotal"]],
    "post16": [["fetotal"]],
    "early_years": [["nmearlyyears"]],
}
SETTING_NOTE = ("settings from the placement columns: mainstream = mainstream_total (incl. resourced "
                "provision, SEN units and independent mainstream); special = LA maintained + academy/free "
                "special schools; independent = independent + non-maintained special schools; "
                "alternative_provision = ap_pru_total; post16 = fe_total; early_years = nm_early_years; "
                "other = the rest of the total (educated elsewhere, other placement settings, awaiting "
                "provision, permanently excluded, placement not recorded)")


def _setting_cells(records: list[dict], total_key: str) -> list[dict] | None:
    """setting_type -> published (or derived) cell, for each record; None when columns are missing."""
    if not records:
        return []
    cols = set(records[0])
    chosen = {}
    for setting, alternatives in SETTING_COLUMNS.items():
        alt = next((a for a in alternatives if set(a) <= cols), None)
        if alt is None:
            return None
        chosen[setting] = alt
    out = []
    for r in records:
        cells = {s: (combine([r[c] for c in alt]) if len(alt) > 1 else clean(r[alt[0]])) for s, alt in chosen.items()}
        cells["other"] = combine([r[total_key]] + list(cells.values()), op="diff")
        out.append(cells)
    return out


def _age_band(label: str) -> str | None:
    k = label.strip().lower()
    if re.search(r"under\s*(3|5)", k) or k in ("age 0", "age 1", "age 2"):
        return "0to4"
    m = re.search(r"(\d+)", k)
    if not m or "unknown" in k:
        return None
    age = int(m.group(1))
    for band, (lo, hi) in {"0to4": (0, 4), "5to10": (5, 10), "11to15": (11, 15), "16to19": (16, 19),
                           "20to25": (20, 25)}.items():
        if lo <= age <= hi:
            return band
    return None


NEED_COLUMNS = {"ASD": "numberasd", "SLCN": "numberslcn", "SEMH": "numbersemh", "MLD": "numbermld",
                "SLD": "numbersld", "PMLD": "numberpmld", "SPLD": "numberspld", "HI": "numberhi",
                "VI": "numbervi", "MSI": "numbermsi", "PD": "numberpd", "OTH": "numberoth", "DS": "numberds",
                "UNK": "numberneedunknown"}


def _placement_setting(label: str) -> str | None:
    """Setting of a 'Type of placement' breakdown label; None for sub-totals already counted."""
    k = label.lower()
    if k.startswith("mainstream"):
        return "mainstream" if "total" in k else None
    if k.startswith("special"):
        if "total" in k:
            return None
        return "independent" if ("independent" in k or "non-maintained" in k or "non maintained" in k) else "special"
    if k.startswith("ap/pru") or k.startswith("ap pru") or k.startswith("alternative"):
        return "alternative_provision" if "total" in k else None
    if k.startswith("fe ") or k.startswith("fe-") or k.startswith("further"):
        return "post16" if "total" in k else None
    if "early years" in k:
        return "early_years"
    if k.startswith("educated elsewhere"):
        return "other" if "total" in k else None
    if "not recorded" in k or "unknown" in k:
        return "other"
    return None


# -- editions of management-information files -------------------------------------------------
# A DfE management-information file (sen2_mi.csv) is published inside one EHC plans release and
# covers the calendar years up to the one before that release's reporting year (the 2023 release's
# MI file: 2014-2022); it states no date itself. When nothing better is known (no data guidance, no
# date in the file or folder name), its edition is that release's, not the day the file was copied:
# the release date where it is known (typed below with its source), else the reporting year.
KNOWN_RELEASES = {
    # reporting year: (release date, source)
    2023: ("2023-06-22", "DfE, 'Education, health and care plans', reporting year 2023, published 22 June 2023 "
                         "(explore-education-statistics.service.gov.uk/find-statistics/education-health-and-care-plans/2023)"),
    2025: ("2025-06-26", "DfE, 'Education, health and care plans', reporting year 2025, published 26 June 2025"),
}
MTIME_EVIDENCE = "the file's modification time"


def release_edition(path: Path, kind: str, periods) -> tuple[str, str]:
    """(edition, evidence) of a SEN2 file: file_edition, except that an MI file whose edition would rest
    only on its modification time takes the edition of the release it belongs to."""
    edition, evidence = file_edition(path)
    if not evidence.startswith(MTIME_EVIDENCE):
        return edition, evidence
    if kind != MI:
        # The other files of a release folder that holds its MI file share the MI file's edition (one
        # release, one edition), so the MI file and, e.g., the age file of new plans stay one group.
        mi = next((p for _k, p in _siblings(path, (MI,))), None)
        if mi is None:
            return edition, evidence
        periods = read_columns(mi, ["timeperiod"]).get("timeperiod", [])
        ed, why = release_edition(mi, MI, periods)
        return (ed, f"its release's, as its folder's MI file {mi.name}: {why}") if ed != edition else (edition, evidence)
    years = [y for y in (period_year(str(t)) for t in periods) if y]
    if not years:
        return edition, evidence
    reporting = max(years) + 1
    known = KNOWN_RELEASES.get(reporting)
    if known:
        return known[0], (f"the release it belongs to: an MI file ends with the calendar year before its release's "
                          f"reporting year (here {max(years)}), so reporting year {reporting}, released {known[0]} "
                          f"({known[1]}); its modification day is not used")
    return str(reporting), (f"the release it belongs to: an MI file ends with the calendar year before its release's "
                            f"reporting year (here {max(years)}), so reporting year {reporting} (release date not "
                            "known; a year sorts before every dated edition of that year)")


# -- rows of a file --------------------------------------------------------------------------

@dataclass
class Rows:
    """The rows of one file that are mapped, with their area, period and edition."""
    table: Table
    kind: str
    df: pd.DataFrame  # original columns + _area, _level, _name, _year, _tid, _edition, _total
    notes: list[str]
    edition: str
    evidence: str = ""  # where the edition comes from, said in the load output


def _is_total(label: str) -> bool:
    k = text_key(label)
    return k in ("total", "all", "alltotal") or k.startswith("all")


def _filter_columns(df: pd.DataFrame, indicator_keys: set[str]) -> list[str]:
    out = []
    for c in df.columns:
        if c in GEO_KEYS or c in indicator_keys or c.startswith("_"):
            continue
        vals = [v for v in df[c].iloc[:2000] if v != ""][:200]
        if not vals:
            continue
        text = sum(1 for v in vals if to_number(v) is None and v.lower() not in SYMBOLS)
        if text > 0.5 * len(vals):
            out.append(c)
    return out


CASELOAD_KINDS = (CASELOAD, NEEDS, OLD_CASELOAD)


def load_rows(path: Path, kind: str) -> Rows:
    t = read_table(path)
    df = t.df.copy()
    notes = list(t.notes)
    code, level, why = ees_areas(t)
    df["_area"], df["_level"] = code, level
    df["_name"] = df["laname"].where(df["laname"] != "", df.get("regionname", "")) if "laname" in df else ""
    if "timeperiod" not in df:
        raise ValueError("no time_period column")
    df["_year"] = df["timeperiod"].map(period_year)
    tid = df["timeidentifier"].map(text_key) if "timeidentifier" in df else pd.Series([""] * len(df))
    two = df["timeperiod"].str.fullmatch(r"\d{6}|\d{4}/\d{2}")
    df["_tid"] = ["January" if (t_ in ("academicyear", "january") or tw) else "Calendar year"
                  for t_, tw in zip(tid, two)]
    ignored_geo = why[why != ""]
    if len(ignored_geo):
        for reason, n in ignored_geo.value_counts().items():
            notes.append(f"{plural(int(n), 'row')} ignored: {reason}")
    df = df[why == ""]
    bad_period = df["_year"].isna()
    if bad_period.any():
        notes.append(f"{plural(int(bad_period.sum()), 'row')} ignored: time_period is not a year "
                     f"(e.g. {df.loc[bad_period, 'timeperiod'].iloc[0]!r})")
        df = df[~bad_period]
    df["_year"] = df["_year"].astype(int)
    # Totals: breakdown == breakdown_topic ("All EHC plans"), or every other filter is Total.
    total = pd.Series(True, index=df.index)
    if "breakdowntopic" in df and "breakdown" in df:
        total &= pd.Series([text_key(a) == text_key(b) or _is_total(b)
                            for a, b in zip(df["breakdowntopic"], df["breakdown"])], index=df.index)
    elif "breakdown" in df:
        total &= df["breakdown"].map(_is_total)
    for c in _filter_columns(df, set()):
        if c in ("breakdowntopic", "breakdown"):
            continue
        if c in ("ehcporstatement",):
            continue  # handled by the old-caseload mapping
        total &= df[c].map(_is_total)
    df["_total"] = total
    edition, evidence = release_edition(path, kind, t.df["timeperiod"].unique())
    ecol = edition_column(t)
    if ecol:
        df["_edition"] = df[ecol].where(df[ecol] != "", edition)
        evidence = f"the '{ecol}' column (else {evidence})"
    else:
        df["_edition"] = edition
    return Rows(t, kind, df, notes, edition, evidence)


# -- outputs ---------------------------------------------------------------------------------

AREA_COLS = ["time_period", "time_identifier", "area_code", "area_level", "area_name"]
COMBINED_CODE = "CMB-CUMBRIA-2COUNCILS"
COMBINED_MEMBERS = ("E06000063", "E06000064")
COMBINED_NAME = "Cumbria (both councils): Cumberland + Westmorland and Furness"
COMBINED_NOTE = ("Labelled continuity series: the sum of Cumberland (E06000063) and Westmorland and Furness "
                 "(E06000064), only for periods both councils report (January 2024 caseload, calendar 2023 "
                 "activity, on). It is not the former Cumbria County Council (E10000006, to January 2023 / "
                 "calendar 2022): DfE published no back-cast, so the two series are never joined.")


def combined_rows(rows: list[dict], dims: list[str], indicators: list[str]) -> list[dict]:
    """The labelled 'Cumbria (both councils)' rows: cell-by-cell sums where both councils report."""
    by = {}
    for r in rows:
        if r["area_code"] in COMBINED_MEMBERS:
            by.setdefault((r["time_period"], r["edition"]), {}).setdefault(r["area_code"], {})[
                tuple(r[d] for d in dims)] = r
    out = []
    for (period, edition), per_area in sorted(by.items()):
        if set(per_area) != set(COMBINED_MEMBERS):
            continue
        a, b = (per_area[c] for c in COMBINED_MEMBERS)
        if set(a) != set(b):
            continue  # different breakdowns: cells cannot be added faithfully
        for cell, ra in a.items():
            rb = b[cell]
            r = dict(ra)
            r.update(area_code=COMBINED_CODE, area_level="combined", area_name=COMBINED_NAME)
            for ind in indicators:
                r[ind] = combine([ra[ind], rb[ind]])
            out.append(r)
    return out


def combined_area_outputs(workdir: Path, edition: str, tag: str) -> list[tuple[str, Path]]:
    areas_path = write_csv(workdir, "areas_combined", ["area_code", "area_name", "area_level", "dfe_la_code",
                                                       "rollup_complete", "coverage_note"],
                           [[COMBINED_CODE, COMBINED_NAME, "combined", "", "false", COMBINED_NOTE]])
    ed = f"{edition} combined series ({tag})"
    membership = write_csv(workdir, "area_membership_combined",
                           ["child_code", "parent_code", "weight", "relationship", "edition"],
                           [[m, COMBINED_CODE, "1", "combined", ed] for m in COMBINED_MEMBERS]
                           + [[COMBINED_CODE, "E12000002", "1", "region", ed]])
    return [("areas", areas_path), ("area_membership", membership)]


def _rows_to_csv(workdir: Path, name: str, columns: list[str], rows: list[dict]) -> Path:
    return write_csv(workdir, name, columns, [[r.get(c, "") for c in columns] for r in rows])


def _benchmark(period: int, tid: str, area: str, level: str, name: str, measure: str, value: str,
               num: str, den: str, source: str, edition: str) -> dict:
    return {"time_period": str(period), "time_identifier": tid, "area_code": area, "area_level": level,
            "area_name": name, "measure_id": measure, "value": value, "numerator": num, "denominator": den,
            "source": source, "edition": edition}


BENCH_COLS = AREA_COLS + ["measure_id", "value", "numerator", "denominator", "source", "edition"]


def _pct(num: str, den: str) -> str:
    n, d = to_number(num), to_number(den)
    if n is None or d is None:
        return combine([num, den])
    if d == 0:
        return "z"
    return fmt_number(round(n / d * 100, 6))


# -- the caseload group ----------------------------------------------------------------------

def adapt_caseload_group(members: dict[str, Rows], workdir: Path, edition: str, source_name: str):
    """ehcp_caseload rows (one faithful partition of the total per area and January) + benchmarks."""
    nb = not_broken_down()
    need_code = nb["primary_need"] or INTERIM_NEED
    notes: list[str] = []
    caseload = members.get(CASELOAD)
    needs = members.get(NEEDS)
    out_rows: list[dict] = []
    bench: list[dict] = []
    used: dict[str, int] = {}
    if caseload is not None:
        df = caseload.df
        setting_keys = [k for alts in SETTING_COLUMNS.values() for a in alts for k in a]
        base_keys = ["_area", "_year", "_level", "_name", "_edition", "ehcplans", "breakdown"]
        tot = records(df[df["_total"]], base_keys + setting_keys)
        settings = _setting_cells(tot, "ehcplans")
        if settings is None:
            notes.append("caseload: placement columns not found; only totals are used")
        by_age: dict[tuple, list[tuple[dict, dict]]] = {}
        if "breakdowntopic" in df:
            age_recs = records(df[df["breakdowntopic"].map(text_key) == "childoryoungpersonsage"],
                               base_keys + setting_keys)
            age_settings = _setting_cells(age_recs, "ehcplans")
            if age_settings is not None:
                for rec, cells in zip(age_recs, age_settings):
                    by_age.setdefault((rec["_area"], rec["_year"]), []).append((rec, cells))
        # need x setting (2025 on) needs the "all ages" code; see not_broken_down().
        need_setting = _need_by_setting(needs) if (needs is not None and nb["age_band"]) else {}
        for i, r in enumerate(tot):
            area, year = r["_area"], int(r["_year"])
            base = {"time_period": str(year), "time_identifier": "January", "area_code": area,
                    "area_level": r["_level"], "area_name": r["_name"], "edition": r["_edition"]}
            total = clean(r["ehcplans"])
            s_all = settings[i] if settings is not None else None
            cells = None
            how = ""
            ns = need_setting.get((area, year))
            if ns and _sums_to(ns, total):
                cells = [(need, nb["age_band"], st, v) for (need, st), v in ns.items()]
                how = "primary need x setting (sen_needs 'Type of placement')"
            if cells is None and (area, year) in by_age:
                cells = _age_cells(by_age[(area, year)], total, s_all, need_code)
                how = "age band x setting (caseload 'Child or young persons age')" if cells else ""
            if cells is None and s_all is not None and nb["age_band"]:
                if all(to_number(v) is not None for v in s_all.values()) and to_number(s_all["other"]) >= 0:
                    cells = [(need_code, nb["age_band"], k, v) for k, v in s_all.items()]
                    how = "setting only"
            if cells is None and nb["age_band"] and nb["setting_type"]:
                cells = [(need_code, nb["age_band"], nb["setting_type"], total)]
                how = "total only"
            if cells:
                used[how] = used.get(how, 0) + 1
                for need, age, setting, v in cells:
                    out_rows.append({**base, "primary_need": need, "age_band": age, "setting_type": setting,
                                     "ehc_plans": clean(v)})
            else:
                used["benchmark only"] = used.get("benchmark only", 0) + 1
                bench.append(_benchmark(year, "January", area, r["_level"], r["_name"], "ehcp_caseload", total,
                                        total, "", f"{SOURCE}: {source_name}", r["_edition"]))
            if s_all is not None and to_number(total):
                for setting in ("mainstream", "special", "alternative_provision", "independent"):
                    bench.append(_benchmark(year, "January", area, r["_level"], r["_name"],
                                            f"setting_{setting}_pct", _pct(s_all[setting], total), s_all[setting],
                                            total, f"{SOURCE}: {source_name}", r["_edition"]))
        notes.append("ehcp_caseload: " + "; ".join(f"{plural(n, 'area-year')} by {how}" for how, n in sorted(used.items())))
        if "benchmark only" in used:
            notes.append("area-years marked 'benchmark only' have a published total but no breakdown the contract can "
                         "hold without inventing one (the contract has no 'all ages' / 'all settings' code, and "
                         "the age rows are missing or do not add up to the total); their total is loaded as a "
                         "published benchmark (measure ehcp_caseload) instead")
        if need_code == INTERIM_NEED and out_rows:
            notes.append("primary_need is UNK ('Not recorded') on every ehcp_caseload row from this file: caseload.csv "
                         "does not give the need of each plan; need shares come from sen_needs_all_plans.csv as "
                         "published benchmarks")
        notes.append(SETTING_NOTE)
        ignored = df[~df["_total"]]
        if len(ignored):
            topics = sorted(set(ignored["breakdowntopic"]) - {"Child or young persons age"}) \
                if "breakdowntopic" in ignored else ["(filters)"]
            notes.append(f"{plural(len(ignored), 'breakdown row')} not loaded as rows of their own "
                         f"(the contract has no such dimension): {', '.join(topics)[:300]}")
    if needs is not None:
        bench += _need_benchmarks(needs, source_name)
        notes.append("sen_needs: need shares of all EHC plans loaded as published benchmarks "
                     "(need_share_<NEED>: number_<need> / ehc_plans)")
    outputs = []
    if out_rows:
        out_rows += combined_rows(out_rows, ["primary_need", "age_band", "setting_type"], ["ehc_plans"])
        cols = AREA_COLS + ["primary_need", "age_band", "setting_type", "ehc_plans", "edition"]
        outputs.append(("ehcp_caseload", _rows_to_csv(workdir, "ehcp_caseload", cols, out_rows)))
        if any(r["area_code"] == COMBINED_CODE for r in out_rows):
            outputs += combined_area_outputs(workdir, edition, "ehcp_caseload")
            notes.append(f"added the labelled continuity series {COMBINED_CODE} ({COMBINED_NAME}) for periods both "
                         "new councils report")
    if bench:
        outputs.append(("benchmarks", _rows_to_csv(workdir, "benchmarks_caseload", BENCH_COLS, bench)))
    return outputs, notes


def _sums_to(cells: dict, total: str) -> bool:
    t = to_number(total)
    vals = [to_number(v) for v in cells.values()]
    return t is not None and all(v is not None for v in vals) and abs(sum(vals) - t) < 0.5


def _age_cells(recs: list[tuple[dict, dict]], total: str, all_settings: dict | None, need_code: str):
    """age x setting cells when the age rows are complete and add up to the published total."""
    cells: dict[tuple[str, str], float] = {}
    for rec, settings in recs:
        band = _age_band(rec["breakdown"])
        if band is None:
            return None
        for setting, v in settings.items():
            n = to_number(v)
            if n is None or n < 0:
                return None
            cells[(band, setting)] = cells.get((band, setting), 0) + n
    t = to_number(total)
    if t is None or abs(sum(cells.values()) - t) >= 0.5:
        return None
    if all_settings is not None:
        for setting, v in all_settings.items():
            n = to_number(v)
            got = sum(x for (b, s), x in cells.items() if s == setting)
            if n is None or abs(n - got) >= 0.5:
                return None
    return [(need_code, band, setting, fmt_number(v)) for (band, setting), v in sorted(cells.items())]


def _need_by_setting(needs: Rows) -> dict:
    df = needs.df
    if "breakdowntopic" not in df:
        return {}
    rows = df[df["breakdowntopic"].map(text_key) == "typeofplacement"]
    out: dict = {}
    for r in records(rows, ["_area", "_year", "breakdown", *NEED_COLUMNS.values()]):
        setting = _placement_setting(r["breakdown"])
        if setting is None:
            continue
        cell = out.setdefault((r["_area"], int(r["_year"])), {})
        for need, col in NEED_COLUMNS.items():
            if col in df:
                k = (need, setting)
                cell[k] = combine([cell[k], r[col]]) if k in cell else clean(r[col])
    return out


def _need_benchmarks(needs: Rows, source_name: str) -> list[dict]:
    df = needs.df[needs.df["_total"]]
    out = []
    for r in records(df, ["_area", "_year", "_level", "_name", "_edition", "ehcplans", *NEED_COLUMNS.values()]):
        den = clean(r.get("ehcplans", ""))
        for need, col in NEED_COLUMNS.items():
            if need in ("UNK", "DS") or col not in df:
                continue
            out.append(_benchmark(int(r["_year"]), "January", r["_area"], r["_level"], r["_name"],
                                  f"need_share_{need}", _pct(r[col], den), clean(r[col]), den,
                                  f"{SOURCE}: {source_name}", r["_edition"]))
    return out


# -- the assessments group -------------------------------------------------------------------

ASSESSMENT_COLUMNS = {
    # kind: {contract column: [column keys summed]}
    TIMELINESS: {"plans_issued_inc": ["plansissuedden"], "plans_issued_20wk_inc": ["plansissuedwithin20weeks"],
                 "plans_issued_ex": ["plansissueddenex"], "plans_issued_20wk_ex": ["plansissued20weeksex"]},
    NEWPLANS: {"new_plans": ["newehcplans"]},
    REQUESTS: {"requests": ["requestsreceivedinyear"], "requests_refused": ["requestsdecidednottoassess"],
               "decisions_within_6_weeks": ["requestoutcomesixweeks"],
               "decisions": ["requestoutcomesixweeks", "requestoutcomeover6weeks"],
               "_mediations_request": ["mediationrelatedrequest"],
               "_mediations_tribunal_request": ["tribunalaftermediationrequest"]},
    REVIEWS: {"reviews_due": ["reviewexpected"], "reviews_held": ["_reviewsheld"],
              "review_decisions_4wk": ["numberdecsion4weeks"],
              "review_decisions": ["numberdecsion4weeks", "numberdecisiongt4weeks"]},
    ASSESSMENTS: {"assessments": ["assessinyear"], "assessments_issued": ["assessissued"],
                  "assessments_not_issued": ["assessnotissued"],
                  "_mediations_assess": ["numberassessmediation", "numberothermediation"],
                  "_mediations_tribunal_assess": ["numberasssessmediationtribunal", "numberothermediationtribunal"]},
    MI: {"requests": ["inreqehc"], "requests_refused": ["assrefusedehc"], "new_plans": ["newallehc"],
         "plans_issued_ex": ["totnoexcehc"], "plans_issued_20wk_ex": ["noexc20weekehc"],
         "plans_issued_inc": ["totincexcehc"], "plans_issued_20wk_inc": ["incexc20weekehc"]},
}
RATE_COLUMNS = {"timeliness_20wk_ex": "noexc20weekrate", "timeliness_20wk_inc": "incexc20weekrate"}
ASSESSMENT_NOTES = {
    TIMELINESS: "plans_issued_den(_ex) -> plans_issued_inc / plans_issued_ex; plans_issued_within_20_weeks / "
                "plans_issued_20_weeks_ex -> plans_issued_20wk_inc / _ex (published percentages are recomputed "
                "by the engine as sums over sums)",
    NEWPLANS: "new_ehc_plans -> new_plans",
    REQUESTS: "requests_received_in_year -> requests; requests_decided_not_to_assess -> requests_refused; "
              "request_outcome_six_weeks -> decisions_within_6_weeks; decisions = request_outcome_six_weeks + "
              "request_outcome_over_6_weeks",
    REVIEWS: "review_expected -> reviews_due; review_meeting_<yy> of the row's year (e.g. review_meeting_24 for "
             "2024) -> reviews_held; number_decsion_4weeks -> review_decisions_4wk; review_decisions = "
             "number_decsion_4weeks + number_decision_gt_4weeks; reviews_on_time is not published (DfE counts review "
             "meetings and decisions by year, not reviews completed within 12 months), so it is left empty",
    ASSESSMENTS: "assess_in_year -> assessments; assess_issued -> assessments_issued; assess_not_issued -> "
                 "assessments_not_issued; mediations = requests.csv "
                 "mediation_related_request + number_assess_mediation + number_other_mediation; "
                 "mediations_then_tribunal = tribunal_after_mediation_request + number_asssess_mediation_tribunal + "
                 "number_other_mediation_tribunal (both need requests.csv and assessments.csv of the release); "
                 "16-week decisions and tribunals not after mediation have no contract column",
    MI: "inreq_ehc (InreqEHC) -> requests; ass_refused_ehc (AssRefusedEHC) -> requests_refused; new_all_ehc "
        "(NewallEHC) -> new_plans; tot_no_exc_ehc / no_exc_20week_ehc (TotNoExcEHC / NoExc20weekEHC) -> "
        "plans_issued_ex / plans_issued_20wk_ex; tot_inc_exc_ehc / inc_exc_20week_ehc (TotIncExcEHC / "
        "IncExc20weekEHC) -> plans_issued_inc / plans_issued_20wk_inc; decisions are not in this generation (x)",
}
ASSESS_INDICATORS = [c.name for c in contract.DATASETS["ehcp_assessments"].indicators]
REQUIRED_INDICATORS = [c.name for c in contract.DATASETS["ehcp_assessments"].indicators if c.required]


def adapt_assessment_group(members: dict[str, Rows], workdir: Path, edition: str, source_name: str):
    notes: list[str] = []
    merged: dict[tuple, dict] = {}
    provided: set[str] = set()
    bench: list[dict] = []
    for kind, rows in members.items():
        spec = ASSESSMENT_COLUMNS.get(kind, {})
        notes.append(f"{rows.table.path.name}: {ASSESSMENT_NOTES.get(kind, '')}")
        df = rows.df[rows.df["_total"]]
        if kind == REVIEWS:
            # The meetings held in the row's own calendar year: review_meeting_24 for 2024, and so on.
            held = [f"reviewmeeting{int(y) % 100:02d}" for y in df["_year"]]
            if any(h in df for h in held):
                df = df.assign(_reviewsheld=[df.at[i, h] if h in df else "" for i, h in zip(df.index, held)])
        usable = {col: keys for col, keys in spec.items() if all(k in df for k in keys)}
        provided |= set(usable)
        missing = sorted(set(spec) - set(usable))
        if missing:
            notes.append(f"{rows.table.path.name}: columns for {', '.join(missing)} not found")
        dup = 0
        wanted = ["_area", "_year", "_level", "_name", "_edition"] + [k_ for ks in usable.values() for k_ in ks]
        for r in records(df, wanted):
            k = (int(r["_year"]), r["_area"], r["_edition"])
            row = merged.setdefault(k, {"time_period": str(k[0]), "time_identifier": "Calendar year",
                                        "area_code": r["_area"], "area_level": r["_level"],
                                        "area_name": r["_name"], "edition": r["_edition"]})
            if any(col in row for col in usable):
                dup += 1
                continue
            for col, keys in usable.items():
                row[col] = combine([r[k_] for k_ in keys]) if len(keys) > 1 else clean(r[keys[0]])
        if dup:
            notes.append(f"{rows.table.path.name}: {plural(dup, 'row')} repeat an area and year already read; "
                         "the first is kept")
        if kind == MI:
            for measure, col in RATE_COLUMNS.items():
                counts = ASSESSMENT_COLUMNS[MI]["plans_issued_ex" if measure.endswith("ex") else "plans_issued_inc"]
                if col in df and not all(c in df for c in counts):
                    for r in records(df, ["_area", "_year", "_level", "_name", "_edition", col]):
                        bench.append(_benchmark(int(r["_year"]), "Calendar year", r["_area"], r["_level"], r["_name"],
                                                measure, clean(r[col]), "", "", f"{SOURCE}: {source_name}",
                                                r["_edition"]))
                    notes.append(f"{col}: published rate without its counts, loaded as benchmark {measure}")
    outputs = []
    if merged and provided:
        rows = list(merged.values())
        absent = [c for c in REQUIRED_INDICATORS if c not in provided]
        for r in rows:
            for c in ASSESS_INDICATORS:
                # Left empty, never 'x': this publication does not give the figure, so another
                # file's (or edition's) figure can stand; with none, the load shows 'x'.
                r.setdefault(c, "")
        # Mediations come from two files (requests and assessments): a figure only when both give it.
        for r in rows:
            for col, parts in (("mediations", ("_mediations_request", "_mediations_assess")),
                               ("mediations_then_tribunal", ("_mediations_tribunal_request",
                                                             "_mediations_tribunal_assess"))):
                got = [r.pop(k) for k in parts if k in r]
                if len(got) == len(parts):
                    r[col] = combine(got)
        if absent:
            notes.append(f"ehcp_assessments: {', '.join(absent)} not in the files read; left to other files "
                         "(shown as 'x', not available, when no file gives them)")
        rows += combined_rows(rows, [], ASSESS_INDICATORS)
        cols = AREA_COLS + ASSESS_INDICATORS + ["edition"]
        outputs.append(("ehcp_assessments", _rows_to_csv(workdir, "ehcp_assessments", cols, rows)))
        if any(r["area_code"] == COMBINED_CODE for r in rows):
            outputs += combined_area_outputs(workdir, edition, "ehcp_assessments")
    if bench:
        outputs.append(("benchmarks", _rows_to_csv(workdir, "benchmarks_rates", BENCH_COLS, bench)))
    return outputs, notes


# -- ceased plans ----------------------------------------------------------------------------

# ceased_plans.csv columns (keys) -> contract cease_reason. Read by name: the data guidance describes
# `other` as "reason is not recorded" and `not_rec` as "ceased for other reasons", the other way round
# from their names; the names follow the return's code list (9 = other), and England's `not_rec` is 0.
CEASED_COLUMNS = {"maxage": "max_age", "needsmet": "needs_met", "he": "higher_education", "employ": "employment",
                  "transfer": "transferred", "noengage": "no_engagement", "movedoutsideeng": "moved_outside_england",
                  "deceased": "deceased", "other": "other", "notrec": "not_recorded"}


def adapt_ceased(rows: Rows, workdir: Path, source_name: str):
    notes = [f"{source_name}: the All ceased EHC plans rows, by reason: "
             + ", ".join(f"{k} -> {v}" for k, v in CEASED_COLUMNS.items())
             + " (the guidance describes other and not_rec the other way round from their names; read by name)"]
    df = rows.df[rows.df["_total"]]
    present = [k for k in CEASED_COLUMNS if k in df]
    missing = [k for k in CEASED_COLUMNS if k not in df]
    if missing:
        notes.append(f"reason columns not found: {', '.join(missing)}")
    out, mismatched = [], 0
    for r in records(df, ["_area", "_year", "_level", "_name", "_edition", "totalceased", *present]):
        base = {"time_period": str(int(r["_year"])), "time_identifier": "Calendar year", "area_code": r["_area"],
                "area_level": r["_level"], "area_name": r["_name"], "edition": r["_edition"]}
        cells = [dict(base, cease_reason=CEASED_COLUMNS[k], ceased_plans=clean(r[k])) for k in present]
        total, parts = to_number(r["totalceased"]), [to_number(c["ceased_plans"]) for c in cells]
        if missing or total is None or any(p is None for p in parts) or sum(parts) != total:
            # The reasons do not add up to the total (or are not all given): keep the total only.
            mismatched += bool(cells)
            cells = [dict(base, cease_reason="all", ceased_plans=clean(r["totalceased"]))]
        out += cells
    if mismatched:
        notes.append(f"{plural(mismatched, 'row')}: the reasons do not add up to total_ceased; the total is loaded "
                     "without its reasons")
    out += combined_rows(out, ["cease_reason"], ["ceased_plans"])
    cols = AREA_COLS + ["cease_reason", "ceased_plans", "edition"]
    outputs = [("ehcp_ceased", _rows_to_csv(workdir, "ehcp_ceased", cols, out))] if out else []
    if any(r["area_code"] == COMBINED_CODE for r in out):
        outputs += combined_area_outputs(workdir, rows.edition, "ehcp_ceased")
    return outputs, notes


# -- old caseload generation -----------------------------------------------------------------

def _old_total_rows(rows: Rows) -> pd.DataFrame:
    """The Total rows of an older caseload / new-plans file: every filter Total, and in the 2023-2024
    long files also `ehcp_or_statement` Total (statements and EHC plans together)."""
    df = rows.df[rows.df["_total"]]
    if "ehcporstatement" in df:
        df = df[df["ehcporstatement"].map(_is_total)]
    return df


OLD_TOTAL_NOTES = {
    "totalall": "Total_all (statements and EHC plans combined, the DfE headline series)",
    "totalehc": "Total_ehc (EHC plans)",
    "numcaseload": "num_caseload where ehcp_or_statement is Total (statements and EHC plans combined)",
    "totalnewall": "Total_new_all (new statements and EHC plans combined)",
    "totalnewehc": "Total_new_ehc (new EHC plans; new statements, Total_new_st, are not EHC plans)",
    "numnewplans": "num_new_plans where ehcp_or_statement is Total (statements and EHC plans combined)",
}


def adapt_old_caseload(rows: Rows, workdir: Path, source_name: str):
    """Total_all / Total_ehc files (January 2010-2022) and num_caseload files (2023-2024): totals only."""
    nb = not_broken_down()
    df = _old_total_rows(rows)
    notes = []
    total_col = next(c for c in OLD_CASELOAD_TOTALS if c in df)
    notes.append(f"{OLD_TOTAL_NOTES[total_col]} -> EHC plan caseload; only the Total rows are used (the breakdown "
                 "by age or establishment type has no contract dimension)")
    out_rows, bench = [], []
    for r in records(df, ["_area", "_year", "_level", "_name", "_edition", total_col]):
        total = clean(r[total_col])
        base = {"time_period": str(int(r["_year"])), "time_identifier": "January", "area_code": r["_area"],
                "area_level": r["_level"], "area_name": r["_name"], "edition": r["_edition"]}
        if nb["age_band"] and nb["setting_type"]:
            out_rows.append({**base, "primary_need": nb["primary_need"] or INTERIM_NEED, "age_band": nb["age_band"],
                             "setting_type": nb["setting_type"], "ehc_plans": total})
        else:
            bench.append(_benchmark(int(r["_year"]), "January", r["_area"], r["_level"], r["_name"], "ehcp_caseload",
                                    total, total, "", f"{SOURCE}: {source_name}", r["_edition"]))
    if bench:
        notes.append("totals loaded as published benchmarks (ehcp_caseload): the contract cannot hold a total "
                     "without need, age and setting (no 'all' code)")
    outputs = []
    if out_rows:
        out_rows += combined_rows(out_rows, ["primary_need", "age_band", "setting_type"], ["ehc_plans"])
        cols = AREA_COLS + ["primary_need", "age_band", "setting_type", "ehc_plans", "edition"]
        outputs.append(("ehcp_caseload", _rows_to_csv(workdir, "ehcp_caseload", cols, out_rows)))
        if any(r["area_code"] == COMBINED_CODE for r in out_rows):
            outputs += combined_area_outputs(workdir, rows.edition, "ehcp_caseload")
    if bench:
        outputs.append(("benchmarks", _rows_to_csv(workdir, "benchmarks_caseload", BENCH_COLS, bench)))
    return outputs, notes


def _mi_new_plans(path: Path, edition: str) -> tuple[set[tuple[int, str]], str]:
    """(year, area) pairs whose new plans an MI file of the same folder and edition gives, and its name."""
    for kind, p in _siblings(path, (MI,)):
        if light_info(p, kind)[1] != edition:
            continue
        mi = load_rows(p, MI)
        df = mi.df[mi.df["_total"]]
        if "newallehc" not in df:
            continue
        given = df[df["newallehc"] != ""]
        return {(int(y), a) for y, a in zip(given["_year"], given["_area"])}, p.name
    return set(), ""


def adapt_old_new_plans(rows: Rows, workdir: Path, source_name: str):
    """Total_new_all / Total_new_ehc files (calendar 2009-2021) and num_new_plans files (2023-2024):
    the Total rows give ehcp_assessments.new_plans; years and areas an MI file of the same release
    already gives (NewallEHC, the same figure) are left to it, so no figure is loaded twice."""
    df = _old_total_rows(rows)
    total_col = next(c for c in OLD_NEWPLANS_TOTALS if c in df)
    notes = [f"{OLD_TOTAL_NOTES[total_col]} -> ehcp_assessments new_plans (calendar year); only the Total rows are "
             "used (the breakdown by age or establishment type has no contract dimension); the other "
             "ehcp_assessments columns are not in this file and are written as 'x' (not available)"]
    mi_pairs, mi_name = _mi_new_plans(rows.table.path, rows.edition)
    out_rows, left, before = [], 0, 0
    for r in records(df, ["_area", "_year", "_level", "_name", "_edition", total_col]):
        year = int(r["_year"])
        if (year, r["_area"]) in mi_pairs:
            left += 1
            continue
        if total_col == "totalnewehc" and clean(r[total_col]) == "z":
            before += 1  # before September 2014 new plans were statements: no EHC plan figure exists
            continue
        row = {"time_period": str(year), "time_identifier": "Calendar year", "area_code": r["_area"],
               "area_level": r["_level"], "area_name": r["_name"], "edition": r["_edition"]}
        for c in ASSESS_INDICATORS:
            row[c] = "x" if c in REQUIRED_INDICATORS else ""
        row["new_plans"] = clean(r[total_col])
        out_rows.append(row)
    if left:
        notes.append(f"{plural(left, 'area-year')} left to {mi_name} in the same folder, which gives the same "
                     "figure (NewallEHC / new_all_ehc) with the other assessment columns")
    if before:
        notes.append(f"{plural(before, 'area-year')} before EHC plans existed (Total_new_ehc 'z': new statements "
                     "only, which are not EHC plans) are not loaded")
    outputs = []
    if out_rows:
        out_rows += combined_rows(out_rows, [], ASSESS_INDICATORS)
        cols = AREA_COLS + ASSESS_INDICATORS + ["edition"]
        outputs.append(("ehcp_assessments", _rows_to_csv(workdir, "ehcp_assessments_new_plans", cols, out_rows)))
        if any(r["area_code"] == COMBINED_CODE for r in out_rows):
            outputs += combined_area_outputs(workdir, rows.edition, "ehcp_assessments")
    else:
        notes.insert(0, "not loaded: " + (f"every area and year with new EHC plans is loaded from {mi_name}" if left
                                       else "no area and year has a figure of new EHC plans"))
    return outputs, notes


# -- personal budgets: one row per area and period, a column per figure --------------------

WIDE_FILES = {
    # kind: (dataset, time identifier, {contract column: [column keys summed]}, note)
    PERSONAL_BUDGETS: ("ehcp_personal_budgets", "January", {
        "personal_budgets": ["personalbudget"], "organised_arrangements": ["orgarrangments"]},
        "personal_budgets.csv: personal_budget -> personal_budgets; org_arrangments -> organised_arrangements, at "
        "the January census (time_period 201920 = January 2020); the split by what the budget covers (pb_health, "
        "pb_education, pb_social, pb_integrated) has no contract column"),
}


def _known_areas(df: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Rows of areas the dashboard knows; Inner and Outer London (E13000001/2, published as regions in
    some files) are not dashboard areas: left out, with a count."""
    from send_metrics.ingest.adapters.common import areas as _areas
    known = df["_area"].isin(set(_areas().level))
    if (~known).any():
        notes.append(f"{plural(int((~known).sum()), 'row')} of areas that are not dashboard areas left out "
                     f"({', '.join(sorted(set(df.loc[~known, '_area'])))})")
    return df[known]


def adapt_wide(rows: Rows, workdir: Path):
    dataset, tid, spec, note = WIDE_FILES[rows.kind]
    notes = [note]
    df = _known_areas(rows.df[rows.df["_total"]], notes)
    usable = {col: keys for col, keys in spec.items() if all(k in df for k in keys)}
    missing = sorted(set(spec) - set(usable))
    if missing:
        notes.append(f"columns for {', '.join(missing)} not found: left empty (not given by this file)")
    out = []
    for r in records(df, ["_area", "_year", "_level", "_name", "_edition", *{k for ks in usable.values() for k in ks}]):
        row = {"time_period": str(int(r["_year"])), "time_identifier": tid, "area_code": r["_area"],
               "area_level": r["_level"], "area_name": r["_name"], "edition": r["_edition"]}
        for col in spec:
            keys = usable.get(col)
            row[col] = "" if keys is None else (combine([r[k] for k in keys]) if len(keys) > 1 else clean(r[keys[0]]))
        out.append(row)
    if not out:
        return [], notes + ["no total rows: nothing loaded"]
    cols = list(spec)
    out += combined_rows(out, [], cols)
    outputs = [(dataset, _rows_to_csv(workdir, dataset, AREA_COLS + cols + ["edition"], out))]
    if any(r["area_code"] == COMBINED_CODE for r in out):
        outputs += combined_area_outputs(workdir, rows.edition, dataset)
    return outputs, notes


def adapt_new_plans_by_need(rows: Rows, workdir: Path):
    """sen_need_newplans.csv: new EHC plans by primary need (calendar year), one cell per need; plans
    whose need is not recorded are UNK."""
    left: list[str] = []
    df = _known_areas(rows.df[rows.df["_total"]], left)
    cols = {need: k for need, k in NEED_COLUMNS.items() if k in df}
    out = []
    for r in records(df, ["_area", "_year", "_level", "_name", "_edition", *cols.values()]):
        for need, k in cols.items():
            out.append({"time_period": str(int(r["_year"])), "time_identifier": "Calendar year",
                        "area_code": r["_area"], "area_level": r["_level"], "area_name": r["_name"],
                        "primary_need": need, "new_plans": clean(r[k]), "edition": r["_edition"]})
    notes = [f"new EHC plans by primary need -> new_plans_by_need ({', '.join(f'{v} -> {n}' for n, v in cols.items())}); "
             "the total rows only (breakdowns by age, sex, ethnicity have no contract dimension); the published "
             "percentages are recomputed by the engine as sums over sums"] + left
    if not out:
        return [], notes + ["no total rows: nothing loaded"]
    out += combined_rows(out, ["primary_need"], ["new_plans"])
    outputs = [("new_plans_by_need", _rows_to_csv(workdir, "new_plans_by_need",
                                                  AREA_COLS + ["primary_need", "new_plans", "edition"], out))]
    if any(r["area_code"] == COMBINED_CODE for r in out):
        outputs += combined_area_outputs(workdir, rows.edition, "new_plans_by_need")
    return outputs, notes


# -- the SEND Tribunal appeal-rate table (a formatted spreadsheet saved as CSV) -----------------

TRIBUNAL_SYMBOLS = {"..": "x", "~": "c", "x": "x", "c": "c", "z": "z"}


def _tribunal_cell(v: str) -> str:
    """A cell of the appeal-rate table: '-' is nil (its rate is published as 0.00%), '..' not available,
    '~' suppressed; thousands separators removed."""
    t = str(v).strip()
    if t in ("-", "–"):
        return "0"
    if t in TRIBUNAL_SYMBOLS:
        return TRIBUNAL_SYMBOLS[t]
    n = to_number(t.replace(",", ""))
    return fmt_number(n) if n is not None else ("x" if t == "" else "x")


def adapt_tribunals(path: Path, workdir: Path):
    import csv as _csv
    from send_metrics.ingest.adapters.common import areas as _areas
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    table = list(_csv.reader(text.splitlines()))
    edition, evidence = file_edition(path)
    notes = [f"edition {edition}, from {evidence}"]
    head = next((i for i, r in enumerate(table) if r and text_key(r[0]) == "localauthority"), None)
    if head is None or head + 1 >= len(table):
        return [], notes + ["no 'Local Authority' header row found: not loaded"]
    years_row, labels = table[head], table[head + 1]
    blocks = []  # (year, appeals column, decisions column)
    for j, cell in enumerate(years_row):
        if re.fullmatch(r"\s*(19|20)\d\d\s*", cell or "") and j + 1 < len(labels):
            if "appeal" in (labels[j] or "").lower() and "appealable" in (labels[j + 1] or "").lower():
                blocks.append((int(cell), j, j + 1))
    ref = _areas()
    from send_metrics.ingest.adapters.common import REFERENCE_AREAS
    ends = {c: v for c, v in pd.read_csv(REFERENCE_AREAS, dtype=str, keep_default_na=False)[["area_code", "valid_to"]]
            .itertuples(index=False) if v}
    out, unknown, gone, mismatched = [], [], [], []
    for i, r in enumerate(table[head + 2:], start=head + 3):
        if not r or not r[0].strip() or r[0].lower().startswith(("notes", "sources", "1.", "..", "~")):
            continue
        name = re.sub(r"[\d,]+$", "", r[0].strip()).strip()
        dfe = (r[1] if len(r) > 1 else "").strip()
        if text_key(name).startswith("englandtotal") and "excluding" not in name.lower():
            code, level = "E92000001", "england"
        elif dfe:
            # The name decides: this table's LA codes are not always DfE's (the 2025 table gives
            # Northamptonshire 892, Nottingham 891 and Nottinghamshire 928, which are DfE's Nottingham,
            # Nottinghamshire and Northamptonshire); the number is used only for a name not matched.
            by_name, by_number = ref.code_for_name(name), ref.by_dfe.get(dfe)
            code = by_name or by_number
            if by_name and by_number and by_name != by_number:
                mismatched.append(f"{name} ({dfe})")
            level = ref.level_of(code, "council") if code else ""
        else:
            continue  # region headings (no figures), "England total excluding suppressed", footnotes
        if not code:
            unknown.append(f"{name} ({dfe})")
            continue
        for year, a, d in blocks:
            if max(a, d) >= len(r):
                continue
            appeals, decisions = _tribunal_cell(r[a]), _tribunal_cell(r[d])
            if appeals == "x" and decisions == "x":
                continue  # '..': the council did not exist that year (Cumbria from 2023; Cumberland before)
            if code in ends and f"{year}-12-31" > ends[code]:
                # An abolished council's calendar year that ends after it (Northamptonshire 2021: appeals of
                # January-March only, no appealable decisions): not a figure for a whole year.
                gone.append(f"{name} {year}")
                continue
            out.append({"time_period": str(year), "time_identifier": "Calendar year", "area_code": code,
                        "area_level": level, "area_name": name, "appeals_registered": appeals,
                        "appealable_decisions": decisions, "edition": edition})
    notes.append(f"appeals registered and total appealable decisions for {len(blocks)} calendar years "
                 f"({blocks[0][0]}-{blocks[-1][0]}) -> tribunal_appeals (the published rate is recomputed as "
                 "appeals / appealable decisions); '-' is nil (published rate 0.00%), '..' not available, '~' "
                 "suppressed; the 'In development' appealable-decisions columns are not loaded"
                 if blocks else "no year columns found")
    if unknown:
        notes.append(f"{plural(len(unknown), 'row')} not matched to an area: {', '.join(unknown[:5])}")
    if mismatched:
        notes.append(f"{plural(len(mismatched), 'row')} whose LA code is another council's DfE number, matched by "
                     f"name: {', '.join(mismatched)}")
    if gone:
        notes.append(f"not loaded: {', '.join(gone)}: the council was abolished during the year (its figures for "
                     "the rest of the year are its successors'), so the year is not a whole-year figure for it")
    if not out:
        return [], notes
    cols = ["appeals_registered", "appealable_decisions"]
    out += combined_rows(out, [], cols)
    outputs = [("tribunal_appeals", _rows_to_csv(workdir, "tribunal_appeals", AREA_COLS + cols + ["edition"], out))]
    if any(r["area_code"] == COMBINED_CODE for r in out):
        outputs += combined_area_outputs(workdir, edition, "tribunal_appeals")
    return outputs, notes


# -- entry point -----------------------------------------------------------------------------

def _siblings(path: Path, kinds: tuple[str, ...]) -> list[tuple[str, Path]]:
    out = []
    for p in sorted(path.parent.iterdir()):
        if not p.is_file() or p.name.startswith((".", "~$")):
            continue
        if not p.name.lower().endswith((".csv", ".txt", ".tsv", ".csv.gz")):
            continue
        k = classify(p)
        if k in kinds:
            out.append((k, p))
    return out


def _rows_kind(path: Path, kind: str) -> Rows:
    rows = load_rows(path, kind)
    if kind == NEEDS and (rows.df["_tid"] == "Calendar year").all():
        rows.kind = NEEDS_NEW
    return rows


def light_info(path: Path, kind: str) -> tuple[str, str]:
    """(refined kind, edition) from the time columns only: cheap, for grouping the files of a release."""
    cols = read_columns(path, ["timeperiod", "timeidentifier", *EDITION_KEYS])
    tps = cols.get("timeperiod", [])
    tids = {text_key(t) for t in cols.get("timeidentifier", [])}
    two_year = any(len(t) == 6 or "/" in t for t in tps)
    january = two_year or bool(tids & {"academicyear", "january"})
    if kind == NEEDS and not january:
        kind = NEEDS_NEW
    edition = release_edition(path, kind, set(tps))[0]
    ecol = next((k for k in EDITION_KEYS if k in cols), None)
    if ecol:
        vals = [v for v in cols[ecol] if v]
        edition = max(vals) if vals else edition
    return kind, edition


def _group(path: Path, my_kind: str, group_kinds: tuple[str, ...]) -> tuple[bool, list[tuple[str, Path]], list[str], str]:
    """Members (kind, path) of this file's group (same folder, same edition), whether it leads, notes."""
    me_kind, me_edition = light_info(path, my_kind)
    members: dict[str, Path] = {}
    notes: list[str] = []
    for kind, p in _siblings(path, group_kinds):
        k, ed = (me_kind, me_edition) if p == path else light_info(p, kind)
        if ed != me_edition or k not in group_kinds:
            continue
        if k in members:
            if p == path:
                notes.append(f"another {k.replace('_', ' ')} file of edition {me_edition} "
                             f"({members[k].name}) is in this folder; this one is not used")
                return False, [], notes, me_edition
            continue
        members[k] = p
    if me_kind not in members:
        members[me_kind] = path
    # The lead (which writes the merged rows) is the group's main file: timeliness, caseload, ...
    ordered = sorted(members.items(), key=lambda kv: (group_kinds.index(kv[0]) if kv[0] in group_kinds else 99,
                                                      kv[1].name))
    return ordered[0][1] == path, ordered, notes, me_edition


def adapt_sen2(path: Path, workdir: Path, kind: str):
    from send_metrics.ingest.adapters.result import AdaptResult
    fmt = f"{SOURCE} {kind.replace('_', ' ')} file"
    if kind == TRIBUNALS:
        outputs, notes = adapt_tribunals(path, workdir)
        return AdaptResult(f"{SOURCE}: SEND Tribunal appeal-rate table", outputs, notes)
    if kind in WIDE_FILES:
        me = load_rows(path, kind)
        outputs, more = adapt_wide(me, workdir)
        return AdaptResult(fmt, outputs, me.notes + [f"edition {me.edition}, from {me.evidence}"] + more)
    if kind == OTHER:
        keys = set(map(key, read_header(path)))
        whats = list(dict.fromkeys(w for k, w in OTHER_FILES.items() if any(c.startswith(k) for c in keys)))
        what = ", ".join(whats) or "other figures"
        return AdaptResult(fmt, [], [f"recognised ({what}); the contract has no dataset for it, so it is not loaded"])
    if kind in (OLD_CASELOAD, OLD_NEWPLANS):
        # The age and establishment-type files of one release give the same Total rows: one is used.
        leads, _members, gnotes, _edition = _group(path, kind, (kind,))
        if not leads:
            return AdaptResult(fmt, [], gnotes + [
                "its Total rows are the same figures as that file's (only the breakdown, by age or by "
                "establishment type, differs, and the contract has no dimension for it); not loaded"])
    if kind in CASELOAD_GROUP or kind in ASSESSMENT_GROUP:
        group = CASELOAD_GROUP if kind in CASELOAD_GROUP else ASSESSMENT_GROUP
        leads, members, gnotes, edition = _group(path, kind, group)
        kind = next((k for k, p in members if p == path), light_info(path, kind)[0])
        fmt = f"{SOURCE} {kind.replace('_', ' ')} file"
        if kind == NEEDS_NEW:
            me = _rows_kind(path, NEEDS)
            outputs, more = adapt_new_plans_by_need(me, workdir)
            return AdaptResult(fmt, outputs, me.notes + [f"edition {me.edition}, from {me.evidence}"] + more)
        notes = gnotes + [f"edition {edition}, from {file_edition(path)[1]}"]
        if not members:
            return AdaptResult(fmt, [], notes)
        if not leads:
            dataset = "ehcp_caseload" if group is CASELOAD_GROUP else "ehcp_assessments"
            notes.append(f"read together with {members[0][1].name}, which writes the merged {dataset} rows")
            return AdaptResult(fmt, [], notes)
        rows: dict[str, Rows] = {}
        for k, p in members:
            try:
                r = _rows_kind(p, k)
            except Exception as exc:
                notes.append(f"{p.name}: could not be read ({type(exc).__name__}: {exc})")
                continue
            rows[r.kind] = r
            notes += [f"{p.name}: {n}" for n in r.notes]
        names = ", ".join(sorted(r.table.path.name for r in rows.values()))
        notes.append(f"group of files read together: {names}")
        fn = adapt_caseload_group if group is CASELOAD_GROUP else adapt_assessment_group
        outputs, more = fn(rows, workdir, edition, names)
        return AdaptResult(fmt, outputs, notes + more)
    me = _rows_kind(path, kind)
    notes = list(me.notes)
    if me.edition:
        notes.append(f"edition {me.edition}, from {me.evidence}")
    name = path.name
    if kind == MI:
        outputs, more = adapt_assessment_group({MI: me}, workdir, me.edition, name)
        ignored = [h for h in me.table.header if key(h) not in GEO_KEYS and key(h) not in
                   {k for ks in ASSESSMENT_COLUMNS[MI].values() for k in ks} | set(RATE_COLUMNS.values())]
        more.append(f"{len(ignored)} other indicator columns have no contract column and are not loaded "
                    f"(e.g. {', '.join(ignored[:6])})")
        return AdaptResult(fmt, outputs, notes + more)
    if kind == OLD_CASELOAD:
        outputs, more = adapt_old_caseload(me, workdir, name)
        return AdaptResult(fmt, outputs, notes + more)
    if kind == OLD_NEWPLANS:
        outputs, more = adapt_old_new_plans(me, workdir, name)
        return AdaptResult(fmt, outputs, notes + more)
    if kind == CEASED:
        outputs, more = adapt_ceased(me, workdir, name)
        return AdaptResult(fmt, outputs, notes + more)
    return None
