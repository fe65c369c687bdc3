"""The EHC needs assessment pathway from the SEN2 person-level return (dataset `ehcp_pathway`).

Three steps, each timed in days from the request for an assessment:

1. decision whether to assess (statutory limit 6 weeks): every request; the event is the decision
   (to assess or not); a request still open on the census date is censored there; one withdrawn
   before a decision is censored at its withdrawal;
2. decision whether to issue a plan: requests the council decided to assess; event = the decision
   (to issue or not); open ones censored at the census date, withdrawn ones at their withdrawal;
3. final plan (statutory limit 20 weeks): requests with a decision to issue; event = the final plan.

Each step is a Kaplan-Meier survival curve (statsmodels), the share still waiting at each week, with
censoring for cases open on the census date, so open cases count for as long as they have waited.
Medians come with 95% intervals; "past 6 weeks" and "past 20 weeks" are the curve at 42 and 140 days
(the share still waiting then). Groups: locality, health footprint, primary need, age band.

Disclosure control: a group of 1-4 requests at a step is suppressed whole (no curve, no median, no
shares); counts of open cases in the range 1-4 are suppressed (send_metrics.stats.disclosure).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from send_metrics.contract import codes
from send_metrics.stats.disclosure import primary_reason, primary_suppress

STEPS = {
    "decision": ("Decision whether to assess", "days_to_decision"),
    "issue_decision": ("Decision whether to issue a plan", "days_to_issue_decision"),
    "plan": ("Final plan issued", "days_to_plan"),
}
LIMITS = {"6 weeks": 42, "20 weeks": 140}
GROUPINGS = {"all": "All requests", "locality": "Locality", "footprint": "Health footprint",
             "primary_need": "Primary need", "age_band": "Age group at request"}
NOT_PLACED = "Not placed (no locality)"


@dataclass
class StepData:
    durations: pd.Series  # days
    observed: pd.Series  # bool: the step happened (False: censored)


def step_data(rows: pd.DataFrame, step: str) -> StepData:
    """Time to `step` for the requests that can reach it, with the censoring rule above."""
    if step == "decision":
        cohort = rows
        event = cohort["decision"].isin(["assess", "refused"]) & cohort["days_to_decision"].notna()
        withdrawn = cohort["decision"].eq("withdrawn") & cohort["days_to_decision"].notna()
        t = np.where(event | withdrawn, cohort["days_to_decision"], cohort["days_observed"])
    elif step == "issue_decision":
        cohort = rows[rows["decision"].eq("assess")]
        event = cohort["issue_decision"].isin(["issue", "not_issued"]) & cohort["days_to_issue_decision"].notna()
        withdrawn = cohort["issue_decision"].eq("withdrawn") & cohort["days_to_issue_decision"].notna()
        t = np.where(event | withdrawn, cohort["days_to_issue_decision"], cohort["days_observed"])
    elif step == "plan":
        cohort = rows[rows["issue_decision"].eq("issue")]
        event = cohort["days_to_plan"].notna()
        t = np.where(event, cohort["days_to_plan"], cohort["days_observed"])
    else:
        raise KeyError(step)
    return StepData(pd.Series(np.asarray(t, dtype=float), index=cohort.index), pd.Series(event.to_numpy(bool), index=cohort.index))


@dataclass
class _Curve:
    """A Kaplan-Meier estimate (statsmodels SurvfuncRight) with its pointwise 95% interval."""
    weeks: np.ndarray  # 0 and every event time
    surv: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    median: float
    median_lower: float
    median_upper: float

    def at(self, weeks: float) -> float:
        """S(t): the share still waiting after `weeks` (a step function, right-continuous)."""
        i = np.searchsorted(self.weeks, weeks, side="right") - 1
        return float(self.surv[max(i, 0)])


def _fit(d: StepData, label: str) -> _Curve:
    """Kaplan-Meier with Greenwood's variance; the interval on the log(-log) scale (as lifelines and
    R's survival::survfit(conf.type = "log-log") give it); the median's interval by Brookmeyer and
    Crowley on the same scale."""
    from statsmodels.duration.survfunc import SurvfuncRight
    weeks = (d.durations.clip(lower=0) / 7.0).to_numpy(float)
    sf = SurvfuncRight(weeks, d.observed.to_numpy(int))
    t, s, se = np.asarray(sf.surv_times, float), np.asarray(sf.surv_prob, float), np.asarray(sf.surv_prob_se, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        loglog = np.log(-np.log(s))
        half = 1.959963984540054 * se / (s * np.abs(np.log(s)))
        lower = np.exp(-np.exp(loglog + half))
        upper = np.exp(-np.exp(loglog - half))
    lower = np.where(s >= 1, 1.0, np.where(s <= 0, 0.0, lower))
    upper = np.where(s >= 1, 1.0, np.where(s <= 0, 0.0, upper))

    def safe(v) -> float:
        try:
            v = float(v)
        except (TypeError, ValueError):
            return np.nan
        return v if np.isfinite(v) else np.nan

    median = safe(sf.quantile(0.5))
    try:
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # S = 0 or 1 at the ends of the curve
            lo, hi = sf.quantile_ci(0.5, alpha=0.05, method="cloglog")
    except (ValueError, IndexError, ZeroDivisionError):
        lo, hi = np.nan, np.nan
    return _Curve(np.concatenate([[0.0], t]), np.concatenate([[1.0], s]), np.concatenate([[1.0], lower]),
                  np.concatenate([[1.0], upper]), median, safe(lo), safe(hi))


def summarise(rows: pd.DataFrame, step: str, group_col: str | None = None, low: int = 1, high: int = 4
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summary table, curves) for one step, by group. Weeks throughout. Groups of 1-4 requests are
    suppressed whole: their row says so and they have no curve."""
    out, curves = [], []
    groups = [("All requests", rows)] if group_col in (None, "all") else \
        [(str(g), r) for g, r in rows.groupby(group_col, dropna=False, sort=True)]
    for name, part in groups:
        d = step_data(part, step)
        n = len(d.durations)
        rec = {"group": name, "step": STEPS[step][0], "requests": n, "completed": int(d.observed.sum()),
               "still_open": int((~d.observed).sum()), "median_weeks": np.nan, "median_lower_95": np.nan,
               "median_upper_95": np.nan, "pct_waiting_past_6_weeks": np.nan, "pct_waiting_past_20_weeks": np.nan,
               "suppressed": False, "suppression_reason": ""}
        if n == 0:
            continue
        if primary_suppress(n, low, high):
            rec.update(suppressed=True, suppression_reason=primary_reason(low, high))
            rec.update(completed=np.nan, still_open=np.nan, requests=np.nan)
            out.append(rec)
            continue
        km = _fit(d, name)
        rec["median_weeks"] = km.median
        rec["median_lower_95"] = km.median_lower
        rec["median_upper_95"] = km.median_upper
        rec["pct_waiting_past_6_weeks"] = 100 * km.at(LIMITS["6 weeks"] / 7)
        rec["pct_waiting_past_20_weeks"] = 100 * km.at(LIMITS["20 weeks"] / 7)
        if primary_suppress(rec["completed"], low, high) or primary_suppress(rec["still_open"], low, high):
            # Either would give the other away (they sum to the requests shown).
            rec["completed"] = rec["still_open"] = np.nan
        out.append(rec)
        curves.append(pd.DataFrame({"group": name, "weeks": km.weeks, "pct_still_waiting": 100 * km.surv,
                                    "lower_95": 100 * km.lower, "upper_95": 100 * km.upper}))
    table = pd.DataFrame(out)
    curve = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(
        columns=["group", "weeks", "pct_still_waiting", "lower_95", "upper_95"])
    return table, curve


