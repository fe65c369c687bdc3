"""The SEN2 person-level return as a council exports it from COLLECT (the "Blade export").

Facts shared by the reader (`adapters/blade.py`), the synthetic export (`sen2_blade_demo.py`) and
the pathway (`pathway.py`): the nine modules and their columns in every version of the return, the
date format, the code lists, the one-way pseudonymous id, and the two lookups a council drops in
beside its export (an ONS postcode directory for LSOAs; a Get Information About Schools extract for
establishment types). See docs/sen2-person-level.md and ../shared/docs/SEN2_PERSON_LEVEL.md.

Nothing here keeps a name, date of birth, UPN, ULN or postcode: those columns are read, turned into
an age, a pseudonymous id and an LSOA, and dropped (see PERSONAL_COLUMNS).
"""
from __future__ import annotations

import datetime as dt
import hmac
import os
import re
import secrets
from functools import lru_cache
from pathlib import Path

# -- modules ---------------------------------------------------------------------------------

# module: (file suffix, key column, parent key column or None)
MODULES: dict[str, tuple[str, str | None]] = {
    "sen2": ("sen2tableid", None),
    "person": ("persontableid", "sen2tableid"),
    "requests": ("requeststableid", "persontableid"),
    "assessment": ("assessmenttableid", "requeststableid"),
    "namedplan": ("namedplantableid", "assessmenttableid"),
    "plandetail": ("plandetailtableid", "namedplantableid"),
    "activeplans": ("activeplanstableid", "requeststableid"),
    "placementdetail": ("placementdetailtableid", "activeplanstableid"),
    "senneed": ("senneedtableid", "activeplanstableid"),
}
PARENT_MODULE = {"person": "sen2", "requests": "person", "assessment": "requests", "namedplan": "assessment",
                 "plandetail": "namedplan", "activeplans": "requests", "placementdetail": "activeplans",
                 "senneed": "activeplans"}

# Columns of each module in each layout of the return. "1.1" stands for every version before 1.2.
# (Version notes: ../shared/docs/SEN2_PERSON_LEVEL.md and MastodonC/witan.sen2's Blade reader.)
_COMMON = ["NativeId", "{m}orderseqcolumn", "sourceid"]
_LAYOUT: dict[str, dict[str, list[str]]] = {
    "sen2": {"all": ["collection", "year", "referencedate", "sourcelevel", "lea", "softwarecode", "release",
                     "serialno", "datetime", "dmo", "dco"], "1.3": ["dsco"]},
    "person": {"all": ["sen2tableid", "surname", "forename", "personbirthdate", "{sex}", "ethnicity", "postcode",
                       "upn", "uniquelearnernumber", "upnunknown"]},
    "requests": {"all": ["persontableid", "receiveddate", "{requestsource}", "rya", "requestoutcomedate",
                         "requestoutcome", "requestmediation", "requesttribunal", "exported"]},
    "assessment": {"all": ["requeststableid", "assessmentoutcome", "assessmentoutcomedate", "assessmentmediation",
                           "assessmenttribunal", "othermediation", "othertribunal", "week20"]},
    "namedplan": {"all": ["assessmenttableid", "startdate", "planres", "planwbp", "pb", "oa", "dp", "ceasedate",
                          "ceasereason"]},
    "plandetail": {"all": ["namedplantableid", "urn", "ukprn", "sensetting", "sensettingother", "placementrank",
                           "senunitindicator", "resourcedprovisionindicator"]},
    "activeplans": {"all": ["requeststableid", "transferla", "{apres}", "{apreview}", "{ap13}", "lastreview"]},
    "placementdetail": {"all": ["activeplanstableid", "urn", "ukprn", "sensetting", "sensettingother",
                                "placementrank", "entrydate", "leavingdate", "{attendance}", "senunitindicator",
                                "resourcedprovisionindicator", "{pdres}"]},
    "senneed": {"all": ["activeplanstableid", "sentype", "sentyperank"]},
}
VERSIONS = ("1.1", "1.2", "1.3")


