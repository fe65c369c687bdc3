"""Benchmarking an area: its comparators, a spine across measures and a funnel across councils.

* :func:`comparators` - an area with its statistical neighbours, England and its region for one
  measure and year, from the loaded data (which wins) and the published benchmarks.
* :func:`spine_rows` - the area's value against England and the range of the councils, measure by
  measure (percentages, rates and averages only: counts of different-sized areas do not compare).
* :func:`council_values`, :func:`pooled_sd`, :func:`funnel_kind`, :func:`funnel_frame` - every
  council's value and denominator, and funnel limits (Wilson, exact Poisson or normal for means),
  widened for overdispersion when asked; :func:`funnel_summary` decides whether the limits are
  widened (Spiegelhalter 2005) and says what the plot shows.
* :func:`ranked_summary`, :func:`spine_summary` - the tables, titles and sentences the Benchmarks
  page shows with its ranked bars and spine chart.

Loaded figures come from the measure engine (already disclosure-controlled); published benchmark
counts in the suppression range are dropped, never shown. No Streamlit here.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import chi2

from send_metrics.catalogue import Measure
from send_metrics.measures.pair_comparison import as_float
from send_metrics.stats import comparisons, disclosure, funnels, intervals

ENGLAND = "E92000001"
MIN_FUNNEL_COUNCILS = 20
SIG_WORDS = {"better": "better than", "worse": "worse than", "similar": "similar to",
             "higher": "higher than", "lower": "lower than"}
SPINE_COLUMNS = ["measure_id", "area_level", "area_code", "value"]


def comparators(loaded: pd.DataFrame, published: pd.DataFrame, m: Measure, area: str,
                neighbours: Sequence[str], region: str | None = None) -> pd.DataFrame:
    """An area, its neighbours, England and its region for one measure and year.

    ``loaded``: measure-table rows (already disclosure-controlled) for the measure and year;
    ``published``: benchmark rows (area_code, area_name, value, numerator, denominator, source).
    Loaded data wins over published; published proportions with a numerator and denominator get
    a Wilson interval. Returns area_code, area_name, role, value, lower_95, upper_95, source.
    """
    wanted = [area, *[n for n in neighbours if n != area], ENGLAND, *([region] if region else [])]
    rows = []
    for code in dict.fromkeys(wanted):
        role = ("selected" if code == area else "England" if code == ENGLAND
                else "region" if code == region else "neighbour")
        hit = loaded[loaded["area_code"] == code]
        if len(hit) and np.isfinite(as_float(hit["value"].iloc[0])):
            r = hit.iloc[0]
            rows.append({"area_code": code, "area_name": r.get("area_name", code), "role": role,
                         "value": as_float(r["value"]), "lower_95": as_float(r.get("lower_95")),
                         "upper_95": as_float(r.get("upper_95")), "source": "loaded data"})
            continue
        if len(hit) and bool(hit["suppressed"].iloc[0]):
            rows.append({"area_code": code, "area_name": hit["area_name"].iloc[0], "role": role,
                         "value": np.nan, "lower_95": np.nan, "upper_95": np.nan,
                         "source": "suppressed (small numbers)"})
            continue
        pub = published[published["area_code"] == code]
        if len(pub) and np.isfinite(as_float(pub["value"].iloc[0])):
            p = pub.iloc[0]
            lo = hi = np.nan
            x, n = as_float(p.get("numerator")), as_float(p.get("denominator"))
            if m.kind == "proportion" and np.isfinite(x) and np.isfinite(n) and 0 < n and x <= n:
                lo, hi = (v * m.multiplier for v in intervals.wilson_ci(x, n, 0.95))
            rows.append({"area_code": code, "area_name": p.get("area_name", code), "role": role,
                         "value": as_float(p["value"]), "lower_95": lo, "upper_95": hi,
                         "source": f"published: {p.get('source', '')}"})
    out = pd.DataFrame(rows, columns=["area_code", "area_name", "role", "value", "lower_95", "upper_95", "source"])
    eng = out.loc[out["role"] == "England", "value"]
    bench = float(eng.iloc[0]) if len(eng) else np.nan
    out["sig_england"] = comparisons.compare_to_benchmark(out["lower_95"].to_numpy(float), out["upper_95"].to_numpy(float),
                                                    np.full(len(out), bench), m.polarity) if len(out) else []
    out.loc[out["role"] == "England", "sig_england"] = "not_compared"
    return out


def spine_rows(area_rows: pd.DataFrame, loaded: pd.DataFrame, published: pd.DataFrame,
               measures: Mapping[str, Measure], area: str, min_comparators: int = 3) -> pd.DataFrame:
    """One row per measure for a spine chart: the area's value against England and the range of
    the councils with a value (loaded or published), with the area's significance against England.

    ``area_rows``: the area's measure-table rows for the year (one per measure); ``loaded``: the
    measure table for the year, every area; ``published``: benchmark rows for the year."""
    rows = []
    for _, r in area_rows.iterrows():
        m = measures.get(r["measure_id"])
        if m is None or not m.is_ratio or not np.isfinite(as_float(r["value"])) \
                or not np.isfinite(as_float(r.get("england_value"))):
            continue  # counts of different-sized areas are not comparable
        lo = loaded[(loaded["measure_id"] == m.id) & (loaded.get("area_level") == "council")
                    & (loaded["area_code"] != area)][["area_code", "value"]]
        pub = published[(published["measure_id"] == m.id) & (published["area_level"] == "council")
                        & (published["area_code"] != area) & ~published["area_code"].isin(lo["area_code"])]
        vals = pd.concat([lo["value"], pub["value"]]).astype(float).dropna()
        if len(vals) < min_comparators:
            continue
        n = len(vals)
        vals = pd.concat([vals, pd.Series([as_float(r["value"])])])  # the range includes the area itself
        rows.append({"measure_id": m.id, "measure_title": m.title, "unit": m.unit, "value": as_float(r["value"]),
                     "benchmark": as_float(r["england_value"]), "min": vals.min(), "q25": vals.quantile(0.25),
                     "q75": vals.quantile(0.75), "max": vals.max(), "n_comparators": n,
                     "sig": str(r.get("sig_england_95")), "period_label": r.get("period_label")})
    return pd.DataFrame(rows, columns=["measure_id", "measure_title", "unit", "value", "benchmark", "min", "q25",
                                       "q75", "max", "n_comparators", "sig", "period_label"])


def council_values(loaded: pd.DataFrame, published: pd.DataFrame, m: Measure,
                   low: float = 1, high: float = 4) -> pd.DataFrame:
    """Every council with a value, numerator and denominator for a funnel plot.

    Loaded (disclosure-controlled) rows win; published rows are added for other councils, with
    published counts in the suppression range dropped as well. For a mean, ``sd`` is the
    standard deviation of the observations (loaded data only: publications give none)."""
    cols = ["area_code", "area_name", "value", "numerator", "denominator", "sd", "source"]
    a = loaded[(loaded.get("area_level") == "council") & loaded["value"].notna()
               & loaded["denominator"].notna() & loaded["numerator"].notna()]
    a = a.assign(source="loaded data")
    if "sd" not in a.columns:
        a = a.assign(sd=np.nan)
    a = a[cols] if len(a) else pd.DataFrame(columns=cols)
    p = published[(published["area_level"] == "council") & ~published["area_code"].isin(a["area_code"])]
    p = p[p["value"].notna() & p["numerator"].notna() & p["denominator"].notna()]
    p = p[~disclosure.primary_suppress(p["numerator"].to_numpy(float), low, high)]
    p = p.assign(source="published", sd=np.nan)[cols] if len(p) else pd.DataFrame(columns=cols)
    parts = [x for x in (a, p) if len(x)]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    if m.kind == "rate" or m.kind == "proportion":
        out = out[out["denominator"].astype(float) > 0]
    return out.reset_index(drop=True)


def pooled_sd(councils: pd.DataFrame) -> float:
    """The pooled within-council standard deviation of one observation,
    ``sqrt(sum((n_i - 1) sd_i^2) / sum(n_i - 1))`` over councils with an ``sd`` and at least 2
    observations: the sigma of a funnel for means. NaN when none has one."""
    sd = pd.to_numeric(councils.get("sd"), errors="coerce").astype(float) if "sd" in councils else pd.Series(
        dtype=float)
    n = pd.to_numeric(councils.get("denominator"), errors="coerce").astype(float) if len(sd) else sd
    ok = np.isfinite(sd) & np.isfinite(n) & (n >= 2)
    if not ok.any():
        return float("nan")
    return float(np.sqrt(((n[ok] - 1) * sd[ok] ** 2).sum() / (n[ok] - 1).sum()))


def funnel_kind(m: Measure) -> str:
    """The funnel limits a measure takes: 'proportion' (Wilson), 'mean' (normal) or 'rate' (exact Poisson)."""
    return m.kind if m.kind in ("proportion", "mean") else "rate"


def funnel_frame(councils: pd.DataFrame, m: Measure, benchmark: float, points: int = 200,
                 phi: float = 1.0, tau2: float | None = None,
                 sd: float | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Funnel limits (95% and 99.8%) around ``benchmark`` and each council's position.

    Proportions use Wilson-based limits (PHE / Fingertips), rates exact Poisson, means the normal
    limits ``benchmark +/- z sd / sqrt(n)`` (Spiegelhalter 2005, Table I) with ``sd`` the pooled
    within-council standard deviation (:func:`pooled_sd`). ``phi`` > 1
    widens the limits for multiplicative over-dispersion, ``tau2`` > 0 for additive
    (DerSimonian-Laird random effects) over-dispersion (Spiegelhalter 2005; see
    :func:`funnels.overdispersion_phi`, :func:`funnels.overdispersion_tau2`). Returns (limits, councils with ``outside_95``/``outside_998``
    and ``position`` text)."""
    kind = funnel_kind(m)
    den = councils["denominator"].astype(float)
    lo_n, hi_n = max(1.0, den.min() * 0.8), den.max() * 1.2
    grid = np.unique(np.geomspace(lo_n, hi_n, points).round())
    limits = pd.DataFrame({"denominator": grid})
    c = councils.copy()
    for conf, label in ((0.95, "95"), (0.998, "998")):
        lo, hi = funnels.funnel_limits(grid, benchmark, kind, conf, m.multiplier, phi=phi, tau2=tau2, sd=sd)
        limits[f"lower_{label}"], limits[f"upper_{label}"] = lo, hi
        plo, phi_ = funnels.funnel_limits(den.to_numpy(), benchmark, kind, conf, m.multiplier, phi=phi, tau2=tau2,
                                        sd=sd)
        c[f"lower_{label}"], c[f"upper_{label}"] = plo, phi_
        c[f"outside_{label}"] = (c["value"] < plo) | (c["value"] > phi_)
    c["position"] = np.where(c["value"] > c["upper_998"], "▲ above 99.8% limit",
                    np.where(c["value"] < c["lower_998"], "▼ below 99.8% limit",
                    np.where(c["value"] > c["upper_95"], "△ above 95% limit",
                    np.where(c["value"] < c["lower_95"], "▽ below 95% limit", "● within limits"))))
    return limits, c