def open_cases(rows: pd.DataFrame, low: int = 1, high: int = 4) -> pd.DataFrame:
    """Requests open on the latest census date, by the step they wait for and how long they have
    waited (weeks since the request), with counts of 1-4 suppressed."""
    if rows.empty:
        return pd.DataFrame(columns=["waiting_for", "waited", "requests", "suppressed"])
    latest = rows["observed_year"].max()
    r = rows[rows["observed_year"] == latest]
    waiting_for = np.select(
        [r["decision"].eq("open"), r["decision"].eq("assess") & r["issue_decision"].eq("open"),
         r["issue_decision"].eq("issue") & r["days_to_plan"].isna()],
        ["Decision whether to assess", "Decision whether to issue a plan", "Final plan"], default="")
    r = r.assign(waiting_for=waiting_for)
    r = r[r["waiting_for"] != ""]
    bins = [0, 6, 12, 20, 30, 52, np.inf]
    labels = ["under 6 weeks", "6 to 12 weeks", "12 to 20 weeks", "20 to 30 weeks", "30 to 52 weeks", "52 weeks or more"]
    r = r.assign(waited=pd.cut(r["days_observed"] / 7.0, bins=bins, labels=labels, right=False))
    t = r.groupby(["waiting_for", "waited"], observed=False).size().rename("requests").reset_index()
    t["waited"] = t["waited"].astype(str)
    t["suppressed"] = primary_suppress(t["requests"].to_numpy(), low, high)
    t.loc[t["suppressed"], "requests"] = np.nan
    t.attrs["census_year"] = int(latest)
    return t


