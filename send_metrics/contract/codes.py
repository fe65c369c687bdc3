"""The data contract's code lists: every code a filter column may hold, with its label.

Primary needs, age bands, settings, phases, services, statuses, area levels, outcomes, the reasons a
plan ceased and the steps of the assessment pathway, each a mapping from code to label; and the
wait bands, whose codes encode their bounds. The dataset declarations (``send_metrics.contract``)
allow exactly these codes in their columns, and pages and reports label a code from here, so a
code and its label are written once.
"""
from __future__ import annotations


# EES symbols (and the legacy ones older files use). Each maps to its meaning.
SYMBOLS: dict[str, str] = {
    "c": "suppressed (confidential)",
    "x": "not available",
    "z": "not applicable",
    "low": "rounds to 0 but is not 0",
    "u": "low reliability",
    ":": "not available (legacy symbol)",
    "~": "rounds to 0 (legacy symbol)",
}


PRIMARY_NEEDS: dict[str, str] = {
    "ASD": "Autistic spectrum disorder",
    "SLCN": "Speech, language and communication needs",
    "SEMH": "Social, emotional and mental health",
    "MLD": "Moderate learning difficulty",
    "SLD": "Severe learning difficulty",
    "PMLD": "Profound and multiple learning difficulty",
    "SPLD": "Specific learning difficulty",
    "HI": "Hearing impairment",
    "VI": "Vision impairment",
    "MSI": "Multi-sensory impairment",
    "PD": "Physical disability",
    "OTH": "Other difficulty or disability",
    "DS": "Down syndrome",
    "NSA": "SEN support but no specialist assessment of type of need",
    "UNK": "Not recorded",
    "ALL": "All primary needs (not broken down in the source)",
}


AGE_BANDS: dict[str, str] = {
    # Written "0to4" rather than "0-4" because Excel turns "5-10" into a date.
    "0to4": "Under 5",
    "5to10": "Aged 5 to 10",
    "11to15": "Aged 11 to 15",
    "16to19": "Aged 16 to 19",
    "20to25": "Aged 20 to 25",
    "all": "All ages (not broken down in the source)",
}


SETTING_TYPES: dict[str, str] = {
    "mainstream": "Mainstream school or academy (incl. resourced provision and SEN units)",
    "special": "State-funded special school or academy",
    "alternative_provision": "Alternative provision or pupil referral unit",
    "independent": "Independent or non-maintained special school",
    "post16": "Further education, sixth-form college or other post-16 setting",
    "early_years": "Early years setting",
    "other": "Other arrangements (educated elsewhere, home education, not in education)",
    "all": "All settings (not broken down in the source)",
}


# National curriculum year by age (see ehcp_persons.ncy): -5 (not born by 31 August) to 21 (age 25).
NCY_CODES: tuple[str, ...] = tuple(str(v) for v in range(-5, 22))


PHASES: dict[str, str] = {
    "primary": "State-funded primary",
    "secondary": "State-funded secondary",
    "special": "State-funded special",
    "alternative_provision": "Alternative provision / pupil referral unit",
    "independent": "Independent school",
}


SEN_STATUSES: dict[str, str] = {
    "ehc_plan": "Education, health and care plan",
    "sen_support": "SEN support",
    "no_sen": "No identified SEN",
}


SERVICES: dict[str, str] = {
    "SLT": "Speech and language therapy",
    "OT": "Occupational therapy",
    "AUTISM": "Autism assessment",
    "ADHD": "ADHD assessment",
    "CAMHS": "Child and adolescent mental health services",
    "PAEDS": "Community paediatrics",
    "PHYSIO": "Physiotherapy",
    # Children and young people's services of the NHS England Community Health Services waiting
    # lists (CHS SitRep) that a SEND dashboard follows, besides the ones above.
    "AUDIOLOGY": "Audiology (children)",
    "DIETETICS": "Dietetics (children)",
    "ORTHOTICS": "Orthotics (children)",
    "WHEELCHAIR": "Wheelchair, orthotics, prosthetics and equipment (children)",
    "CYP_NURSING": "Children's community nursing (planned care and rapid response)",
    "CYP_LTC": "Children's nursing and therapy for long-term conditions",
}


EHCP_STATUSES: dict[str, str] = {
    "ehc_plan": "Has an EHC plan",
    "no_ehc_plan": "No EHC plan",
    "all": "All children (EHCP status not recorded)",
}


# Wait bands. Every publisher bands waits its own way, so the contract does not impose one set:
# a wait band CODE ENCODES ITS BOUNDS, in weeks waited so far:
#   "<lower>to<upper>wk"  lower (inclusive) to upper (exclusive), e.g. "18to52wk";
#   "<lower>plus"         lower or more, open-ended, e.g. "52plus";
#   "unbanded"            on the list, but the wait was not recorded by weeks (NHS CHS: "some
#                         providers were still collecting data by weeks waiting"): counted in the
#                         list size, never in a share or a median.
# `wait_band_bounds(code)` reads the bounds from any code of that form. The codes a file may use
# are the ones of the band sets below (one set per source); a source whose bands are not here adds
# its set (one line). Within one area, month, service and EHCP status, a file's bands must not
# overlap (checked on load), so every set is a partition of the weeks waited, however coarse.
WAIT_BAND_SETS: dict[str, tuple[str, ...]] = {
    "standard": ("0to4wk", "4to8wk", "8to13wk", "13to18wk", "18to26wk", "26to52wk", "52plus"),
    # NHS England Community Health Services waiting lists (Tables 4a-4g): 0-1 weeks (0-7 days),
    # >1-2 (8-14 days), >2-4 (15-28), >4-12 (29-84), >12-18 (85-126), >18-52 (127-364), over 52.
    "nhs_chs": ("0to1wk", "1to2wk", "2to4wk", "4to12wk", "12to18wk", "18to52wk", "52plus", "unbanded"),
    # NHS England autism waiting time statistics: open referrals, of which open 13 weeks or more.
    "nhs_autism": ("0to13wk", "13plus"),
}


