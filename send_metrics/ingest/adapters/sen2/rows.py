"""One SEN2 file's rows, the edition of the release it belongs to, and the contract's codes they map to.

Shared by every generation: a file's rows with their period, area and filters; the release edition
(a management-information file states no date, so it takes its release's); the "not broken down"
code of each filter; and the settings, age bands and needs of the contract that published columns
map to.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from send_metrics.contract import codes
from send_metrics.ingest.adapters.common import (
    EDITION_KEYS,
    SYMBOLS,
    Table,
    clean,
    combine,
    edition_column,
    ees_areas,
    file_edition,
    period_year,
    plural,
    read_columns,
    read_table,
    text_key,
    to_number,
)
from send_metrics.ingest.adapters.sen2.kinds import CASELOAD, GEO_KEYS, MI, NEEDS, NEEDS_NEW, OLD_CASELOAD, siblings


# -- the contract's "not broken down" codes ---------------------------------------------------

def total_code(allowed) -> str | None:
    """The contract code meaning 'all values of this dimension (not broken down in the source)'."""
    for c in ("ALL", "all", "TOTAL", "total", "Total"):
        if c in allowed:
            return c
    return None


def not_broken_down() -> dict[str, str | None]:
    return {"primary_need": total_code(codes.PRIMARY_NEEDS), "age_band": total_code(codes.AGE_BANDS),
            "setting_type": total_code(codes.SETTING_TYPES)}


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


def setting_cells(records: list[dict], total_key: str) -> list[dict] | None:
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


def age_band(label: str) -> str | None:
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


def placement_setting(label: str) -> str | None:
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
        mi = next((p for _k, p in siblings(path, (MI,))), None)
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


def is_total(label: str) -> bool:
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
        total &= pd.Series([text_key(a) == text_key(b) or is_total(b)
                            for a, b in zip(df["breakdowntopic"], df["breakdown"])], index=df.index)
    elif "breakdown" in df:
        total &= df["breakdown"].map(is_total)
    for c in _filter_columns(df, set()):
        if c in ("breakdowntopic", "breakdown"):
            continue
        if c in ("ehcporstatement",):
            continue  # handled by the old-caseload mapping
        total &= df[c].map(is_total)
    df["_total"] = total
    edition, evidence = release_edition(path, kind, t.df["timeperiod"].unique())
    ecol = edition_column(t)
    if ecol:
        df["_edition"] = df[ecol].where(df[ecol] != "", edition)
        evidence = f"the '{ecol}' column (else {evidence})"
    else:
        df["_edition"] = edition
    return Rows(t, kind, df, notes, edition, evidence)


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
