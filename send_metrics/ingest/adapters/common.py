"""Shared helpers for the published-file adapters: robust reading, column keys, areas, symbols,
editions and writing contract-shaped CSV files.

Invariants: every cell is read as text and kept as published (a symbol is never turned into a
number, a number is never rounded); column names are matched by a key that ignores case, spaces,
underscores and punctuation, so `NoExc20weekRate`, `no_exc_20week_rate` and `NO EXC 20WEEK RATE`
are the same column; a duplicated header column keeps its first copy.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd

from send_metrics.contract import codes
from send_metrics.ingest.adapters.header import (  # noqa: F401 (shared)
    _decode,
    _delimiter,
    _open_bytes,
    is_text_table,
    key,
    read_header,
)

from send_metrics.config import REFERENCE_DIR
REFERENCE_AREAS = REFERENCE_DIR / "areas.csv"
SYMBOLS = set(codes.SYMBOLS)
ENGLAND = "E92000001"

# Columns that may carry the edition (release) of the figures in a row.
EDITION_KEYS = ("edition", "publication", "release", "releasedate", "publicationdate", "published", "version")


@lru_cache(maxsize=65536)
def text_key(value: str) -> str:
    """Key for labels (breakdowns, names): lower case, '&' as 'and', letters and digits only."""
    return re.sub(r"[^0-9a-z]+", "", str(value).lower().replace("&", "and"))


# -- reading ---------------------------------------------------------------------------------

@dataclass
class Table:
    """A whole file read as text. `df` columns are the column keys (first copy of a duplicate)."""
    path: Path
    header: list[str]
    df: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    encoding: str = "utf-8"

    @property
    def keys(self) -> list[str]:
        return list(self.df.columns)

    def has(self, *keys: str) -> bool:
        return all(k in self.df.columns for k in keys)

    def col(self, k: str) -> pd.Series:
        return self.df[k]


STRIP_KEYS = {"timeperiod", "timeidentifier", "geographiclevel", "countrycode", "regioncode", "newlacode",
              "oldlacode", "laname", "regionname", "breakdowntopic", "breakdown"}


def records(df: pd.DataFrame, cols: list[str]) -> list[dict]:
    """Rows as dicts of the given columns (much faster than DataFrame.to_dict for text)."""
    cols = [c for c in dict.fromkeys(cols) if c in df.columns]
    return [dict(zip(cols, vals)) for vals in zip(*(df[c].tolist() for c in cols))]


_CACHE: "OrderedDict[tuple, Table]" = OrderedDict()
_CACHE_SIZE = 3
_CACHE_LOCK = threading.Lock()  # the app may adapt uploads from several threads


def read_columns(path: Path, wanted: list[str]) -> dict[str, list[str]]:
    """Only some columns of a CSV (by key), cheaply: for recognising editions without a full read."""
    header = read_header(path)
    keys = [key(h) for h in header]
    idx = {}
    for k in wanted:
        if k in keys:
            idx[k] = keys.index(k)
    if not idx:
        return {}
    data = _open_bytes(path)
    text, _ = _decode(data)
    text = text.lstrip("\ufeff")
    delim = _delimiter(text.split("\n", 1)[0])
    try:
        df = pd.read_csv(io.StringIO(text), sep=delim, header=None, skiprows=1, usecols=sorted(idx.values()),
                         dtype=object, keep_default_na=False, engine="c")
    except (pd.errors.ParserError, ValueError):
        return {}
    return {k: [str(v).strip() for v in df[i]] for k, i in idx.items()}


def read_table(path: Path) -> Table:
    """Read a CSV (plain or gzipped; BOM, CRLF, cp1252, ; or tab) as text, cached per file version."""
    # Plain Python strings (not Arrow-backed) keep row-by-row work fast.
    with pd.option_context("future.infer_string", False):
        return _read_table(path)


def _read_table(path: Path) -> Table:
    st = path.stat()
    ck = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    with _CACHE_LOCK:
        if ck in _CACHE:
            _CACHE.move_to_end(ck)
            return _CACHE[ck]
    data = _open_bytes(path)
    text, encoding = _decode(data)
    text = text.lstrip("\ufeff")
    first = text.splitlines()[0] if text else ""
    delim = _delimiter(first)
    try:
        raw = pd.read_csv(io.StringIO(text), sep=delim, header=None, dtype=object, keep_default_na=False,
                          quotechar='"', skip_blank_lines=True, engine="c")
    except pd.errors.ParserError:
        # Rows longer than the header: read with the csv module, keep the header's width.
        rows = [r for r in csv.reader(io.StringIO(text), delimiter=delim) if r]
        width = len(rows[0])
        long_rows = sum(1 for r in rows if len(r) > width)
        rows = [(r + [""] * width)[:width] for r in rows]
        raw = pd.DataFrame(rows, dtype=object)
        notes_extra = [f"{long_rows} rows have more cells than the header; the extra cells are ignored"]
    else:
        notes_extra = []
    raw = raw.fillna("")
    header = [str(h) for h in raw.iloc[0].tolist()] if len(raw) else []
    body = raw.iloc[1:].reset_index(drop=True)
    notes: list[str] = list(notes_extra)
    if encoding != "utf-8":
        notes.append(f"read as {encoding} text")
    keep, names, seen = [], [], set()
    for i, h in enumerate(header):
        k = key(h) or f"column{i + 1}"
        if k in seen:
            notes.append(f"header column '{h.strip()}' appears twice; the second copy (column {i + 1}) is ignored")
            continue
        seen.add(k)
        keep.append(i)
        names.append(k)
    df = body.iloc[:, keep].copy()
    df.columns = names
    for c in df.columns:
        vals = df[c].tolist()
        sample = vals[:300]
        if c in STRIP_KEYS or any((not isinstance(v, str)) or (v[:1].isspace() or v[-1:].isspace()) for v in sample):
            df[c] = [v.strip() if isinstance(v, str) else ("" if v is None else str(v)) for v in vals]
    table = Table(path=path, header=header, df=df, notes=notes, encoding=encoding)
    with _CACHE_LOCK:
        _CACHE[ck] = table
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return table


# -- values ----------------------------------------------------------------------------------

def is_symbol(v: str) -> bool:
    return v.strip().lower() in SYMBOLS


def to_number(v: str) -> float | None:
    v = str(v).strip().replace(",", "")
    if not v:
        return None
    try:
        return float(v)
    except ValueError:
        return None


def clean(v) -> str:
    """A published cell as it goes into a contract file: numbers as published, symbols lower case."""
    s = "" if v is None else str(v).strip()
    if s.lower() in SYMBOLS:
        return s.lower()
    return s


def fmt_number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def combine(values: list[str], op: str = "sum") -> str:
    """Sum (or difference: first minus the rest) of published cells.

    A derived cell is only a number when every part is a number. Otherwise it carries a symbol:
    'c' when any part is suppressed, 'z' when every part is not applicable, else 'x' (not
    available). Nothing is ever treated as zero.
    """
    if values and all(clean(v) == "" for v in values):
        return ""  # the source does not give this figure at all (see validate's `adapted`)
    nums, syms = [], []
    for v in values:
        s = clean(v)
        n = to_number(s)
        if n is None:
            syms.append(s if s in SYMBOLS else "x")
        else:
            nums.append(n)
    if syms:
        if "c" in syms:
            return "c"
        if len(syms) == len(values) and all(s == "z" for s in syms):
            return "z"
        return "x"
    if op == "diff":
        total = nums[0] - sum(nums[1:])
    else:
        total = sum(nums)
    return fmt_number(total)


# -- areas -----------------------------------------------------------------------------------

@dataclass
class Areas:
    level: dict[str, str]
    name: dict[str, str]
    by_dfe: dict[str, str]
    by_name: dict[str, list[str]]

    def level_of(self, code: str, default: str) -> str:
        return self.level.get(code, default)

    def code_for_name(self, name: str) -> str | None:
        for variant in name_variants(name):
            codes = self.by_name.get(variant)
            if codes:
                current = [c for c in codes if self.level.get(c) in ("council", "region", "england")]
                return current[-1] if current else codes[0]
        return None


def name_variants(name: str) -> list[str]:
    n = str(name).strip()
    out = [n]
    low = n.lower()
    for suffix in (", city of", ", county of", " borough", " city council", " council"):
        if low.endswith(suffix):
            out.append(n[: -len(suffix)])
    for prefix in ("county ", "city of "):
        if low.startswith(prefix):
            out.append(n[len(prefix):])
    return [text_key(v) for v in out]


# Names used by DfE lists that differ from the reference names (after normalisation).
NAME_ALIASES = {"durham": "countydurham", "herefordshire": "herefordshirecountyof",
                "bedfordborough": "bedford", "sthelens": "sthelens", "bristol": "bristolcityof",
                "kingstonuponhull": "kingstonuponhullcityof", "hull": "kingstonuponhullcityof"}


@lru_cache(maxsize=1)
def areas() -> Areas:
    ref = pd.read_csv(REFERENCE_AREAS, dtype=str, keep_default_na=False)
    level = dict(zip(ref["area_code"], ref["area_level"]))
    name = dict(zip(ref["area_code"], ref["area_name"]))
    by_dfe: dict[str, str] = {}
    for code, dfe, lvl in zip(ref["area_code"], ref["dfe_la_code"], ref["area_level"]):
        # A DfE number on two codes (Buckinghamshire 825: E06000060 for 2020/21-2022/23 only,
        # E10000002 before and after): the later row, the current code, wins.
        if dfe and (dfe not in by_dfe or level.get(by_dfe[dfe]) != "council" or lvl == "council"):
            by_dfe[dfe] = code
    by_name: dict[str, list[str]] = {}
    for code, nm in zip(ref["area_code"], ref["area_name"]):
        for v in name_variants(nm):
            by_name.setdefault(v, [])
            if code not in by_name[v]:
                by_name[v].append(code)
    for alias, target in NAME_ALIASES.items():
        if target in by_name and alias not in by_name:
            by_name[alias] = by_name[target]
    return Areas(level, name, by_dfe, by_name)


GEO_LEVELS = {"national": "england", "regional": "region", "localauthority": "council"}


def ees_areas(t: Table) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(area_code, area_level, why-ignored) for every row of an EES tidy file.

    National rows use country_code (E92000001), regional rows region_code, local-authority rows
    new_la_code (or the DfE number in old_la_code when new_la_code is missing). The level comes
    from the areas table, so Cumbria E10000006 is a former_council. Other geographic levels
    (constituencies, local authority districts, ...) are not in the contract and are ignored.
    """
    a = areas()
    df = t.df
    n = len(df)
    geo = df["geographiclevel"].map(key) if "geographiclevel" in df else pd.Series(["localauthority"] * n)
    country = df["countrycode"] if "countrycode" in df else pd.Series([""] * n)
    region = df["regioncode"] if "regioncode" in df else pd.Series([""] * n)
    new_la = df["newlacode"] if "newlacode" in df else pd.Series([""] * n)
    old_la = df["oldlacode"] if "oldlacode" in df else (df["lacode"] if "lacode" in df else pd.Series([""] * n))
    codes, levels, why = [], [], []
    for g, c, r, nl, ol in zip(geo, country, region, new_la, old_la):
        lvl = GEO_LEVELS.get(g)
        if lvl is None:
            codes.append("")
            levels.append("")
            why.append(f"geographic level '{g}' is not in the data contract")
            continue
        if lvl == "england":
            code = c if c.startswith("E92") else ENGLAND
        elif lvl == "region":
            code = r
        else:
            code = nl if nl and nl.lower() not in SYMBOLS else a.by_dfe.get(ol.split(".")[0], "")
        codes.append(code)
        levels.append(a.level_of(code, lvl) if code else "")
        why.append("" if code else f"no area code on a {lvl} row")
    idx = df.index
    return pd.Series(codes, index=idx), pd.Series(levels, index=idx), pd.Series(why, index=idx)


