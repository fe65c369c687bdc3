"""The data contract: every dataset the dashboard accepts, declared once.

Files are tidy, long CSV or Parquet following the DfE Explore Education Statistics (EES)
conventions: a time period with its identifier, an area code with its level, filter columns,
then indicator columns. Indicator cells may hold a number or one of the EES symbols; a symbol
is kept beside a NULL value and is never read as zero.

Everything else (validation SQL, canonical tables, the documentation in
`docs/data-contract.md`) is generated from these declarations, so the contract cannot drift
from the code that enforces it.

This module declares the datasets (their columns, keys, periods and checks); the codes a filter
column may hold, with their labels and the wait bands, are in ``codes``. It may import nothing
else of the project: every stage reads the contract, so the contract depends on none of them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from send_metrics.contract import codes

# 1.1: outcomes gained the optional sd column (a store loaded under 1.0 lacks it and is reloaded).
CONTRACT_VERSION = "1.1"


# time_identifier values and how each turns time_period into the canonical period.
TIME_IDENTIFIERS: dict[str, str] = {
    "Calendar year": "time_period is YYYY; the calendar year (last day 31 December)",
    "January": "time_period is YYYY; the January census of that year (last day taken as 31 January)",
    "Academic year": "time_period is YYYYYY (202425 = 2024/25); stored as the end year, 2025 (last day 31 August)",
    "Financial year": "time_period is YYYYYY (202425 = April 2024 to March 2025); stored as the end year (last day 31 March)",
    "Month": "time_period is YYYYMM; stored as the first day of that month (last day: the month's last)",
}


# The last day of a period of each kind, as SQL over the stored period ({p}: `year` INTEGER or
# `month` DATE). An area that was created or abolished part-way through a year owns a period when
# the period's last day falls within its `valid_from` .. `valid_to` (the body that exists at the end
# of a period reports it: Cumbria reports January 2023 and calendar 2022; Cumberland calendar 2023).
PERIOD_END_SQL: dict[str, str] = {
    "Calendar year": "make_date({p}, 12, 31)",
    "January": "make_date({p}, 1, 31)",
    "Academic year": "make_date({p}, 8, 31)",
    "Financial year": "make_date({p}, 3, 31)",
    "Month": "last_day({p})",
}


def period_end_sql(ds: "Dataset", period: str, time_identifier: str | None = None) -> str:
    """SQL for the last day of each row's period (see PERIOD_END_SQL). `period` is the SQL of the
    stored period column; a dataset with several time identifiers (benchmarks) needs the SQL of
    the row's time identifier."""
    ids = ds.time_identifiers or (("Month",) if ds.monthly else ())
    if len(ids) == 1 or time_identifier is None:
        return PERIOD_END_SQL[ids[0]].format(p=period) if ids else "NULL"
    cases = " ".join(f"WHEN '{t.lower()}' THEN {PERIOD_END_SQL[t].format(p=period)}" for t in ids)
    return f"CASE lower(trim({time_identifier})) {cases} END"


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "area" | "period" | "code" | "text" | "count" | "number" | "weight"
    description: str
    allowed: tuple[str, ...] | None = None  # for "code" columns
    required: bool = True

    @property
    def is_indicator(self) -> bool:
        return self.kind in ("count", "number", "weight")

    @property
    def sql_type(self) -> str:
        return {"count": "BIGINT", "number": "DOUBLE", "weight": "DOUBLE"}.get(self.kind, "VARCHAR")


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    time_identifiers: tuple[str, ...] = ()
    # (numerator, denominator) pairs that must satisfy numerator <= denominator.
    not_greater: tuple[tuple[str, str], ...] = ()
    # Reference datasets describe geography; they are not rolled up or given periods.
    reference: bool = False
    monthly: bool = False
    # Person-level rows are counted into another dataset at load and never summed to parents.
    person_level: bool = False
    # Filter columns whose "not broken down" code must not sit beside a breakdown of the same
    # area and period in one file (the total would be counted twice).
    total_codes: tuple[tuple[str, str], ...] = ()
    # Filter columns that break one quantity down (need, age, setting, wait band, ...). A figure's
    # identity is its key without them: a total row and the cells of a breakdown of the same area,
    # period and quantity are two views of one figure, never two figures to add (see store.py).
    breakdowns: tuple[str, ...] = ()
    extra_checks: tuple[str, ...] = field(default=())
    # (sd, total, count): a standard deviation of the observations whose sum is `total` and number
    # `count`. A parent area's is pooled from its localities' sums of squares, never summed.
    spreads: tuple[tuple[str, str, str], ...] = ()
    # Published by DfE for every council (and above) unsuppressed, in every breakdown the dashboard
    # offers: the SEN2 release ("Education, health and care plans"), whose data guidance says "The
    # dataset and outputs have not had suppression or rounding applied". Anyone holds those figures,
    # so disclosure control below council level must hold with them all known (see
    # measures/release.py), and a missing row of a locality, which says 0, is written out as a 0
    # that can be withheld (sql/zero_fill.sql).
    published_in_full: bool = False

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def indicators(self) -> list[Column]:
        return [c for c in self.columns if c.is_indicator]

    @property
    def filters(self) -> list[Column]:
        return [c for c in self.columns if c.kind == "code" and c.name not in ("area_level",)]

    @property
    def required_names(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


def _period_columns() -> tuple[Column, ...]:
    return (
        Column("time_period", "period", "EES time period (see time_identifier)"),
        Column("time_identifier", "code", "How to read time_period", tuple(TIME_IDENTIFIERS)),
    )


def _area_columns() -> tuple[Column, ...]:
    return (
        Column("area_code", "area", "ONS code (or dashboard code such as LOC-MILLOM) of a known area"),
        Column("area_level", "code", "Level of the area; must match the areas table", tuple(codes.AREA_LEVELS)),
        Column("area_name", "text", "Optional; names are taken from the areas table", required=False),
    )


def _code(name: str, values: dict, description: str) -> Column:
    return Column(name, "code", description, tuple(values))


DATASETS: dict[str, Dataset] = {}


def _register(ds: Dataset) -> None:
    DATASETS[ds.name] = ds


_register(Dataset(
    name="areas",
    title="Areas",
    description="Every area the dashboard knows: England, regions, councils, former districts, "
                "dashboard localities, health footprints, sub-ICBs and ICBs. The built-in Cumbria "
                "and Lancashire geography is always loaded; files add areas to it.",
    columns=(
        Column("area_code", "text", "ONS code, or a dashboard code (LOC-..., HF-...) for areas ONS does not define"),
        Column("area_name", "text", "Name shown to users"),
        _code("area_level", codes.AREA_LEVELS, "Level of the area"),
        Column("dfe_la_code", "text", "DfE three-digit local-authority number, when the area is a council", required=False),
        Column("rollup_complete", "text", "'true' when the area's members in area_membership cover all of it, "
               "so its figures may be built by summing them; 'false' (e.g. sub-ICB 01K, which also covers Lancaster)",
               required=False),
        Column("coverage_note", "text", "What the area really covers, shown beside its figures", required=False),
        Column("valid_from", "text", "First day the area exists (YYYY-MM-DD), e.g. 2023-04-01 for the 'Cumbria (both "
               "councils)' series; empty when it always has. A period belongs to the area only when its last day "
               "(see Time periods) is on or after this date", required=False),
        Column("valid_to", "text", "Last day an abolished area existed (YYYY-MM-DD), e.g. 2023-03-31 for Cumbria and "
               "its six districts; empty for a current area. Rows for periods whose last day is later are "
               "quarantined, and the area is never built (rolled up) for them", required=False),
        Column("published_from", "text", "First day the publisher (DfE) shows the area's own figures (YYYY-MM-DD), "
               "when later than valid_from: e.g. 2023-04-01 for Cumberland, whose figures for earlier periods are "
               "built back from its localities and published by no one. Disclosure control takes a council's "
               "figures as known to anyone only for periods whose last day is on or after it", required=False),
    ),
    key=("area_code",),
    reference=True,
))

_register(Dataset(
    name="area_membership",
    title="Area membership",
    description="Many-to-many child -> parent links. A locality can belong to a council and to a "
                "different health footprint (Millom: Cumberland council, South Cumbria footprint).",
    columns=(
        Column("child_code", "text", "Member area code (must be in areas)"),
        Column("parent_code", "text", "Containing area code (must be in areas)"),
        Column("weight", "weight", "Share of the child's population inside the parent, 0 < weight <= 1. "
               "Only whole memberships (weight = 1) are used to sum figures; partial ones are informational."),
        Column("relationship", "text", "council, former_district, health_footprint, sub_icb, icb, region, country",
               required=False),
    ),
    key=("child_code", "parent_code"),
    reference=True,
))

_register(Dataset(
    name="population",
    title="Population denominators",
    description="Resident population (ONS mid-year estimates) by area, year and age band.",
    columns=(*_period_columns(), *_area_columns(),
             _code("age_band", codes.AGE_BANDS, "Age band"),
             Column("population", "count", "Resident population"),
             Column("source", "text", "Where the estimate comes from, shown beside every rate built on it, e.g. "
                    "'ONS mid-2020' or 'ONS mid-2020; sum of Allerdale, Carlisle, Copeland'", required=False)),
    key=("year", "area_code", "age_band"),
    time_identifiers=("Calendar year",),
    total_codes=(("age_band", "all"),),
    breakdowns=("age_band",),
))

_register(Dataset(
    name="ehcp_caseload",
    title="EHC plan caseload",
    description="Children and young people with an EHC plan at the January census (SEN2), by "
                "primary need, age band and setting type.",
    columns=(*_period_columns(), *_area_columns(),
             _code("primary_need", codes.PRIMARY_NEEDS, "Primary type of need (DfE code)"),
             _code("age_band", codes.AGE_BANDS, "Age band"),
             _code("setting_type", codes.SETTING_TYPES, "Type of setting"),
             Column("ehc_plans", "count", "Number of EHC plans")),
    key=("year", "area_code", "primary_need", "age_band", "setting_type"),
    time_identifiers=("January",),
    total_codes=(("primary_need", "ALL"), ("age_band", "all"), ("setting_type", "all")),
    breakdowns=("primary_need", "age_band", "setting_type"),
    published_in_full=True,
))

_register(Dataset(
    name="ehcp_persons",
    title="EHC plans, person level",
    description="One row per child or young person with an EHC plan at the January census, from a "
                "case-management system. At load these rows are counted into ehcp_caseload (so a "
                "person-level extract and an aggregated one are interchangeable); the rows themselves "
                "are only for signed-in analysts.",
    columns=(*_period_columns(), *_area_columns(),
             Column("person_id", "text", "Pseudonymised identifier, unique within a year"),
             _code("primary_need", codes.PRIMARY_NEEDS, "Primary type of need (DfE code)"),
             _code("age_band", codes.AGE_BANDS, "Age band"),
             _code("setting_type", codes.SETTING_TYPES, "Type of setting"),
             Column("ncy", "code", "National curriculum year by age: age on the 31 August before the census, "
                    "minus 4 (Reception 0, Year 1 1, ..., -5 to 21); needed by the demand model's transitions",
                    codes.NCY_CODES, required=False)),
    key=("year", "person_id"),
    time_identifiers=("January",),
    person_level=True,
))

_register(Dataset(
    name="ehcp_assessments",
    title="EHC needs assessments, new plans and annual reviews",
    description="Requests for EHC needs assessment, decisions, new plans, 20-week timeliness "
                "(excluding and including exceptions) and annual reviews, by calendar year.",
    columns=(*_period_columns(), *_area_columns(),
             Column("requests", "count", "Initial requests for an EHC needs assessment"),
             Column("requests_refused", "count", "Requests where the council refused to assess"),
             Column("decisions", "count", "Decisions whether to assess"),
             Column("decisions_within_6_weeks", "count", "Decisions made within 6 weeks"),
             Column("new_plans", "count", "New EHC plans issued"),
             Column("plans_issued_ex", "count", "Plans issued, excluding exceptions (timeliness denominator)"),
             Column("plans_issued_20wk_ex", "count", "Of which issued within 20 weeks"),
             Column("plans_issued_inc", "count", "Plans issued, including exceptions"),
             Column("plans_issued_20wk_inc", "count", "Of which issued within 20 weeks"),
             Column("reviews_due", "count", "Annual reviews due", required=False),
             Column("reviews_on_time", "count", "Annual reviews completed within 12 months", required=False),
             Column("reviews_held", "count", "Plans due a review whose annual review meeting was held in the calendar "
                    "year (DfE annual_reviews.csv review_meeting_<yy>)", required=False),
             Column("review_decisions", "count", "Annual review outcomes communicated (within 4 weeks of the "
                    "meeting or later)", required=False),
             Column("review_decisions_4wk", "count", "Of which communicated within 4 weeks", required=False),
             Column("assessments", "count", "EHC needs assessments completed in the year: plans issued, decisions not "
                    "to issue and assessments withdrawn (DfE assessments.csv assess_in_year)", required=False),
             Column("assessments_issued", "count", "Of which a plan was issued", required=False),
             Column("assessments_not_issued", "count", "Of which the decision was not to issue a plan (DfE "
                    "assess_not_issued)", required=False),
             Column("mediations", "count", "Mediations linked to a request or an assessment (DfE: requests "
                    "subject to mediation + mediations on assessment decisions + on assessments for other "
                    "reasons)", required=False),
             Column("mediations_then_tribunal", "count", "Of which followed by a tribunal", required=False)),
    key=("year", "area_code"),
    time_identifiers=("Calendar year",),
    not_greater=(("requests_refused", "requests"), ("decisions_within_6_weeks", "decisions"),
                 ("plans_issued_20wk_ex", "plans_issued_ex"), ("plans_issued_20wk_inc", "plans_issued_inc"),
                 ("plans_issued_ex", "plans_issued_inc"), ("reviews_on_time", "reviews_due"),
                 ("reviews_held", "reviews_due"), ("assessments_not_issued", "assessments"),
                 ("review_decisions_4wk", "review_decisions"), ("assessments_issued", "assessments"),
                 ("mediations_then_tribunal", "mediations")),
    published_in_full=True,
))

_register(Dataset(
    name="tribunal_appeals",
    title="SEND Tribunal appeals and appealable decisions",
    description="Appeals registered with the SEND Tribunal (HMCTS) and the council's appealable decisions (DfE "
                "SEN2: requests refused + assessments with a decision not to issue + EHC plans in January + plans "
                "ceased because needs are met), by calendar year, as DfE publishes them with the EHC plans release "
                "(the appeal rate is appeals / appealable decisions).",
    columns=(*_period_columns(), *_area_columns(),
             Column("appeals_registered", "count", "Appeals registered with the SEND Tribunal"),
             Column("appealable_decisions", "count", "Total appealable decisions")),
    key=("year", "area_code"),
    time_identifiers=("Calendar year",),
    not_greater=(("appeals_registered", "appealable_decisions"),),
))


_register(Dataset(
    name="ehcp_ceased",
    title="EHC plans ceased, by reason",
    description="EHC plans that ceased in the calendar year, by the reason they ceased (DfE 'Education, health and "
                "care plans' ceased_plans.csv; or counted from a council's SEN2 person-level return).",
    columns=(*_period_columns(), *_area_columns(),
             _code("cease_reason", codes.CEASE_REASONS, "Why the plan ceased"),
             Column("ceased_plans", "count", "EHC plans that ceased")),
    key=("year", "area_code", "cease_reason"),
    time_identifiers=("Calendar year",),
    total_codes=(("cease_reason", "all"),),
    breakdowns=("cease_reason",),
    published_in_full=True,
))

_register(Dataset(
    name="ehcp_personal_budgets",
    title="EHC plans with a personal budget",
    description="EHC plans with a personal budget in place at the January census, and the part of them held as "
                "organised arrangements (DfE personal_budgets.csv).",
    columns=(*_period_columns(), *_area_columns(),
             Column("personal_budgets", "count", "EHC plans with a personal budget in place"),
             Column("organised_arrangements", "count", "Of which organised arrangements", required=False)),
    key=("year", "area_code"),
    time_identifiers=("January",),
    not_greater=(("organised_arrangements", "personal_budgets"),),
))

_register(Dataset(
    name="new_plans_by_need",
    title="New EHC plans by primary need",
    description="New EHC plans issued during the calendar year by the primary need named in the plan (DfE "
                "sen_need_newplans.csv); plans whose need is not recorded are UNK.",
    columns=(*_period_columns(), *_area_columns(),
             _code("primary_need", codes.PRIMARY_NEEDS, "Primary type of need (DfE code)"),
             Column("new_plans", "count", "New EHC plans issued")),
    key=("year", "area_code", "primary_need"),
    time_identifiers=("Calendar year",),
    total_codes=(("primary_need", "ALL"),),
    breakdowns=("primary_need",),
))

_register(Dataset(
    name="mental_health",
    title="Children's mental health services (NHS England MHSDS)",
    description="From the Mental Health Services Data Set monthly statistics, by sub-ICB or provider and the "
                "month a reporting period ends: children and young people aged under 18 supported with at least "
                "one contact in the 12 months to that month (MHS95), and children and young people (0-18) with "
                "an eating disorder entering treatment in the 3 months to that month, urgent (ED86) and routine "
                "(ED87) cases, with those entering treatment within 1 week (urgent, ED86a) and within 4 weeks "
                "(routine, ED87a + ED87b).",
    columns=(*_period_columns(), *_area_columns(),
             Column("cyp_in_contact", "count", "CYP under 18 with at least one contact, rolling 12 months (MHS95)"),
             Column("ed_urgent", "count", "Urgent eating-disorder referrals entering treatment (ED86)"),
             Column("ed_urgent_1wk", "count", "Of which within 1 week (ED86a)"),
             Column("ed_routine", "count", "Routine eating-disorder referrals entering treatment (ED87)"),
             Column("ed_routine_4wk", "count", "Of which within 4 weeks (ED87a + ED87b)")),
    key=("month", "area_code"),
    time_identifiers=("Month",),
    not_greater=(("ed_urgent_1wk", "ed_urgent"), ("ed_routine_4wk", "ed_routine")),
    monthly=True,
))


_register(Dataset(
    name="ehcp_pathway",
    title="EHC needs assessment pathway, request level",
    description="One row per request for an EHC needs assessment, from a council's SEN2 person-level return: "
                "the days from the request to the decision to assess, to the decision to issue and to the final "
                "plan, or to the census date while a step is still open (censored). Written by the SEN2 "
                "person-level reader; pseudonymous (no name, date of birth, UPN, ULN or postcode); not summed "
                "to parent areas. Only for signed-in analysts and the Pathway page's curves.",
    columns=(*_period_columns(), *_area_columns(),
             Column("request_id", "text", "Pseudonymous request identifier (keyed hash)"),
             _code("primary_need", codes.PRIMARY_NEEDS, "Primary type of need (of the plan, when there is one; else UNK)"),
             _code("age_band", codes.AGE_BANDS, "Age band on the day of the request"),
             _code("decision", codes.PATHWAY_DECISIONS, "Outcome of the request, as known on the census date"),
             Column("days_to_decision", "count", "Days from the request to the decision whether to assess", required=False),
             _code("issue_decision", codes.PATHWAY_ISSUE, "Outcome of the assessment, as known on the census date"),
             Column("days_to_issue_decision", "count", "Days from the request to the decision whether to issue",
                    required=False),
             Column("days_to_plan", "count", "Days from the request to the final plan", required=False),
             Column("exception", "code", "Y when a 20-week time-limit exception applies", ("Y", "N")),
             Column("days_observed", "count", "Days from the request to the census date of the return it comes from"),
             Column("observed_year", "count", "Year of that census")),
    key=("year", "request_id"),
    time_identifiers=("Calendar year",),
    person_level=True,
))

_register(Dataset(
    name="school_census",
    title="Pupils by SEN status (school census)",
    description="Pupils in schools at the January census by SEN status, primary need and phase. "
                "Pupils with no SEN have primary_need NONE.",
    columns=(*_period_columns(), *_area_columns(),
             _code("sen_status", codes.SEN_STATUSES, "SEN provision"),
             Column("primary_need", "code", "Primary type of need (NONE for pupils with no SEN)",
                    (*codes.PRIMARY_NEEDS, "NONE")),
             _code("phase", codes.PHASES, "School phase"),
             Column("pupils", "count", "Number of pupils")),
    key=("year", "area_code", "sen_status", "primary_need", "phase"),
    time_identifiers=("January",),
    total_codes=(("primary_need", "ALL"),),
    breakdowns=("primary_need", "phase"),
    extra_checks=("need_matches_status",),
))

_register(Dataset(
    name="waiting_list",
    title="Children's community waiting lists by wait band",
    description="Children and young people waiting at the end of each month, by service, EHCP "
                "status and how long they have waited, in the publisher's own wait bands (a local "
                "extract's 0-4, 4-8, ... 52+ weeks; NHS England CHS 0-1, 1-2, 2-4, 4-12, 12-18, 18-52, 52+; "
                "NHS autism statistics under 13 / 13 or more). Every waiting measure is computed from "
                "whatever bands a source has: shares over N weeks only where N is a band edge of that "
                "source, medians by interpolation within the band holding the median.",
    columns=(*_period_columns(), *_area_columns(),
             _code("service", codes.SERVICES, "Service"),
             _code("ehcp_status", codes.EHCP_STATUSES, "Whether the child has an EHC plan"),
             Column("wait_band", "code", "Weeks waited so far, as the publisher bands them: the code carries the "
                    "band's bounds ('<lower>to<upper>wk', lower inclusive, upper exclusive; '<lower>plus' open-ended; "
                    "'unbanded' = on the list, wait not recorded by weeks). Bands of one area, month, service and "
                    "EHCP status must not overlap. Sets in use: " + "; ".join(
                        f"{k}: {', '.join(v)}" for k, v in codes.WAIT_BAND_SETS.items()), codes.WAIT_BAND_CODES),
             Column("waiting", "count", "Children waiting")),
    key=("month", "area_code", "service", "ehcp_status", "wait_band"),
    time_identifiers=("Month",),
    breakdowns=("ehcp_status", "wait_band"),
    monthly=True,
    extra_checks=("wait_bands_disjoint",),
))

_register(Dataset(
    name="waiting_activity",
    title="Children's community services activity",
    description="Referrals received and accepted, and children seen (first contact) and seen "
                "within 18 weeks, by month, service and EHCP status.",
    columns=(*_period_columns(), *_area_columns(),
             _code("service", codes.SERVICES, "Service"),
             _code("ehcp_status", codes.EHCP_STATUSES, "Whether the child has an EHC plan"),
             Column("referrals_received", "count", "Referrals received"),
             Column("referrals_accepted", "count", "Referrals accepted"),
             Column("seen", "count", "Children seen for a first appointment"),
             Column("seen_within_18_weeks", "count", "Of whom seen within 18 weeks of referral")),
    key=("month", "area_code", "service", "ehcp_status"),
    time_identifiers=("Month",),
    not_greater=(("referrals_accepted", "referrals_received"), ("seen_within_18_weeks", "seen")),
    breakdowns=("ehcp_status",),
    monthly=True,
))

_register(Dataset(
    name="outcomes",
    title="Outcomes by SEN status",
    description="Attainment, absence, exclusions and participation at 16-17 by SEN status, as a "
                "numerator and a denominator so that any area's figure is a sum over a sum.",
    columns=(*_period_columns(), *_area_columns(),
             _code("sen_status", codes.SEN_STATUSES, "SEN provision"),
             _code("outcome", codes.OUTCOMES, "Outcome measured"),
             Column("numerator", "number", "See the outcome's definition"),
             Column("denominator", "number", "See the outcome's definition"),
             Column("sd", "number", "Attainment 8 only: standard deviation of the pupils' scores (divisor n - 1). "
                    "Optional; with it the average gets a Student's t interval and a funnel plot. The DfE "
                    "publishes only the average, so published files have none", required=False)),
    key=("year", "area_code", "sen_status", "outcome"),
    time_identifiers=("Academic year",),
    extra_checks=("outcome_ratio",),
    spreads=(("sd", "numerator", "denominator"),),
))

_register(Dataset(
    name="benchmarks",
    title="Published benchmark values",
    description="Published values of catalogue measures for England, regions, other councils and "
                "statistical neighbours, with their source and edition.",
    columns=(*_period_columns(), *_area_columns(),
             Column("measure_id", "text", "A measure id from the catalogue"),
             Column("value", "number", "Published value, in the measure's unit"),
             Column("numerator", "number", "Published numerator, when known", required=False),
             Column("denominator", "number", "Published denominator, when known", required=False),
             Column("source", "text", "Publication the value comes from"),
             Column("edition", "text", "Edition (e.g. release date)", required=False)),
    key=("year", "area_code", "measure_id"),
    time_identifiers=("January", "Calendar year", "Academic year", "Financial year"),
))

_register(Dataset(
    name="place_costs",
    title="Cost per place (for the demand projection)",
    description="A council's annual cost of one place, by primary need and setting, for projecting high-needs "
                "spend. A primary_need of ALL is the setting's cost for any need without a row of its own. "
                "Every cost shown carries the table's source.",
    columns=(
        Column("area_code", "text", "Council ONS code whose costs these are"),
        _code("primary_need", codes.PRIMARY_NEEDS, "Primary type of need (ALL: any need)"),
        _code("setting_type", codes.SETTING_TYPES, "Type of setting"),
        Column("cost_per_place", "number", "Cost of one place for a year, in pounds"),
        Column("price_year", "text", "Financial year of the prices, e.g. 2025-26", required=False),
        Column("source", "text", "Where the costs come from (shown beside every cost)"),
    ),
    key=("area_code", "primary_need", "setting_type"),
    reference=True,
))

_register(Dataset(
    name="statistical_neighbours",
    title="DfE statistical neighbours",
    description="The DfE children's services statistical neighbours: 10 per council.",
    columns=(
        Column("area_code", "text", "Council ONS code"),
        Column("neighbour_code", "text", "Neighbour council ONS code"),
        Column("neighbour_rank", "count", "1 = most similar"),
    ),
    key=("area_code", "neighbour_code"),
    reference=True,
))


def identity_columns(ds: Dataset) -> list[str]:
    """Canonical columns that identify a figure: the key without its breakdown columns."""
    return [period_column(ds) if k in ("year", "month") else k for k in ds.key if k not in ds.breakdowns]


def period_column(ds: Dataset) -> str:
    """Canonical period column of a dataset: `month` (DATE) or `year` (INTEGER)."""
    return "month" if ds.monthly else "year"


def canonical_columns(ds: Dataset) -> list[tuple[str, str]]:
    """(name, SQL type) of the canonical table written for a dataset."""
    cols: list[tuple[str, str]] = []
    if not ds.reference:
        cols.append((period_column(ds), "DATE" if ds.monthly else "INTEGER"))
    for c in ds.columns:
        if c.kind == "period" or c.name == "time_identifier":
            continue
        cols.append((c.name, c.sql_type))
        if c.is_indicator:
            cols.append((c.name + "_symbol", "VARCHAR"))
    return cols
