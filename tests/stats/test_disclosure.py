"""Tests for send_metrics.stats.disclosure (primary and secondary suppression).

The secondary-suppression guarantee is checked independently of the module:
the 13 Cumbrian cells are written as linear functions of the 7 locality
counts (matrix M below), and a suppressed cell u is recoverable iff its row
c_u lies in the row space of the published rows M_P (numpy matrix_rank), or if
the non-negative integer locality vectors consistent with the published cells
give it a single value (scipy milp, exact over the integers).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from send_metrics.stats.disclosure import (
    apply_to_rates,
    audit_suppression,
    primary_suppress,
    round_to_base,
    secondary_suppress,
    suppress,
)

ALL, CAR, COPN, MIL, EDEN, BAR, SL = (
    "LOC-ALLERDALE",
    "LOC-CARLISLE",
    "LOC-COPELAND-N",
    "LOC-MILLOM",
    "LOC-EDEN",
    "LOC-BARROW-FURNESS",
    "LOC-SOUTH-LAKELAND",
)
LOCALITIES = [ALL, CAR, COPN, MIL, EDEN, BAR, SL]
CUMBERLAND, WF, COPELAND, NORTH, SOUTH, CUMBRIA = (
    "E06000063",
    "E06000064",
    "E07000029",
    "HF-NORTH-CUMBRIA",
    "HF-SOUTH-CUMBRIA",
    "E10000006",
)
# BRIEF section 3: Cumberland = Allerdale + Carlisle + Copeland (excl. Millom)
# + Millom area; W&F = Eden + Barrow + South Lakeland; North Cumbria =
# Allerdale + Carlisle + Copeland-N + Eden; South = Millom + Barrow + South
# Lakeland; former Copeland district = Copeland-N + Millom; Cumbria = all.
HIERARCHIES = [
    (CUMBERLAND, [ALL, CAR, COPN, MIL]),
    (WF, [EDEN, BAR, SL]),
    (NORTH, [ALL, CAR, COPN, EDEN]),
    (SOUTH, [MIL, BAR, SL]),
    (COPELAND, [COPN, MIL]),
    (CUMBRIA, LOCALITIES),
    (CUMBRIA, [CUMBERLAND, WF]),
    (CUMBRIA, [NORTH, SOUTH]),
]
TOTALS = {
    CUMBERLAND: [ALL, CAR, COPN, MIL],
    WF: [EDEN, BAR, SL],
    NORTH: [ALL, CAR, COPN, EDEN],
    SOUTH: [MIL, BAR, SL],
    COPELAND: [COPN, MIL],
    CUMBRIA: LOCALITIES,
}
CODES = LOCALITIES + list(TOTALS)
# M[cell, locality]: each published cell as a function of the 7 localities.
M = np.array(
    [[1.0 if loc == code else 0.0 for loc in LOCALITIES] for code in LOCALITIES]
    + [[1.0 if loc in members else 0.0 for loc in LOCALITIES] for members in TOTALS.values()]
)


def cumbria_table(localities, measure="m"):
    v = np.asarray(localities, dtype=float)
    return pd.DataFrame({"area_code": CODES, "measure": measure, "count": M @ v})


def disclosed_cells(df, integers=True):
    """Independent oracle: codes of suppressed cells an attacker can recover
    (by linear algebra, and with ``integers`` also by non-negativity)."""
    present = {c: i for i, c in enumerate(df["area_code"])}
    rows = {c: M[CODES.index(c)] for c in present}
    published = [c for c, i in present.items() if not df["suppressed"].iloc[i]]
    mp = np.array([rows[c] for c in published]) if published else np.zeros((0, 7))
    vp = np.array([df["count"].iloc[present[c]] for c in published])
    rank_p = np.linalg.matrix_rank(mp) if published else 0
    bad = []
    for code, i in present.items():
        if not df["suppressed"].iloc[i]:
            continue
        cu = rows[code]
        # linear algebra: c_u in the row space of M_P
        if np.linalg.matrix_rank(np.vstack([mp, cu])) == rank_p:
            bad.append(code)
            continue
        if not integers:
            continue
        # integers: does another non-negative integer solution change c_u . l?
        cons = [LinearConstraint(mp, vp, vp)] if published else []
        values = []
        for sign in (1.0, -1.0):
            res = milp(sign * cu, constraints=cons, integrality=np.ones(7), bounds=Bounds(0, np.inf))
            if res.status != 0:  # unbounded (or no finite optimum): many values
                values = None
                break
            values.append(round(float(cu @ res.x)))
        if values is not None and values[0] == values[1]:
            bad.append(code)
    return bad


# ---------------------------------------------------------------------------
# primary suppression and rounding
# ---------------------------------------------------------------------------
def test_primary_suppress_default_range():
    mask = primary_suppress(np.array([0, 1, 2, 4, 5, 10, np.nan]))
    assert mask.tolist() == [False, True, True, True, False, False, False]
    assert primary_suppress(3) is True and primary_suppress(0) is False


def test_primary_suppress_configurable():
    counts = pd.Series([0, 1, 7, 10, 11])
    assert primary_suppress(counts, 1, 10).tolist() == [False, True, True, True, False]
    assert primary_suppress(counts, suppress_zero=True).tolist() == [True, True, False, False, False]


def test_primary_suppress_never_flags_zero_as_a_small_count():
    counts = np.array([0, 0, 1, 4, 5, np.nan])
    assert not primary_suppress(counts, 0, 0).any()  # an empty range: no suppression
    assert not primary_suppress(counts, 1, 0).any()
    assert primary_suppress(counts, 0, 4).tolist() == primary_suppress(counts, 1, 4).tolist()
    assert primary_suppress(0, 0, 4) is False
    assert primary_suppress(counts, 0, 0, suppress_zero=True).tolist() == [True, True, False, False, False, False]


def test_round_to_base():
    assert round_to_base([0, 2, 2.5, 3, 7, 8, 12.5, np.nan], 5)[:7].tolist() == [0, 0, 5, 5, 5, 10, 15]
    assert np.isnan(round_to_base([np.nan])[0])
    assert round_to_base(14, 10) == 10.0
    with pytest.raises(ValueError):
        round_to_base(3, 0)


# ---------------------------------------------------------------------------
# secondary suppression: worked examples
# ---------------------------------------------------------------------------
def test_single_equation_suppresses_smallest_other_child():
    # P = A + B + C with A = 3 suppressed: P - B - C would reveal A, so the
    # smallest other child (C = 20) is suppressed too.
    df = pd.DataFrame(
        {"area_code": ["P", "A", "B", "C"], "count": [53, 3, 30, 20], "suppressed": [False, True, False, False]}
    )
    out = secondary_suppress(df, [("P", ["A", "B", "C"])])
    assert out["suppressed"].tolist() == [False, True, False, True]
    assert out["suppression_reason"].tolist() == [
        None,
        "primary: count 1–4",
        None,
        "secondary: protects a suppressed cell in P",
    ]
    assert df["suppressed"].tolist() == [False, True, False, False]  # input untouched


def test_suppressed_parent_gets_a_child_suppressed():
    df = pd.DataFrame(
        {"area_code": ["P", "A", "B"], "count": [4, 1, 3], "suppressed": [True, True, True]}
    )
    out = secondary_suppress(df, [("P", ["A", "B"])])
    assert out["suppressed"].all()
    df = pd.DataFrame({"area_code": ["P", "A", "B"], "count": [9, 5, 4], "suppressed": [True, False, False]})
    out = secondary_suppress(df, [("P", ["A", "B"])], labels={"P": "Parent area"})
    assert out["suppressed"].tolist() == [True, False, True]  # B = 4 is the smaller child
    assert out["suppression_reason"].iloc[2] == "secondary: protects a suppressed cell in Parent area"


def test_last_resort_is_the_parent():
    # P = A + B; A suppressed and B already suppressed for another reason -
    # nothing to add.  P = A alone (one child): the parent must go.
    df = pd.DataFrame({"area_code": ["P", "A"], "count": [3, 3], "suppressed": [False, True]})
    out = secondary_suppress(df, [("P", ["A"])])
    assert out["suppressed"].tolist() == [True, True]


def test_millom_example_worked_by_hand():
    # Localities 50, 60, 30, 3 (Millom), 40, 45, 55.
    # 1. Copeland = Copeland-N + Millom has one unknown -> suppress Copeland-N
    #    (Cumberland's smallest other child is also Copeland-N = 30).
    # 2. North = All + Car + Copeland-N + Eden now has one unknown -> Eden (40).
    # 3. W&F = Eden + Barrow + S Lakeland -> Barrow (45, smaller than 55).
    # 4. South = Millom + Barrow + SL has two unknowns; the unknowns
    #    {Millom, Copeland-N, Eden, Barrow} form a cycle M+C, C+E, E+B, M+B
    #    whose row space contains no unit vector -> stop.
    df = cumbria_table([50, 60, 30, 3, 40, 45, 55])
    out = suppress(df, HIERARCHIES, group_cols=["measure"])
    assert sorted(out.loc[out["suppressed"], "area_code"]) == sorted([COPN, MIL, EDEN, BAR])
    reasons = dict(zip(out["area_code"], out["suppression_reason"]))
    assert reasons[MIL] == "primary: count 1–4"
    assert reasons[EDEN] == f"secondary: protects a suppressed cell in {NORTH}"
    assert reasons[BAR] == f"secondary: protects a suppressed cell in {WF}"
    assert reasons[CUMBRIA] is None
    assert disclosed_cells(out) == []
    assert audit_suppression(out, HIERARCHIES, group_cols=["measure"]).empty


def test_combination_of_equations_is_caught_by_rank_check():
    # Allerdale = 1 and Millom = 3.  After the one-unknown passes, Cumberland
    # - Copeland = Allerdale + Carlisle would reveal Allerdale unless Carlisle
    # is suppressed as well: the linear-algebra step finds that (run here
    # without the bounds step, which would also catch it).
    df = cumbria_table([1, 60, 30, 3, 40, 45, 55])
    out = suppress(df, HIERARCHIES, group_cols=["measure"], check_bounds=False)
    assert out.set_index("area_code").loc[CAR, "suppressed"]
    assert disclosed_cells(out, integers=False) == []
    assert disclosed_cells(suppress(df, HIERARCHIES, group_cols=["measure"])) == []


def test_zero_total_pins_cells_unless_bounds_are_checked():
    # Localities 8, 6, 0, 0, 2 (Eden), 5, 7.  Copeland = 0 is published, so
    # Copeland-N = Millom = 0 are known by non-negativity and Eden = North -
    # 8 - 6 - 0 follows; no rank argument sees this.
    df = cumbria_table([8, 6, 0, 0, 2, 5, 7])
    loose = suppress(df, HIERARCHIES, group_cols=["measure"], check_bounds=False)
    assert EDEN in disclosed_cells(loose)
    assert not audit_suppression(loose, HIERARCHIES, group_cols=["measure"]).empty
    safe = suppress(df, HIERARCHIES, group_cols=["measure"])
    assert disclosed_cells(safe) == []
    assert audit_suppression(safe, HIERARCHIES, group_cols=["measure"]).empty


def test_groups_are_independent_and_order_is_kept():
    a = cumbria_table([50, 60, 30, 3, 40, 45, 55], "ehcp")
    b = cumbria_table([50, 60, 30, 30, 40, 45, 55], "new_plans")
    df = pd.concat([b, a], ignore_index=True).sample(frac=1.0, random_state=1)
    out = suppress(df, HIERARCHIES, group_cols=["measure"])
    assert out.index.equals(df.index)
    assert not out.loc[out["measure"] == "new_plans", "suppressed"].any()
    assert out.loc[out["measure"] == "ehcp", "suppressed"].sum() == 4


def test_default_group_cols_and_repeated_area_error():
    df = cumbria_table([50, 60, 30, 3, 40, 45, 55])
    df["period"] = "2025"
    df["suppressed"] = primary_suppress(df["count"])
    out = secondary_suppress(df, HIERARCHIES)  # groups by measure + period
    assert out["suppressed"].sum() == 4
    bad = pd.concat([df, df])
    with pytest.raises(ValueError):
        secondary_suppress(bad, HIERARCHIES)


def test_absent_and_missing_cells_are_unpublished():
    # Without Copeland and Cumbria rows (not published), Millom is protected by
    # Cumberland and South alone.
    df = cumbria_table([50, 60, 30, 3, 40, 45, 55])
    df = df[~df["area_code"].isin([COPELAND, CUMBRIA])].reset_index(drop=True)
    out = suppress(df, HIERARCHIES, group_cols=["measure"])
    assert disclosed_cells(out) == []
    # a NaN count is unknown: with Barrow NaN, South has two unknowns already
    df2 = cumbria_table([50, 60, 30, 3, 40, 45, 55])
    df2.loc[df2["area_code"] == BAR, "count"] = np.nan
    out2 = suppress(df2, HIERARCHIES, group_cols=["measure"])
    assert not out2.set_index("area_code").loc[BAR, "suppressed"]


def test_apply_to_rates():
    df = pd.DataFrame(
        {
            "count": [3, 50, 60],
            "rate": [0.1, 0.2, 0.3],
            "lower": [0.05, 0.15, 0.25],
            "suppressed": [True, False, False],
            "denominator_suppressed": [False, False, True],
        }
    )
    out = apply_to_rates(df, ["rate", "lower"], ["suppressed", "denominator_suppressed"])
    assert np.isnan(out["rate"].iloc[0]) and np.isnan(out["rate"].iloc[2])
    assert out["rate"].iloc[1] == 0.2 and out["lower"].iloc[1] == 0.15
    assert df["rate"].iloc[0] == 0.1  # input untouched
    out = apply_to_rates(df, "rate")
    assert out["rate"].isna().tolist() == [True, False, False]


# ---------------------------------------------------------------------------
# property: nothing suppressed can be recovered
# ---------------------------------------------------------------------------
counts = st.one_of(st.integers(0, 6), st.integers(0, 60))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    localities=st.lists(counts, min_size=7, max_size=7),
    high=st.sampled_from([4, 10]),
    dropped=st.sets(st.sampled_from(list(TOTALS)), max_size=2),
)
def test_property_no_suppressed_cell_is_recoverable(localities, high, dropped):
    df = cumbria_table(localities)
    df = df[~df["area_code"].isin(dropped)].reset_index(drop=True)
    out = suppress(df, HIERARCHIES, threshold_high=high, group_cols=["measure"])
    primary = primary_suppress(df["count"], 1, high)
    # primary cells stay suppressed, every suppressed cell has a reason
    assert out["suppressed"].to_numpy()[primary].all()
    assert out.loc[out["suppressed"], "suppression_reason"].notna().all()
    assert out.loc[~out["suppressed"], "suppression_reason"].isna().all()
    # no equation is left with exactly one suppressed term
    sup = dict(zip(out["area_code"], out["suppressed"]))
    for parent, children in HIERARCHIES:
        terms = [parent, *children]
        if all(t in sup for t in terms):
            assert sum(sup[t] for t in terms) != 1
    # independent rank + integer check
    assert disclosed_cells(out) == []


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    localities=st.lists(counts, min_size=7, max_size=7),
    flags=st.lists(st.booleans(), min_size=13, max_size=13),
)
def test_property_arbitrary_initial_suppression(localities, flags):
    df = cumbria_table(localities)
    df["suppressed"] = flags
    out = secondary_suppress(df, HIERARCHIES, group_cols=["measure"])
    assert (out["suppressed"] | ~df["suppressed"]).all()  # only ever adds
    assert disclosed_cells(out) == []
    # the rank step alone already prevents recovery by linear combination
    rank_only = secondary_suppress(df, HIERARCHIES, group_cols=["measure"], check_bounds=False)
    assert disclosed_cells(rank_only, integers=False) == []


# ---------------------------------------------------------------------------
# the measure engine's protection (measures.protect.protect_counts) on hand-made counts
# ---------------------------------------------------------------------------
class _RollupDB:
    """Just enough of a Database for protect_counts: the rollup map of the Cumbrian areas."""

    config = None

    def query(self, sql, *args, **kwargs):
        return pd.DataFrame([(p, c) for p, kids in TOTALS.items() for c in kids], columns=["ancestor", "leaf"])


def _engine(low=1, high=4):
    from send_metrics.measures.engine import Engine
    return Engine(_RollupDB(), suppress_min=low, suppress_max=high)


def _measure_rows(measure_id, numerators, denominators=None, period="2024"):
    """Rows of the engine's base table for the 13 Cumbrian areas, from locality counts."""
    num = M @ np.asarray(numerators, dtype=float)
    den = M @ np.asarray(denominators, dtype=float) if denominators is not None else np.full(len(CODES), np.nan)
    return pd.DataFrame({"measure_id": measure_id, "area_code": CODES, "period": period,
                         "numerator": num, "denominator": den})