def module_columns(module: str, version: str) -> list[str]:
    """The columns of one module in one layout of the return, in export order."""
    key, _parent = MODULES[module]
    v = VERSIONS.index(version)
    slots = {
        "{sex}": ["gendercurrent"] if v < 1 else ["sex"],
        "{requestsource}": ["requestsource"] if v >= 2 else [],
        "{apres}": ["res", "wbp"] if v < 1 else [],
        "{apreview}": ["reviewmeeting", "reviewoutcome"] if v >= 1 else [],
        "{ap13}": ["reviewdraft", "phasetransferduedate", "phasetransferfinaldate"] if v >= 2 else [],
        "{attendance}": ["attendancepattern"] if v < 1 else [],
        "{pdres}": ["res", "wbp"] if v >= 1 else [],
    }
    cols = [key] + [c.format(m=module) for c in _COMMON]
    for c in _LAYOUT[module]["all"]:
        cols += slots.get(c, [c])
    if v >= 2:
        cols += _LAYOUT[module].get("1.3", [])
    return cols


def classify_module(keys: set[str]) -> str | None:
    """The module a Blade file holds, from its (keyed) column names; None if it is not one."""
    for module, (key, _parent) in MODULES.items():
        if key in keys and f"{module}orderseqcolumn" in keys:
            return module
    return None


def layout_version(module: str, keys: set[str]) -> str:
    """The layout a module's columns follow (the newest whose marker columns are present)."""
    markers = {"person": [("1.2", "sex"), ("1.1", "gendercurrent")],
               "sen2": [("1.3", "dsco")],
               "requests": [("1.3", "requestsource")],
               "activeplans": [("1.3", "phasetransferfinaldate"), ("1.2", "reviewoutcome"), ("1.1", "res")],
               "placementdetail": [("1.2", "wbp"), ("1.1", "attendancepattern")]}
    for version, col in markers.get(module, []):
        if col in keys:
            return version
    return "any"


EXPORT_NAME = re.compile(r"^blade-export_(\d{2}-\d{2}-\d{4})_([a-z0-9]+)\.csv$", re.IGNORECASE)


def export_tag(path: Path) -> str:
    """Files of one export share the date in `Blade-Export_<DD-MM-YYYY>_<module>.csv`; a file named
    otherwise is taken to belong to the one export of its folder."""
    m = EXPORT_NAME.match(Path(path).name)
    return m.group(1) if m else ""


# -- values ------------------------------------------------------------------------------------

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_BLADE_DATE = re.compile(r"^(\d{4})-([A-Za-z]{3})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$")
_UK_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?: .*)?$")


def blade_date(d: dt.date | None) -> str:
    """A date as the Blade export writes it: `2022-Sep-28 00:00:00`."""
    return "" if d is None else f"{d.year:04d}-{MONTHS[d.month - 1]}-{d.day:02d} 00:00:00"


class BadDate(ValueError):
    pass


_MONTH_NUMBER = {m.lower(): i for i, m in enumerate(MONTHS, start=1)}


def parse_blade_date(text) -> dt.date | None:
    """`2022-Sep-28 00:00:00` (and ISO or dd/mm/yyyy, which hand-edited copies hold); None when empty;
    BadDate when it is not a date."""
    s = "" if text is None else str(text).strip()
    if not s or s.lower() in ("nan", "none", "null"):
        return None
    return _parse_date(s)


@lru_cache(maxsize=1 << 16)
def _parse_date(s: str) -> dt.date:
    """A non-empty date text (cached: an export repeats the same dates many times; a text that is
    not a date raises BadDate each time, as exceptions are not cached)."""
    try:
        m = _BLADE_DATE.match(s)
        if m:
            month = _MONTH_NUMBER.get(m.group(2).lower())
            if month is None:
                raise ValueError(f"unknown month {m.group(2)!r}")
            return dt.date(int(m.group(1)), month, int(m.group(3)))
        m = _ISO_DATE.match(s)
        if m:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = _UK_DATE.match(s)
        if m:
            return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    except ValueError as exc:  # e.g. 2024-Feb-30, or a month name that is not one
        raise BadDate(f"not a date: {s!r}") from exc
    raise BadDate(f"not a date: {s!r}")


def flag(text) -> bool | None:
    """Yes/no items (week20, rya, ...), written 1/0, true/false or Y/N; None when empty."""
    s = "" if text is None else str(text).strip().lower()
    if s in ("1", "true", "y", "yes", "t"):
        return True
    if s in ("0", "false", "n", "no", "f"):
        return False
    return None


