"""The Blade reader (send_metrics/ingest/adapters/blade.py: checks and counting in SQL, plain files read by
Arrow) gives exactly what the previous reader gave (tests/ingest/blade_reference.py, the row-by-row Python
reader it replaced, kept as the oracle): the same notes, the same quarantine rows (file, row,
column, value, reason, in order) and byte-identical output files, on the synthetic export as it is
and on randomly corrupted copies of it, with and without the postcode lookup, reading the returns
side by side (two at a time, as it does by default) and one by one. Corruptions that keep
every row as wide as the header leave the files plain (read by Arrow); the others (rows cut short
or too long, quoted values, blank lines) send them through the csv module."""
from __future__ import annotations

import csv
import random
import shutil
import sys
from collections import Counter
from pathlib import Path

import pytest

from send_metrics.tools.sen2_blade_demo import write_export

sys.path.insert(0, str(Path(__file__).resolve().parent))
import blade_reference  # noqa: E402  (the previous reader, the oracle)

ROOT = Path(__file__).resolve().parents[2]
GEO = (ROOT / ".." / "shared" / "data" / "geo").resolve()
if not (GEO / "cumbria_lsoa21_lookup.csv").exists():
    GEO = Path("/work/shared/data/geo")


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("blade_identical")
    write_export(out)
    return out


def _corrupt(src: Path, dst: Path, seed: int, plain: bool, lookups: bool, tags: tuple[str, ...]) -> None:
    """A copy of the export's files for `tags` (all when empty), each module file with 40 random
    edits: empty values, values from other rows, dates that are not dates or are out of order,
    unknown codes, padded lower-case codes, repeated rows and (unless `plain`) rows cut short or too
    long, deleted, quoted values and blank lines."""
    rnd = random.Random(seed)
    dst.mkdir(parents=True)
    for p in sorted(src.iterdir()):
        blade = p.name.startswith("Blade-Export_")
        if (blade and tags and not any(t in p.name for t in tags)) or (not blade and not lookups):
            continue
        if not blade or p.name.endswith("_sen2.csv"):
            shutil.copy(p, dst / p.name)
            continue
        rows = list(csv.reader(open(p, newline="")))
        header = rows[0]
        for _ in range(40):
            i = rnd.randrange(1, len(rows))
            r = rows[i]
            j = rnd.randrange(len(header))
            k = rnd.random()
            if header[j] == "placementrank" or j >= len(r):
                continue
            if k < 0.12:
                r[j] = ""
            elif k < 0.24:
                r[j] = rows[rnd.randrange(1, len(rows))][j] if j < len(rows[1]) else ""
            elif k < 0.34:
                r[j] = "2024-Feb-30 00:00:00"
            elif k < 0.44:
                r[j] = "2001-Jan-01 00:00:00"
            elif k < 0.52:
                r[j] = "XYZ"
            elif k < 0.58:
                r[j] = " " + r[j].lower() + " "
            elif k < 0.64:
                r[j] = "2030-Dec-31 00:00:00"
            elif k < 0.70:
                r[j] = "1990-Jan-01 00:00:00"
            elif k < 0.78:
                rows.insert(i, list(r))
            elif k < 0.82:
                r[j] = "99999999"
            elif plain:
                continue
            elif k < 0.86:
                rows[i] = r[:j]  # cut short
            elif k < 0.90:
                rows[i] = r + ["extra"]
            elif k < 0.93:
                r[j] = r[j] + ", with a comma"  # written quoted
            elif k < 0.96:
                rows.insert(i, [])  # a blank line
            else:
                del rows[i]
        with open(dst / p.name, "w", newline="") as fh:
            csv.writer(fh).writerows(rows)


def _run(module, folder: Path, work: Path):
    lead = sorted(folder.glob("Blade-Export_*.csv"))[0]
    r = module.adapt_blade(lead, work, "x")
    return (r.notes, [(q.file, q.line, q.column, q.value, q.reason) for q in r.problems],
            [(name, Path(path).read_bytes()) for name, path in r.outputs])