LEVELS = {**{code: "locality" for code in LOCALITIES}, CUMBERLAND: "council", WF: "council",
          COPELAND: "former_district", NORTH: "health_footprint", SOUTH: "health_footprint",
          CUMBRIA: "former_council"}


def _protect(base, low=1, high=4, levels=None):
    from send_metrics.catalogue import measures_by_id
    from send_metrics.measures.engine.protect import protect_counts
    engine = _engine(low, high)
    return protect_counts(base, measures_by_id(), engine.hierarchies(), low, high, levels)


def _audit_frame(out, true, col):
    """A protected base table as audit cells: true counts, withheld where the output hides them."""
    return pd.DataFrame({"measure_id": out["measure_id"], "period": out["period"], "area_code": out["area_code"],
                         "count": true[col].to_numpy(float),
                         "suppressed": (out[col].isna() & true[col].notna()).to_numpy()})


def test_measure_quantities_link_measures_built_on_the_same_count():
    from send_metrics.catalogue import load_catalogue
    from send_metrics.measures.engine.sums import measure_quantities
    q = measure_quantities(load_catalogue())
    assert q["requests"][0] == q["requests_refused_pct"][1]
    assert q["wait_list_AUTISM"][0] == q["autism_over_13wk_pct"][1] == q["wait_median_AUTISM"][0]
    assert q["ehcp_caseload"][0] == q["ehcp_rate_0_25"][0]
    assert q["ehcp_rate_0_25"][1] is None  # population: never a small count of children
    assert q["pupils_ehcp_pct"][1] == q["pupils_sen_support_pct"][1]
    assert q["wait_list_SLT"][0] != q["wait_list_AUTISM"][0]
    assert "gap_ks2_rwm_ehc_plan" not in q