# -- periods and editions --------------------------------------------------------------------

@lru_cache(maxsize=4096)
def period_year(time_period: str) -> int | None:
    """2024 -> 2024; 202425 or 2024/25 -> 2025 (the end year, i.e. the January census)."""
    tp = str(time_period).strip()
    if re.fullmatch(r"\d{4}", tp):
        return int(tp)
    m = re.fullmatch(r"(\d{4})/?(\d{2})", tp)
    if m and (int(m.group(1)) + 1) % 100 == int(m.group(2)):
        return int(m.group(1)) + 1
    return None


_DATE_IN_NAME = re.compile(r"(20\d{2})[-_]?([01]\d)[-_]?([0-3]\d)")


def edition_from_path(path: Path) -> str | None:
    """A release date written in the file name or a folder above it (2025-06-26, 20250626)."""
    for part in (path.name, path.parent.name, path.parent.parent.name):
        m = _DATE_IN_NAME.search(part)
        if m and _valid_date(int(m.group(1)), int(m.group(2)), int(m.group(3))):
            return f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
    return None


def _valid_date(y: int, m: int, d: int) -> bool:
    try:
        dt.date(y, m, d)
        return True
    except ValueError:
        return False


MONTHS = {m: i for i, m in enumerate(["january", "february", "march", "april", "may", "june", "july", "august",
                                      "september", "october", "november", "december"], start=1)}
