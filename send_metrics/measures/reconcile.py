"""Reconciliation: every figure given by more than one file or edition, side by side.

The loader keeps one value per figure (the newest edition that holds it; see
`send_metrics.ingest.resolve.resolve_figures`) and records every other source's value of the same figure in the load's
`reconciliation` table. This module reads it for the `reconcile` command and the data-quality
view: which figures were published more than once, whether the sources agree, and which value
the dashboard uses.
"""
from __future__ import annotations

import pandas as pd

from send_metrics.db import Database


def reconciliation(db: Database, differ_only: bool = False, dataset: str | None = None,
                   area: str | None = None) -> pd.DataFrame:
    """One row per figure and source (see sql/reconciliation.sql); empty when every figure has one source."""
    if "reconciliation" not in set(db.query("SELECT view_name FROM duckdb_views()")["view_name"]):
        return pd.DataFrame()
    return db.query_file("reconciliation", {"differ_only": differ_only, "dataset": dataset, "area": area})


def summary(db: Database) -> dict:
    """Counts of figures given by several sources, and of those whose sources disagree."""
    table = reconciliation(db)
    if table.empty:
        return {"figures": 0, "differ": 0}
    figures = table.drop_duplicates(["dataset", "area_code", "period", "figure"])
    return {"figures": int(len(figures)), "differ": int((~figures["agree"]).sum())}


# -- a council's own SEN2 return beside DfE's published figures ------------------------------------

LOCAL_DATASETS = ("ehcp_caseload", "ehcp_assessments", "ehcp_ceased")
LOCAL_COLUMNS = ["dataset", "figure", "figure_title", "area_code", "area_name", "period", "local", "published",
                 "difference", "status", "local_source", "published_edition", "explanation"]
# status: same | differ | not published (DfE does not publish the figure) | not loaded (no DfE figure in
# this load) | suppressed (a count in the suppression range, or one that would reveal it, on either side)
STATUS_TEXT = {"not published": "not published", "not loaded": "not loaded"}
# Why a local figure can differ from DfE's for the same return, by figure (see docs/sen2-person-level.md).
WHY = {
    "ehc_plans": "Both count plans open on the census date (issued on or before it, not ceased by it). Locally a "
                 "child with a second open plan counts once (the second plan is quarantined).",
    "requests": "Locally: requests with a received date in the year, as the return holds them; DfE: "
                "requests_received_in_year of the return it processed.",
    "requests_refused": "Locally: requests whose outcome is a decision not to assess; DfE: "
                        "requests_decided_not_to_assess.",
    "decisions": "Locally: requests in the year with a decision whether to assess; DfE: decisions within plus over "
                 "6 weeks.",
    "decisions_within_6_weeks": "Locally: a decision at most 42 days after the request.",
    "new_plans": "Both count plans issued (start date) in the year, including those issued after another LA's "
                 "assessment.",
    "plans_issued_ex": "Plans issued after this council's assessment, excluding those with a 20-week exception "
                       "(week20).",
    "plans_issued_20wk_ex": "Of those, issued at most 140 days after the request.",
    "plans_issued_inc": "Plans issued after this council's assessment, exceptions included.",
    "plans_issued_20wk_inc": "Of those, issued at most 140 days after the request.",
    "reviews_due": "Locally: plans open on the census date issued at least a year before it; DfE: review_expected.",
    "reviews_held": "Locally: of those, plans whose latest review meeting is in the year (the return keeps the latest "
                    "meeting only); DfE: review_meeting_<yy>.",
    "reviews_on_time": "Local only: DfE does not publish reviews held within 12 months.",
    "assessments": "Locally: plans issued in the year plus decisions not to issue and withdrawals dated in the year; "
                   "DfE: assess_in_year.",
    "assessments_not_issued": "Locally: decisions not to issue dated in the year; DfE: assess_not_issued.",
    "ceased_plans": "Both count plans whose cease date is in the year.",
}


