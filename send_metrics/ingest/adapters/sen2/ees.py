"""The EES releases of 2023 onwards: tidy files with `breakdown_topic, breakdown` filters.

Several files of one release feed one dataset: the caseload group (caseload and needs) and the
assessments group (timeliness, new plans, requests, assessments, annual reviews, and the MI file
whose columns the same reader maps) are read together and written once. Ceased plans, personal
budgets (one column per figure) and new plans by need are read on their own.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from send_metrics import contract
from send_metrics.ingest.adapters.common import clean, combine, fmt_number, plural, records, text_key, to_number
from send_metrics.ingest.adapters.sen2.kinds import (
    ASSESSMENTS,
    CASELOAD,
    MI,
    NEEDS,
    NEWPLANS,
    PERSONAL_BUDGETS,
    REQUESTS,
    REVIEWS,
    SOURCE,
    TIMELINESS,
)
from send_metrics.ingest.adapters.sen2.outputs import (
    AREA_COLS,
    BENCH_COLS,
    COMBINED_CODE,
    COMBINED_NAME,
    benchmark,
    caseload_outputs,
    combined_area_outputs,
    combined_rows,
    pct,
    rows_to_csv,
)
from send_metrics.ingest.adapters.sen2.rows import (
    INTERIM_NEED,
    NEED_COLUMNS,
    SETTING_COLUMNS,
    SETTING_NOTE,
    Rows,
    age_band,
    not_broken_down,
    placement_setting,
    setting_cells,
)


# -- the caseload group ----------------------------------------------------------------------

def adapt_caseload_group(members: dict[str, Rows], workdir: Path, edition: str, source_name: str):
    """ehcp_caseload rows (one faithful partition of the total per area and January) + benchmarks."""
    nb = not_broken_down()
    need_code = nb["primary_need"] or INTERIM_NEED
    notes: list[str] = []
    caseload = members.get(CASELOAD)
    needs = members.get(NEEDS)
    out_rows: list[dict] = []
    bench: list[dict] = []
    used: dict[str, int] = {}
    if caseload is not None:
        df = caseload.df
        setting_keys = [k for alts in SETTING_COLUMNS.values() for a in alts for k in a]
        base_keys = ["_area", "_year", "_level", "_name", "_edition", "ehcplans", "breakdown"]
        tot = records(df[df["_total"]], base_keys + setting_keys)
        settings = setting_cells(tot, "ehcplans")
        if settings is None:
            notes.append("caseload: placement columns not found; only totals are used")
        by_age: dict[tuple, list[tuple[dict, dict]]] = {}
        if "breakdowntopic" in df:
            age_recs = records(df[df["breakdowntopic"].map(text_key) == "childoryoungpersonsage"],
                               base_keys + setting_keys)
            age_settings = setting_cells(age_recs, "ehcplans")
            if age_settings is not None:
                for rec, cells in zip(age_recs, age_settings):
                    by_age.setdefault((rec["_area"], rec["_year"]), []).append((rec, cells))
        # need x setting (2025 on) needs the "all ages" code; see not_broken_down().
        need_setting = _need_by_setting(needs) if (needs is not None and nb["age_band"]) else {}
        for i, r in enumerate(tot):
            area, year = r["_area"], int(r["_year"])
            base = {"time_period": str(year), "time_identifier": "January", "area_code": area,
                    "area_level": r["_level"], "area_name": r["_name"], "edition": r["_edition"]}
            total = clean(r["ehcplans"])
            s_all = settings[i] if settings is not None else None
            cells = None
            how = ""
            ns = need_setting.get((area, year))
            if ns and _sums_to(ns, total):
                cells = [(need, nb["age_band"], st, v) for (need, st), v in ns.items()]
                how = "primary need x setting (sen_needs 'Type of placement')"
            if cells is None and (area, year) in by_age:
                cells = _age_cells(by_age[(area, year)], total, s_all, need_code)
                how = "age band x setting (caseload 'Child or young persons age')" if cells else ""
            if cells is None and s_all is not None and nb["age_band"]:
                if all(to_number(v) is not None for v in s_all.values()) and to_number(s_all["other"]) >= 0:
                    cells = [(need_code, nb["age_band"], k, v) for k, v in s_all.items()]
                    how = "setting only"
            if cells is None and nb["age_band"] and nb["setting_type"]:
                cells = [(need_code, nb["age_band"], nb["setting_type"], total)]
                how = "total only"
            if cells:
                used[how] = used.get(how, 0) + 1
                for need, age, setting, v in cells:
                    out_rows.append({**base, "primary_need": need, "age_band": age, "setting_type": setting,
                                     "ehc_plans": clean(v)})
            else:
                used["benchmark only"] = used.get("benchmark only", 0) + 1
                bench.append(benchmark(year, "January", area, r["_level"], r["_name"], "ehcp_caseload", total,
                                        total, "", f"{SOURCE}: {source_name}", r["_edition"]))
            if s_all is not None and to_number(total):
                for setting in ("mainstream", "special", "alternative_provision", "independent"):
                    bench.append(benchmark(year, "January", area, r["_level"], r["_name"],
                                            f"setting_{setting}_pct", pct(s_all[setting], total), s_all[setting],
                                            total, f"{SOURCE}: {source_name}", r["_edition"]))
        notes.append("ehcp_caseload: " + "; ".join(f"{plural(n, 'area-year')} by {how}" for how, n in sorted(used.items())))
        if "benchmark only" in used:
            notes.append("area-years marked 'benchmark only' have a published total but no breakdown the contract can "
                         "hold without inventing one (the contract has no 'all ages' / 'all settings' code, and "
                         "the age rows are missing or do not add up to the total); their total is loaded as a "
                         "published benchmark (measure ehcp_caseload) instead")
        if need_code == INTERIM_NEED and out_rows:
            notes.append("primary_need is UNK ('Not recorded') on every ehcp_caseload row from this file: caseload.csv "
                         "does not give the need of each plan; need shares come from sen_needs_all_plans.csv as "
                         "published benchmarks")
        notes.append(SETTING_NOTE)
        ignored = df[~df["_total"]]
        if len(ignored):
            topics = sorted(set(ignored["breakdowntopic"]) - {"Child or young persons age"}) \
                if "breakdowntopic" in ignored else ["(filters)"]
            notes.append(f"{plural(len(ignored), 'breakdown row')} not loaded as rows of their own "
                         f"(the contract has no such dimension): {', '.join(topics)[:300]}")
    if needs is not None:
        bench += _need_benchmarks(needs, source_name)
        notes.append("sen_needs: need shares of all EHC plans loaded as published benchmarks "
                     "(need_share_<NEED>: number_<need> / ehc_plans)")
    outputs = []
    if out_rows:
        written, combined = caseload_outputs(workdir, edition, out_rows)
        outputs += written
        if combined:
            notes.append(f"added the labelled continuity series {COMBINED_CODE} ({COMBINED_NAME}) for periods both "
                         "new councils report")
    if bench:
        outputs.append(("benchmarks", rows_to_csv(workdir, "benchmarks_caseload", BENCH_COLS, bench)))
    return outputs, notes


def _sums_to(cells: dict, total: str) -> bool:
    t = to_number(total)
    vals = [to_number(v) for v in cells.values()]
    return t is not None and all(v is not None for v in vals) and abs(sum(vals) - t) < 0.5


def _age_cells(recs: list[tuple[dict, dict]], total: str, all_settings: dict | None, need_code: str):
    """age x setting cells when the age rows are complete and add up to the published total."""
    cells: dict[tuple[str, str], float] = {}
    for rec, settings in recs:
        band = age_band(rec["breakdown"])
        if band is None:
            return None
        for setting, v in settings.items():
            n = to_number(v)
            if n is None or n < 0:
                return None
            cells[(band, setting)] = cells.get((band, setting), 0) + n
    t = to_number(total)
    if t is None or abs(sum(cells.values()) - t) >= 0.5:
        return None
    if all_settings is not None:
        for setting, v in all_settings.items():
            n = to_number(v)
            got = sum(x for (b, s), x in cells.items() if s == setting)
            if n is None or abs(n - got) >= 0.5:
                return None
    return [(need_code, band, setting, fmt_number(v)) for (band, setting), v in sorted(cells.items())]


def _need_by_setting(needs: Rows) -> dict:
    df = needs.df
    if "breakdowntopic" not in df:
        return {}
    rows = df[df["breakdowntopic"].map(text_key) == "typeofplacement"]
    out: dict = {}
    for r in records(rows, ["_area", "_year", "breakdown", *NEED_COLUMNS.values()]):
        setting = placement_setting(r["breakdown"])
        if setting is None:
            continue
        cell = out.setdefault((r["_area"], int(r["_year"])), {})
        for need, col in NEED_COLUMNS.items():
            if col in df:
                k = (need, setting)
                cell[k] = combine([cell[k], r[col]]) if k in cell else clean(r[col])
    return out


def _need_benchmarks(needs: Rows, source_name: str) -> list[dict]:
    df = needs.df[needs.df["_total"]]
    out = []
    for r in records(df, ["_area", "_year", "_level", "_name", "_edition", "ehcplans", *NEED_COLUMNS.values()]):
        den = clean(r.get("ehcplans", ""))
        for need, col in NEED_COLUMNS.items():
            if need in ("UNK", "DS") or col not in df:
                continue
            out.append(benchmark(int(r["_year"]), "January", r["_area"], r["_level"], r["_name"],
                                  f"need_share_{need}", pct(r[col], den), clean(r[col]), den,
                                  f"{SOURCE}: {source_name}", r["_edition"]))
    return out


# -- the assessments group -------------------------------------------------------------------

ASSESSMENT_COLUMNS = {
    # kind: {contract column: [column keys summed]}
    TIMELINESS: {"plans_issued_inc": ["plansissuedden"], "plans_issued_20wk_inc": ["plansissuedwithin20weeks"],
                 "plans_issued_ex": ["plansissueddenex"], "plans_issued_20wk_ex": ["plansissued20weeksex"]},
    NEWPLANS: {"new_plans": ["newehcplans"]},
    REQUESTS: {"requests": ["requestsreceivedinyear"], "requests_refused": ["requestsdecidednottoassess"],
               "decisions_within_6_weeks": ["requestoutcomesixweeks"],
               "decisions": ["requestoutcomesixweeks", "requestoutcomeover6weeks"],
               "_mediations_request": ["mediationrelatedrequest"],
               "_mediations_tribunal_request": ["tribunalaftermediationrequest"]},
    REVIEWS: {"reviews_due": ["reviewexpected"], "reviews_held": ["_reviewsheld"],
              "review_decisions_4wk": ["numberdecsion4weeks"],
              "review_decisions": ["numberdecsion4weeks", "numberdecisiongt4weeks"]},
    ASSESSMENTS: {"assessments": ["assessinyear"], "assessments_issued": ["assessissued"],
                  "assessments_not_issued": ["assessnotissued"],
                  "_mediations_assess": ["numberassessmediation", "numberothermediation"],
                  "_mediations_tribunal_assess": ["numberasssessmediationtribunal", "numberothermediationtribunal"]},
    MI: {"requests": ["inreqehc"], "requests_refused": ["assrefusedehc"], "new_plans": ["newallehc"],
         "plans_issued_ex": ["totnoexcehc"], "plans_issued_20wk_ex": ["noexc20weekehc"],
         "plans_issued_inc": ["totincexcehc"], "plans_issued_20wk_inc": ["incexc20weekehc"]},
}


RATE_COLUMNS = {"timeliness_20wk_ex": "noexc20weekrate", "timeliness_20wk_inc": "incexc20weekrate"}


ASSESSMENT_NOTES = {
    TIMELINESS: "plans_issued_den(_ex) -> plans_issued_inc / plans_issued_ex; plans_issued_within_20_weeks / "
                "plans_issued_20_weeks_ex -> plans_issued_20wk_inc / _ex (published percentages are recomputed "
                "by the engine as sums over sums)",
    NEWPLANS: "new_ehc_plans -> new_plans",
    REQUESTS: "requests_received_in_year -> requests; requests_decided_not_to_assess -> requests_refused; "
              "request_outcome_six_weeks -> decisions_within_6_weeks; decisions = request_outcome_six_weeks + "
              "request_outcome_over_6_weeks",
    REVIEWS: "review_expected -> reviews_due; review_meeting_<yy> of the row's year (e.g. review_meeting_24 for "
             "2024) -> reviews_held; number_decsion_4weeks -> review_decisions_4wk; review_decisions = "
             "number_decsion_4weeks + number_decision_gt_4weeks; reviews_on_time is not published (DfE counts review "
             "meetings and decisions by year, not reviews completed within 12 months), so it is left empty",
    ASSESSMENTS: "assess_in_year -> assessments; assess_issued -> assessments_issued; assess_not_issued -> "
                 "assessments_not_issued; mediations = requests.csv "
                 "mediation_related_request + number_assess_mediation + number_other_mediation; "
                 "mediations_then_tribunal = tribunal_after_mediation_request + number_asssess_mediation_tribunal + "
                 "number_other_mediation_tribunal (both need requests.csv and assessments.csv of the release); "
                 "16-week decisions and tribunals not after mediation have no contract column",
    MI: "inreq_ehc (InreqEHC) -> requests; ass_refused_ehc (AssRefusedEHC) -> requests_refused; new_all_ehc "
        "(NewallEHC) -> new_plans; tot_no_exc_ehc / no_exc_20week_ehc (TotNoExcEHC / NoExc20weekEHC) -> "
        "plans_issued_ex / plans_issued_20wk_ex; tot_inc_exc_ehc / inc_exc_20week_ehc (TotIncExcEHC / "
        "IncExc20weekEHC) -> plans_issued_inc / plans_issued_20wk_inc; decisions are not in this generation (x)",
}


ASSESS_INDICATORS = [c.name for c in contract.DATASETS["ehcp_assessments"].indicators]


REQUIRED_INDICATORS = [c.name for c in contract.DATASETS["ehcp_assessments"].indicators if c.required]


def adapt_assessment_group(members: dict[str, Rows], workdir: Path, edition: str, source_name: str):
    notes: list[str] = []
    merged: dict[tuple, dict] = {}
    provided: set[str] = set()
    bench: list[dict] = []
    for kind, rows in members.items():
        spec = ASSESSMENT_COLUMNS.get(kind, {})
        notes.append(f"{rows.table.path.name}: {ASSESSMENT_NOTES.get(kind, '')}")
        df = rows.df[rows.df["_total"]]
        if kind == REVIEWS:
            # The meetings held in the row's own calendar year: review_meeting_24 for 2024, and so on.
            held = [f"reviewmeeting{int(y) % 100:02d}" for y in df["_year"]]
            if any(h in df for h in held):
                df = df.assign(_reviewsheld=[df.at[i, h] if h in df else "" for i, h in zip(df.index, held)])
        usable = {col: keys for col, keys in spec.items() if all(k in df for k in keys)}
        provided |= set(usable)
        missing = sorted(set(spec) - set(usable))
        if missing:
            notes.append(f"{rows.table.path.name}: columns for {', '.join(missing)} not found")
        dup = 0
        wanted = ["_area", "_year", "_level", "_name", "_edition"] + [k_ for ks in usable.values() for k_ in ks]
        for r in records(df, wanted):
            k = (int(r["_year"]), r["_area"], r["_edition"])
            row = merged.setdefault(k, {"time_period": str(k[0]), "time_identifier": "Calendar year",
                                        "area_code": r["_area"], "area_level": r["_level"],
                                        "area_name": r["_name"], "edition": r["_edition"]})
            if any(col in row for col in usable):
                dup += 1
                continue
            for col, keys in usable.items():
                row[col] = combine([r[k_] for k_ in keys]) if len(keys) > 1 else clean(r[keys[0]])
        if dup:
            notes.append(f"{rows.table.path.name}: {plural(dup, 'row')} repeat an area and year already read; "
                         "the first is kept")
        if kind == MI:
            for measure, col in RATE_COLUMNS.items():
                counts = ASSESSMENT_COLUMNS[MI]["plans_issued_ex" if measure.endswith("ex") else "plans_issued_inc"]
                if col in df and not all(c in df for c in counts):
                    for r in records(df, ["_area", "_year", "_level", "_name", "_edition", col]):
                        bench.append(benchmark(int(r["_year"]), "Calendar year", r["_area"], r["_level"], r["_name"],
                                                measure, clean(r[col]), "", "", f"{SOURCE}: {source_name}",
                                                r["_edition"]))
                    notes.append(f"{col}: published rate without its counts, loaded as benchmark {measure}")
    outputs = []
    if merged and provided:
        rows = list(merged.values())
        absent = [c for c in REQUIRED_INDICATORS if c not in provided]
        for r in rows:
            for c in ASSESS_INDICATORS:
                # Left empty, never 'x': this publication does not give the figure, so another
                # file's (or edition's) figure can stand; with none, the load shows 'x'.
                r.setdefault(c, "")
        # Mediations come from two files (requests and assessments): a figure only when both give it.
        for r in rows:
            for col, parts in (("mediations", ("_mediations_request", "_mediations_assess")),
                               ("mediations_then_tribunal", ("_mediations_tribunal_request",
                                                             "_mediations_tribunal_assess"))):
                got = [r.pop(k) for k in parts if k in r]
                if len(got) == len(parts):
                    r[col] = combine(got)
        if absent:
            notes.append(f"ehcp_assessments: {', '.join(absent)} not in the files read; left to other files "
                         "(shown as 'x', not available, when no file gives them)")
        rows += combined_rows(rows, [], ASSESS_INDICATORS)
        cols = AREA_COLS + ASSESS_INDICATORS + ["edition"]
        outputs.append(("ehcp_assessments", rows_to_csv(workdir, "ehcp_assessments", cols, rows)))
        if any(r["area_code"] == COMBINED_CODE for r in rows):
            outputs += combined_area_outputs(workdir, edition, "ehcp_assessments")
    if bench:
        outputs.append(("benchmarks", rows_to_csv(workdir, "benchmarks_rates", BENCH_COLS, bench)))
    return outputs, notes


# -- ceased plans ----------------------------------------------------------------------------

# ceased_plans.csv columns (keys) -> contract cease_reason. Read by name: the data guidance describes
# `other` as "reason is not recorded" and `not_rec` as "ceased for other reasons", the other way round
# from their names; the names follow the return's code list (9 = other), and England's `not_rec` is 0.
CEASED_COLUMNS = {"maxage": "max_age", "needsmet": "needs_met", "he": "higher_education", "employ": "employment",
                  "transfer": "transferred", "noengage": "no_engagement", "movedoutsideeng": "moved_outside_england",
                  "deceased": "deceased", "other": "other", "notrec": "not_recorded"}


def adapt_ceased(rows: Rows, workdir: Path, source_name: str):
    notes = [f"{source_name}: the All ceased EHC plans rows, by reason: "
             + ", ".join(f"{k} -> {v}" for k, v in CEASED_COLUMNS.items())
             + " (the guidance describes other and not_rec the other way round from their names; read by name)"]
    df = rows.df[rows.df["_total"]]
    present = [k for k in CEASED_COLUMNS if k in df]
    missing = [k for k in CEASED_COLUMNS if k not in df]
    if missing:
        notes.append(f"reason columns not found: {', '.join(missing)}")
    out, mismatched = [], 0
    for r in records(df, ["_area", "_year", "_level", "_name", "_edition", "totalceased", *present]):
        base = {"time_period": str(int(r["_year"])), "time_identifier": "Calendar year", "area_code": r["_area"],
                "area_level": r["_level"], "area_name": r["_name"], "edition": r["_edition"]}
        cells = [dict(base, cease_reason=CEASED_COLUMNS[k], ceased_plans=clean(r[k])) for k in present]
        total, parts = to_number(r["totalceased"]), [to_number(c["ceased_plans"]) for c in cells]
        if missing or total is None or any(p is None for p in parts) or sum(parts) != total:
            # The reasons do not add up to the total (or are not all given): keep the total only.
            mismatched += bool(cells)
            cells = [dict(base, cease_reason="all", ceased_plans=clean(r["totalceased"]))]
        out += cells
    if mismatched:
        notes.append(f"{plural(mismatched, 'row')}: the reasons do not add up to total_ceased; the total is loaded "
                     "without its reasons")
    out += combined_rows(out, ["cease_reason"], ["ceased_plans"])
    cols = AREA_COLS + ["cease_reason", "ceased_plans", "edition"]
    outputs = [("ehcp_ceased", rows_to_csv(workdir, "ehcp_ceased", cols, out))] if out else []
    if any(r["area_code"] == COMBINED_CODE for r in out):
        outputs += combined_area_outputs(workdir, rows.edition, "ehcp_ceased")
    return outputs, notes


# -- personal budgets: one row per area and period, a column per figure --------------------

WIDE_FILES = {
    # kind: (dataset, time identifier, {contract column: [column keys summed]}, note)
    PERSONAL_BUDGETS: ("ehcp_personal_budgets", "January", {
        "personal_budgets": ["personalbudget"], "organised_arrangements": ["orgarrangments"]},
        "personal_budgets.csv: personal_budget -> personal_budgets; org_arrangments -> organised_arrangements, at "
        "the January census (time_period 201920 = January 2020); the split by what the budget covers (pb_health, "
        "pb_education, pb_social, pb_integrated) has no contract column"),
}


def _known_areas(df: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Rows of areas the dashboard knows; Inner and Outer London (E13000001/2, published as regions in
    some files) are not dashboard areas: left out, with a count."""
    from send_metrics.ingest.adapters.common import areas as _areas
    known = df["_area"].isin(set(_areas().level))
    if (~known).any():
        notes.append(f"{plural(int((~known).sum()), 'row')} of areas that are not dashboard areas left out "
                     f"({', '.join(sorted(set(df.loc[~known, '_area'])))})")
    return df[known]


