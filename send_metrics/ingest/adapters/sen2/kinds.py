"""Which kind of SEN2 file a header is, by its columns (never by file name), and the publication's name.

Every kind the SEN2 readers handle is named here once, with the column keys that recognise it, so
the generations' readers and the entry point agree on what a file is.
"""
from __future__ import annotations

from pathlib import Path

from send_metrics.ingest.adapters.common import key, read_header


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


def siblings(path: Path, kinds: tuple[str, ...]) -> list[tuple[str, Path]]:
    """(kind, path) of the SEN2 files of these kinds in the file's folder, by name: a release's other files."""
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
