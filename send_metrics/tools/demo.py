"""Synthetic demo extract: one tidy CSV per dataset of the data contract, for the seven Cumbrian
dashboard localities.

`write_demo(out_dir)` writes population, EHC plan caseload, assessments and timeliness, school
census, community waiting lists and activity, and outcomes by SEN status (all SYNTHETIC), plus
`benchmarks.csv` and `statistical_neighbours.csv` (PUBLISHED figures, copied from the committed
`reference/published_benchmarks.csv` and the DfE neighbour lists below) and a README; and, in `sen2/`,
the synthetic SEN2 person-level return of Cumberland (`sen2_blade_demo`: three Blade exports, January
2024-2026, with a synthetic postcode lookup and GIAS extract).

One source for each figure: the Cumberland localities' caseload for the export's Januaries and their
assessments for the calendar years before them come from the export only, so the aggregated files
leave those rows out (`EXPORT_CASELOAD_YEARS`, `EXPORT_ACTIVITY_YEARS` in `demo_datasets.common`); every
other area and year is in the aggregated files only.

Each dataset is built in its own module of `send_metrics.tools.demo_datasets`; this module writes
them, the published files and the README.

Invariants:
- Deterministic: a fixed seed per dataset (numpy PCG64), no clock, no hashing of strings, fixed
  ordering; two runs write identical bytes.
- Calibrated: where the brief gives a published council figure the synthetic localities sum to it
  exactly (integer apportioning by largest remainder, hypergeometric splits of numerators within
  denominators), e.g. Cumberland EHC plans January 2024 = 2,656 and 20-week timeliness 2023 =
  104 / 384 = 27.1%.
- Valid: every file passes the contract (`numerator <= denominator`, no_sen rows use primary need
  NONE, codes from `contract.py`); area_level is `locality` for the synthetic files.
- Never reads ../shared at run time and never imports streamlit.
"""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from send_metrics.config import REFERENCE_DIR
from send_metrics.tools import sen2_blade_demo
from send_metrics.tools.demo_datasets.assessments import build_assessments
from send_metrics.tools.demo_datasets.caseload import build_caseload, caseload_rows
from send_metrics.tools.demo_datasets.common import CUMBERLAND, WESTMORLAND
from send_metrics.tools.demo_datasets.outcomes import build_outcomes
from send_metrics.tools.demo_datasets.population import (
    build_population,
    population_rows,
)
from send_metrics.tools.demo_datasets.school_census import (
    build_school_census,
    school_census_rows,
)
from send_metrics.tools.demo_datasets.waiting import build_waiting

PUBLISHED_BENCHMARKS = REFERENCE_DIR / "published_benchmarks.csv"
# Where the person-level export is written, beside the aggregated files.
EXPORT_FOLDER = "sen2"

# DfE children's services statistical neighbours (10 per council, most similar first).
STATISTICAL_NEIGHBOURS = {
    CUMBERLAND: ["E06000064",   # Westmorland and Furness
                 "E10000019",   # Lincolnshire
                 "E06000019",   # Herefordshire
                 "E10000017",   # Lancashire
                 "E06000013",   # North Lincolnshire
                 "E08000036",   # Wakefield
                 "E10000028",   # Staffordshire
                 "E06000057",   # Northumberland
                 "E08000017",   # Doncaster
                 "E08000016"],  # Barnsley
    WESTMORLAND: ["E06000019",  # Herefordshire
                  "E06000063",  # Cumberland
                  "E10000028",  # Staffordshire
                  "E06000051",  # Shropshire
                  "E06000011",  # East Riding of Yorkshire
                  "E10000023",  # North Yorkshire
                  "E10000019",  # Lincolnshire
                  "E10000027",  # Somerset
                  "E10000029",  # Suffolk
                  "E10000007"],  # Derbyshire
    "E10000017": ["E10000019",  # Lincolnshire
                  "E08000002",  # Bury
                  "E08000027",  # Dudley
                  "E06000019",  # Herefordshire
                  "E06000005",  # Darlington
                  "E06000004",  # Stockton-on-Tees
                  "E08000036",  # Wakefield
                  "E10000024",  # Nottinghamshire
                  "E06000057",  # Northumberland
                  "E08000010"],  # Wigan
}