MONTHS.update({m[:3]: i for m, i in list(MONTHS.items())})


def parse_date(text) -> str | None:
    """An ISO date from the common ways a publisher writes one: 2025-06-26 (with or without a
    time), 26/06/2025, 26-06-2025, 26.06.2025, 20250626, 26 June 2025, June 26, 2025, or an
    Excel serial day (45834). None when the text is not a date."""
    t = str(text or "").strip()
    if not t:
        return None
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?", t)
    if m:
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        return f"{y:04d}-{mo:02d}-{d:02d}" if _valid_date(y, mo, d) else None
    m = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[T ].*)?", t)
    if m:  # UK order, day first
        d, mo, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
        return f"{y:04d}-{mo:02d}-{d:02d}" if _valid_date(y, mo, d) else None
    m = re.fullmatch(r"(20\d{2})([01]\d)([0-3]\d)", t)
    if m:
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        return f"{y:04d}-{mo:02d}-{d:02d}" if _valid_date(y, mo, d) else None
    m = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]+)\s+(\d{4})", t) or None
    if m and m.group(2).lower() in MONTHS:
        y, mo, d = int(m.group(3)), MONTHS[m.group(2).lower()], int(m.group(1))
        return f"{y:04d}-{mo:02d}-{d:02d}" if _valid_date(y, mo, d) else None
    m = re.fullmatch(r"([A-Za-z]+)\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})", t)
    if m and m.group(1).lower() in MONTHS:
        y, mo, d = int(m.group(3)), MONTHS[m.group(1).lower()], int(m.group(2))
        return f"{y:04d}-{mo:02d}-{d:02d}" if _valid_date(y, mo, d) else None
    n = to_number(t)
    if n is not None and float(n).is_integer() and 30000 < n < 80000:
        return (dt.date(1899, 12, 30) + dt.timedelta(days=int(n))).isoformat()
    return None


