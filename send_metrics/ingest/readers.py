"""Read any extract an analyst may drop in: CSV (UTF-8 with or without BOM, Windows-1252,
comma / semicolon / tab, CRLF) or Parquet, into a DuckDB table of text columns.

Invariants: every cell is read as text (a symbol such as `c` is never lost to type detection);
each row keeps its line number in the file (`_line`, header = line 1) so that every problem can
be reported by file, row and column; rows with the wrong number of cells are returned as
problems rather than dropped silently. A file that cannot be read raises `UnreadableFile` with a
sentence a user can act on.
"""
from __future__ import annotations

import csv
import io
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

SUPPORTED_SUFFIXES = (".csv", ".txt", ".tsv", ".parquet")

# Python's CSV parser refuses a cell over 128 KB by default; lines are bounded by SEND_MAX_LINE_KB
# instead (a longer header refuses the file, a longer row is quarantined), so no cell is cut here.
csv.field_size_limit(2**31 - 1)


def sql_name(name: str) -> str:
    """A quoted SQL identifier (a column or table name), for the checks' and the loader's generated SQL."""
    return '"' + name.replace('"', '""') + '"'


class UnreadableFile(Exception):
    """The file cannot be read as a table at all; the message says why, for a user."""


class FileRefused(UnreadableFile):
    """The file is not read at all (too large, decompresses to too much, not a regular file, changed
    while read); the message says why, for a user."""


def check_size(path: Path, size: int | None = None) -> None:
    """Refuse a file larger than SEND_MAX_FILE_MB before any of it is read."""
    from send_metrics.config import max_file_bytes
    size = path.stat().st_size if size is None else size
    if size > max_file_bytes():
        raise FileRefused(f"the file is {size / 1048576:,.0f} MB, more than the {max_file_bytes() // 1048576:,} MB "
                          "limit (SEND_MAX_FILE_MB)")


def read_first_line(fh, limit: int) -> tuple[bytes, bool]:
    """The first line of an open binary file (without its line end), read up to ``limit`` bytes:
    (line, True) when it is longer than the limit (then only the first ``limit`` bytes)."""
    parts, size = [], 0
    while True:
        chunk = fh.read(min(1 << 16, limit + 2 - size))
        if not chunk:
            break
        cut = min((i for i in (chunk.find(b"\n"), chunk.find(b"\r")) if i >= 0), default=-1)
        if cut >= 0:
            parts.append(chunk[:cut])
            size += cut
            break
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    line = b"".join(parts)
    return line[:limit], size > limit


def header_limits_error(line_bytes: int | None, columns: int | None) -> str | None:
    """The true reason a header is refused (over SEND_MAX_LINE_KB or SEND_MAX_COLUMNS), or None."""
    from send_metrics.config import max_columns, max_line_bytes
    if line_bytes is not None and line_bytes > max_line_bytes():
        return (f"the header (line 1) is longer than {max_line_bytes() // 1024:,} KB, the limit for one line "
                "(SEND_MAX_LINE_KB); a file that needs longer lines can be loaded with a higher limit")
    if columns is not None and columns > max_columns():
        return (f"the header has {columns:,} columns, more than the limit of {max_columns():,} (SEND_MAX_COLUMNS); "
                "published files have up to about 160")
    return None


def overlong_lines(path: Path, limit: int) -> dict[int, int]:
    """{line number: length in bytes} of every line longer than ``limit`` (header = line 1; a line
    ends at LF, CR or CRLF). Scanned in 4 MB steps with numpy, so a 1 GB file takes about a second."""
    import numpy as np
    out: dict[int, int] = {}
    line, start, offset, cr_only = 1, 0, 0, None
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            arr = np.frombuffer(chunk, dtype=np.uint8)
            lf = arr == 10
            if cr_only is None and (lf.any() or (arr == 13).any()):
                cr_only = not lf.any()
            breaks = np.flatnonzero(lf | (arr == 13))
            if len(breaks):
                ends = breaks + offset
                starts = np.concatenate(([start], ends[:-1] + 1))
                lengths = ends - starts
                counted = (arr[breaks] == 13) if cr_only else (arr[breaks] == 10)
                for i in np.flatnonzero(lengths > limit):
                    out[line + int(counted[:i].sum())] = int(lengths[i])
                line += int(counted.sum())
                start = int(ends[-1]) + 1
            offset += len(chunk)
    if offset - start > limit:
        out[line] = offset - start
    return out