def _write_csv(path: Path, header: list[str], rows: list[list]) -> int:
    """Write atomically (temp file, then rename) so a half-written file is never loaded."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(buf.getvalue(), encoding="utf-8")
    os.replace(tmp, path)
    return len(rows)


# ---------------------------------------------------------------------------------------------
# Published benchmarks and neighbours
# ---------------------------------------------------------------------------------------------
def _copy_benchmarks(dest: Path) -> int:
    data = PUBLISHED_BENCHMARKS.read_bytes()
    tmp = dest.with_name("." + dest.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, dest)
    return data.decode("utf-8").count("\n") - 1


README = """# Demo extract (SYNTHETIC)

Written by `python -m send_metrics demo` (`send_metrics/tools/demo.py`, `write_demo`). Do not edit by hand:
re-run the command; the generator is deterministic (fixed seed), so the files only change when the
code does.

**Everything in this folder is SYNTHETIC** (made-up numbers for demonstrating and testing the
dashboard) **except `benchmarks.csv` and `statistical_neighbours.csv`**, which are published figures.

| file | dataset | what | rows |
|---|---|---|---|
{table}

## How the synthetic files are made

- Geography: the seven dashboard localities (`LOC-...`, area_level `locality`); the loader sums them
  into Cumberland, Westmorland and Furness, old Cumbria, the former districts and the North and
  South Cumbria health footprints.
- Population: ONS mid-2020 totals for ages 0-17 and 0-25 per locality (Millom area 0-25 = 2,123;
  Cumberland 73,500; Westmorland and Furness 56,543) split into age bands, with mild trends for
  2015-2025.
- EHC plans: council totals equal published DfE figures (Cumberland January 2024 2,656 and 2025
  2,893, given by the person-level return below; Westmorland and Furness 2,196 and 2,377; Cumbria 2015-2023 as published, e.g. 2019 3,173 and
  2023 4,489, with 2015-2018 counting statements too). The January 2025 need mix is the published one;
  Cumberland January 2024 has 35.96% autism (as the Cumberland strategy says). Placement shares are
  raked to the published ones for 2024-2025. Council cells are apportioned by largest remainder and
  split across localities by population and a synthetic prevalence factor, so small localities
  (Millom) have many small cells.
- Assessments: council numerators and denominators reproduce the published 20-week timeliness
  (excluding exceptions: Cumberland 2023 27.1%, 2024 42.6%, 2025 6.7%; Westmorland and Furness 55.3%,
  91.6%, 72.0%) and Cumberland new plans 2022 374 (Cumberland strategy), 2023 402 and 2024 412 (DfE);
  localities get hypergeometric splits so every numerator stays within its denominator.
- Cumberland's SEN2 person-level return (`sen2/`, written by `send_metrics/tools/sen2_blade_demo.py`): three
  synthetic Blade exports (January 2024, 2025 and 2026, return layouts 1.1, 1.2 and 1.3) with a synthetic
  postcode lookup (real LSOA 2021 codes) and GIAS extract, calibrated to the same published Cumberland
  figures (docs/sen2-person-level.md). It is the only source of the Cumberland localities' caseload for
  January 2024-2026 and of their requests, assessments, new plans, timeliness and reviews for 2023-2025:
  the aggregated files above leave those rows out, so every figure has one source. The Pathway page
  reads it. No name, date of birth, UPN or postcode in it belongs to anyone.
- School census: pupils from the population (Cumberland January 2024 = 41,559), pupils with a plan
  from the caseload's school placements, SEN support rates of about 11-15%.
- Waiting lists and activity: a monthly queue simulation (January 2020 warm-up; January 2021 to
  December 2025 written) per locality, service and EHCP status. Autism and ADHD waits are long and
  growing; speech and language therapy waits are longer in the South than the North until a South
  Cumbria waiting-list initiative in July 2024 (a step change for SPC charts); OT is mostly seen
  within 18 weeks; CAMHS waits are shorter for children with an EHC plan.
- Outcomes: attainment, absence, exclusions and participation by SEN status with realistic gaps;
  key stage 2 is `x` (not available) for 2019/20 and 2020/21.

