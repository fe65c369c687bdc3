"""The shortcuts that make secondary suppression fast (issue 19: derived tables at national scale)
change no decision: results looked up by the problem's content (``recoverability._memo``) and the
not-pinned certificate for groups in which a term of the hierarchy is absent give exactly the
suppressions and reasons of the plain computation (a linear program for every bounds check,
nothing remembered)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from send_metrics.stats import recoverability
from send_metrics.stats.disclosure import secondary_suppress

LOC = ["L1", "L2", "L3", "L4", "L5", "L6", "L7"]
# Cumbria's shape: two councils, two health footprints, a former district, the whole county twice.
HIER = [("C1", ["L1", "L2", "L3", "L4"]), ("C2", ["L5", "L6", "L7"]), ("N", ["L1", "L2", "L3", "L5"]),
        ("S", ["L4", "L6", "L7"]), ("D", ["L3", "L4"]), ("ALL", LOC), ("ALL", ["C1", "C2"])]
TOTALS = {"C1": LOC[:4], "C2": LOC[4:], "N": ["L1", "L2", "L3", "L5"], "S": ["L4", "L6", "L7"],
          "D": ["L3", "L4"], "ALL": LOC}


def _table(localities, flags, dropped, groups):
    rows = []
    for g in range(groups):
        v = dict(zip(LOC, (x + 3 * g for x in localities)))
        v.update({t: sum(v[m] for m in members) for t, members in TOTALS.items()})
        rows += [{"g": g, "area_code": a, "count": float(c)} for a, c in v.items() if a not in dropped]
    df = pd.DataFrame(rows)
    df["suppressed"] = [flags[i % len(flags)] for i in range(len(df))]
    return df


def _plain(df, **kw):
    """Secondary suppression without the shortcuts: every bounds check solves its LP, nothing is
    looked up."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(recoverability, "_memo", lambda key, compute: compute())
        mp.setattr(recoverability.GroupEquations, "_free_columns",
                   lambda self, unknown, au: np.zeros(au.shape[1], dtype=bool))
        return secondary_suppress(df, HIER, group_cols=["g"], **kw)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(localities=st.lists(st.integers(0, 12), min_size=7, max_size=7),
       flags=st.lists(st.booleans(), min_size=13, max_size=13),
       dropped=st.sets(st.sampled_from(["ALL", "C1", "D", "S"]), max_size=2),
       fixed=st.sets(st.sampled_from(["C1", "C2", "N"]), max_size=1))
def test_the_shortcuts_give_the_plain_result(localities, flags, dropped, fixed):
    df = _table(localities, flags, dropped, groups=3)
    recoverability._MEMO.clear()
    fast = secondary_suppress(df, HIER, group_cols=["g"], fixed_areas=fixed)
    again = secondary_suppress(df, HIER, group_cols=["g"], fixed_areas=fixed)  # from the memo this time
    plain = _plain(df, fixed_areas=fixed)
    for out in (fast, again):
        assert out["suppressed"].tolist() == plain["suppressed"].tolist()
        assert out["suppression_reason"].tolist() == plain["suppression_reason"].tolist()


def test_an_absent_total_still_gets_the_certificate():
    """A group without the county total: the counts are completed from its equations, so the cheap
    certificate answers where it used to leave every check to a linear program."""
    df = _table([9, 7, 3, 8, 6, 5, 11], [False] * 6 + [True] + [False] * 6, {"ALL"}, groups=1)
    group = recoverability.GroupEquations(list(df["area_code"]), df["count"].to_numpy(float), HIER)
    assert "ALL" in group.terms and "ALL" not in group.present
    full = group._completed()
    assert full is not None and full[group.col["ALL"]] == df.loc[df["area_code"].isin(LOC), "count"].sum()
    sup = df["suppressed"].to_numpy(bool).copy()
    sup[list(df["area_code"]).index("L2")] = True  # two localities of one council hidden
    sup[list(df["area_code"]).index("L1")] = True
    unknown = group.unknown(sup)
    assert unknown[group.col["ALL"]]
    au = group.a[:, unknown]
    assert group._free_columns(unknown, au).any()


def test_inconsistent_counts_are_left_to_the_linear_program():
    df = _table([9, 7, 3, 8, 6, 5, 11], [False] * 13, {"ALL"}, groups=1)
    df.loc[df["area_code"] == "C1", "count"] += 1  # a council loaded from its own rows, not its localities
    group = recoverability.GroupEquations(list(df["area_code"]), df["count"].to_numpy(float), HIER)
    assert group._completed() is None


@pytest.mark.parametrize("dropped", [set(), {"ALL"}, {"ALL", "C1"}])
def test_a_cell_pinned_by_a_zero_is_found_with_the_shortcuts(dropped):
    """D = L3 + L4 = 0 pins L3 and L4, so a hidden L5 = 2 would follow from N - L1 - L2 - L3 unless
    the bounds check protects it (no rank argument sees this): the shortcuts keep that decision."""
    df = _table([8, 6, 0, 0, 2, 5, 7], [False] * 13, dropped, groups=1)
    df["suppressed"] = (df["count"] >= 1) & (df["count"] <= 4)
    recoverability._MEMO.clear()
    fast = secondary_suppress(df, HIER, group_cols=["g"])
    plain = _plain(df)
    loose = secondary_suppress(df, HIER, group_cols=["g"], check_bounds=False)
    assert fast["suppressed"].tolist() == plain["suppressed"].tolist()
    assert fast["suppression_reason"].tolist() == plain["suppression_reason"].tolist()
    assert fast["suppressed"].tolist() != loose["suppressed"].tolist()  # the bounds check decided