def test_engine_zero_range_suppresses_nothing():
    base = pd.concat([_measure_rows("requests", [0, 0, 3, 0, 12, 2, 0]),
                      _measure_rows("timeliness_20wk_ex", [0, 1, 0, 0, 2, 0, 0], [0, 3, 0, 1, 9, 2, 0])],
                     ignore_index=True)
    for low, high in ((0, 0), (1, 0)):
        out = _protect(base, low, high)
        assert not out["suppressed"].any()
        assert out["numerator"].equals(base["numerator"]) and out["denominator"].equals(base["denominator"])


def test_engine_shares_suppression_between_measures_on_the_same_count():
    requests = [30, 41, 25, 3, 18, 27, 33]  # Millom: 3 requests
    refused = [6, 9, 5, 0, 7, 8, 6]
    base = pd.concat([_measure_rows("requests", requests),
                      _measure_rows("requests_refused_pct", refused, requests)], ignore_index=True)
    out = _protect(base)
    req = out[out["measure_id"] == "requests"].set_index("area_code")
    pct = out[out["measure_id"] == "requests_refused_pct"].set_index("area_code")
    assert req.loc[MIL, "suppressed"] and pct.loc[MIL, "suppressed"]
    assert pct.loc[MIL, "suppression_reason"].startswith("primary: denominator")
    # the requests count is withheld in one measure exactly where it is withheld in the other
    assert (req["suppressed"] == pct["denominator"].isna()).all()
    assert pct.loc[pct["denominator"].isna(), "suppressed"].all()
    assert req["suppressed"].sum() >= 2
    assert req.loc[req["suppressed"], "numerator"].isna().all()
    for mid, col in (("requests", "numerator"), ("requests_refused_pct", "denominator"),
                     ("requests_refused_pct", "numerator")):
        cells = _audit_frame(out[out["measure_id"] == mid], base[base["measure_id"] == mid], col)
        assert audit_suppression(cells, HIERARCHIES, group_cols=["measure_id", "period"]).empty, (mid, col)