def _same(folder: Path, tmp: Path, monkeypatch, expect_plain: bool | None = None, workers: int = 2) -> int:
    from send_metrics.ingest.adapters import blade, blade_parse
    monkeypatch.setenv("SEND_DUCKDB_THREADS", str(workers))  # returns read side by side at 2, one by one at 1
    monkeypatch.setenv("SEND_PSEUDONYM_KEY_FILE", str(tmp / "key"))
    monkeypatch.setenv("SEND_GEO_DIR", str(GEO))
    monkeypatch.setenv("SEND_DATA_DIR", str(folder.parent))
    read_plain, plain = blade_parse.read_plain, []

    def spy(p, width, where, threads=True):
        got = read_plain(p, width, where, threads)
        plain.append(got is not None)
        return got
    monkeypatch.setattr(blade_parse, "read_plain", spy)
    old = _run(blade_reference, folder, tmp / "old")
    new = _run(blade, folder, tmp / "new")
    assert new[0] == old[0]  # notes
    for a, b in zip(new[1], old[1]):
        assert a == b  # the first quarantine row that differs
    assert len(new[1]) == len(old[1])
    assert [n for n, _ in new[2]] == [n for n, _ in old[2]]
    for (name, a), (_n, b) in zip(new[2], old[2]):
        assert a == b, name
    if expect_plain is not None:
        assert (all(plain) if expect_plain else not all(plain)), plain
    return len(new[1])


@pytest.mark.skipif(not (GEO / "cumbria_lsoa21_lookup.csv").exists(), reason="shared geography absent")
@pytest.mark.parametrize("workers", [2, 1])
def test_the_export_as_it_is(export, tmp_path, monkeypatch, workers):
    folder = tmp_path / "data" / "sen2"
    shutil.copytree(export, folder)
    assert len(list(folder.glob("Blade-Export_*_sen2.csv"))) >= 3  # returns enough to be read side by side
    assert _same(folder, tmp_path, monkeypatch, expect_plain=True, workers=workers) == 0


@pytest.mark.skipif(not (GEO / "cumbria_lsoa21_lookup.csv").exists(), reason="shared geography absent")
@pytest.mark.parametrize("seed, plain, lookups, workers", [(1, True, True, 2), (2, False, True, 2),
                                                           (3, False, False, 2), (4, True, False, 2),
                                                           (5, False, True, 1)])
def test_randomly_corrupted_copies(export, tmp_path, monkeypatch, seed, plain, lookups, workers):
    folder = tmp_path / "data" / "sen2"
    tags = tuple(sorted({p.name.split("_")[1] for p in export.glob("Blade-Export_*.csv")})[-2:])
    _corrupt(export, folder, seed, plain, lookups, tags)
    assert _same(folder, tmp_path, monkeypatch, expect_plain=plain, workers=workers) > 20  # quarantined


