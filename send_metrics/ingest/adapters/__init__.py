"""Adapters: recognise published DfE / NHS files by their columns and map them to the contract.

`adapt(path, workdir)` returns None when the file is not a known published format (it is then
checked against the contract as it is), or an AdaptResult naming contract-shaped files written
into `workdir`, which the loader validates like any other extract.

Recognition looks only at column names, compared case-insensitively and ignoring spaces,
underscores and punctuation (so CamelCase, snake case and upper case are the same), never at the
file name. Formats handled (see docs/real-data.md):

* DfE "Education, health and care plans" (SEN2): EES releases 2023-2026, the 2023 MI file
  (snake case) and older CamelCase files, old `Total_all` caseload files  -> `sen2/`;
* DfE "Special educational needs in England" (three generations)  -> `census.py`;
* a council's SEN2 person-level return exported from COLLECT (nine Blade files), with the ONS
  postcode lookup and GIAS extract it uses -> `blade.py` (with `blade_files`, `blade_reader`, `blade_parse`);
* DfE LAIT long data (+ its data dictionary) and the DfE statistical neighbours list -> `lait.py`;
* NHS autism waiting times, MHSDS and Community Health Services waiting lists -> `nhs.py`;
* ONS mid-year population estimates by single year of age (MYE2 persons; long tables) -> `ons.py`;
* derived long tables of published figures (`source, measure, ..., value`): recognised, never
  loaded (their figures come from the publications they cite) -> `derived.py`.
"""
from __future__ import annotations

from pathlib import Path

from send_metrics.ingest.adapters.result import AdaptResult


# ONS / NHS geography lookups published with the data (column keys -> what they are).
GEO_LOOKUPS = [
    ({"sicbl22cd", "icb22cd"}, "ONS sub-ICB locations to ICBs to NHS England regions"),
    ({"ccg21cd", "ccg21nm"}, "ONS clinical commissioning group names and codes"),
    ({"ltla22cd", "utla22cd"}, "ONS lower-tier to upper-tier local authority"),
]


def _contract_shaped(header: list[str]) -> bool:
    """Columns already in the data contract's shape: a dataset's columns, or area code and level."""
    from send_metrics.ingest.readers import normalise_name
    from send_metrics.ingest.file_reports import detect_dataset
    from send_metrics.ingest.adapters.header import key
    keys = {key(h) for h in header}
    return ("areacode" in keys and "arealevel" in keys) or detect_dataset([normalise_name(h) for h in header])[0] is not None


def adapt(path: Path, workdir: Path) -> AdaptResult | None:
    """Map one published file to contract-shaped files in `workdir`; None if not recognised."""
    from send_metrics.ingest.adapters.header import is_text_table, key, read_header, read_parquet_columns  # without pandas

    path = Path(path)
    workdir = Path(workdir)
    name = path.name.lower()
    # A file already in contract shape (most loads) is recognised from its header alone, before the
    # format modules (and pandas, which they read with) are imported.
    if name.endswith(".parquet"):
        if _contract_shaped(read_parquet_columns(path)):
            return None
        from send_metrics.ingest.adapters import lait
        return lait.adapt_parquet(path, workdir)
    if name.endswith((".xlsx", ".xlsm")):
        from send_metrics.ingest.adapters import nhs, ons
        return ons.adapt_workbook(path, workdir) or nhs.adapt_workbook(path, workdir)
    if not is_text_table(path):
        return None
    header = read_header(path)
    if not header:
        return None
    if name.endswith(".txt"):
        with open(path, "rb") as fh:
            head = fh.read(4096).decode("utf-8", errors="replace").lower()
        if "data guidance" in head or "variable names and descriptions" in head or "this document describes" in head:
            return AdaptResult("DfE EES data guidance (text)", [], [
                "documentation that comes with a DfE release (variable descriptions), not a table; not loaded"])
    if _contract_shaped(header):
        return None
    keys = {key(h) for h in header}
    # The SEN2 person-level export and the lookups it reads with are recognised first, before the
    # other format modules are imported (a person-level load needs none of them).
    from send_metrics.ingest import sen2_blade
    module = sen2_blade.classify_module(keys)
    if module:
        from send_metrics.ingest.adapters import blade
        return blade.adapt_blade(path, workdir, module)
    if sen2_blade.is_postcode_lookup(keys):
        return AdaptResult("ONS postcode lookup (ONSPD / NSPL layout)", [], [
            "used by the SEN2 person-level reader to place children in LSOAs and localities; not loaded itself"])
    if sen2_blade.is_gias_extract(keys):
        return AdaptResult("Get Information About Schools establishment extract", [], [
            "used by the SEN2 person-level reader to type placements by URN; not loaded itself"])
    from send_metrics.ingest.adapters import census, derived, lait, nhs, ons, sen2
    from send_metrics.ingest.adapters.sen2.kinds import classify_keys
    kind = classify_keys(keys, header[0])
    if kind:
        return sen2.adapt_sen2(path, workdir, kind)
    generation = census.classify(keys)
    if generation:
        return census.adapt_census(path, workdir, generation)
    if {"socialcaregroup", "tstatementorehcplan"} <= keys:
        return AdaptResult("DfE Outcomes for children in need: special educational needs by social care group", [], [
            "recognised; pupils by SEN provision and primary need for children in need, looked-after children and "
            "children on a protection plan only (not all pupils), so it gives no council's % of pupils with an EHC "
            "plan; the contract has no dataset for social care groups; not loaded"])
    lookup = next((what for cols, what in GEO_LOOKUPS if cols <= keys), None)
    if lookup:
        return AdaptResult(f"{lookup} (geography lookup)", [], [
            "recognised; the dashboard's own areas table (send_metrics/reference/areas.csv and "
            "area_membership.csv) holds the codes and memberships it needs, so a lookup is not loaded"])
    for recogniser in (lait.adapt_text, nhs.adapt_text, ons.adapt_text, derived.adapt_text):
        result = recogniser(path, workdir, header, keys)
        if result is not None:
            return result
    return None