## Published files

- `benchmarks.csv`: a copy of `send_metrics/reference/published_benchmarks.csv`, transcribed once from
  DfE publications (EHC plans releases 2022, 2023, 2025 and 2026; Special educational needs in England
  via LAIT) for England, the North West, old Cumbria, Cumberland, Westmorland and Furness, Lancashire
  and their statistical neighbours. Every row names its source file and edition. Values are as
  published, except `setting_special_pct` and `setting_independent_pct`, which are computed (1 dp) from
  the published placement counts so that they match the contract's setting types (DfE's
  `special_total` adds state-funded and independent special schools together).
- `statistical_neighbours.csv`: the DfE children's services statistical neighbours of Cumberland,
  Westmorland and Furness and Lancashire.
"""


def write_demo(out_dir: Path) -> list[tuple[Path, int]]:
    """Write the demo extract into `out_dir`; return (path, data rows) for every CSV written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pop = build_population()
    caseload = build_caseload(pop)
    census = build_school_census(pop, caseload)
    list_rows, activity_rows = build_waiting(pop)
    period = ["time_period", "time_identifier", "area_code", "area_level"]
    files = [
        ("population.csv", "population", period + ["age_band", "population"], population_rows(pop)),
        ("ehcp_caseload.csv", "ehcp_caseload", period + ["primary_need", "age_band", "setting_type", "ehc_plans"],
         caseload_rows(caseload)),
        ("ehcp_assessments.csv", "ehcp_assessments",
         period + ["requests", "requests_refused", "decisions", "decisions_within_6_weeks", "new_plans",
                   "plans_issued_ex", "plans_issued_20wk_ex", "plans_issued_inc", "plans_issued_20wk_inc",
                   "reviews_due", "reviews_on_time"], build_assessments(caseload)),
        ("school_census.csv", "school_census", period + ["sen_status", "primary_need", "phase", "pupils"],
         school_census_rows(census)),
        ("waiting_list.csv", "waiting_list", period + ["service", "ehcp_status", "wait_band", "waiting"], list_rows),
        ("waiting_activity.csv", "waiting_activity",
         period + ["service", "ehcp_status", "referrals_received", "referrals_accepted", "seen",
                   "seen_within_18_weeks"], activity_rows),
        ("outcomes.csv", "outcomes", period + ["sen_status", "outcome", "numerator", "denominator"],
         build_outcomes(pop, caseload, census)),
        ("statistical_neighbours.csv", "statistical_neighbours", ["area_code", "neighbour_code", "neighbour_rank"],
         [[a, n, r] for a, ns in STATISTICAL_NEIGHBOURS.items() for r, n in enumerate(ns, start=1)]),
    ]
    written: list[tuple[Path, int]] = []
    table = []
    for name, dataset, header, rows in files:
        path = out_dir / name
        written.append((path, _write_csv(path, header, rows)))
        kind = "published" if dataset == "statistical_neighbours" else "synthetic"
        table.append(f"| `{name}` | {dataset} | {kind} | {len(rows)} |")
    path = out_dir / "benchmarks.csv"
    n = _copy_benchmarks(path)
    written.insert(len(written) - 1, (path, n))
    table.insert(len(table) - 1, f"| `benchmarks.csv` | benchmarks | published | {n} |")
    export = sen2_blade_demo.write_export(out_dir / EXPORT_FOLDER)
    for path in export["files"]:
        with open(path, newline="", encoding="utf-8") as fh:
            written.append((path, sum(1 for _ in csv.reader(fh)) - 1))
    table.append(f"| `{EXPORT_FOLDER}/Blade-Export_*.csv` (27 files) | SEN2 person-level return | synthetic | "
                 f"{sum(n for p, n in written[-len(export['files']):])} |")
    table.append(f"| `{EXPORT_FOLDER}/NSPL_synthetic_Cumberland.csv`, `{EXPORT_FOLDER}/edubasealldata_synthetic.csv` | "
                 "postcode lookup, GIAS extract (read with the return) | synthetic | |")
    readme = README.replace("{table}", "\n".join(table))
    (out_dir / "README.md").write_text(readme, encoding="utf-8")
    return written