TITLES = {
    "ehc_plans": "EHC plans (January)", "requests": "Requests for an EHC needs assessment",
    "requests_refused": "Requests refused (decision not to assess)", "decisions": "Decisions whether to assess",
    "decisions_within_6_weeks": "Decisions made within 6 weeks", "new_plans": "New EHC plans issued",
    "plans_issued_ex": "Plans issued, excluding exceptions",
    "plans_issued_20wk_ex": "Plans issued within 20 weeks, excluding exceptions",
    "plans_issued_inc": "Plans issued, including exceptions",
    "plans_issued_20wk_inc": "Plans issued within 20 weeks, including exceptions",
    "reviews_due": "Annual reviews due", "reviews_held": "Annual review meetings held in the year",
    "reviews_on_time": "Annual reviews held within 12 months", "assessments": "EHC needs assessments completed",
    "assessments_not_issued": "Assessments not leading to a plan", "ceased_plans": "EHC plans ceased",
}


def _figures(table: pd.DataFrame, ds) -> pd.DataFrame:
    """One value per side, council, period and figure (a total, or one reason of ehcp_ceased)."""
    out = []
    indicators = [c.name for c in ds.indicators]
    totals = dict(ds.total_codes)
    for (side, council, period), g in table.groupby(["side", "council", "period"], sort=True):
        if side == "published":
            g = g[(g["area_level"] == "council") & (g["area_code"] == council)]
            if g.empty:
                continue
            newest = g["edition"].fillna("").max()
            g = g[g["edition"].fillna("") == newest]
        else:
            direct = g[(g["area_level"] == "council") & (g["area_code"] == council)]
            g = direct if not direct.empty else g[g["area_level"] == "locality"]
        source = "; ".join(sorted({s.split(" [")[0] for s in g["source_file"]}))
        edition = ", ".join(sorted({str(e) for e in g["edition"].dropna()}))
        # One grain (which breakdown columns are broken down) gives the total: a total row and the
        # cells of a breakdown are two views of one figure, never added together.
        grains = g[list(ds.breakdowns)].apply(lambda r: tuple(r[c] == totals.get(c) for c in ds.breakdowns),
                                              axis=1) if ds.breakdowns else pd.Series([()] * len(g), index=g.index)
        best = max(set(grains), key=lambda k: (sum(k), (grains == k).sum()))
        top = g[grains == best]
        for col in indicators:
            vals = pd.to_numeric(top[col], errors="coerce")
            if vals.notna().any():
                out.append({"side": side, "area_code": council, "period": int(period), "figure": col,
                            "value": float(vals.sum()), "source": source, "edition": edition})
        if ds.name == "ehcp_ceased":
            cells = g[g["cease_reason"] != "all"]
            for reason, c in cells.groupby("cease_reason"):
                vals = pd.to_numeric(c["ceased_plans"], errors="coerce")
                if vals.notna().any():
                    out.append({"side": side, "area_code": council, "period": int(period),
                                "figure": f"ceased_plans:{reason}", "value": float(vals.sum()), "source": source,
                                "edition": edition})
    return pd.DataFrame(out)