# -- what the Benchmarks page shows ------------------------------------------------------------
def ranked_summary(comp: pd.DataFrame, m: Measure, area: str, name: str, year: str, neighbours: Sequence[str],
                   not_loaded: str | None, sig_text: Callable[[object], str]) -> dict:
    """The ranked bars of :func:`comparators` (``bars``; None when no bar has a value), England's and
    the region's lines, title candidates, the sentence and the rounded table.

    ``name``: the area's name; ``not_loaded``: why the measure has no figure at all (None when it is
    loaded); ``sig_text``: words for a verdict against England."""
    bars = comp[comp["role"].isin(["selected", "neighbour"])]
    if bars["value"].notna().sum() == 0:
        return {"bars": None}
    eng = comp.loc[comp["role"] == "England", "value"]
    reg = comp.loc[comp["role"] == "region", ["area_name", "value"]]
    eng_v = float(eng.iloc[0]) if len(eng) else None
    me = comp[comp["role"] == "selected"]
    shown = bars.dropna(subset=["value"])
    parts = []
    if len(me) and pd.notna(me["value"].iloc[0]):
        v = float(me["value"].iloc[0])
        sig = str(me["sig_england"].iloc[0])
        better_high = m.polarity != "lower_is_better"
        rank = int((shown["value"] > v).sum() if better_high else (shown["value"] < v).sum()) + 1
        word = "best" if m.polarity != "no_judgement" else "highest"
        if len(shown) <= 1 and (eng_v is None or sig not in SIG_WORDS):
            titles = (f"{name}: {m.format_value(v)}; no comparator figures loaded", "No comparator figures loaded")
        elif eng_v is not None and sig in SIG_WORDS:
            titles = (f"{name} {SIG_WORDS[sig]} England: {m.format_value(v)} vs {m.format_value(eng_v)}",
                      f"{name} {SIG_WORDS[sig]} England", f"{SIG_WORDS[sig].capitalize()} England")
        else:
            titles = (f"{name} ranks {rank} of {len(shown)} with its neighbours",
                      "Ranked against statistical neighbours")
        lo, hi = me["lower_95"].iloc[0], me["upper_95"].iloc[0]
        ci = f" (95% CI {m.format_value(lo)} to {m.format_value(hi)})" if pd.notna(lo) else ""
        vs = f", {sig_text(sig)}: {SIG_WORDS[sig]} England" if sig in SIG_WORDS else ""
        parts.append(f"{name}: {m.format_value(v)} in {year}{ci}{vs}")
        parts.append(f"It ranks {rank} of {len(shown)} ({'1 = ' + word}) among itself and its "
                     f"{len(shown) - 1} statistical neighbours with a value")
    else:
        titles = (f"{name}'s statistical neighbours, {year}", "Statistical neighbours compared")
        parts.append(f"{name}'s own figure is {not_loaded} for {year}" if not_loaded else
                     f"{name}'s own figure is suppressed or not available for {year}")
    if eng_v is not None:
        parts.append(f"England {m.format_value(eng_v)} (dashed line)")
    if len(reg):
        parts.append(f"{reg['area_name'].iloc[0]} {m.format_value(reg['value'].iloc[0])} (dash-dot line)")
    if not neighbours:
        parts.append(f"{name} has no DfE statistical neighbours (only councils do), so it is compared with "
                     "England and its region only")
    missing = [n for n in neighbours if n not in set(shown["area_code"])]
    if missing:
        parts.append(f"{len(missing)} neighbours have no figure for this year")
    data = comp.assign(value=comp["value"].round(2), lower_95=comp["lower_95"].round(2),
                       upper_95=comp["upper_95"].round(2), sig=comp["sig_england"].map(sig_text))
    return {"bars": bars, "england": eng_v,
            "region": (str(reg["area_name"].iloc[0]), float(reg["value"].iloc[0])) if len(reg) else None,
            "titles": titles, "sentence": ". ".join(parts) + ".", "data": data,
            "source": f"{m.source} Other councils: published DfE figures (see the Source column).",
            "columns": {"area_name": "Area", "role": "Role", "value": f"Value ({m.unit})", "lower_95": "95% lower",
                        "upper_95": "95% upper", "sig": "vs England", "source": "Source"}}