def test_engine_protects_withheld_denominators_across_the_hierarchy():
    issued = [9, 10, 3, 0, 5, 12, 8]  # Copeland excl. Millom: 3 plans issued
    within = [5, 6, 2, 0, 3, 7, 6]
    base = _measure_rows("timeliness_20wk_ex", within, issued)
    out = _protect(base)
    assert out.set_index("area_code").loc[COPN, "suppressed"]
    for col in ("numerator", "denominator"):
        cells = _audit_frame(out, base, col)
        assert cells["suppressed"].sum() >= 2
        assert audit_suppression(cells, HIERARCHIES, group_cols=["measure_id", "period"]).empty, col
        df = cells.assign(measure="m")[["area_code", "measure", "count", "suppressed"]].reset_index(drop=True)
        assert disclosed_cells(df) == [], col


def _need_rows(shares: dict, total: float, area="E06000999"):
    from send_metrics.catalogue import measures_by_id
    ids = [i for i in measures_by_id() if i.startswith("need_share_")]
    return pd.DataFrame({"measure_id": ids, "area_code": area, "period": "2024",
                         "numerator": [shares.get(i.replace("need_share_", ""), np.nan) for i in ids],
                         "denominator": float(total)})


@pytest.mark.parametrize("shares, extra", [
    ({"ASD": 20, "SLCN": 10, "SPLD": 2, "PD": 1}, "SLCN"),  # two hidden shares that add up to 3
    ({"ASD": 20, "SLCN": 9, "PD": 4}, "SLCN"),  # one hidden share; the needs with no rows are zero
])
def test_engine_hidden_need_shares_cannot_be_worked_out_from_their_total(shares, extra):
    total = sum(shares.values())
    out = _protect(_need_rows(shares, total)).set_index("measure_id")
    hidden = out.index[out["suppressed"]].str.replace("need_share_", "")
    small = {k for k, v in shares.items() if 1 <= v <= 4}
    assert set(hidden) == small | {extra}
    assert sum(shares[k] for k in hidden) > 4  # total minus the published shares is no small count
    assert out.loc[f"need_share_{extra}", "suppression_reason"] == "secondary: protects a suppressed share of the same total"