_GUIDANCE_STATEMENT = re.compile(
    r"(?:published|publication date|release date|date of release|released)\s*(?:on)?\s*:?\s*"
    r"(\d{4}-\d{2}-\d{2}|\d{1,2}[/.-]\d{1,2}[/.-]\d{4}|\d{1,2}(?:st|nd|rd|th)?\s+[A-Za-z]+\s+\d{4})", re.I)
_REPORTING_YEAR = re.compile(r"^\s*reporting year\s+(20\d{2})\s*$", re.I | re.M)


def _guidance_files(path: Path) -> list[Path]:
    """The release's data guidance: a data-guidance*.txt beside the file, in a data-guidance
    folder beside it, or in the release folder's data-guidance folder (the layout of an EES zip)."""
    folders = [path.parent, path.parent / "data-guidance", path.parent.parent / "data-guidance"]
    out = []
    for f in folders:
        try:
            out += sorted(p for p in f.iterdir() if p.is_file() and p.suffix.lower() == ".txt"
                          and "guidance" in p.name.lower())
        except OSError:
            continue
    return out


@lru_cache(maxsize=256)
def _stated_in_guidance(guidance: str, mtime_ns: int) -> tuple[str, str] | None:
    try:
        with open(guidance, "rb") as fh:
            text = fh.read(200_000).decode("utf-8", errors="replace")
    except OSError:
        return None
    m = _GUIDANCE_STATEMENT.search(text)
    if m and parse_date(m.group(1)):
        return parse_date(m.group(1)), f"the release date in the data guidance ({Path(guidance).name}: {m.group(0).strip()!r})"
    m = _REPORTING_YEAR.search(text)
    if m:
        return m.group(1), f"the reporting year in the data guidance ({Path(guidance).name}: 'Reporting year {m.group(1)}')"
    return None


def file_edition(path: Path) -> tuple[str, str]:
    """(edition, evidence) of a published file, from what the publisher states, in this order:
    the release date (or reporting year) in the release's data guidance; a date in the file or
    folder name; otherwise the file's own modification time (a download or unzip keeps the
    publisher's date). Editions are compared as text, so each is an ISO date or a year; a
    year-only edition sorts before every dated edition of that year. Never a guess from the
    periods the file covers, which could tie with a real release."""
    for g in _guidance_files(path):
        try:
            stated = _stated_in_guidance(str(g), g.stat().st_mtime_ns)
        except OSError:
            stated = None
        if stated:
            return stated
    named = edition_from_path(path)
    if named:
        where = "file" if _DATE_IN_NAME.search(path.name) else "folder"
        return named, f"the date in the {where} name"
    modified = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.timezone.utc).date().isoformat()
    return modified, ("the file's modification time (no release date in a data guidance file or in the file or "
                      "folder name)")


def edition_column(t: Table) -> str | None:
    for k in EDITION_KEYS:
        if k in t.df.columns:
            return k
    return None


# -- writing ---------------------------------------------------------------------------------

def write_csv(workdir: Path, name: str, columns: list[str], rows: list[list]) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"{name}.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(columns)
        w.writerows(rows)
    return path


def write_frame(workdir: Path, name: str, df: pd.DataFrame) -> Path:
    return write_csv(workdir, name, list(df.columns), df.astype(str).values.tolist())


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"