# -- codes ---------------------------------------------------------------------------------------

SEN_TYPES = ("SPLD", "MLD", "SLD", "PMLD", "SEMH", "SLCN", "HI", "VI", "MSI", "PD", "ASD", "DS", "OTH")
SEN_SETTINGS = {"OLA": "other", "OPA": "other", "EHE": "other", "EYP": "early_years", "OTH": "other",
                "NEET": "other", "NIEC": "other", "NIEO": "other"}
CEASE_REASONS = {"1": "reached maximum age", "2": "needs met without a plan", "3": "moved on to higher education",
                 "4": "moved on to paid employment", "5": "transferred to another LA in England",
                 "6": "no longer wishes to engage", "7": "moved outside England", "8": "deceased", "9": "other"}
# `ceasereason` -> the contract's cease_reason (the columns of DfE's ceased_plans.csv, in code order:
# max_age, needs_met, he, employ, transfer, no_engage, moved_outside_eng, deceased, other).
CEASE_REASON_CODES = {"1": "max_age", "2": "needs_met", "3": "higher_education", "4": "employment", "5": "transferred",
                      "6": "no_engagement", "7": "moved_outside_england", "8": "deceased", "9": "other"}
# Request and assessment outcome codes. CHECK against DfE's guide (v1.4, items 2.4 and 3.1) before
# relying on a real return: the shared note says not to guess them, and these are the codes this
# project uses (the synthetic export writes them); an unknown code goes to quarantine, it is never
# read as one of these. "S" (plan issued after an assessment completed by another LA) is named in
# a MIS supplier's SEN2 release note.
REQUEST_OUTCOMES = {"A": "withdrawn or ceased before the decision whether to assess",
                    "B": "decision not to assess", "C": "decision to assess"}
ASSESSMENT_OUTCOMES = {"A": "withdrawn or ceased before the decision whether to issue",
                       "N": "decision not to issue a plan", "Y": "decision to issue a plan",
                       "S": "plan issued after an assessment completed by another LA"}
REQUEST_REFUSED, REQUEST_ASSESS = "B", "C"
ISSUE_CODES = ("Y", "S")
OTHER_LA_ASSESSMENT = "S"

# Get Information About Schools "TypeOfEstablishment (name)" -> contract setting type.
GIAS_SETTING = {
    "community school": "mainstream", "voluntary aided school": "mainstream",
    "voluntary controlled school": "mainstream", "foundation school": "mainstream",
    "academy converter": "mainstream", "academy sponsor led": "mainstream", "free schools": "mainstream",
    "university technical college": "mainstream", "studio schools": "mainstream",
    "city technology college": "mainstream",
    "community special school": "special", "foundation special school": "special",
    "academy special converter": "special", "academy special sponsor led": "special",
    "free schools special": "special",
    "pupil referral unit": "alternative_provision", "academy alternative provision converter": "alternative_provision",
    "academy alternative provision sponsor led": "alternative_provision",
    "free schools alternative provision": "alternative_provision",
    "other independent special school": "independent", "non-maintained special school": "independent",
    "other independent school": "independent",
    "further education": "post16", "sixth form centres": "post16", "academy 16-19 converter": "post16",
    "academy 16 to 19 sponsor led": "post16", "free schools 16 to 19": "post16",
    "special post 16 institution": "post16", "higher education institutions": "post16",
    "local authority nursery school": "early_years",
    "welsh establishment": "other", "miscellaneous": "other", "secure units": "other", "service children's education": "other",
}

AGE_BANDS = (("0to4", 0, 4), ("5to10", 5, 10), ("11to15", 11, 15), ("16to19", 16, 19), ("20to25", 20, 25))