# -- issue 17.10: the rest of the group, and figures a publisher shows ------------------------------
def test_complement_suppress_flags_the_rest_of_the_group_and_none_or_all_of_a_small_group():
    from send_metrics.stats.disclosure import complement_suppress, group_max
    num = [64, 0, 7, 5, 3, 0, 10, np.nan, 12]
    den = [68, 7, 7, 11, 4, 11, 10, 9, 12]
    comp, group = complement_suppress(num, den)
    # 64 of 68 shows 4 late; 0 of 7 and 7 of 7 tell every family in the group; 3 of 4 is a
    # small group (primary suppression's job); 0 of 11 and 12 of 12 are groups above 5-10
    assert comp.tolist() == [True, False, False, False, False, False, False, False, False]
    assert group.tolist() == [False, True, True, False, False, False, True, False, False]
    assert group_max(4) == 10 and group_max(10) == 22
    off = complement_suppress(num, den, 1, 0)
    assert not off[0].any() and not off[1].any()


def test_engine_withholds_the_rest_of_a_group_below_council_level_only():
    # Copeland excl. Millom: 9 of 12 issued in 20 weeks (3 late); Millom 0 of 6 (none of a
    # small group); councils keep their own figures as published (Cumberland 33 of 40).
    issued = [10, 10, 12, 6, 9, 12, 8]
    within = [9, 9, 9, 0, 5, 7, 6]
    base = _measure_rows("timeliness_20wk_ex", within, issued)
    out = _protect(base, levels=LEVELS).set_index("area_code")
    assert out.loc[COPN, "suppressed"] and "rest of the group" in out.loc[COPN, "suppression_reason"]
    assert out.loc[MIL, "suppressed"] and "none or all" in out.loc[MIL, "suppression_reason"]
    assert not out.loc[CUMBERLAND, "suppressed"] and not out.loc[WF, "suppressed"]
    # ALL (9 of 10: 1 late) and CAR (9 of 10) too; with them hidden nothing can be worked out
    assert out.loc[ALL, "suppressed"] and out.loc[CAR, "suppressed"]
    for col in ("numerator", "denominator"):
        cells = _audit_frame(out.reset_index(), base, col)
        assert audit_suppression(cells, HIERARCHIES, group_cols=["measure_id", "period"]).empty, col


