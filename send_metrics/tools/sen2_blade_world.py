"""The synthetic council behind the demo's SEN2 person-level return: its people, their EHC needs
assessment cases and plans year by year, calibrated so that the local measures equal the published
Cumberland figures the demo shows (the figures and their sources are listed in
``tools.sen2_blade_demo``, which writes this world as COLLECT's Blade export). Deterministic (fixed
seed); every name, date of birth, UPN and postcode is synthetic.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from send_metrics.ingest.sen2_blade import CUMBERLAND_LSOA21

SEED = 22
LA = "942"
COUNCIL = "E06000063"
LOCALITIES = ("LOC-ALLERDALE", "LOC-CARLISLE", "LOC-COPELAND-N", "LOC-MILLOM")
LOCALITY_WEIGHTS = (0.34, 0.40, 0.235, 0.025)
# Postcode districts of each locality (synthetic units inside real districts).
DISTRICTS = {"LOC-ALLERDALE": ("CA12", "CA13", "CA14", "CA15", "CA7"), "LOC-CARLISLE": ("CA1", "CA2", "CA3", "CA4", "CA6"),
             "LOC-COPELAND-N": ("CA25", "CA26", "CA27", "CA28"), "LOC-MILLOM": ("LA18", "LA19")}

# (return year, census (reference) date, export date, layout version)
RETURNS = ((2024, dt.date(2024, 1, 18), dt.date(2024, 3, 15), "1.1"),
           (2025, dt.date(2025, 1, 16), dt.date(2025, 3, 14), "1.2"),
           (2026, dt.date(2026, 1, 15), dt.date(2026, 3, 13), "1.3"))
VERSIONS_BY_AGE = ("1.1", "1.2", "1.3")  # the layouts of the return, oldest first
CASELOAD = {2024: 2656, 2025: 2893, 2026: 3088}
# calendar year: (new plans, issued incl. exceptions, of which within 20 weeks, issued excl. exceptions)
ISSUED = {2023: (402, 393, 104, 384), 2024: (412, 378, 159, 373), 2025: (318, 286, 19, 284)}
# calendar year: (requests received, refused, decisions to assess or not known at the next census, of which
# within 6 weeks). 2023-2024 DfE requests.csv (2023: 400 to assess + 129 not = 529 decisions; 98.7% within
# 6 weeks); 2025 the demo's synthetic figures.
REQUESTS = {2023: (551, 129, 529, 522), 2024: (718, 278, 690, 683), 2025: (772, 262, 745, 611)}
WITHDRAWN = {2023: 10, 2024: 12, 2025: 15}  # requests withdrawn before a decision (synthetic; at most these)
NOT_ISSUED_MIN = 8  # assessments a year that end in a decision not to issue, at least (synthetic)
NOT_ISSUED_LAST = 30  # of the last year's assessments not (yet) leading to a plan, those decided not to issue
# Published need and setting counts the caseload reproduces (see the docstring).
NEED_COUNTS = {2025: {"ASD": 1041, "SLCN": 623, "SEMH": 574, "MLD": 17, "SLD": 303, "PMLD": 32, "SPLD": 45,
                      "HI": 33, "VI": 28, "MSI": 0, "PD": 191, "OTH": 0, "UNK": 6}}
ASD_2024 = 955  # 35.96% of 2,656 (Cumberland SEND and AP strategy 2024)
SETTING_COUNTS = {2024: {"mainstream": 1557, "special": 467, "alternative_provision": 31, "independent": 83},
                  2025: {"mainstream": 1754, "special": 517, "alternative_provision": 43, "independent": 80}}
# The rest of each January's caseload: post-16, early years, other, in the demo's proportions (demo.SETTING_SHARES).
SETTING_REST = {2024: (12.5, 1.9, 5.1), 2025: (11.0, 1.0, 5.2)}
# EHC plans ceased in calendar 2023 by reason code (DfE EHC plans 2025, ceased_plans.csv, Cumberland, "All ceased
# EHC plans": max_age 0, needs_met 5, he 10, employ 38, transfer 40, no_engage 163, moved_outside_eng 3, deceased 1,
# other 0; total_ceased 260).
CEASED_2023 = {"1": 0, "2": 5, "3": 10, "4": 38, "5": 40, "6": 163, "7": 3, "8": 1, "9": 0}
OPEN_2026 = 40  # requests received in January 2026 before the census, awaiting the decision to assess

NEEDS = (("ASD", 36), ("SLCN", 17), ("SEMH", 17), ("MLD", 9), ("SLD", 5), ("PD", 4), ("SPLD", 3), ("HI", 1.5),
         ("PMLD", 1.5), ("OTH", 2.5), ("VI", 1), ("MSI", 0.5), ("DS", 2))
SETTINGS = (("mainstream", 59), ("special", 21), ("independent", 6), ("post16", 8), ("alternative_provision", 1.5),
            ("early_years", 1.5), ("other", 3))
SURNAMES = ("Armstrong", "Bell", "Graham", "Nixon", "Routledge", "Elliot", "Johnstone", "Irving", "Dixon", "Tyson",
            "Hodgson", "Wilson", "Atkinson", "Robson", "Jackson", "Steele", "Fisher", "Moffat", "Little", "Scott")
FORENAMES = ("Alex", "Sam", "Jamie", "Charlie", "Morgan", "Riley", "Taylor", "Jordan", "Casey", "Robin", "Ellis",
             "Harper", "Quinn", "Rowan", "Skye", "Ash", "Drew", "Finley", "Kit", "Reese")
ETHNICITIES = (("WBRI", 92), ("WOTH", 3), ("MWBC", 1.5), ("AOTH", 1), ("BAFR", 0.5), ("NOBT", 2))

# Synthetic establishments: (urn, name, GIAS type, setting)
SCHOOLS = [(990100 + i, f"Synthetic Primary School {i}", "Community school") for i in range(12)] + \
          [(990200 + i, f"Synthetic Academy {i}", "Academy converter") for i in range(8)] + \
          [(990300 + i, f"Synthetic Special School {i}", "Community special school") for i in range(3)] + \
          [(990320, "Synthetic Special Academy", "Academy special converter")] + \
          [(990400 + i, f"Synthetic Independent Special School {i}", "Other independent special school") for i in range(3)] + \
          [(990500, "Synthetic Pupil Referral Unit", "Pupil referral unit")] + \
          [(990600 + i, f"Synthetic College {i}", "Further education") for i in range(2)]
SCHOOL_BY_SETTING = {"mainstream": [s for s in SCHOOLS if s[2] in ("Community school", "Academy converter")],
                     "special": [s for s in SCHOOLS if "special" in s[2] and "independent" not in s[2]],
                     "independent": [s for s in SCHOOLS if "independent" in s[2]],
                     "alternative_provision": [s for s in SCHOOLS if s[2] == "Pupil referral unit"],
                     "post16": [s for s in SCHOOLS if s[2] == "Further education"]}
OTHER_SETTING_CODES = ("OLA", "EHE", "OPA", "NIEO")


@dataclass
class Person:
    n: int
    surname: str
    forename: str
    birth: dt.date
    sex: str
    ethnicity: str
    postcode: str
    upn: str
    uln: str
    need: list[str]
    setting: str
    locality: str


@dataclass
class Case:
    person: Person
    received: dt.date
    decision: dt.date | None = None
    request_outcome: str = ""
    assessed: dt.date | None = None
    assessment_outcome: str = ""
    week20: bool = False
    start: dt.date | None = None
    cease: dt.date | None = None
    cease_reason: str = ""
    tags: set = field(default_factory=set)


def _pick(rng: random.Random, weighted):
    items, weights = zip(*weighted)
    return rng.choices(items, weights=weights)[0]


def _day(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=rng.randint(0, (last - first).days))


class _World:
    def __init__(self, seed: int, geo: dict[str, list[str]]):
        self.rng = random.Random(seed)
        self.geo = geo  # locality -> LSOA21 codes
        self.people: list[Person] = []
        self.cases: list[Case] = []
        self.postcodes: dict[str, tuple[str, str]] = {}  # postcode -> (lsoa, locality)
        self.districts = DISTRICTS

    def person(self, age_at: dt.date, age_lo: int, age_hi: int) -> Person:
        rng = self.rng
        n = len(self.people) + 1
        age = rng.randint(age_lo, age_hi)
        birth = age_at - dt.timedelta(days=int(age * 365.25) + rng.randint(1, 360))
        locality = rng.choices(LOCALITIES, weights=LOCALITY_WEIGHTS)[0]
        lsoa = rng.choice(self.geo[locality])
        while True:
            pc = f"{rng.choice(self.districts[locality])} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}" \
                 f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
            if pc not in self.postcodes:
                break
        self.postcodes[pc] = (lsoa, locality)
        need = [_pick(rng, NEEDS)]
        if rng.random() < 0.45:
            second = _pick(rng, NEEDS)
            if second != need[0]:
                need.append(second)
        p = Person(n, rng.choice(SURNAMES), rng.choice(FORENAMES), birth, rng.choice("MF"), _pick(rng, ETHNICITIES),
                   pc, f"Z{942:03d}{n:09d}", f"99{n:08d}" if birth.year < 2010 else "",
                   need, _pick(rng, SETTINGS), locality)
        self.people.append(p)
        return p

    def plan_case(self, start: dt.date, weeks: str, person: Person | None = None, other_la: bool = False,
                  exception: bool = False) -> Case:
        rng = self.rng
        if weeks == "within":
            days = rng.randint(90, 140)
        elif weeks == "old":
            days = rng.randint(100, 320)
        else:
            days = rng.randint(141, 330)
        received = start - dt.timedelta(days=days)
        person = person or self.person(received, 1, 17)
        slow_decision = person.locality == "LOC-MILLOM" or rng.random() < 0.25
        decision = received + dt.timedelta(days=rng.randint(43, min(80, days - 40)) if slow_decision
                                           else rng.randint(20, 42))
        assessed = start - dt.timedelta(days=rng.randint(10, max(11, min(60, (start - decision).days - 5))))
        c = Case(person, received, decision, "C", assessed, "S" if other_la else "Y", exception, start)
        self.cases.append(c)
        return c

    def other_case(self, received: dt.date, kind: str) -> Case:
        rng = self.rng
        person = self.person(received, 1, 17)
        c = Case(person, received)
        if kind == "refused":
            c.decision, c.request_outcome = received + dt.timedelta(days=rng.randint(18, 75)), "B"
        elif kind == "withdrawn":
            c.decision, c.request_outcome = received + dt.timedelta(days=rng.randint(10, 40)), "A"
        elif kind == "not_issued":
            c.decision, c.request_outcome = received + dt.timedelta(days=rng.randint(25, 60)), "C"
            c.assessed, c.assessment_outcome = c.decision + dt.timedelta(days=rng.randint(40, 90)), "N"
        elif kind == "open_assessment":
            c.decision, c.request_outcome = received + dt.timedelta(days=rng.randint(25, 60)), "C"
        self.cases.append(c)
        return c


LSOA21 = CUMBERLAND_LSOA21
assert [len(LSOA21[loc]) for loc in LOCALITIES] == [59, 71, 41, 6]


def _geo() -> dict[str, list[str]]:
    """Locality -> its LSOA 2021 codes, sorted (a fresh copy: the world may not change the constant)."""
    return {loc: sorted(LSOA21[loc]) for loc in LOCALITIES}


def build(seed: int = SEED) -> _World:
    """Every case history, calibrated (see the module docstring)."""
    w = _World(seed, _geo())
    rng = w.rng
    census = {y: d for y, d, _e, _v in RETURNS}
    new_cases: list[Case] = []
    for year, (new, inc, within, ex) in ISSUED.items():
        first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
        kinds = (["within"] * within + ["late"] * (ex - within) + ["exception"] * (inc - ex) + ["other_la"] * (new - inc))
        rng.shuffle(kinds)
        for kind in kinds:
            c = w.plan_case(_day(rng, first, last), "within" if kind == "within" else "late",
                            other_la=kind == "other_la", exception=kind == "exception")
            new_cases.append(c)
    # Plans issued in January 2026 before the census date (calendar 2026 is in no return here).
    for _ in range(8):
        new_cases.append(w.plan_case(_day(rng, dt.date(2026, 1, 2), census[2026] - dt.timedelta(days=1)), "late"))
    for year in REQUESTS:
        _calibrate_requests(w, new_cases, year, census[year + 1])
    for _ in range(OPEN_2026):
        w.other_case(_day(rng, dt.date(2026, 1, 1), census[2026] - dt.timedelta(days=2)), "open_request")

    def active_new(d: dt.date) -> int:
        return sum(1 for c in new_cases if c.start <= d)

    a1, a2, a3 = (active_new(census[y]) for y in (2024, 2025, 2026))
    c0 = sum(CEASED_2023.values())  # 260 plans ceased in 2023 (published)
    base = CASELOAD[2024] - a1 + c0
    c1 = base - c0 + a2 - CASELOAD[2025]
    c2 = base - c0 - c1 + a3 - CASELOAD[2026]
    assert min(base, c1, c2) > 0, (base, c1, c2)
    # Plans issued before 2023 still open on 1 January 2023; the oldest leave first.
    stock = []
    for _ in range(base):
        start = _day(rng, dt.date(2012, 1, 1), dt.date(2022, 12, 31))
        p = w.person(dt.date(2023, 1, 1), 2, 20)
        stock.append(w.plan_case(start, "old", person=p))
    by_age = sorted(stock, key=lambda c: (c.person.birth, c.person.n))
    leaving = by_age[: c0 + c1 + c2]
    rng.shuffle(leaving)
    windows = ([(dt.date(2023, 1, 1), dt.date(2023, 12, 31))] * c0
               + [(census[2024] + dt.timedelta(days=1), census[2025])] * c1
               + [(census[2025] + dt.timedelta(days=1), census[2026])] * c2)
    # Plans ceased in 2023 carry the published reasons exactly; later years' reasons are synthetic.
    reasons_2023 = [code for code, n in CEASED_2023.items() for _ in range(n)]
    assert len(reasons_2023) == c0
    random.Random(seed + 2023).shuffle(reasons_2023)
    for i, (c, (first, last)) in enumerate(zip(leaving, windows)):
        c.cease = _day(rng, first, last)
        age = (c.cease - c.person.birth).days // 365
        c.cease_reason = "1" if age >= 19 and rng.random() < 0.6 else rng.choice("2345679")
        if i < c0:
            c.cease_reason = reasons_2023[i]
    _calibrate_needs_and_settings(w, census[2024], census[2025], random.Random(seed + 2425))
    return w


def _decide(c: Case, rng: random.Random, census: dt.date, slow: bool | None) -> None:
    """Date the decision whether to assess: known at `census` within 6 weeks (slow False), after 6 weeks
    (slow True), or not yet known at `census` (slow None); the later steps of a case that goes on to
    assessment are re-dated after it."""
    if slow is None:
        c.decision = census + dt.timedelta(days=rng.randint(1, 10))
    else:
        room = (census - c.received).days
        lo, hi = (43, min(80, room)) if slow else (min(20, room), min(42, room))
        if c.start is not None:
            hi = min(hi, (c.start - c.received).days - 40)
        c.decision = c.received + dt.timedelta(days=rng.randint(lo, max(lo, hi)))
    if c.start is not None:
        gap = (c.start - c.decision).days
        c.assessed = c.start - dt.timedelta(days=rng.randint(10, max(11, min(60, gap - 5))))
    elif c.request_outcome == "C" and c.assessment_outcome:
        c.assessed = c.decision + dt.timedelta(days=rng.randint(40, 200))


def _calibrate_requests(w: _World, plan_cases: list[Case], year: int, census: dt.date) -> None:
    """Add the requests of `year` that did not lead to a plan, and date every decision, so that the return of
    `census` counts REQUESTS[year] exactly: requests received in the year, refusals, decisions (to assess or
    not) known at the census, and of those, decisions within 6 weeks."""
    rng = w.rng
    requests, refused, decisions, within = REQUESTS[year]
    first, oct31 = dt.date(year, 1, 1), dt.date(year, 10, 31)
    plans = sorted((c for c in plan_cases if c.received.year == year), key=lambda c: (c.received, c.person.n))
    assessing = decisions - refused  # decisions to assess known at the census
    not_issued = max(NOT_ISSUED_MIN, assessing - len(plans))
    decided_plans = assessing - not_issued
    spare = requests - refused - len(plans) - not_issued  # withdrawn, or undecided at the census
    assert 0 <= decided_plans <= len(plans) and spare >= 0, (year, len(plans), decided_plans, spare)
    withdrawn = min(WITHDRAWN[year], spare)
    undecided = spare - withdrawn
    # The latest requests that led to a plan are the ones still undecided at the census.
    late = plans[decided_plans:]
    assert all(c.received >= census - dt.timedelta(days=42) for c in late), (year, len(late))
    for c in late:
        _decide(c, rng, census, None)
    others = []
    for _ in range(refused):
        others.append(w.other_case(_day(rng, first, oct31), "refused"))
    # In the last year most assessments are still open at the census (awaiting the plan).
    n_issued = NOT_ISSUED_LAST if year == max(REQUESTS) else not_issued
    for i in range(not_issued):
        others.append(w.other_case(_day(rng, first, oct31), "not_issued" if i < n_issued else "open_assessment"))
    for _ in range(withdrawn):
        w.other_case(_day(rng, first, oct31), "withdrawn")
    for _ in range(undecided):
        c = w.other_case(_day(rng, census - dt.timedelta(days=40), dt.date(year, 12, 31)),
                         "open_request" if year == max(REQUESTS) else "refused")
        if c.decision is not None:
            _decide(c, rng, census, None)
    # Decisions after 6 weeks: Millom's first (its decisions are the slowest), then at random.
    decided = plans[:decided_plans] + others
    slow_n = decisions - within
    order = sorted(decided, key=lambda c: (c.person.locality != "LOC-MILLOM", rng.random()))
    eligible = [c for c in order if (census - c.received).days >= 43
                and (c.start is None or (c.start - c.received).days >= 83)]
    assert len(eligible) >= slow_n, (year, len(eligible), slow_n)
    slow = set(map(id, eligible[:slow_n]))
    for c in decided:
        _decide(c, rng, census, id(c) in slow)


def _calibrate_needs_and_settings(w: _World, jan24: dt.date, jan25: dt.date, rng: random.Random) -> None:
    """Give the children open on the January 2024 and 2025 census dates the published primary needs and
    settings (see the docstring): children open on both dates count in both."""
    def open_on(c: Case, d: dt.date) -> bool:
        return c.start is not None and c.start <= d and (c.cease is None or c.cease > d)

    both = [c.person for c in w.cases if open_on(c, jan24) and open_on(c, jan25)]
    only24 = [c.person for c in w.cases if open_on(c, jan24) and not open_on(c, jan25)]
    only25 = [c.person for c in w.cases if open_on(c, jan25) and not open_on(c, jan24)]
    n24, n25 = len(both) + len(only24), len(both) + len(only25)
    assert (n24, n25) == (CASELOAD[2024], CASELOAD[2025]), (n24, n25)

    def rest(year: int, counts: dict) -> dict:
        total = CASELOAD[year] - sum(counts.values())
        shares = SETTING_REST[year]
        base = [int(total * s / sum(shares)) for s in shares]
        base[0] += total - sum(base)
        return {**counts, **dict(zip(("post16", "early_years", "other"), base))}

    set24, set25 = rest(2024, SETTING_COUNTS[2024]), rest(2025, SETTING_COUNTS[2025])
    needs25 = dict(NEED_COUNTS[2025])
    # Children open on both dates: as many of each as both years allow, in proportion.
    common = {k: min(set24[k], set25[k]) for k in set24}
    common = _apportion(len(both), common)
    asd_both = min(needs25["ASD"], ASD_2024, round(len(both) * needs25["ASD"] / CASELOAD[2025]))
    need_both = _apportion(len(both) - asd_both, {k: v for k, v in needs25.items() if k != "ASD"})
    need_both["ASD"] = asd_both
    _assign(both, common, {k: need_both.get(k, 0) for k in needs25}, rng)
    _assign(only25, {k: set25[k] - common[k] for k in set25}, {k: needs25[k] - need_both[k] for k in needs25}, rng)
    asd24 = ASD_2024 - asd_both
    assert 0 <= asd24 <= len(only24), asd24
    other_needs = [n for n, _w in NEEDS if n not in ("ASD", "DS")]
    needs24 = {"ASD": asd24}
    for i in range(len(only24) - asd24):
        needs24[other_needs[i % len(other_needs)]] = needs24.get(other_needs[i % len(other_needs)], 0) + 1
    _assign(only24, {k: set24[k] - common[k] for k in set24}, needs24, rng)


def _apportion(total: int, weights: dict) -> dict:
    """Integers proportional to `weights`, summing to `total`, none above its weight (largest remainder)."""
    s = sum(weights.values())
    quota = {k: v * total / s for k, v in weights.items()}
    out = {k: int(q) for k, q in quota.items()}
    for k in sorted(quota, key=lambda k: (out[k] - quota[k], k))[: total - sum(out.values())]:
        out[k] += 1
    return out


def _assign(people: list[Person], settings: dict, needs: dict, rng: random.Random) -> None:
    """Give `people` exactly these settings (post-16 to the oldest, early years to the youngest) and primary
    needs (UNK: no need recorded). A second need, when a child has one, is kept unless it repeats the first."""
    assert sum(settings.values()) == len(people) == sum(needs.values()), (len(people), settings, needs)
    assert min(settings.values()) >= 0 and min(needs.values()) >= 0, (settings, needs)
    people = sorted(people, key=lambda p: (p.birth, p.n))  # oldest first
    middle = [k for k in settings if k not in ("post16", "early_years") for _ in range(settings[k])]
    rng.shuffle(middle)
    labels = ["post16"] * settings["post16"] + middle + ["early_years"] * settings["early_years"]
    need_labels = [k for k in needs for _ in range(needs[k])]
    rng.shuffle(need_labels)
    for p, s, n in zip(people, labels, need_labels):
        p.setting = s
        second = [x for x in p.need[1:] if x not in (n, "DS")]
        p.need = [] if n == "UNK" else [n, *second]


def build_large(open_plans: int = 20_000, years: int = 5, seed: int = SEED) -> tuple[_World, tuple]:
    """A large council for the benchmark: about `open_plans` plans open on every census date and
    `years` returns of history (January 2026 the last), with the same kinds of case histories as
    the calibrated export (not calibrated to any published figure). Returns the world and its
    returns (year, census date, export date, layout) for `snapshot_rows`."""
    w = _World(seed, _geo())
    # Room for every address: more postcode districts than the small export uses (synthetic).
    w.districts = {loc: tuple(f"{d}{x}" if x else d for d in ds for x in ("", "A", "B", "C", "D"))
                   for loc, ds in DISTRICTS.items()}
    rng = w.rng
    first = 2026 - years + 1
    returns = tuple((y, dt.date(y, 1, 15), dt.date(y, 3, 13), VERSIONS_BY_AGE[min(i, 2)])
                    for i, y in enumerate(range(first, 2027)))
    new_per_year = open_plans // 7
    stock = [w.plan_case(_day(rng, dt.date(2010, 1, 1), dt.date(first - 2, 12, 31)), "old",
                         person=w.person(dt.date(first - 1, 1, 1), 2, 20)) for _ in range(open_plans)]
    stock.sort(key=lambda c: (c.person.birth, c.person.n))
    for year in range(first - 1, 2026):
        for _ in range(new_per_year):
            kind = rng.choices(("within", "late", "exception", "other_la"), weights=(45, 45, 7, 3))[0]
            c = w.plan_case(_day(rng, dt.date(year, 1, 1), dt.date(year, 12, 31)),
                            "within" if kind == "within" else "late", other_la=kind == "other_la",
                            exception=kind == "exception")
            stock.append(c)
        for kind, share in (("refused", 0.35), ("withdrawn", 0.03), ("not_issued", 0.05)):
            for _ in range(int(share * new_per_year)):
                w.other_case(_day(rng, dt.date(year, 1, 1), dt.date(year, 10, 31)), kind)
        # About as many plans cease as start, the oldest first.
        leaving, stock = stock[:new_per_year], stock[new_per_year:]
        for c in leaving:
            c.cease = _day(rng, dt.date(year, 1, 1), dt.date(year, 12, 31))
            if c.start and c.cease <= c.start:
                c.cease = c.start + dt.timedelta(days=1)
            c.cease_reason = rng.choice("123456789")
    for _ in range(new_per_year // 4):
        w.other_case(_day(rng, dt.date(2025, 7, 1), dt.date(2025, 11, 15)), "open_assessment")
    return w, returns
