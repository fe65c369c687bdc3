"""DfE "Education, health and care plans" (SEN2) releases, every generation we know of.

Recognised by their columns (never by file name):

* EES releases 2023-2026 (`caseload`, `sen_needs_all_plans` / `sen_needs_caseload`,
  `timeliness_20_week`, `newplans`, `requests`, `assessments`, `annual_reviews`, ...): tidy
  files with `breakdown_topic, breakdown` filters;
* the management-information file of the 2023 release (`sen2_mi.csv`, snake case:
  `no_exc_20week_rate`, `tot_no_exc_ehc`, ...) and the CamelCase files of 2022 and earlier
  (`NoExc20weekRate`, `TotNoExcEHC`, ...): the same names once case and underscores are ignored;
* old caseload files (`Total_all, Total_ehc, Total_st` by age or establishment, January 2010-2022;
  the 2023 and 2024 releases' `num_caseload` by `ehcp_or_statement`) and old new-plans files
  (`Total_new_all, Total_new_ehc, Total_new_st`, calendar 2009-2021; 2023-2024: `num_new_plans`):
  their Total rows give the caseload total and `ehcp_assessments.new_plans`;
* the other files of older releases (work-based and residential placements, designated medical
  officers, characteristics): recognised and not loaded, with the reason.

Several files of one release feed one contract dataset (`ehcp_assessments` has one row per area
and year with columns from the timeliness, new-plans, requests and annual-review files). Each
file is adapted on its own, so the files of one release in one folder form a *group*: the first
file of the group (by name) writes the merged dataset and the others say so in their notes.

Modules, by the generations of the published files and the parts they share:

* ``kinds``: the publication and which kind of SEN2 file a header is (recognition by columns);
* ``rows``: reading one file's rows, the release edition it belongs to, its "not broken down"
  codes and the contract's settings, ages and needs;
* ``outputs``: writing contract-shaped files, with the combined Cumbria continuity series;
* ``ees``: the EES releases of 2023 onwards (and the MI file, whose columns the assessments
  group reads), the caseload and assessments groups, ceased plans, personal budgets, new plans by need;
* ``older``: the older generations' `Total_all` caseload and `Total_new_all` new-plans files;
* ``tribunals``: the SEND Tribunal appeal-rate table published beside them;
* this module: the entry point, which groups the files of one release and hands each to its reader.
"""
from __future__ import annotations

from pathlib import Path

from send_metrics.ingest.adapters.common import file_edition, key, read_header
from send_metrics.ingest.adapters.sen2.ees import (
    ASSESSMENT_COLUMNS,
    RATE_COLUMNS,
    WIDE_FILES,
    adapt_assessment_group,
    adapt_caseload_group,
    adapt_ceased,
    adapt_new_plans_by_need,
    adapt_wide,
)
from send_metrics.ingest.adapters.sen2.kinds import (
    ASSESSMENT_GROUP,
    CASELOAD_GROUP,
    CEASED,
    GEO_KEYS,
    MI,
    NEEDS,
    NEEDS_NEW,
    OLD_CASELOAD,
    OLD_NEWPLANS,
    OTHER,
    OTHER_FILES,
    SOURCE,
    TRIBUNALS,
    siblings,
)
from send_metrics.ingest.adapters.sen2.older import adapt_old_caseload, adapt_old_new_plans
from send_metrics.ingest.adapters.sen2.rows import Rows, light_info, load_rows
from send_metrics.ingest.adapters.sen2.tribunals import adapt_tribunals


# -- entry point -----------------------------------------------------------------------------

def _rows_kind(path: Path, kind: str) -> Rows:
    rows = load_rows(path, kind)
    if kind == NEEDS and (rows.df["_tid"] == "Calendar year").all():
        rows.kind = NEEDS_NEW
    return rows


def _group(path: Path, my_kind: str, group_kinds: tuple[str, ...]) -> tuple[bool, list[tuple[str, Path]], list[str], str]:
    """Members (kind, path) of this file's group (same folder, same edition), whether it leads, notes."""
    me_kind, me_edition = light_info(path, my_kind)
    members: dict[str, Path] = {}
    notes: list[str] = []
    for kind, p in siblings(path, group_kinds):
        k, ed = (me_kind, me_edition) if p == path else light_info(p, kind)
        if ed != me_edition or k not in group_kinds:
            continue
        if k in members:
            if p == path:
                notes.append(f"another {k.replace('_', ' ')} file of edition {me_edition} "
                             f"({members[k].name}) is in this folder; this one is not used")
                return False, [], notes, me_edition
            continue
        members[k] = p
    if me_kind not in members:
        members[me_kind] = path
    # The lead (which writes the merged rows) is the group's main file: timeliness, caseload, ...
    ordered = sorted(members.items(), key=lambda kv: (group_kinds.index(kv[0]) if kv[0] in group_kinds else 99,
                                                      kv[1].name))
    return ordered[0][1] == path, ordered, notes, me_edition


