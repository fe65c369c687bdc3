"""Prove a refactoring changed no figure: the same outputs from two checkouts, byte for byte.

Issue 21 (the package restructure) must leave behaviour unchanged. This script captures, for the
checkout it is run from:

* ``measures --format csv`` on the shipped demo data;
* ``report`` (the board pack HTML) for Cumberland, latest year;
* the bench's national load (``bench.national.generate`` at 50,000 persons, the same seeded generator the
  benchmark uses) loaded and printed by ``measures --format csv``;

and writes them into ``--out``. ``--compare A B`` then checks two such folders file by file: byte for
byte, except what cannot be the same in two runs (the board pack's load times and load id) and what a
move must change (the board pack's citations of the code behind a method, e.g. "(stats.wilson_ci)"),
and any float that differs beyond 12 significant digits (DuckDB's parallel sums add in no fixed order).

    python scripts/compare_outputs.py --out /tmp/before     # on the old checkout
    python scripts/compare_outputs.py --out /tmp/after      # on the new one
    python scripts/compare_outputs.py --compare /tmp/before /tmp/after
"""
from __future__ import annotations

import argparse
import difflib
import hashlib
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUTS = ("measures_demo.csv", "board_pack.html", "measures_national.csv")


def _cli(args: list[str], env: dict, out: Path | None = None) -> None:
    result = subprocess.run([sys.executable, "-m", "send_metrics", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"send_metrics {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    if out is not None:
        out.write_text(result.stdout)


def capture(out: Path, persons: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        demo_env = {**env, "SEND_STORE_DIR": str(tmp / "demo_store")}
        _cli(["load", "--data-dir", str(ROOT / "data")], demo_env)
        _cli(["measures", "--data-dir", str(ROOT / "data"), "--format", "csv"], demo_env,
             out / "measures_demo.csv")
        _cli(["report", "--data-dir", str(ROOT / "data"), "--out", str(out / "board_pack.html")], demo_env)

        national = tmp / "national"
        generate = ("import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); "
                    "from send_metrics.tools.bench.national import generate; "
                    "generate(Path(sys.argv[2]), persons=int(sys.argv[3]))")
        subprocess.run([sys.executable, "-c", generate, str(ROOT), str(national), str(persons)],
                       cwd=ROOT, env=env, check=True)
        nat_env = {**env, "SEND_STORE_DIR": str(tmp / "national_store")}
        _cli(["load", "--data-dir", str(national)], nat_env)
        _cli(["measures", "--data-dir", str(national), "--format", "csv"], nat_env,
             out / "measures_national.csv")
    for name in OUTPUTS:
        path = out / name
        print(f"{name}: {path.stat().st_size:,} bytes, sha256 {hashlib.sha256(path.read_bytes()).hexdigest()[:16]}")


# The board pack cites the code behind each method or figure, e.g. "(stats.wilson_ci, engine.pool_neighbours)"
# "(intervals.wilson_ci, byar_ci; comparisons.proportion_difference_ci)" or "(module send_metrics.projection)":
# a move changes these and nothing else.
_CITATION = re.compile(r"\((?:module )?[a-z_]\w*(?:\.\w+)+(?:[,;] [a-z_]\w*(?:\.\w+)*)*\)")


# When each file was loaded (the sources table): two loads are made at two moments.
_LOADED_AT = re.compile(r"<td>\d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}</td>")
_LOAD_ID = re.compile(r"load \d{8}T\d{12}-[0-9a-f]{8}")


def _html_core(text: str) -> str:
    text = _LOAD_ID.sub("load (id)", _LOADED_AT.sub("<td>(load time)</td>", text))
    return _CITATION.sub("", text)


def _lines_differing(left: bytes, right: bytes) -> int:
    return sum(x != y for x, y in zip(left.splitlines(), right.splitlines())) + abs(
        len(left.splitlines()) - len(right.splitlines()))


def _same_to_12_digits(left: str, right: str) -> bool:
    """Two CSV texts with the same cells, numbers equal to 12 significant digits."""
    def cells(text):
        return [line.split(",") for line in text.splitlines()]
    a, b = cells(left), cells(right)
    if len(a) != len(b):
        return False
    for row_a, row_b in zip(a, b):
        if row_a == row_b:
            continue
        if len(row_a) != len(row_b):
            return False
        for x, y in zip(row_a, row_b):
            if x == y:
                continue
            try:
                fx, fy = float(x), float(y)
            except ValueError:
                return False
            if f"{fx:.12g}" != f"{fy:.12g}":
                return False
    return True


def compare(a: Path, b: Path) -> int:
    different = 0
    for name in OUTPUTS:
        left, right = (a / name).read_bytes(), (b / name).read_bytes()
        if left == right:
            print(f"{name}: identical ({len(left):,} bytes)")
            continue
        if name.endswith(".html") and _html_core(left.decode()) == _html_core(right.decode()):
            changed = sorted(set(_CITATION.findall(right.decode())) - set(_CITATION.findall(left.decode())))
            print(f"{name}: identical but for the load times and {len(changed)} code citations, which name where the "
                  "code now lives: "
                  + "; ".join(changed))
            continue
        if name.endswith(".csv") and _same_to_12_digits(left.decode(), right.decode()):
            print(f"{name}: identical to 12 significant digits; {_lines_differing(left, right)} lines differ only in "
                  "the last bits of a float (DuckDB's parallel sums add in no fixed order)")
            continue
        different += 1
        print(f"{name}: DIFFERENT")
        diff = difflib.unified_diff(left.decode().splitlines(), right.decode().splitlines(),
                                    str(a / name), str(b / name), lineterm="", n=1)
        for line in list(diff)[:40]:
            print("   ", line[:200])
    return 1 if different else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="folder to write this checkout's outputs into")
    parser.add_argument("--persons", type=int, default=50_000, help="persons in the national load")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"))
    args = parser.parse_args()
    if args.compare:
        return compare(*args.compare)
    if not args.out:
        parser.error("give --out or --compare")
    capture(args.out, args.persons)
    return 0


if __name__ == "__main__":
    sys.exit(main())