def _blank_overlong(source: Path, lines: dict[int, int]) -> Path:
    """A copy of ``source`` with each overlong line replaced by one short cell (which the CSV
    engine rejects as a row with too few cells, at the same line number)."""
    fd, name = tempfile.mkstemp(suffix=".csv")
    with open(source, "rb") as src, open(fd, "wb") as out:
        n = 1
        pending = b""
        while chunk := src.read(1 << 22):
            data = pending + chunk
            pos = 0
            while True:
                nl = data.find(b"\n", pos)
                if nl < 0:
                    break
                if n in lines:
                    out.write(b"\x01overlong\r\n" if data[nl - 1:nl] == b"\r" else b"\x01overlong\n")
                else:
                    out.write(data[pos:nl + 1])
                n += 1
                pos = nl + 1
            pending = data[pos:]
            if n in lines and len(pending) > (1 << 22):
                pending = pending[:1]  # the overlong line's content is never kept in memory
        if pending:
            out.write(b"\x01overlong\n" if n in lines else pending)
    return Path(name)


@dataclass
class RawTable:
    table: str  # name of a DuckDB table with text columns plus `_line`
    columns: list[str]  # normalised column names, in file order
    original_columns: list[str]
    rows: int
    row_problems: list[tuple[int, str, str]] = field(default_factory=list)  # (line, column, reason)
    notes: list[str] = field(default_factory=list)
    encoding: str = "utf-8"
    delimiter: str = ","
    line_sql: str = "_line"  # SQL giving each row's line in the file



def normalise_name(name: str) -> str:
    """Column names are matched case-insensitively, ignoring spaces and a stray BOM."""
    name = name.replace("\ufeff", "").strip().strip('"').strip().lower()
    return re.sub(r"[^0-9a-z]+", "_", name).strip("_")


def detect_delimiter(header_line: str) -> str:
    counts = {d: 0 for d in (",", ";", "\t", "|")}
    in_quotes = False
    for ch in header_line:
        if ch == '"':
            in_quotes = not in_quotes
        elif not in_quotes and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _decode_check(path: Path, head: bytes) -> str:
    if not head.strip():
        raise UnreadableFile("the file is empty")
    if head.startswith(b"PK\x03\x04"):
        raise UnreadableFile("this is a zip or Excel workbook, not a CSV; save the sheet as CSV (UTF-8)")
    if head.startswith(b"\xff\xfe") or head.startswith(b"\xfe\xff"):
        return "utf-16"
    if b"\x00" in head:
        raise UnreadableFile("the file is binary (it contains NUL bytes), not a CSV text file")
    data = path.read_bytes()
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # Excel's "CSV" on Windows saves Windows-1252; anything that is not UTF-8 but decodes
        # as cp1252 is taken to be that. Report the position so an analyst can check.
        try:
            data.decode("cp1252")
        except UnicodeDecodeError:
            raise UnreadableFile(f"the text is neither UTF-8 nor Windows-1252 (byte {exc.start})") from None
        # A file that is partly UTF-8 (e.g. rows pasted from another file) would be garbled
        # silently if read as Windows-1252: refuse it, naming a line of each.
        utf8 = _UTF8_MULTIBYTE.search(data)
        if utf8 is not None:
            good = data.count(b"\n", 0, utf8.start()) + 1
            bad = data.count(b"\n", 0, exc.start) + 1
            raise UnreadableFile(f"the file mixes text encodings: line {good} is UTF-8 but line {bad} is not "
                                 "(Windows-1252?); save the whole file again as CSV UTF-8") from None
        return "cp1252"


# A valid UTF-8 sequence of two to four bytes (never produced by Windows-1252 text in practice).
_UTF8_MULTIBYTE = re.compile(rb"(?:[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
                             rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
                             rb"|\xf4[\x80-\x8f][\x80-\xbf]{2})")