@pytest.mark.skipif(not (GEO / "cumbria_lsoa21_lookup.csv").exists(), reason="shared geography absent")
def test_bytes_not_utf8_in_unused_and_used_columns(export, tmp_path, monkeypatch):
    """Arrow makes only the used columns into text (blade_parse.read_plain): bytes that are not UTF-8
    in a column the reader does not use leave the file plain and its values as the csv module reads
    them; in a used column they send the file to the csv module. Either way the previous reader's
    notes, quarantine and outputs."""
    from send_metrics.ingest.adapters.blade_files import USED_COLUMNS
    folder = tmp_path / "data" / "sen2"
    shutil.copytree(export, folder)
    edited = 0
    for module in ("person", "requests", "placementdetail"):
        for path in sorted(folder.glob(f"Blade-Export_*_{module}.csv"))[-2:]:
            lines = path.read_bytes().split(b"\n")
            header = lines[0].decode().strip().split(",")
            unused = next(i for i, c in enumerate(header) if c.lower() not in USED_COLUMNS[module])
            for i in range(3, len(lines) - 1, 97):
                cells = lines[i].split(b",")
                cells[unused] = b"\xff\xfeab\xe2" + cells[unused]
                lines[i] = b",".join(cells)
                edited += 1
            path.write_bytes(b"\n".join(lines))
    assert edited > 20
    assert _same(folder, tmp_path / "unused", monkeypatch, expect_plain=True) == 0
    person = sorted(folder.glob("Blade-Export_*_person.csv"))[-1]
    lines = person.read_bytes().split(b"\n")
    header = lines[0].decode().strip().split(",")
    used = header.index(next(c for c in header if c.lower() == "surname"))
    cells = lines[5].split(b",")
    cells[used] = b"\xffX" + cells[used]
    lines[5] = b",".join(cells)
    person.write_bytes(b"\n".join(lines))
    (tmp_path / "used").mkdir()
    assert _same(folder, tmp_path / "used", monkeypatch, expect_plain=False) == 0


def test_whitespace_stripped_as_python_strips():
    from send_metrics.ingest.adapters import blade_parse
    assert blade_parse.WHITESPACE == "".join(chr(i) for i in range(sys.maxunicode + 1) if chr(i).isspace())


def test_plain_file_test_same_as_the_full_scan():
    """The quick searches in front of `_plain_bytes`'s CR count and blank-line expression change no
    answer: every byte string of up to 7 characters from the bytes that matter (and a letter), with
    and without a header line, is judged as the full scan (count every CR, search every line) judges it."""
    import itertools

    from send_metrics.ingest.adapters import blade_parse

    def full_scan(data: bytes) -> bool:
        body = data[:-2] if data.endswith(b"\r\n") else data[:-1] if data.endswith(b"\n") else data
        return not (b'"' in data or b"\x00" in data or data.count(b"\r") != data.count(b"\r\n")
                    or blade_parse._BLANK_LINE.search(body) or b"\n" not in body)

    alphabet = [b"a", b",", b"\r", b"\n", b'"']
    judged = Counter()
    for n in range(8):
        for parts in itertools.product(alphabet, repeat=n):
            for data in (b"".join(parts), b"h,h\n" + b"".join(parts), b"h,h\r\n" + b"".join(parts)):
                assert blade_parse._plain_bytes(data) == full_scan(data), data
                judged[full_scan(data)] += 1
    assert judged[True] > 1000 and judged[False] > 1000  # both answers were tested