def age_on(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def age_band(age: int | None) -> str | None:
    if age is None:
        return None
    for band, lo, hi in AGE_BANDS:
        if lo <= age <= hi:
            return band
    return None


# -- privacy -------------------------------------------------------------------------------------

# Person-module columns that identify a child. They are read only to derive an age, a
# pseudonymous id and an LSOA, and never written anywhere (not to the store, not to quarantine).
PERSONAL_COLUMNS = ("surname", "forename", "personbirthdate", "postcode", "upn", "uniquelearnernumber")

KEY_ENV = "SEND_PSEUDONYM_KEY_FILE"


def key_file() -> Path:
    """The per-install secret for pseudonymous ids: `$SEND_PSEUDONYM_KEY_FILE`, or
    `~/.config/send-dashboard/pseudonym.key` (outside the repository; created on first use)."""
    env = os.environ.get(KEY_ENV)
    return Path(env) if env else Path.home() / ".config" / "send-dashboard" / "pseudonym.key"


def pseudonym_key() -> bytes:
    path = key_file()
    try:
        data = path.read_bytes().strip()
        if data:
            return data
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    data = secrets.token_hex(32).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return data


def normalise_identity(upn: str, uln: str, surname: str, forename: str, birth: dt.date | None) -> str | None:
    """The identity a pseudonymous id is made from: the UPN, else the ULN, else name and date of birth."""
    upn, uln = (upn or "").strip().upper(), (uln or "").strip()
    if upn:
        return "UPN:" + upn
    if uln:
        return "ULN:" + uln
    name = re.sub(r"[^A-Z]", "", f"{surname or ''}|{forename or ''}".upper())
    if name and birth:
        return f"NDB:{name}:{birth.isoformat()}"
    return None


@lru_cache(maxsize=1 << 17)
def pseudonymise(identity: str, key: bytes, prefix: str = "P") -> str:
    """One-way keyed hash (HMAC-SHA256): the same child gets the same id in every return loaded on
    this install; without the key the id cannot be reversed or recomputed from a UPN. (Cached within
    a process: a child is in several returns of one load.)"""
    return prefix + hmac.digest(key, identity.encode(), "sha256").hex()[:20]  # (one call into OpenSSL)


# -- lookups dropped in beside the export ---------------------------------------------------------

def postcode_key(pc) -> str:
    return re.sub(r"[^A-Z0-9]", "", str(pc or "").upper())


POSTCODE_KEYS = ("pcds", "pcd", "pcd2", "pcd7", "pcd8")
LSOA21_KEYS = ("lsoa21", "lsoa21cd")


def is_postcode_lookup(keys: set[str]) -> bool:
    """ONS Postcode Directory / National Statistics Postcode Lookup, with LSOA 2021 codes."""
    return any(k in keys for k in POSTCODE_KEYS) and any(k in keys for k in LSOA21_KEYS) and "dointr" in keys


def is_gias_extract(keys: set[str]) -> bool:
    """Get Information About Schools establishment extract (edubasealldata)."""
    return "urn" in keys and "typeofestablishmentname" in keys and "establishmentname" in keys


def _lsoa_codes(ranges) -> list[str]:
    return [f"E{n:08d}" for first, last in ranges for n in range(int(first[1:]), int(last[1:]) + 1)]


# The LSOA 2021 codes of each Cumberland locality, typed as runs of consecutive codes (ONS "LSOA (2021) to
# Ward (2024) to LAD (2024) best-fit lookup", OGL v3; localities as the dashboard defines them from wards:
# 59 + 71 + 41 + 6 = 177 LSOAs). Typed here so that the demo's generator never reads the shared geography folder, and
# the reader places Cumberland's children when no geography folder is given (adapters/blade._geography).
CUMBERLAND_LSOA21 = {
    "LOC-ALLERDALE": _lsoa_codes((("E01019078", "E01019102"), ("E01019104", "E01019104"),
                                  ("E01019106", "E01019137"), ("E01034068", "E01034068"))),
    "LOC-CARLISLE": _lsoa_codes((("E01019188", "E01019212"), ("E01019215", "E01019255"),
                                 ("E01034070", "E01034074"))),
    "LOC-COPELAND-N": _lsoa_codes((("E01019256", "E01019262"), ("E01019264", "E01019267"),
                                   ("E01019269", "E01019275"), ("E01019277", "E01019282"),
                                   ("E01019284", "E01019288"), ("E01019291", "E01019292"),
                                   ("E01019294", "E01019296"), ("E01019300", "E01019304"),
                                   ("E01034075", "E01034076"))),
    "LOC-MILLOM": _lsoa_codes((("E01019283", "E01019283"), ("E01019289", "E01019290"),
                               ("E01019293", "E01019293"), ("E01019298", "E01019299"))),
}