def adapt_sen2(path: Path, workdir: Path, kind: str):
    from send_metrics.ingest.adapters.result import AdaptResult
    fmt = f"{SOURCE} {kind.replace('_', ' ')} file"
    if kind == TRIBUNALS:
        outputs, notes = adapt_tribunals(path, workdir)
        return AdaptResult(f"{SOURCE}: SEND Tribunal appeal-rate table", outputs, notes)
    if kind in WIDE_FILES:
        me = load_rows(path, kind)
        outputs, more = adapt_wide(me, workdir)
        return AdaptResult(fmt, outputs, me.notes + [f"edition {me.edition}, from {me.evidence}"] + more)
    if kind == OTHER:
        keys = set(map(key, read_header(path)))
        whats = list(dict.fromkeys(w for k, w in OTHER_FILES.items() if any(c.startswith(k) for c in keys)))
        what = ", ".join(whats) or "other figures"
        return AdaptResult(fmt, [], [f"recognised ({what}); the contract has no dataset for it, so it is not loaded"])
    if kind in (OLD_CASELOAD, OLD_NEWPLANS):
        # The age and establishment-type files of one release give the same Total rows: one is used.
        leads, _members, gnotes, _edition = _group(path, kind, (kind,))
        if not leads:
            return AdaptResult(fmt, [], gnotes + [
                "its Total rows are the same figures as that file's (only the breakdown, by age or by "
                "establishment type, differs, and the contract has no dimension for it); not loaded"])
    if kind in CASELOAD_GROUP or kind in ASSESSMENT_GROUP:
        group = CASELOAD_GROUP if kind in CASELOAD_GROUP else ASSESSMENT_GROUP
        leads, members, gnotes, edition = _group(path, kind, group)
        kind = next((k for k, p in members if p == path), light_info(path, kind)[0])
        fmt = f"{SOURCE} {kind.replace('_', ' ')} file"
        if kind == NEEDS_NEW:
            me = _rows_kind(path, NEEDS)
            outputs, more = adapt_new_plans_by_need(me, workdir)
            return AdaptResult(fmt, outputs, me.notes + [f"edition {me.edition}, from {me.evidence}"] + more)
        notes = gnotes + [f"edition {edition}, from {file_edition(path)[1]}"]
        if not members:
            return AdaptResult(fmt, [], notes)
        if not leads:
            dataset = "ehcp_caseload" if group is CASELOAD_GROUP else "ehcp_assessments"
            notes.append(f"read together with {members[0][1].name}, which writes the merged {dataset} rows")
            return AdaptResult(fmt, [], notes)
        rows: dict[str, Rows] = {}
        for k, p in members:
            try:
                r = _rows_kind(p, k)
            except Exception as exc:
                notes.append(f"{p.name}: could not be read ({type(exc).__name__}: {exc})")
                continue
            rows[r.kind] = r
            notes += [f"{p.name}: {n}" for n in r.notes]
        names = ", ".join(sorted(r.table.path.name for r in rows.values()))
        notes.append(f"group of files read together: {names}")
        fn = adapt_caseload_group if group is CASELOAD_GROUP else adapt_assessment_group
        outputs, more = fn(rows, workdir, edition, names)
        return AdaptResult(fmt, outputs, notes + more)
    me = _rows_kind(path, kind)
    notes = list(me.notes)
    if me.edition:
        notes.append(f"edition {me.edition}, from {me.evidence}")
    name = path.name
    if kind == MI:
        outputs, more = adapt_assessment_group({MI: me}, workdir, me.edition, name)
        ignored = [h for h in me.table.header if key(h) not in GEO_KEYS and key(h) not in
                   {k for ks in ASSESSMENT_COLUMNS[MI].values() for k in ks} | set(RATE_COLUMNS.values())]
        more.append(f"{len(ignored)} other indicator columns have no contract column and are not loaded "
                    f"(e.g. {', '.join(ignored[:6])})")
        return AdaptResult(fmt, outputs, notes + more)
    if kind == OLD_CASELOAD:
        outputs, more = adapt_old_caseload(me, workdir, name)
        return AdaptResult(fmt, outputs, notes + more)
    if kind == OLD_NEWPLANS:
        outputs, more = adapt_old_new_plans(me, workdir, name)
        return AdaptResult(fmt, outputs, notes + more)
    if kind == CEASED:
        outputs, more = adapt_ceased(me, workdir, name)
        return AdaptResult(fmt, outputs, notes + more)
    return None
