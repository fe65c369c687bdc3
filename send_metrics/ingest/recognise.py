"""One verdict per file: the recognition and adaptation step that `load` and `validate` share.

A file is first offered to the adapters (`send_metrics.ingest.adapters.adapt`): a published DfE / NHS
file becomes zero or more contract-shaped files, each checked like any extract; a file the
adapters do not recognise is checked against the data contract as it is. `expand_published` is
that step for one file, exactly as the loader does it; `check_files` runs it and then the checks
(`validate.validate_file`) without loading anything, which is what `python -m send_metrics
validate` prints.

Outcomes, the same for both commands:

* loaded: every contract-shaped file passed (or quarantined some rows, which `validate` reports);
* recognised, not loaded: a known publication that carries nothing the contract holds (the data
  guidance, ceased plans, ...) or whose figures another file of its folder loads; the reason is
  given and it is not an error (exit 0);
* rejected: not a known publication and not a contract file, or unreadable; the message says why
  (for an unknown file: the columns found and the publications the loader knows).
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from send_metrics.config import REFERENCE_DIR
from send_metrics.ingest.file_reports import FileReport
from send_metrics.ingest.validate import add_known_areas, is_adapted_output, validate_file


def reference_files() -> list[Path]:
    """The built-in reference tables every load starts from (areas and their memberships)."""
    return [REFERENCE_DIR / "areas.csv", REFERENCE_DIR / "area_membership.csv"]


def header_dataset(path: Path) -> str | None:
    """Cheap look at the header only (a Parquet file's schema), to order files (areas before
    everything else) and to know which files may define areas. The header is read as the
    adapters read it (any encoding, gzipped too); a file whose header names no dataset gives None."""
    from send_metrics.ingest.adapters.header import read_header, read_parquet_columns
    from send_metrics.ingest.readers import normalise_name
    from send_metrics.ingest.file_reports import detect_dataset
    names = read_parquet_columns(path) if path.suffix.lower() == ".parquet" else read_header(path)
    ds, _ = detect_dataset([normalise_name(c) for c in names])
    return ds.name if ds else None


def load_reads(path: Path) -> bool:
    """Whether `load` picks the file up when it is in the data folder (data_folder.discover's rule)."""
    from send_metrics.ingest.readers import SUPPORTED_SUFFIXES
    name = Path(path).name
    return not name.startswith((".", "~$")) and Path(path).suffix.lower() in SUPPORTED_SUFFIXES + (".gz", ".xlsx")


@dataclass
class Expanded:
    """One input file after recognition: what it is and the files to check in its place."""
    display: str
    path: Path
    source_format: str | None = None  # None: not a published format, checked as it is
    notes: list[str] = field(default_factory=list)  # the adapter's notes (what was read, ignored, why)
    outputs: list[tuple[str, Path]] = field(default_factory=list)  # (display, file) to check
    adapter_error: str | None = None
    refused: str | None = None  # not read at all (over a size limit, a decompression bomb): why
    problems: list = field(default_factory=list)  # rows the adapter quarantined (see adapters.AdaptResult)

    def problem_report(self) -> FileReport | None:
        """The adapter's quarantined rows as one report (file, row, column, reason), or None."""
        if not self.problems:
            return None
        from send_metrics.ingest.file_reports import Problem
        report = FileReport(path=f"{self.display} [{self.source_format}: rows not used]",
                            dataset=self.problems[0].dataset, rows_quarantined=len({(p.file, p.line) for p in self.problems}))
        report.problems = [Problem(p.line, p.column, p.value, f"{p.file}: {p.reason}") for p in self.problems]
        report.rows_read = report.rows_quarantined
        return report

    @property
    def recognised_not_loaded(self) -> bool:
        return self.source_format is not None and not self.outputs

    def load_notes(self) -> list[str]:
        """The notes the loader prints for this file (before the checks' reports)."""
        if self.refused:
            return [f"{self.display}: refused: {self.refused}"]
        if self.adapter_error:
            return [f"{self.display}: not recognised as a published format ({self.adapter_error})"]
        if self.source_format is None:
            return []
        return [f"{self.display}: {self.source_format}: {n}" for n in self.notes]

    def reason_notes(self) -> list[str]:
        """The notes that say why a recognised file gives no rows (all its notes if none says so)."""
        said = [n for n in self.notes if any(w in n for w in ("not loaded", "not used", "read together"))]
        return said or list(self.notes)

    def read_with(self) -> str | None:
        """The file of its folder that loads this file's figures with its own, if any."""
        for n in self.notes:
            if n.startswith("read together with "):
                return n[len("read together with "):].split(",")[0]
        return None


def expand_published(display: str, path: Path, workdir: Path) -> Expanded:
    """Recognise one file and adapt it into `workdir` (exactly what the loader does for it)."""
    from send_metrics.ingest.adapters import adapt
    from send_metrics.ingest.readers import FileRefused
    e = Expanded(display, Path(path))
    try:
        adapted = adapt(path, workdir)
    except FileRefused as exc:  # too large, or a decompression bomb: not read at all, nor checked
        e.refused = str(exc)
        return e
    except Exception as exc:  # an adapter bug must not stop the other files loading
        adapted = None
        e.adapter_error = f"{type(exc).__name__}: {exc}"
    if adapted is None:
        e.outputs = [(display, Path(path))]
        return e
    e.source_format = adapted.source_format
    e.notes = list(adapted.notes)
    e.problems = list(getattr(adapted, "problems", []) or [])
    e.outputs = [(f"{display} [{adapted.source_format} -> {dataset}]", produced)
                 for dataset, produced in adapted.outputs]
    return e


def areas_first(outputs: list[tuple[str, Path]]) -> list[tuple[str, Path]]:
    """Areas defined by published files (e.g. NHS providers) must exist before rows use them."""
    return sorted(outputs, key=lambda f: 0 if f[0].endswith("-> areas]") else 1)


def expand_all(files: list[tuple[str, Path]], workdir: Path) -> tuple[list[Expanded], list[tuple[str, Path]]]:
    """Every file expanded (adapter outputs in `workdir/<n>`), and the files to check, areas first."""
    expanded, out = [], []
    for display, path in files:
        e = expand_published(display, path, workdir / str(len(out)))
        expanded.append(e)
        out += e.outputs
    return expanded, areas_first(out)


@dataclass
class FileVerdict:
    """What `validate` says about one input file."""
    expanded: Expanded
    reports: list[FileReport] = field(default_factory=list)  # one per checked (output) file

    @property
    def ok(self) -> bool:
        return self.expanded.refused is None and all(r.ok for r in self.reports) and not self.expanded.problems

    def lines(self, limit: int = 50) -> list[str]:
        e = self.expanded
        out: list[str] = []
        if e.refused:
            out.append(f"{e.display}: REFUSED - {e.refused}")
        if e.adapter_error:
            out.append(f"{e.display}: note: not recognised as a published format ({e.adapter_error})")
        if e.source_format is not None:
            shown = list(e.notes)
            if e.read_with():
                out.append(f"{e.display}: RECOGNISED - {e.source_format}: its figures are loaded together with "
                           f"{e.read_with()} from the same folder (validate that file or the folder to check them)")
            elif e.recognised_not_loaded:
                why = e.reason_notes()
                out.append(f"{e.display}: RECOGNISED, NOT LOADED - {e.source_format}: "
                           + ("; ".join(why) or "nothing in it maps to the data contract"))
                shown = [n for n in e.notes if n not in why]
            else:
                datasets = ", ".join(d.rsplit(" -> ", 1)[-1].rstrip("]") for d, _ in e.outputs)
                out.append(f"{e.display}: RECOGNISED - {e.source_format}; adapted to: {datasets}")
            out += [f"  note: {n}" for n in shown]
        for r in self.reports:
            out += r.lines(limit)
        pr = e.problem_report()
        if pr is not None:
            out += pr.lines(limit)
        return out


def _reference_areas(con) -> None:
    con.execute("CREATE TABLE IF NOT EXISTS areas_ref (area_code VARCHAR, area_level VARCHAR)")
    con.execute("INSERT INTO areas_ref SELECT area_code, area_level FROM read_csv($p, all_varchar=true)",
                {"p": str(reference_files()[0])})


def check_files(paths: list[Path], con: duckdb.DuckDBPyConnection | None = None,
                workdir: Path | None = None) -> list[FileVerdict]:
    """Recognise, adapt and check each file as `load` would, without loading anything.

    Files are taken in the loader's order (areas files first, then adapted areas outputs), and the
    good rows of every areas file checked become known areas for the files after it."""
    own_con = con is None
    con = con or duckdb.connect()
    own_dir = workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="send_validate_")) if own_dir else Path(workdir)
    try:
        if own_con:
            _reference_areas(con)
        ordered = sorted(paths, key=lambda p: 0 if header_dataset(p) == "areas" else 1)
        expanded, to_check = expand_all([(str(p), Path(p)) for p in ordered], workdir)
        reports: dict[str, FileReport] = {}
        for display, path in to_check:
            report, raw, v = validate_file(path, con, display=display, adapted=is_adapted_output(display))
            if v is not None:
                add_known_areas(con, v)
            reports[display] = report
        verdicts = []
        for e in expanded:
            verdicts.append(FileVerdict(e, [reports[d] for d, _ in e.outputs if d in reports]))
        # Report in the order the files were given.
        order = {str(p): i for i, p in enumerate(paths)}
        return sorted(verdicts, key=lambda v: order.get(v.expanded.display, len(order)))
    finally:
        if own_con:
            con.close()
        if own_dir:
            shutil.rmtree(workdir, ignore_errors=True)
