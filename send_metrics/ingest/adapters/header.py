"""Reading a published file's header without pandas: enough to recognise its format, so a
file that is already contract-shaped (most loads) never pays for importing the adapters' readers."""
from __future__ import annotations

import csv
import gzip
import io
import re
from functools import lru_cache
from pathlib import Path

import duckdb

from send_metrics.ingest.readers import FileRefused, check_size, detect_delimiter


@lru_cache(maxsize=65536)
def key(name: str) -> str:
    """Column-name key: lower case, letters and digits only."""
    return re.sub(r"[^0-9a-z]+", "", str(name).replace("\ufeff", "").lower())


def _open_bytes(path: Path, limit: int | None = None) -> bytes:
    """The file's bytes (decompressed for .gz), or its first ``limit`` bytes. A whole read is
    refused (FileRefused) when the file is over SEND_MAX_FILE_MB or, for .gz, decompresses to more
    than SEND_MAX_UNPACKED_MB: the size is counted in 1 MB steps first, never held in memory."""
    if path.name.lower().endswith(".gz"):
        if not limit:
            check_size(path)
            _check_unpacked(path)
        with gzip.open(path, "rb") as fh:
            return fh.read(limit) if limit else fh.read()
    if not limit:
        check_size(path)
    with open(path, "rb") as fh:
        return fh.read(limit) if limit else fh.read()


def _check_unpacked(path: Path) -> None:
    from send_metrics.config import max_unpacked_bytes
    cap, total = max_unpacked_bytes(), 0
    with gzip.open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            total += len(chunk)
            if total > cap:
                raise FileRefused(f"it decompresses to more than {cap // 1048576:,} MB (the limit, "
                                  "SEND_MAX_UNPACKED_MB); a file that large is refused rather than read")


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


def _delimiter(line: str) -> str:
    return detect_delimiter(line)  # the loader's own rule, so adapters and loader agree


def is_text_table(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith((".csv", ".txt", ".tsv", ".csv.gz", ".txt.gz"))


def _first_line_bytes(path: Path) -> bytes | None:
    """The file's first line, whole, however long within SEND_MAX_LINE_KB (a UTF-16 file: its first
    64 KB); None when the line is longer than the limit."""
    from send_metrics.config import max_line_bytes
    from send_metrics.ingest.readers import read_first_line
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as fh:
        head = fh.read(4)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")) or (b"\x00" in head):
            return head + fh.read(65536 - len(head))
        fh.seek(0)
        line, too_long = read_first_line(fh, max_line_bytes())
    return None if too_long else line


def read_header(path: Path) -> list[str]:
    """The first line of a CSV (plain or gzipped) as a list of column names, whatever its length;
    [] if unreadable, or over SEND_MAX_LINE_KB or SEND_MAX_COLUMNS (the loader's reader then refuses
    the file, saying which limit)."""
    from send_metrics.config import max_columns
    try:
        head = _first_line_bytes(path)
    except (OSError, EOFError, gzip.BadGzipFile):
        return []
    if head is None:
        return []
    utf16 = head.startswith((b"\xff\xfe", b"\xfe\xff"))
    if not head or head.startswith(b"PK\x03\x04") or (b"\x00" in head and not utf16):
        return []
    if utf16:
        head = head[: len(head) // 2 * 2]
    text, _ = _decode(head)
    text = text.lstrip("\ufeff")
    first = text.splitlines()[0] if text.strip() else ""
    if not first.strip():
        return []
    try:
        header = next(csv.reader(io.StringIO(first), delimiter=_delimiter(first)))
    except (csv.Error, StopIteration):
        return []
    return header if len(header) <= max_columns() else []


def read_parquet_columns(path: Path) -> list[str]:
    """A Parquet file's column names from its schema; [] if it cannot be read."""
    con = duckdb.connect()
    try:
        return [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet($p)", {"p": str(path)}).fetchall()]
    except duckdb.Error:
        return []
    finally:
        con.close()