def area_spine(loaded: pd.DataFrame, published: pd.DataFrame, measures: Mapping[str, Measure],
               area: str) -> pd.DataFrame:
    """:func:`spine_rows` for an area from the year's measure table and published benchmarks. The
    comparators are councils only, so spine_rows is given the council rows (and the columns it
    reads): the same result, faster."""
    area_rows = loaded[loaded["area_code"] == area]
    councils = loaded.loc[loaded["area_level"] == "council", SPINE_COLUMNS]
    published = published.loc[published["area_level"] == "council", SPINE_COLUMNS]
    return spine_rows(area_rows, councils, published, measures, area)


def spine_summary(spine: pd.DataFrame, name: str, year: str, sig_text: Callable[[object], str]) -> dict:
    """Title candidates, sentence and rounded table for a non-empty :func:`spine_rows`."""
    n = len(spine)
    worse = int((spine["sig"] == "worse").sum())
    better = int((spine["sig"] == "better").sum())
    differ = int(spine["sig"].isin(["better", "worse", "higher", "lower"]).sum())
    sentence = (f"Each row places {name}'s value within the range of the councils with a figure in {year} "
                "(light grey: lowest to highest; blue: the middle half); the black line is England. The marker's "
                "shape gives the comparison with England: ▲ better or higher, ▼ worse or lower, ● similar. "
                f"{name} differs significantly from England on {differ} of {n} measures: better on {better}, worse on "
                f"{worse}, and higher or lower on {differ - better - worse} that carry no judgement. Only percentages, "
                "rates and averages are shown: counts are not comparable between areas of different sizes.")
    data = spine.assign(**{c: spine[c].round(2) for c in ("value", "benchmark", "min", "q25", "q75", "max")},
                        sig_text=spine["sig"].map(sig_text))
    return {"titles": (f"{name}: {differ} of {n} measures differ significantly from England",
                       f"{differ} of {n} measures differ significantly from England"),
            "sentence": sentence, "data": data,
            "columns": {"measure_title": "Measure", "period_label": "Period", "value": name,
                        "benchmark": "England", "min": "Lowest council", "q25": "Lower quartile",
                        "q75": "Upper quartile", "max": "Highest council",
                        "n_comparators": "Councils compared", "sig_text": "vs England"}}


