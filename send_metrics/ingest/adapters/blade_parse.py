"""Low-level reading for the SEN2 person-level reader: the export's date format and others parsed
into arrays, table ids proven unique, and plain (ASCII, unquoted) module files read straight into
Arrow without a CSV parser. Each function is checked against a slow reference in
``tests/ingest/test_blade_reader_identical.py``.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from send_metrics.ingest import sen2_blade as sb


def a_year_before(d: dt.date) -> dt.date:
    """The same day a year earlier (28 February for 29 February)."""
    try:
        return d.replace(year=d.year - 1)
    except ValueError:
        return d.replace(year=d.year - 1, day=28)


def unique(ids: pa.Array) -> bool:
    """Whether every value of `ids` is given and none repeats. Exports number their table ids in row
    order, so when every id is a whole number above the one before, they are known distinct
    (distinct numbers are distinct texts) without counting them."""
    if ids.null_count == 0:
        try:
            numbers = pc.cast(ids, pa.int64()).to_numpy()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            numbers = None
        if numbers is not None and (numbers[1:] > numbers[:-1]).all():
            return True
    return pc.count_distinct(ids).as_py() == len(ids)


def parse_date(text: str) -> tuple[dt.date | None, bool]:
    try:
        return sb.parse_blade_date(text), False
    except sb.BadDate:
        return None, True


def each_distinct(values: pa.Array, fn, kind: pa.DataType, many=None) -> tuple[pa.Array, pa.Array]:
    """`fn` (text -> (value, bad)) worked out once per distinct text of `values` (or `many`, distinct
    texts -> (values, bad flags), for all of them at once), then spread back over the rows by Arrow:
    the values (of type `kind`) and the bad flags."""
    encoded = pc.dictionary_encode(values)
    if many is not None:
        got, bad = many(encoded.dictionary, fn)
        return pc.take(got, encoded.indices), pc.take(bad, encoded.indices)
    results = [fn(text) for text in encoded.dictionary.to_pylist()]
    return (pc.take(pa.array([r[0] for r in results], kind), encoded.indices),
            pc.take(pa.array([r[1] for r in results], pa.bool_()), encoded.indices))


# A date as the export writes it (`2022-Sep-28 00:00:00`), in ASCII digits: read by Arrow and numpy.
_EXPORT_DATE = r"^[0-9]{4}-(?:" + "|".join(sb.MONTHS) + r")-[0-9]{2} 00:00:00$"
_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def parse_dates(texts: pa.Array, fn) -> tuple[pa.Array, pa.Array]:
    """(date32 values, bad flags) of distinct date texts: those written as the export writes dates
    are read at once (the same dates as sen2_blade.parse_blade_date: a day the month does not have,
    or year 0, is not a date); any other text (ISO or dd/mm/yyyy dates, empty, not a date) by `fn`."""
    n = len(texts)
    days = np.zeros(n, "datetime64[D]")
    bad = np.zeros(n, bool)
    done = np.zeros(n, bool)
    if n:
        canonical = pc.fill_null(pc.match_substring_regex(texts, _EXPORT_DATE), False).to_numpy(zero_copy_only=False)
        at = np.flatnonzero(canonical)
        if at.size:
            sub = pc.take(texts, pa.array(at))
            y = pc.cast(pc.utf8_slice_codeunits(sub, 0, 4), pa.int64()).to_numpy()
            m = pc.index_in(pc.utf8_slice_codeunits(sub, 5, 8), value_set=pa.array(sb.MONTHS)).to_numpy() + 1
            d = pc.cast(pc.utf8_slice_codeunits(sub, 9, 11), pa.int64()).to_numpy()
            leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
            ok = (y >= 1) & (d >= 1) & (d <= _MONTH_DAYS[m - 1] + ((m == 2) & leap))
            days[at] = ((y - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (m - 1)).astype("datetime64[D]") \
                + (d - 1)
            bad[at] = ~ok
            done[at] = True
    valid = done & ~bad
    rest = np.flatnonzero(~done)
    for i, text in zip(rest.tolist(), pc.take(texts, pa.array(rest, pa.int64())).to_pylist()):
        value, bad[i] = fn(text)
        if value is not None:
            days[i], valid[i] = np.datetime64(value, "D"), True
    return pa.array(days, pa.date32(), mask=~valid), pa.array(bad, pa.bool_())


# Python's whitespace (what str.strip removes), for stripping values in Arrow (none is above U+3000,
# the ideographic space: tests/ingest/test_sen2_person_level.py checks the whole of Unicode).
WHITESPACE = "".join(chr(i) for i in range(0x3001) if chr(i).isspace())
_BLANK_LINE = re.compile(rb"\n,*\r?(?:\n|\Z)")


def _plain_bytes(data: bytes) -> bool:
    """No quotes, no NUL bytes, no line ending but CR LF or LF, no blank line (nor one of commas only),
    at least one line after the header. The line endings are found once, by numpy over the bytes, and
    the blank-line expression runs only when a line feed is followed by a comma, a CR, a line feed or
    the end (counting CRs and searching every file with the expression cost about 0.8 s of the
    bench's load; tests/ingest/test_blade_reader_identical.py checks both give the same answer)."""
    if b'"' in data or b"\x00" in data:
        return False
    end = len(data) - (2 if data.endswith(b"\r\n") else 1 if data.endswith(b"\n") else 0)  # the last line's end
    a = np.frombuffer(data, np.uint8)
    cr = np.flatnonzero(a == 13)
    if cr.size and (cr[-1] == a.size - 1 or (a[cr + 1] != 10).any()):
        return False  # a CR not followed by a line feed
    lf = np.flatnonzero(a[:end] == 10)
    if not lf.size:
        return False  # no line after the header
    after = lf + 1
    if after[-1] == end or np.isin(a[after[after < end]], (44, 13, 10)).any():
        return not _BLANK_LINE.search(data[:end])
    return True


def read_plain(p: Path, width: int, where: list[int], threads: bool = True) -> tuple[pa.Array, list[pa.Array]] | None:
    """A module's file read by Arrow's CSV reader when that reads it exactly as the csv module would,
    record for record: no quotes, no NUL bytes, no line ending but CR LF or LF, no blank line (nor one
    of commas only), valid UTF-8 in the used columns and every row as wide as the header (Arrow refuses any other row).
    Each row is then the record of its line's number. None when the file is not that plain."""
    data = p.read_bytes()
    if not where or not _plain_bytes(data):
        return None
    names = [f"c{i}" for i in range(width)]
    # Only the used columns are made into strings (Arrow still splits every row and refuses one of
    # another width; bytes that are not UTF-8 in an unused column change none of the used values,
    # so those need not send the file to the csv module).
    used = [names[j] for j in dict.fromkeys(where)]
    try:
        # Without `threads`, one thread and one block (a module file of a few MB, read while the other
        # worker reads or counts another return: splitting it cost more CPU than it saved, and one
        # chunk needs no combining); a large file (a postcode lookup) is read by Arrow's threads.
        options = (pacsv.ReadOptions(column_names=names, skip_rows=1) if threads or len(data) >= 1 << 30 else
                   pacsv.ReadOptions(column_names=names, skip_rows=1, use_threads=False, block_size=len(data) + 1))
        table = pacsv.read_csv(pa.py_buffer(data), read_options=options,
                               parse_options=pacsv.ParseOptions(quote_char=False),
                               convert_options=pacsv.ConvertOptions(
                                   column_types=dict.fromkeys(used, pa.string()), include_columns=used,
                                   strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    return (pa.array(np.arange(2, table.num_rows + 2, dtype=np.int64)),  # (not from a range: 0.8 s slower)
            [table.column(names[j]).combine_chunks() for j in where])