def read_raw(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> RawTable:
    """Read `path` into DuckDB table `table` (all text) and describe what was found."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _read_parquet(con, path, table)
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnreadableFile(f"unsupported file type '{suffix}'; use CSV or Parquet")
    check_size(path)
    from send_metrics.config import max_line_bytes
    limit = max_line_bytes()
    with open(path, "rb") as fh:
        head = fh.read(65536)
        fh.seek(0)
        header_bytes, header_too_long = read_first_line(fh, limit)
    encoding = _decode_check(path, head)
    if header_too_long and encoding != "utf-16":
        raise UnreadableFile(header_limits_error(limit + 1, None))
    notes: list[str] = []
    source = path
    tmp_path: Path | None = None
    if encoding != "utf-8":
        text = path.read_bytes().decode(encoding)
        notes.append(f"read as {'Windows-1252 (Excel)' if encoding == 'cp1252' else encoding} text")
        fd, name = tempfile.mkstemp(suffix=".csv")
        tmp_path = Path(name)
        with open(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        source = tmp_path
        first_line = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    else:
        first_line = header_bytes.decode("utf-8", errors="replace").lstrip("\ufeff")
    overlong: dict[int, int] = {}
    try:
        if len(first_line.encode("utf-8")) > limit:
            raise UnreadableFile(header_limits_error(limit + 1, None))
        if not first_line.strip():
            raise UnreadableFile("the first line (the header) is blank")
        delimiter = detect_delimiter(first_line)
        if delimiter != ",":
            notes.append({";": "semicolon", "\t": "tab", "|": "pipe"}[delimiter] + "-separated")
        header = next(csv.reader(io.StringIO(first_line), delimiter=delimiter))
        if len(header) < 2:
            raise UnreadableFile("the header has only one column; expected a table with several columns")
        too_wide = header_limits_error(None, len(header))
        if too_wide:
            raise UnreadableFile(too_wide)
        # Lines over SEND_MAX_LINE_KB: each such row is quarantined with its length, and the rest of
        # the file is read as usual (the CSV engine takes minutes over a line of many megabytes).
        overlong = overlong_lines(source, limit)
        if overlong:
            blanked = _blank_overlong(source, overlong)
            if tmp_path is not None:
                tmp_path.unlink(missing_ok=True)
            source = tmp_path = blanked
        try:
            rows, rejects, numbered = _read_csv_table(con, table, source, delimiter, len(header))
        except duckdb.Error as exc:
            endings = line_endings(source)
            if not endings.mixed:
                raise UnreadableFile(plain_csv_error(str(exc), source, delimiter, len(header), endings)) from None
            # Lines ending partly in CRLF (Windows) and partly in LF or CR: the CSV engine needs one
            # kind. The text is read with its line endings made consistent, and the rows are the same.
            fd, name = tempfile.mkstemp(suffix=".csv")
            fixed = Path(name)
            with open(fd, "wb") as out:
                out.write(source.read_bytes().replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
            if tmp_path is not None:
                tmp_path.unlink(missing_ok=True)
            source = tmp_path = fixed
            notes.append(f"line endings were mixed ({endings.describe()}); read with consistent line endings")
            try:
                rows, rejects, numbered = _read_csv_table(con, table, source, delimiter, len(header))
            except duckdb.Error as exc2:
                raise UnreadableFile(plain_csv_error(str(exc2), source, delimiter, len(header),
                                                     line_endings(source))) from None
    finally:
        if tmp_path is not None:
            tmp_path.unlink(missing_ok=True)
    problems, seen_lines = [], set()
    for line, _col, etype, message in rejects:
        if line in seen_lines:  # DuckDB may report one bad line more than once
            continue
        seen_lines.add(line)
        reason = (f"the row is {overlong[int(line)]:,} characters long, more than the {limit // 1024:,} KB limit "
                  "for one line (SEND_MAX_LINE_KB)" if int(line) in overlong else plain_reject(etype, message))
        problems.append((int(line), "", f"malformed row: {reason}"))
    raw = _finish(con, table, header, rows, problems, notes)
    raw.encoding, raw.delimiter = encoding, delimiter
    raw.line_sql = f"{table}._line" if numbered else f"({table}.rowid + 2)"
    return raw


def _read_csv_table(con, table: str, source: Path, delimiter: str, ncols: int) -> tuple[int, list, bool]:
    """Read the CSV into `table` (positional text columns c0..), number its rows; (rows, rejects, numbered).
    Raises duckdb.Error when the engine cannot read the file at all (see :func:`plain_csv_error`)."""
    cur = con.cursor()
    try:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        # Column names are given explicitly so that duplicated or odd headers survive.
        names = [f"c{i}" for i in range(ncols)]
        cur.execute(
            f"""CREATE TABLE {table} AS
            SELECT * FROM read_csv($path, delim=$delim, header=true,
                quote='"', escape='"', columns=$columns, store_rejects=true, ignore_errors=true,
                rejects_table='{table}_rejects', rejects_scan='{table}_scans',
                auto_detect=false, null_padding=false, strict_mode=true, max_line_size=$max_line)""",
            {"path": str(source), "delim": delimiter, "columns": {n: "VARCHAR" for n in names},
             "max_line": _engine_line_limit()},
        )
        rejects = cur.execute(
            f"SELECT line, coalesce(column_name, ''), error_type, error_message "
            f"FROM {table}_rejects ORDER BY line"
        ).fetchall()
        rows = cur.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        rejected_lines = sorted({int(r[0]) for r in rejects})
        kept_lines = None
        if _data_line_count(source) != rows + len(rejected_lines):
            # Blank lines (DuckDB skips them) or cells spanning lines: rows are numbered as a
            # spreadsheet shows them, for kept and rejected rows alike.
            row_of = _spreadsheet_rows(source, encoding="utf-8", delimiter=delimiter)
            rejects = [(row_of.get(int(r[0]), int(r[0])), *r[1:]) for r in rejects]
            rejected_rows = {int(r[0]) for r in rejects}
            kept_lines = [row for row in row_of.values() if row > 1 and row not in rejected_rows]
            rejected_lines = sorted(rejected_rows)
        _number_lines(cur, table, rows, rejected_lines, kept_lines)
        cur.execute(f"DROP TABLE IF EXISTS {table}_rejects")
        cur.execute(f"DROP TABLE IF EXISTS {table}_scans")
        return rows, rejects, bool(rejects) or kept_lines is not None
    finally:
        cur.close()


def _engine_line_limit() -> int:
    """The CSV engine's own line limit: never below its default, and above SEND_MAX_LINE_KB (whose
    longer lines never reach it), so a row is only cut by the limit people can see and set."""
    from send_metrics.config import max_line_bytes
    return max(2_000_000, max_line_bytes() + 1024)


def _engine_limit_text() -> str:
    return f"{_engine_line_limit():,} characters"


@dataclass
class LineEndings:
    crlf: int
    lf: int
    cr: int

    @property
    def mixed(self) -> bool:
        return sum(1 for n in (self.crlf, self.lf, self.cr) if n) > 1

    def describe(self) -> str:
        parts = [(self.crlf, "CRLF (Windows)"), (self.lf, "LF"), (self.cr, "CR only")]
        return ", ".join(f"{n:,} line{'s' if n != 1 else ''} ending in {what}" for n, what in parts if n)


def line_endings(path: Path) -> LineEndings:
    """How the file's lines end (read in chunks; a CRLF split across two chunks is counted once)."""
    crlf = lf = cr = 0
    prev_cr = False
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            if prev_cr and chunk.startswith(b"\n"):
                crlf, cr, chunk = crlf + 1, cr - 1, chunk[1:]
            pairs = chunk.count(b"\r\n")
            crlf += pairs
            lf += chunk.count(b"\n") - pairs
            cr += chunk.count(b"\r") - pairs
            prev_cr = chunk.endswith(b"\r")
    return LineEndings(crlf, lf, cr)


SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def _first_irregular_row(path: Path, delimiter: str, ncols: int) -> tuple[int, str] | None:
    """(row as a spreadsheet shows it, what is wrong) of the first record Python's CSV reader finds
    irregular (a cell count other than the header's, or a quoting error); None if there is none."""
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as fh:
            reader = csv.reader(fh, delimiter=delimiter, quotechar='"', doublequote=True, strict=True)
            row = 0
            for record in reader:
                row += 1
                if record and len(record) != ncols:
                    return row, f"{len(record)} cells where the header has {ncols}"
    except csv.Error:
        return row + 1, "a quote mark out of place"
    return None


def plain_csv_error(engine_message: str, path: Path, delimiter: str, ncols: int,
                    endings: LineEndings | None = None) -> str:
    """A sentence a person can act on, for a CSV the engine could not read at all (never the
    engine's own words: those are for SEND_DEBUG)."""
    kind = SEPARATOR_NAMES.get(delimiter, repr(delimiter))
    text = engine_message.lower()
    endings = endings or line_endings(path)
    if "line size" in text or "maximum line" in text:
        why = f"a row is longer than {_engine_limit_text()} (often a quote mark that is never closed)"
    elif "unicode" in text or "encoding" in text:
        why = "part of the text is not valid UTF-8"
    elif endings.mixed:
        why = f"its line endings are mixed ({endings.describe()})"
    else:
        why = "its layout does not follow the CSV rules (a quote mark, separator or line ending out of place)"
    where = _first_irregular_row(path, delimiter, ncols)
    at = f"; the first irregular row is row {where[0]} ({where[1]})" if where else ""
    return (f"could not be read as a {kind}-separated table: {why}{at}. Open it in a spreadsheet and save it "
            f"again as CSV (UTF-8), or check that row")