def with_groups(rows: pd.DataFrame, membership: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """Adds `locality`, `footprint` (from the area membership) and readable need and age labels."""
    out = rows.copy()
    loc = out["area_level"].eq("locality")
    out["locality"] = np.where(loc, out["area_code"].map(names).fillna(out["area_code"]), NOT_PLACED)
    fp = (membership[membership["parent_code"].str.startswith("HF-")].drop_duplicates("child_code")
          .set_index("child_code")["parent_code"])
    out["footprint"] = np.where(loc, out["area_code"].map(fp).map(names).fillna(NOT_PLACED), NOT_PLACED)
    out["primary_need"] = out["primary_need"].map(lambda c: f"{c}: {codes.PRIMARY_NEEDS.get(c, c)}")
    out["age_band"] = out["age_band"].map(lambda c: codes.AGE_BANDS.get(c, c))
    return out


def reading(table: pd.DataFrame) -> str:
    """A plain sentence saying where the weeks go (all requests, the three steps)."""
    parts = []
    for _, r in table.iterrows():
        if r.get("suppressed") or not np.isfinite(r.get("median_weeks", np.nan)):
            parts.append(f"{r['step'].lower()}: median not reached or not shown")
        else:
            parts.append(f"{r['step'].lower()}: median {r['median_weeks']:.1f} weeks from the request, "
                         f"{r['pct_waiting_past_20_weeks']:.0f}% still waiting at 20 weeks")
    return "; ".join(parts) + "."


def load_rows(db, council: str | None = None) -> pd.DataFrame:
    """The pathway rows of a council (its own rows and its localities'), with group labels."""
    try:
        rows = db.query("SELECT * FROM ehcp_pathway")
    except Exception:  # no pathway dataset in this load
        return pd.DataFrame()
    if rows.empty:
        return rows
    membership = db.query("SELECT child_code, parent_code, relationship FROM area_membership")
    names = dict(db.rows("SELECT area_code, area_name FROM areas"))
    council_of = (membership[membership["relationship"].eq("council")].drop_duplicates("child_code")
                  .set_index("child_code")["parent_code"])
    rows["council"] = np.where(rows["area_level"].eq("council"), rows["area_code"],
                               rows["area_code"].map(council_of))
    if council:
        rows = rows[rows["council"] == council]
    return with_groups(rows, membership, names)


def pathway_figure(curve: pd.DataFrame, title: str):
    """Kaplan-Meier curves (share still waiting by weeks since the request), lines at 6 and 20 weeks."""
    import plotly.graph_objects as go
    fig = go.Figure()
    for g, part in curve.groupby("group", sort=False):
        fig.add_trace(go.Scatter(x=part["weeks"], y=part["pct_still_waiting"], mode="lines", name=str(g),
                                 line={"shape": "hv"},
                                 hovertemplate="%{y:.0f}% still waiting at %{x:.1f} weeks<extra>" + str(g) + "</extra>"))
    for weeks, label in ((6, "6 weeks"), (20, "20 weeks")):
        fig.add_vline(x=weeks, line_dash="dot", line_color="#505a5f", annotation_text=label,
                      annotation_position="top right")
    fig.update_layout(title=title, xaxis_title="Weeks since the request", yaxis_title="% still waiting",
                      yaxis_range=[0, 100], legend_title_text="", margin={"t": 60})
    return fig