def funnel_summary(loaded: pd.DataFrame, published: pd.DataFrame, m: Measure, area: str, name: str, year: str,
                   lower_title: str, low: float = 1, high: float = 4) -> dict:
    """Every council against funnel limits around England for one measure and year, or why none is
    drawn (``info``: a Markdown message, with its ``icon`` when it has one).

    Limits are widened for overdispersion by the multiplicative model when councils vary more than
    chance allows (Spiegelhalter 2005: I x phi beyond the 95th centile of chi-square on I - 1
    degrees of freedom); the additive random-effects model's count is given beside it. Returns the
    limits, the councils' positions (``points``), England's value, title candidates, sentence,
    source and table columns."""
    councils = council_values(loaded[loaded["measure_id"] == m.id], published, m, low, high)
    eng = loaded.loc[(loaded["measure_id"] == m.id), "england_value"].dropna()
    pub_eng = published.loc[published["area_code"] == ENGLAND, "value"].dropna()
    bench = float(eng.iloc[0]) if len(eng) else (float(pub_eng.iloc[0]) if len(pub_eng) else None)
    if m.kind not in ("proportion", "rate", "mean"):
        return {"info": f"A funnel plot compares rates, percentages or averages with their denominators; "
                        f"{m.title} is a {m.kind.replace('_', ' ')}. Choose a percentage, a rate or an average."}
    sd = None
    if m.kind == "mean":
        # Limits for an average need the spread of the pupils' scores; only loaded extracts with an
        # sd column give it (the DfE publishes averages alone), and none is ever assumed.
        councils = councils[pd.to_numeric(councils["sd"], errors="coerce").notna()].reset_index(drop=True)
        sd = pooled_sd(councils)
        if not np.isfinite(sd):
            return {"info": f"**Funnel plot not drawn:** limits for an average need the standard deviation of "
                            f"the pupils' scores in each council, and none is loaded for {m.title} in {year} (the DfE "
                            "publishes only the average). The averages are compared in the bars above, without "
                            "intervals; an outcomes extract with the `sd` column gives both.",
                    "icon": ":material/info:"}
    if len(councils) < MIN_FUNNEL_COUNCILS or bench is None:
        return {"info": f"**Funnel plot not drawn:** it needs figures with numerators and denominators for at "
                        f"least {MIN_FUNNEL_COUNCILS} councils, and {len(councils)} are loaded for {m.title} in "
                        f"{year}{'' if bench is not None else ' (and no England value)'}. Load the national file - "
                        "for example the DfE 'Education, health and care plans' CSVs for every local authority, "
                        "or LAIT - on the Upload page or with `python -m send_metrics load`.",
                "icon": ":material/info:"}
    kind = funnel_kind(m)
    phi = funnels.overdispersion_phi(councils["numerator"], councils["denominator"], bench, kind, m.multiplier, sd=sd)
    _, raw = funnel_frame(councils, m, bench, sd=sd)
    over = bool(np.isfinite(phi) and len(councils) * phi > chi2.ppf(0.95, len(councils) - 1))
    limits, pos = funnel_frame(councils, m, bench, phi=phi if over else 1.0, sd=sd)
    out998 = int(pos["outside_998"].sum())
    out95 = int(pos["outside_95"].sum())
    parts = [f"Each point is a council's {lower_title} in {year} against its denominator, "
             f"with 95% (dashed) and 99.8% (dotted) limits around England ({m.format_value(bench)})"]
    if over:
        tau2 = funnels.overdispersion_tau2(councils["numerator"], councils["denominator"], bench, kind, m.multiplier,
                                         sd=sd)
        _, additive = funnel_frame(councils, m, bench, tau2=tau2, sd=sd)
        parts.append(f"Councils vary far more than chance alone gives, so the limits drawn are widened for "
                     f"overdispersion by the multiplicative model (factor φ = {phi:.1f}, limits widened by √φ); "
                     f"the additive random-effects model (DerSimonian-Laird, as NHS England uses for SHMI) would put "
                     f"{int(additive['outside_998'].sum())} of {len(pos)} outside the 99.8% limits, and the "
                     f"unwidened limits {int(raw['outside_998'].sum())}")
    parts.append(f"{out95} councils are outside the 95% limits (about {0.05 * len(pos):.0f} expected by chance) "
                 f"and {out998} outside the 99.8% limits")
    me = pos[pos["area_code"] == area]
    if len(me):
        parts.append(f"{name}: {m.format_value(me['value'].iloc[0])}, {me['position'].iloc[0]}")
    else:
        parts.append(f"{name} is not a council or has no figure, so it is not on the plot")
    source = f"{m.source} Limits: " + (
        "multiplicative overdispersion, normal approximation widened by √φ (Spiegelhalter 2005)." if over
        else ("Wilson score, as PHE and Fingertips (PHEindicatormethods phe_funnels)." if kind == "proportion" else
              (f"normal, England ± z × σ/√pupils with σ = {sd:.1f} points, the pooled within-council standard "
               "deviation of pupils' scores (Spiegelhalter 2005)." if kind == "mean"
               else "exact Poisson (Spiegelhalter 2005).")))
    return {"info": None, "limits": limits, "points": pos, "benchmark": bench,
            "data": pos.assign(value=pos["value"].round(2)),
            "titles": (f"{out998} of {len(pos)} councils outside the 99.8% limits" + (" (widened)" if over else ""),
                       "Councils against the funnel limits"),
            "sentence": ". ".join(parts) + ".", "source": source,
            "columns": {"area_name": "Council", "value": f"Value ({m.unit})", "numerator": "Numerator",
                        "denominator": "Denominator", "position": "Position", "source": "Source"}}