def adapt_wide(rows: Rows, workdir: Path):
    dataset, tid, spec, note = WIDE_FILES[rows.kind]
    notes = [note]
    df = _known_areas(rows.df[rows.df["_total"]], notes)
    usable = {col: keys for col, keys in spec.items() if all(k in df for k in keys)}
    missing = sorted(set(spec) - set(usable))
    if missing:
        notes.append(f"columns for {', '.join(missing)} not found: left empty (not given by this file)")
    out = []
    for r in records(df, ["_area", "_year", "_level", "_name", "_edition", *{k for ks in usable.values() for k in ks}]):
        row = {"time_period": str(int(r["_year"])), "time_identifier": tid, "area_code": r["_area"],
               "area_level": r["_level"], "area_name": r["_name"], "edition": r["_edition"]}
        for col in spec:
            keys = usable.get(col)
            row[col] = "" if keys is None else (combine([r[k] for k in keys]) if len(keys) > 1 else clean(r[keys[0]]))
        out.append(row)
    if not out:
        return [], notes + ["no total rows: nothing loaded"]
    cols = list(spec)
    out += combined_rows(out, [], cols)
    outputs = [(dataset, rows_to_csv(workdir, dataset, AREA_COLS + cols + ["edition"], out))]
    if any(r["area_code"] == COMBINED_CODE for r in out):
        outputs += combined_area_outputs(workdir, rows.edition, dataset)
    return outputs, notes