@pytest.mark.skipif(not (GEO / "cumbria_lsoa21_lookup.csv").exists(), reason="shared geography absent")
def test_identities_outside_ascii(export, tmp_path, monkeypatch):
    """Children's identities and pseudonymous ids are made in SQL (sql/blade_person_ids.sql,
    sql/blade_people.sql), except for UPNs and names that are not ASCII, which Python makes (its upper
    case differs from DuckDB's there: 'ß' -> 'SS'). Names, UPNs and postcodes outside ASCII, children
    with only a name, the same child written in two cases, give what the previous reader gave."""
    folder = tmp_path / "data" / "sen2"
    shutil.copytree(export, folder)
    for person in sorted(folder.glob("Blade-Export_*_person.csv")):
        rows = list(csv.reader(open(person, newline="", encoding="utf-8")))
        h = [c.lower() for c in rows[0]]
        edits = [({"upn": "", "uniquelearnernumber": "", "surname": "Straße", "forename": "Zoë"}),
                 ({"upn": "", "uniquelearnernumber": "", "surname": "STRASSE", "forename": "zo"}),
                 ({"upn": "a1ı2", "uniquelearnernumber": ""}),
                 ({"upn": "", "uniquelearnernumber": "ULN-ü"}),
                 ({"upn": "", "uniquelearnernumber": "", "surname": "ﬁnn", "forename": "Ōsaka"}),
                 ({"upn": "", "uniquelearnernumber": "", "surname": "O'Neil-Smith", "forename": "Jo"}),
                 ({"upn": "", "uniquelearnernumber": "", "surname": "o neil smith", "forename": "JO"}),
                 ({"postcode": "ca1 1aé"}), ({"postcode": "ＣＡ１"}), ({"upn": "", "uniquelearnernumber": "",
                                                                      "surname": "", "forename": ""})]
        for i, edit in enumerate(edits, start=1):
            for column, value in edit.items():
                rows[i * 7][h.index(column)] = value
        rows[80][h.index("personbirthdate")] = rows[81][h.index("personbirthdate")]
        for c in ("upn", "uniquelearnernumber"):
            rows[80][h.index(c)] = rows[81][h.index(c)] = ""
        rows[80][h.index("surname")], rows[81][h.index("surname")] = "Mañana", "MAÑANA"
        rows[80][h.index("forename")] = rows[81][h.index("forename")] = "Å"
        with open(person, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(rows)
    assert _same(folder, tmp_path, monkeypatch, expect_plain=True) > 5


def test_pseudonymous_ids_in_sql_same_as_python():
    """The ids made in SQL from HMAC-SHA256's pads (adapters/blade._hmac_pads and the reader's
    `pseudonym` macro, sql/blade_macro_pseudonym.sql, which sql/blade_persons_file.sql and
    sql/blade_pathway_latest.sql call) are sen2_blade.pseudonymise's, for keys shorter than, as long
    as and longer than SHA-256's block, and identities outside ASCII."""
    from send_metrics.ingest import sen2_blade as sb
    from send_metrics.ingest.adapters import blade
    identities = ["UPN:Z942000000001", "ULN:1234567890", "NDB:STRASSEZO:2014-08-30", "UPN:A1ı2", "x|2020-01-01", ""]
    con = blade._connect(None)  # the reader's own database, with its macros
    for key in (b"k", b"0123456789abcdef" * 4, b"a longer key than the block of sixty-four bytes, so it is hashed first"):
        pads = blade._hmac_pads(key)
        for prefix in ("P", "R"):
            got = con.execute("SELECT pseudonym($prefix, x, $ipad, $opad) "
                              "FROM unnest($xs) WITH ORDINALITY t(x, i) ORDER BY i",
                              {**pads, "prefix": prefix, "xs": identities}).fetchall()
            assert [g for (g,) in got] == [sb.pseudonymise(x, key, prefix=prefix) for x in identities]


def test_age_macros_same_as_python():
    """The reader's age band and national curriculum year macros (sql/blade_macro_age_band.sql,
    sql/blade_macro_ncy.sql: the age worked out once and looked up in a list) give sen2_blade.age_band
    and the previous reader's ncy for every age, and for every day of birth over forty years on
    census dates in and out of leap years."""
    import datetime as dt

    from send_metrics.ingest import sen2_blade as sb
    from send_metrics.ingest.adapters import blade
    con = blade._connect(None)
    ages = con.execute("SELECT x, age_band(x) FROM range(-40, 60) t(x)").fetchall()
    assert [band for _x, band in ages] == [sb.age_band(x) for x, _b in ages]
    assert con.execute("SELECT age_band(NULL::BIGINT), ncy(NULL::DATE, DATE '2024-01-18')").fetchall() == [(None, "")]
    for census in (dt.date(2022, 1, 20), dt.date(2024, 1, 18), dt.date(2020, 2, 29), dt.date(2025, 8, 31),
                   dt.date(2025, 9, 1)):
        got = con.execute("SELECT CAST(d AS DATE), ncy(CAST(d AS DATE), $census), age_band(age_on(CAST(d AS DATE), "
                          "$census)) FROM range(DATE '1990-01-01', DATE '2031-01-01', INTERVAL 1 DAY) t(d)",
                          {"census": census}).fetchall()
        assert len(got) > 14000
        assert [(n, b) for _d, n, b in got] == [(blade_reference._ncy(d, census), sb.age_band(sb.age_on(d, census)))
                                                for d, _n, _b in got]


def test_table_ids_known_distinct_as_counted():
    """The quick test that table ids are distinct (ascending whole numbers) answers as counting does."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from send_metrics.ingest.adapters import blade_parse
    for ids in (["1", "2", "3"], ["1", "1"], ["", "1"], ["", ""], ["a", "b"], ["1", "01"], ["2", "1"], [None, "1"],
                [None, None], [None], ["3"], ["9223372036854775808", "1"], ["1.5", "2"], ["3", "2", "3"], ["-1", "0"]):
        values = pa.array(ids, pa.string())
        assert blade_parse.unique(values) == (pc.count_distinct(values).as_py() == len(values)), ids


def test_whole_number_ids_only_when_written_plainly():
    """A return's ids are kept as numbers (blade_reader._whole_ids) only when every table id and parent
    id is a whole number spelled as the number itself, so that equal numbers are always equal texts:
    a leading zero or plus, a space, an empty id, a decimal, a number too large, or a missing column
    keeps them all as text."""
    import pyarrow as pa

    from send_metrics.ingest import sen2_blade as sb
    from send_metrics.ingest.adapters import blade_reader

    def read(edit_module=None, values=None):
        out = {}
        for module, (tid, parent) in sb.MODULES.items():
            data = {tid: pa.array(["1", "2", "30"]), **({parent: pa.array(["1", "1", "2"])} if parent else {})}
            if module == edit_module:
                data[parent or tid] = values
            out[module] = (pa.array([2, 3, 4]), data, [])
        return out
    assert blade_reader._whole_ids(read())
    assert blade_reader._whole_ids(read("requests", pa.array(["-7", "0", "9223372036854775807"])))
    assert blade_reader._whole_ids(read("senneed", pa.array([], pa.string())))
    for bad in (["01", "1", "2"], ["+1", "1", "2"], [" 1", "1", "2"], ["", "1", "2"], ["1.0", "1", "2"],
                ["9223372036854775808", "1", "2"], ["1e3", "1", "2"], ["-0", "1", "2"], ["x", "1", "2"],
                [None, "1", "2"]):
        assert not blade_reader._whole_ids(read("namedplan", pa.array(bad, pa.string()))), bad
    missing = read()
    del missing["placementdetail"][1]["activeplanstableid"]
    assert not blade_reader._whole_ids(missing)


@pytest.mark.skipif(not (GEO / "cumbria_lsoa21_lookup.csv").exists(), reason="shared geography absent")
def test_ids_as_numbers_and_as_text(export, tmp_path, monkeypatch):
    """The synthetic export's ids are whole numbers (so the other tests read them as numbers); an id
    written with a leading zero is another text than the id without it, so the row whose link is
    written so is a broken link, as the previous reader found (the return is then read with its ids
    as text), and the returns beside it are still read with their ids as numbers."""
    from send_metrics.ingest.adapters import blade_reader
    folder = tmp_path / "data" / "sen2"
    shutil.copytree(export, folder)
    modes = []
    whole_ids = blade_reader._whole_ids

    def spy(read):
        modes.append(whole_ids(read))
        return modes[-1]
    monkeypatch.setattr(blade_reader, "_whole_ids", spy)
    requests = sorted(folder.glob("Blade-Export_*_requests.csv"))[-1]
    rows = list(csv.reader(open(requests, newline="")))
    at = [c.lower() for c in rows[0]].index("persontableid")
    rows[3][at] = "0" + rows[3][at]
    with open(requests, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    assert _same(folder, tmp_path, monkeypatch, expect_plain=True, workers=1) >= 1  # the broken link
    assert len(modes) >= 3 and modes.count(False) == 1, modes  # the edited return only