def local_vs_published(db: Database, area: str | None = None) -> pd.DataFrame:
    """A council's own figures from its SEN2 person-level return (COLLECT Blade export) beside DfE's
    published figures for the same council and period, where both are loaded, with the difference
    and what can explain it. Disclosure control as everywhere: a count of 1-4 (the configured range)
    is blank on both sides, and a reason of ceased plans that could be worked out from the total and
    the other reasons is blank too. Empty when no SEN2 person-level export is loaded."""
    from send_metrics import contract
    from send_metrics.contract import codes
    from send_metrics.ingest.adapters.blade_files import SOURCE as LOCAL_SOURCE
    from send_metrics.ingest.adapters.sen2.kinds import SOURCE as PUBLISHED_SOURCE
    from send_metrics.stats.disclosure import suppress
    params = {"local": f"%{LOCAL_SOURCE}%", "published": f"%{PUBLISHED_SOURCE}%"}
    frames = []
    for name in LOCAL_DATASETS:
        ds = contract.DATASETS[name]
        cells = ", ".join(f't."{c}"' for c in ds.breakdowns) or "'all' AS _none"
        values = ", ".join(f't."{c.name}"' for c in ds.indicators)
        try:
            table = db.query_file("local_vs_published", params, table=f"{name}_all_editions", cells=cells,
                                  values=values)
        except Exception:  # the dataset is not in this load
            continue
        if table.empty or not (table["side"] == "local").any():
            continue
        figs = _figures(table, ds)
        if figs.empty:
            continue
        figs["dataset"] = name
        frames.append(figs)
    if not frames:
        return pd.DataFrame(columns=LOCAL_COLUMNS)
    figs = pd.concat(frames, ignore_index=True)
    local_councils = set(figs.loc[figs["side"] == "local", "area_code"])
    figs = figs[figs["area_code"].isin(local_councils)]
    if area:
        figs = figs[figs["area_code"] == area]
    # Disclosure control on each side: primary, and secondary within the ceased reasons.
    cfg = db.config
    protected = []
    for side, g in figs.groupby("side"):
        g = g.copy()
        g["cell"] = g["figure"]
        hierarchies = [("ceased_plans", [f for f in g["figure"].unique() if f.startswith("ceased_plans:")])]
        g = suppress(g, [h for h in hierarchies if h[1]], value_col="value", threshold_low=cfg.suppress_min,
                     threshold_high=cfg.suppress_max, area_col="cell",
                     group_cols=["side", "dataset", "area_code", "period"])
        protected.append(g)
    figs = pd.concat(protected, ignore_index=True)
    figs.loc[figs["suppressed"], "value"] = None
    wide = figs.pivot_table(index=["dataset", "area_code", "period", "figure"], columns="side",
                            values=["value", "suppressed"], aggfunc="first", dropna=False)
    meta = figs.pivot_table(index=["dataset", "area_code", "period", "figure"], columns="side",
                            values=["source", "edition"], aggfunc="first")
    quarantined = int(db.query_file("local_quarantine", {"local": params["local"]})["n"].iloc[0])
    names = dict(db.rows("SELECT area_code, area_name FROM areas"))
    rows = []
    for (dataset, council, period, figure), _ in wide.iterrows():
        def get(kind, side, frame=wide):
            try:
                v = frame.loc[(dataset, council, period, figure), (kind, side)]
            except KeyError:
                return None
            return None if isinstance(v, float) and v != v else v
        local, published = get("value", "local"), get("value", "published")
        local_sup, pub_sup = bool(get("suppressed", "local") or False), bool(get("suppressed", "published") or False)
        if local is None and not local_sup:
            continue  # only figures the council's own return gives
        base = figure.split(":")[0]
        if figure.startswith("ceased_plans:"):
            reason = figure.split(":", 1)[1]
            title = f"EHC plans ceased: {codes.CEASE_REASONS.get(reason, reason).lower()}"
        else:
            title = TITLES.get(base) or contract.DATASETS[dataset].column(base).description
        status = "suppressed" if local_sup or pub_sup else "not published" if (
            published is None and base == "reviews_on_time") else "not loaded" if published is None else (
            "same" if local == published else "differ")
        if local_sup or pub_sup:
            why = (f"A count of {cfg.suppress_min}-{cfg.suppress_max}, or one that would reveal it, is not shown "
                   "(disclosure control), so the two are not compared.")
            diff = None
        elif published is None:
            why = ("Not in the DfE release loaded (not published for this measure, or the release for this period "
                   "is not out or not loaded).") if base != "reviews_on_time" else WHY["reviews_on_time"]
            diff = None
        elif local == published:
            why, diff = "Same figure.", 0.0
        else:
            diff = local - published
            parts = [WHY.get(base, "")]
            if quarantined:
                parts.append(f"{quarantined:,} rows of the export were quarantined (see the load report) and are not "
                             "counted locally; DfE counted the return as it accepted it.")
            parts.append("The local figure is counted from the return as exported from COLLECT; DfE's is from the "
                         "return as DfE closed it. Corrections made in COLLECT after either, and cases added late, "
                         "show as differences.")
            if dataset == "ehcp_ceased":
                parts.append("DfE's guidance describes its columns other and not_rec the other way round from their "
                             "names; they are read by name (other = code 9).")
            why = " ".join(p for p in parts if p)
        rows.append({"dataset": dataset, "figure": figure, "figure_title": title, "area_code": council,
                     "area_name": names.get(council, council), "period": int(period), "local": local,
                     "published": published, "difference": diff, "status": status,
                     "local_source": get("source", "local", meta), "published_edition": get("edition", "published", meta),
                     "explanation": why})
    out = pd.DataFrame(rows, columns=LOCAL_COLUMNS)
    return out.sort_values(["area_code", "dataset", "period", "figure"], kind="stable").reset_index(drop=True)