def plain_reject(error_type: str, message: str) -> str:
    """The CSV engine's reason for rejecting one row, in plain words."""
    kind = (error_type or "").upper().replace("_", " ")
    counts = re.search(r"Expected Number of Columns:\s*(\d+)\s*Found:\s*(\d+)", message or "")
    if kind == "TOO MANY COLUMNS":
        return (f"{counts.group(2)} cells where the header has {counts.group(1)}" if counts
                else "more cells than the header has columns")
    if kind == "MISSING COLUMNS":
        return (f"{counts.group(2)} cells where the header has {counts.group(1)}" if counts
                else "fewer cells than the header has columns")
    if kind == "UNQUOTED VALUE":
        return "a quote mark that is never closed, or a quote inside a cell that is not quoted"
    if kind == "LINE SIZE OVER MAXIMUM":
        return f"the row is longer than {_engine_limit_text()} (often a quote mark that is never closed)"
    if "ENCODING" in kind or "UNICODE" in kind:
        return "the row is not valid UTF-8 text"
    return "the row could not be split into cells (" + (kind.lower() or "unknown reason") + ")"


def _data_line_count(path: Path) -> int:
    """Physical lines after the header (a final line without a newline counts)."""
    newlines, last = 0, b"\n"
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            newlines += chunk.count(b"\n")
            last = chunk[-1:]
    return newlines + (0 if last == b"\n" else 1) - 1


def _spreadsheet_rows(path: Path, encoding: str, delimiter: str) -> dict[int, int]:
    """Map each record's first file line to its row as a spreadsheet shows it: blank lines are rows,
    a quoted cell spanning several lines is one row. Only used when the quick line count disagrees
    with DuckDB's row count, so this Python parse is rare."""
    rows: dict[int, int] = {}
    with open(path, encoding=encoding, newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter, quotechar='"', doublequote=True)
        start = 1
        for i, record in enumerate(reader):
            if record:
                rows[start] = i + 1
            start = reader.line_num + 1
    return rows


def _number_lines(cur, table: str, rows: int, rejected_lines: list[int],
                  kept_lines: list[int] | None = None) -> None:
    """Give each kept row its line in the file: data lines from 2, skipping rejected ones (or the
    parsed record lines when blank lines or multi-line cells make line != row)."""
    if not rejected_lines and kept_lines is None:
        return  # line = rowid + 2, computed when read (see RawTable.line_sql): no update pass
    cur.execute(f"ALTER TABLE {table} ADD COLUMN _line BIGINT")
    if kept_lines is not None and len(kept_lines) == rows:
        lines = kept_lines
    else:
        rejected = sorted(set(rejected_lines))
        lines, nxt, ri = [], 2, 0
        while len(lines) < rows:
            while ri < len(rejected) and rejected[ri] == nxt:
                nxt += 1
                ri += 1
            lines.append(nxt)
            nxt += 1
    cur.execute("CREATE TEMP TABLE _line_map AS SELECT unnest(range($n)) AS rid, unnest($lines) AS line",
                {"n": rows, "lines": lines})
    cur.execute(f"UPDATE {table} SET _line = m.line FROM _line_map m WHERE {table}.rowid = m.rid")
    cur.execute("DROP TABLE _line_map")


def _read_parquet(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> RawTable:
    cur = con.cursor()
    try:
        try:
            schema = cur.execute("DESCRIBE SELECT * FROM read_parquet($p)", {"p": str(path)}).fetchall()
        except duckdb.Error as exc:
            raise UnreadableFile(f"not a readable Parquet file: {str(exc).splitlines()[0]}") from None
        header = [r[0] for r in schema]
        names = [f"c{i}" for i in range(len(header))]
        select = ", ".join(f'CAST("{h.replace(chr(34), chr(34) * 2)}" AS VARCHAR) AS {n}'
                           for h, n in zip(header, names))
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        cur.execute(f"CREATE TABLE {table} AS SELECT {select} FROM read_parquet($p)", {"p": str(path)})
        rows = cur.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    finally:
        cur.close()
    raw = _finish(con, table, header, rows, [], [])
    raw.line_sql = f"({table}.rowid + 1)"  # Parquet has no header line: row 1 is the first record
    return raw


def _finish(con, table: str, header: list[str], rows: int, problems, notes) -> RawTable:
    """Rename positional columns to normalised names; duplicated names keep the first copy."""
    seen: dict[str, int] = {}
    final: list[str] = []
    cur = con.cursor()
    try:
        for i, original in enumerate(header):
            name = normalise_name(original) or f"column_{i + 1}"
            if name in seen:
                notes.append(f"header column '{original.strip()}' appears twice; the second copy "
                             f"(column {i + 1}) is ignored")
                name = f"_dup{i}_{name}"
            seen[name] = i
            final.append(name)
            cur.execute(f'ALTER TABLE {table} RENAME COLUMN c{i} TO "{name}"')
    finally:
        cur.close()
    return RawTable(table=table, columns=[c for c in final if not c.startswith("_dup")],
                    original_columns=header, rows=rows, row_problems=list(problems), notes=notes)
