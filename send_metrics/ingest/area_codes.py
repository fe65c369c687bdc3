"""ONS area code changes for upper-tier councils since 2009 (`reference/area_code_changes.csv`),
and the lifetimes of abolished areas (`valid_from` / `valid_to` in `reference/areas.csv`).

A code ONS has replaced is resolved to the code the areas table knows only for a **one-to-one**
change: the same council under a new code (North Yorkshire E10000023 / E06000065), or a minor
boundary change that gave a council a new code (Gateshead E08000020 -> E08000037). Either code of
such a pair is replaced by the other when only the other is in the areas table; when both are
(Buckinghamshire E10000002 and E06000060) nothing is replaced. Mergers (Bournemouth and Poole
into BCP) and splits (Northamptonshire, Cumbria) are never mapped: no successor covers exactly
the old area, so summing or copying figures would be wrong. Every replacement is reported with
its count of rows, e.g. "E08000020 -> E08000037, Gateshead, 2013 boundary change: 1 row".

No Streamlit here: used by the adapters and by validation.
"""
from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from send_metrics.config import REFERENCE_DIR

CHANGES_CSV = REFERENCE_DIR / "area_code_changes.csv"
AREAS_CSV = REFERENCE_DIR / "areas.csv"


@dataclass(frozen=True)
class CodeChange:
    old_code: str
    old_name: str
    new_code: str
    new_name: str
    effective: str  # YYYY-MM-DD
    change: str  # e.g. "2013 boundary change", "2021 split"
    mapping: str  # "one_to_one" (a code may be replaced by the other) or "not_mapped"
    note: str
    source: str

    def label(self, from_code: str, to_code: str) -> str:
        """'E08000020 -> E08000037, Gateshead, 2013 boundary change'."""
        return f"{from_code} -> {to_code}, {self.new_name.split(' (')[0]}, {self.change}"


@lru_cache(maxsize=1)
def changes() -> tuple[CodeChange, ...]:
    with open(CHANGES_CSV, newline="", encoding="utf-8") as fh:
        return tuple(CodeChange(**{k: (v or "").strip() for k, v in row.items()}) for row in csv.DictReader(fh))


def one_to_one_codes() -> set[str]:
    """Every code that may be replaced (either side of a one-to-one change)."""
    return {c for ch in changes() if ch.mapping == "one_to_one" for c in (ch.old_code, ch.new_code)}


def replacements(known: set[str] | frozenset[str]) -> dict[str, tuple[str, CodeChange]]:
    """code the areas table does not know -> (the code of the same council it knows, the change)."""
    out: dict[str, tuple[str, CodeChange]] = {}
    for ch in changes():
        if ch.mapping != "one_to_one":
            continue
        if ch.old_code not in known and ch.new_code in known:
            out[ch.old_code] = (ch.new_code, ch)
        elif ch.new_code not in known and ch.old_code in known:
            out[ch.new_code] = (ch.old_code, ch)
    return out


def not_mapped(code: str) -> list[CodeChange]:
    """Mergers and splits that ended this code (reported, never mapped)."""
    return [ch for ch in changes() if ch.old_code == code and ch.mapping == "not_mapped"]


def replaced_note(from_code: str, to_code: str, ch: CodeChange, rows: int) -> str:
    return f"{ch.label(from_code, to_code)}: {rows:,} row{'' if rows == 1 else 's'}"


@dataclass(frozen=True)
class Lifetime:
    code: str
    name: str
    valid_from: str  # YYYY-MM-DD or ""
    valid_to: str

    def outside_reason(self) -> str:
        """Why a row dated outside the lifetime is not loaded (a sentence for the quarantine)."""
        if self.valid_to:
            successors = not_mapped(self.code)
            after = ""
            if successors:
                names = " and ".join(f"{c.new_name} {c.new_code}" for c in successors)
                kind = successors[0].change.split(" ", 1)[-1]
                after = f"; its area passed to {names} ({kind}: not mapped)"
            abolished = dt.date.fromisoformat(self.valid_to) + dt.timedelta(days=1)
            return (f"{self.code} {self.name} was abolished on {abolished.isoformat()}: a period ending after "
                    f"{self.valid_to} belongs to its successors{after}")
        return (f"{self.code} {self.name} exists from {self.valid_from}: a period ending earlier is not part "
                "of this series")


@lru_cache(maxsize=1)
def lifetimes() -> dict[str, Lifetime]:
    """Built-in areas with a valid_from or valid_to (areas.csv)."""
    out = {}
    with open(AREAS_CSV, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            vf, vt = (row.get("valid_from") or "").strip(), (row.get("valid_to") or "").strip()
            if vf or vt:
                out[row["area_code"]] = Lifetime(row["area_code"], row["area_name"], vf, vt)
    return out