def test_engine_keeps_a_councils_zero_and_still_hides_the_localities_zero_of_a_small_group():
    # Cumberland: none of 31 waiting over 18 weeks. Each of its localities has none too, which
    # the council's own figure already says: the localities' 0 of 5-10 are not shown, and the
    # council's 0 is not withheld to protect them (it hides nothing).
    waiting = [12, 7, 6, 6, 9, 11, 14]
    over = [0, 0, 0, 0, 2, 3, 1]
    base = _measure_rows("wait_over18_OT", over, waiting)
    out = _protect(base, levels=LEVELS).set_index("area_code")
    assert not out.loc[CUMBERLAND, "suppressed"] and out.loc[CUMBERLAND, "numerator"] == 0
    for loc in (CAR, COPN, MIL):
        assert out.loc[loc, "suppressed"], loc
        assert "none or all" in out.loc[loc, "suppression_reason"]


def test_publisher_cells_are_complements_only_when_nothing_else_protects():
    # Millom 3 hidden; Cumberland (a council, fixed) would be the smallest complement of
    # Copeland's equation, but a locality protects as well, so the council stays.
    cells = pd.DataFrame({"area_code": CODES, "count": M @ np.array([40, 50, 30, 3, 20, 35, 45.0])})
    cells["suppressed"] = cells["area_code"] == MIL
    fixed = [CUMBERLAND, WF, CUMBRIA]
    out = secondary_suppress(cells, HIERARCHIES, group_cols=[], fixed_areas=fixed).set_index("area_code")
    assert not out.loc[fixed, "suppressed"].any()
    assert out["suppressed"].sum() >= 2
    assert audit_suppression(out.reset_index(), HIERARCHIES, group_cols=[]).empty
    # A parent with one child: the fixed parent is the only complement, so it is withheld
    # (protection never fails open).
    one = pd.DataFrame({"area_code": ["P", "C"], "count": [3.0, 3.0], "suppressed": [False, True]})
    got = secondary_suppress(one, [("P", ["C"])], group_cols=[], fixed_areas=["P"])
    assert got["suppressed"].all()