def adapt_new_plans_by_need(rows: Rows, workdir: Path):
    """sen_need_newplans.csv: new EHC plans by primary need (calendar year), one cell per need; plans
    whose need is not recorded are UNK."""
    left: list[str] = []
    df = _known_areas(rows.df[rows.df["_total"]], left)
    cols = {need: k for need, k in NEED_COLUMNS.items() if k in df}
    out = []
    for r in records(df, ["_area", "_year", "_level", "_name", "_edition", *cols.values()]):
        for need, k in cols.items():
            out.append({"time_period": str(int(r["_year"])), "time_identifier": "Calendar year",
                        "area_code": r["_area"], "area_level": r["_level"], "area_name": r["_name"],
                        "primary_need": need, "new_plans": clean(r[k]), "edition": r["_edition"]})
    notes = [f"new EHC plans by primary need -> new_plans_by_need ({', '.join(f'{v} -> {n}' for n, v in cols.items())}); "
             "the total rows only (breakdowns by age, sex, ethnicity have no contract dimension); the published "
             "percentages are recomputed by the engine as sums over sums"] + left
    if not out:
        return [], notes + ["no total rows: nothing loaded"]
    out += combined_rows(out, ["primary_need"], ["new_plans"])
    outputs = [("new_plans_by_need", rows_to_csv(workdir, "new_plans_by_need",
                                                  AREA_COLS + ["primary_need", "new_plans", "edition"], out))]
    if any(r["area_code"] == COMBINED_CODE for r in out):
        outputs += combined_area_outputs(workdir, rows.edition, "new_plans_by_need")
    return outputs, notes
