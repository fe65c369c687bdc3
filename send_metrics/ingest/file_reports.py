"""What a check says about a file: its problems, its report, and why a file is not recognised.

A file's report (rows read, loaded, quarantined, superseded; each problem with its row, column and
value) is what `load`, `validate` and an upload print and the data-quality view shows. A file that
is neither a data-contract file nor a publication the loader knows gets a message naming the
columns found and either the dataset it nearly matches or the publications the loader recognises,
so the user can tell what to fix.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from send_metrics import contract
from send_metrics.contract import Dataset


@dataclass
class Problem:
    line: int | None
    column: str
    value: str | None
    reason: str

    def describe(self, file: str) -> str:
        where = f"{file}"
        if self.line is not None:
            where += f", row {self.line}"
        if self.column:
            where += f", column '{self.column}'"
        shown = "" if self.value is None else f" (value {self.value!r})"
        return f"{where}: {self.reason}{shown}"


@dataclass
class FileReport:
    path: str
    dataset: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_superseded: int = 0  # valid rows whose figures a newer edition gives (kept in *_all_editions)
    rows_duplicate: int = 0  # valid rows quarantined because an earlier file of the same edition gives their figures
    in_load: bool = False  # set by the loader: counts are then what the load kept, not only what is valid
    fatal: str | None = None  # the whole file was rejected
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.fatal is None and not self.problems and not self.rows_duplicate

    @property
    def verdict(self) -> str:
        """One word: OK only when every row read was loaded or superseded by a newer edition."""
        if self.fatal:
            return "REJECTED"
        if self.problems:
            return "PROBLEMS"
        if self.rows_duplicate:
            return "DUPLICATE" if self.rows_loaded == 0 else "DUPLICATES"
        return "OK"

    def lines(self, limit: int = 50) -> list[str]:
        if self.fatal and self.fatal.startswith("skipped: "):
            return [f"{self.path}: SKIPPED - {self.fatal.removeprefix('skipped: ')}"] + [f"  note: {n}" for n in self.notes]
        if self.fatal:
            return [f"{self.path}: REJECTED: {self.fatal}"]
        head = (f"{self.path}: {self.verdict} - dataset '{self.dataset}', "
                f"{self.rows_read} rows read, {self.rows_loaded} {'loaded' if self.in_load else 'valid'}, "
                f"{self.rows_quarantined} quarantined"
                + (f", {self.rows_superseded} superseded by a newer edition" if self.rows_superseded else ""))
        out = [head]
        out += [f"  note: {n}" for n in self.notes]
        if self.ignored_columns:
            shown = [c if len(c) <= 80 else c[:77] + "..." for c in self.ignored_columns[:20]]
            more = len(self.ignored_columns) - len(shown)
            out.append(f"  note: columns not in the contract were ignored: {', '.join(shown)}"
                       + (f" and {more:,} more" if more > 0 else ""))
        for p in self.problems[:limit]:
            out.append("  " + p.describe(self.path))
        if len(self.problems) > limit:
            out.append(f"  ... and {len(self.problems) - limit} more problems")
        return out


# Publications the loader recognises by their columns (send_metrics/ingest/adapters); named in the message
# for a file that is neither one of them nor a data-contract file.
KNOWN_PUBLICATIONS = (
    "DfE 'Education, health and care plans' (SEN2) release files of every generation: the EES files of "
    "2023 onwards (caseload, timeliness_20_week, newplans, requests, sen_needs, ...), the management-"
    "information file sen2_mi (snake case or CamelCase: NewallEHC, NoExc20weekRate, ...), and the older "
    "caseload and new-plans files by age or establishment type (Total_all / Total_ehc / Total_st, "
    "Total_new_all, num_caseload, num_new_plans)",
    "DfE 'Special educational needs in England' (school census, three generations)",
    "DfE Local Authority Interactive Tool (LAIT) long data and its data dictionary",
    "DfE children's services statistical neighbours (one column per council)",
    "NHS England autism waiting time statistics",
    "NHS England Mental Health Services Data Set (MHSDS) time series",
    "NHS England Community Health Services waiting lists",
    "a data-contract file: see `python -m send_metrics contract`",
)


def looks_like_contract_file(columns: list[str]) -> Dataset | None:
    """The dataset a file seems meant for, when it looks like a data-contract file (area_code /
    area_level, or time_period + time_identifier, and most of one dataset's required columns)."""
    present = set(columns)
    if not ({"area_code", "area_level"} & present or {"time_period", "time_identifier"} <= present):
        return None
    best = max(contract.DATASETS.values(), key=lambda d: (len(set(d.required_names) & present) / len(d.required_names),
                                                          len(d.required_names)))
    share = len(set(best.required_names) & present) / len(best.required_names)
    return best if share > 0.5 else None


def unrecognised_message(columns: list[str], original_columns: list[str] | None = None, limit: int = 20) -> str:
    """Why a file is not loaded when its columns match no dataset: the columns found, and either the
    contract dataset it nearly matches (for a file that looks like a contract file) or the
    publications the loader knows."""
    shown = [c.strip() or "(blank)" for c in (original_columns if original_columns is not None else columns)]
    found = ", ".join(shown[:limit]) + (f", ... ({len(shown) - limit} more)" if len(shown) > limit else "")
    near = looks_like_contract_file(columns)
    if near is not None:
        missing = [c for c in near.required_names if c not in set(columns)]
        return (f"the columns do not match any dataset in the data contract; it looks like a file for "
                f"dataset '{near.name}', which also needs: {', '.join(missing)} (found: {found})")
    return (f"the columns do not match any dataset in the data contract, and the file is not a publication "
            f"the loader recognises (found columns: {found}). The loader recognises: "
            + "; ".join(KNOWN_PUBLICATIONS))


def detect_dataset(columns: list[str]) -> tuple[Dataset | None, str]:
    """The dataset whose required columns are all present (the most specific one wins); otherwise
    None and why (see :func:`unrecognised_message`)."""
    present = set(columns)
    candidates = [ds for ds in contract.DATASETS.values() if set(ds.required_names) <= present]
    if candidates:
        return max(candidates, key=lambda d: len(d.required_names)), ""
    return None, unrecognised_message(columns)


def not_a_table_message(path: Path) -> str | None:
    """Why a file the loader picks up (a workbook, a gzipped file) cannot be checked as it is, when
    no adapter recognised it; None for the CSV and Parquet files the reader takes."""
    name = path.name.lower()
    if name.endswith((".xlsx", ".xlsm")):
        sheets: list[str] = []
        first_row: list[str] = []
        try:
            import openpyxl
            wb = openpyxl.load_workbook(path, read_only=True)
            try:
                sheets = [ws.title for ws in wb.worksheets[:12]]
                for ws in wb.worksheets[:1]:
                    for row in ws.iter_rows(min_row=1, max_row=20, values_only=True):
                        cells = [str(c) for c in row if c not in (None, "")]
                        if len(cells) >= 2:
                            first_row = cells
                            break
            finally:
                wb.close()
        except Exception:  # not a readable workbook: say so below
            pass
        if not sheets:
            return ("an Excel workbook that cannot be opened (damaged or password-protected); save the sheet "
                    "as CSV (UTF-8)")
        return (f"an Excel workbook that is not a publication the loader recognises (sheets: {', '.join(sheets)}"
                + (f"; first columns: {', '.join(first_row[:12])}" if first_row else "")
                + "). Workbooks are read only when they are a known publication; save a contract-shaped sheet as "
                  "CSV (UTF-8). The loader recognises: " + "; ".join(KNOWN_PUBLICATIONS))
    if name.endswith(".gz"):
        from send_metrics.ingest.adapters.header import read_header
        header = read_header(path)
        if not header:
            return "a gzipped file that is not a readable CSV (damaged, or not text inside)"
        from send_metrics.ingest.readers import normalise_name
        return ("a gzipped CSV: " + unrecognised_message([normalise_name(h) for h in header], header)
                + ". A contract-shaped file must be unzipped first (gzipped files are read only when they are a "
                  "known publication)")
    return None