UNBANDED = "unbanded"


def wait_band_bounds(code: str) -> tuple[float | None, float | None]:
    """(lower weeks inclusive, upper weeks exclusive or None when open-ended) from a band code;
    (None, None) for "unbanded". ValueError when the code does not follow the grammar."""
    import re
    c = str(code).strip()
    if c == UNBANDED:
        return None, None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)to(\d+(?:\.\d+)?)wk", c)
    if m and float(m.group(1)) < float(m.group(2)):
        return float(m.group(1)), float(m.group(2))
    m = re.fullmatch(r"(\d+(?:\.\d+)?)plus", c)
    if m:
        return float(m.group(1)), None
    raise ValueError(f"not a wait band code: {code!r} (use '<lower>to<upper>wk', '<lower>plus' or 'unbanded')")


# Every allowed band code -> (lower, upper) in weeks; "unbanded" has no bounds and no entry here.
WAIT_BANDS: dict[str, tuple[float, float | None]] = {
    code: wait_band_bounds(code) for codes in WAIT_BAND_SETS.values() for code in codes if code != UNBANDED}


WAIT_BAND_CODES: tuple[str, ...] = (*WAIT_BANDS, UNBANDED)


def wait_bands_from(weeks: float) -> list[str]:
    """Band codes wholly at or above `weeks` (children who have waited `weeks` or more)."""
    return [c for c, (lo, _) in WAIT_BANDS.items() if lo >= weeks]


def wait_bands_straddling(weeks: float) -> list[str]:
    """Band codes with `weeks` strictly inside them: a source using one of them has no band edge
    at `weeks`, so its share waiting `weeks` or more cannot be computed (never estimated)."""
    return [c for c, (lo, hi) in WAIT_BANDS.items() if lo < weeks and (hi is None or hi > weeks)]


def wait_band_label(code: str) -> str:
    if code == UNBANDED:
        return "wait not recorded by weeks"
    lo, hi = wait_band_bounds(code)
    return f"{lo:g} to {hi:g} weeks" if hi is not None else f"{lo:g} weeks or more"


OUTCOMES: dict[str, tuple[str, str, str]] = {
    # code: (what the numerator counts, what the denominator counts, label)
    "ks2_rwm_expected": ("pupils meeting the expected standard in reading, writing and maths",
                         "pupils at the end of key stage 2", "KS2 expected standard (RWM)"),
    "ks4_attainment8": ("sum of Attainment 8 points", "pupils at the end of key stage 4",
                        "KS4 average Attainment 8 score"),
    "ks4_basics_9to4": ("pupils achieving grade 4 or above in English and maths",
                        "pupils at the end of key stage 4", "KS4 grade 4+ English and maths"),
    "overall_absence": ("sessions missed", "possible sessions", "Overall absence rate"),
    "persistent_absence": ("pupils missing 10% or more of sessions", "pupils enrolled",
                           "Persistent absence"),
    "suspensions": ("suspensions", "pupils enrolled", "Suspension rate"),
    "permanent_exclusions": ("permanent exclusions", "pupils enrolled",
                             "Permanent exclusion rate"),
    "eet_16_17": ("16-17 year olds in education, employment or training",
                  "16-17 year olds known to the council", "16-17 in education, employment or training"),
    "ks4_destination": ("pupils in a sustained education, employment or training destination after key stage 4",
                        "pupils at the end of key stage 4", "KS4 sustained destination"),
    "neet_16_17": ("16-17 year olds not in education, employment or training (incl. not known)",
                   "16-17 year olds known to the council", "16-17 NEET or not known"),
}


AREA_LEVELS: dict[str, str] = {
    "england": "Country",
    "region": "Region",
    "council": "Upper-tier council (local authority)",
    "former_council": "Former upper-tier council (abolished)",
    "former_district": "Former district council (abolished)",
    "district": "Lower-tier district council (population denominators only)",
    "locality": "Dashboard locality",
    "health_footprint": "Health footprint",
    "sub_icb": "Sub-ICB location",
    "icb": "Integrated Care Board",
    "provider": "NHS provider (not a geography)",
    "combined": "Combined series (labelled sum of areas)",
}


# Reasons an EHC plan ceased: the SEN2 return's `ceasereason` codes 1-9 (DfE guide, module 4a), as the
# release's ceased_plans.csv columns name them, plus the release's "not recorded".
CEASE_REASONS: dict[str, str] = {
    "max_age": "Reached maximum age", "needs_met": "Needs met without a plan",
    "higher_education": "Moved on to higher education", "employment": "Moved on to paid employment",
    "transferred": "Transferred to another LA in England", "no_engagement": "Young person no longer wishes to engage",
    "moved_outside_england": "Moved outside England", "deceased": "Deceased", "other": "Other reason",
    "not_recorded": "Reason not recorded", "all": "All reasons (not broken down)",
}


PATHWAY_DECISIONS: dict[str, str] = {
    "assess": "Decision to assess", "refused": "Decision not to assess",
    "withdrawn": "Withdrawn or ceased before a decision", "open": "No decision yet (open on the census date)",
}


PATHWAY_ISSUE: dict[str, str] = {
    "issue": "Decision to issue a plan", "not_issued": "Decision not to issue a plan",
    "withdrawn": "Withdrawn or ceased before a decision", "open": "No decision yet (open on the census date)",
    "none": "Not assessed (no assessment)",
}
