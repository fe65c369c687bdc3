"""What each figure is compared with: England, its region and its statistical neighbours (with the
significance of the difference), and its rank among those neighbours.

Only kinds that can be compared across areas of different size are (``COMPARABLE_KINDS``; counts
are never compared, as Fingertips); neighbours are pooled as a sum over a sum, never an average of
rates, and a verdict needs ``MIN_NEIGHBOURS`` neighbours with data.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from send_metrics.stats import comparisons
from send_metrics.catalogue import Measure
from send_metrics.db import Database

ENGLAND = "E92000001"
NEIGHBOURS_SQL = "SELECT area_code, neighbour_code FROM statistical_neighbours"

#: A statistical-neighbour verdict needs at least this many neighbours with both a numerator and a
#: denominator (the pooled value is still shown, with ``neighbours_n``, when fewer have data).
MIN_NEIGHBOURS = 5

#: Kinds compared with England, the region and neighbours. Counts, medians, growth and gaps
#: are not (``not_compared``); a mean is compared only where it has an interval (its
#: standard deviation is loaded), since the comparison is of the interval with the benchmark.
COMPARABLE_KINDS = ("proportion", "rate", "gap", "mean")

#: Kinds whose neighbours are pooled as a sum over a sum (a mean: total points over pupils).
POOLED_KINDS = ("proportion", "rate", "mean")


def _per_measure(measure_ids: pd.Series, fn) -> np.ndarray:
    """``fn`` of each row's measure id, worked out once per distinct measure (an object array)."""
    codes, distinct = pd.factorize(measure_ids, use_na_sentinel=False)
    return np.array([fn(i) for i in distinct], dtype=object)[codes]


def add_benchmarks(db: Database, base: pd.DataFrame, by_id: dict[str, Measure]) -> pd.DataFrame:
    """England, region and statistical neighbours for every row, with the significance of the
    difference (only for kinds that are compared: ``COMPARABLE_KINDS``)."""
    published = db.query_file("published_benchmarks")
    published["period"] = published["year"].astype(str)
    base["_year"] = base["period"].str[:4]
    # England: our own computed value when England data is loaded, else the published one.
    eng = base[base["area_code"] == ENGLAND][["measure_id", "period", "value"]].rename(
        columns={"value": "england_value"})
    eng["england_source"] = "computed from loaded England data"
    if "value_source" in base:
        src = base.loc[base["area_code"] == ENGLAND, "value_source"]
        eng.loc[src.notna().to_numpy(), "england_source"] = src[src.notna()].to_numpy()
    pub_eng = published[published["area_code"] == ENGLAND][["measure_id", "period", "value", "source"]].rename(
        columns={"value": "england_pub", "source": "england_pub_source"})
    base = base.merge(eng, on=["measure_id", "period"], how="left")
    base = base.merge(pub_eng.rename(columns={"period": "_year"}), on=["measure_id", "_year"], how="left")
    use_pub = base["england_value"].isna() & base["england_pub"].notna()
    base.loc[use_pub, "england_value"] = base.loc[use_pub, "england_pub"]
    base.loc[use_pub, "england_source"] = base.loc[use_pub, "england_pub_source"]
    base = base.drop(columns=["england_pub", "england_pub_source"])
    # Region: the region above the area (for localities and footprints, their council's region).
    region_of = db.query_file("area_region")
    base = base.merge(region_of, on="area_code", how="left")
    reg_comp = base[["measure_id", "period", "area_code", "value"]].rename(
        columns={"area_code": "region_code", "value": "region_value"})
    base = base.merge(reg_comp, on=["measure_id", "period", "region_code"], how="left")
    pub_reg = published[["measure_id", "period", "area_code", "value"]].rename(
        columns={"area_code": "region_code", "value": "region_pub", "period": "_year"})
    base = base.merge(pub_reg, on=["measure_id", "_year", "region_code"], how="left")
    base["region_value"] = base["region_value"].fillna(base["region_pub"])
    base = base.drop(columns=["region_pub"])
    # Statistical neighbours: sum of numerators over sum of denominators of the neighbours that
    # have both (loaded data first; published numerators and denominators otherwise). Never a
    # mean of rates, and nothing for counts (areas of different size are not compared).
    nb = db.query(NEIGHBOURS_SQL)
    base["neighbours_value"] = np.nan
    base["neighbours_n"] = np.nan
    if not nb.empty:
        vals = base[["measure_id", "period", "area_code", "numerator", "denominator"]].rename(
            columns={"area_code": "neighbour_code"})
        loaded = pool_neighbours(nb.merge(vals, on="neighbour_code", how="inner"), by_id,
                                 ["area_code", "measure_id", "period"])
        pub = published[["measure_id", "period", "area_code", "numerator", "denominator"]].rename(
            columns={"area_code": "neighbour_code", "period": "_year"})
        pubp = pool_neighbours(nb.merge(pub, on="neighbour_code", how="inner"), by_id,
                               ["area_code", "measure_id", "_year"]).rename(
            columns={"neighbours_value": "nbp_value", "neighbours_n": "nbp_n"})
        base = base.drop(columns=["neighbours_value", "neighbours_n"]).merge(
            loaded, on=["area_code", "measure_id", "period"], how="left")
        base = base.merge(pubp, on=["area_code", "measure_id", "_year"], how="left")
        use = base["neighbours_n"].fillna(0) < base["nbp_n"].fillna(0)
        base.loc[use, "neighbours_value"] = base.loc[use, "nbp_value"]
        base.loc[use, "neighbours_n"] = base.loc[use, "nbp_n"]
        base = base.drop(columns=["nbp_value", "nbp_n"])
    pol = _per_measure(base["measure_id"], lambda i: by_id[i].polarity)
    lo95, hi95 = base["lower_95"].to_numpy(float), base["upper_95"].to_numpy(float)
    lo998, hi998 = base["lower_998"].to_numpy(float), base["upper_998"].to_numpy(float)
    for col, bench in (("england", "england_value"), ("region", "region_value"),
                       ("neighbours", "neighbours_value")):
        if bench not in base.columns:
            base[bench] = np.nan
        b = base[bench].to_numpy(float)
        base[f"sig_{col}_95"] = comparisons.compare_to_benchmark(lo95, hi95, b, pol)
        if col == "england":
            base["sig_england_998"] = comparisons.compare_to_benchmark(lo998, hi998, b, pol)
    # Fewer than MIN_NEIGHBOURS neighbours with data: the pooled value is shown with its count,
    # but no verdict rests on it.
    few = ~(base["neighbours_n"].fillna(0) >= MIN_NEIGHBOURS)
    base.loc[few, "sig_neighbours_95"] = "not_compared"
    # Counts (and anything that is not a ratio) are never compared with England, the region or
    # neighbours: areas of different size (Fingertips compares only rates and proportions).
    not_ratio = ~_per_measure(base["measure_id"], lambda i: by_id[i].kind in COMPARABLE_KINDS).astype(bool)
    base.loc[not_ratio, ["sig_england_95", "sig_england_998", "sig_region_95",
                         "sig_neighbours_95"]] = "not_compared"
    # Never compare an area with itself.
    is_eng = base["area_code"] == ENGLAND
    base.loc[is_eng, ["sig_england_95", "sig_england_998"]] = "not_compared"
    is_reg = base["area_code"] == base["region_code"]
    base.loc[is_reg, "sig_region_95"] = "not_compared"
    return base.drop(columns=["_year"])


def add_ranks(db: Database, base: pd.DataFrame, by_id: dict[str, Measure]) -> pd.DataFrame:
    """Rank among the area and its statistical neighbours (1 = best; highest for no judgement)."""
    nb = db.query(NEIGHBOURS_SQL)
    base["rank"] = np.nan
    base["rank_of"] = np.nan
    if nb.empty:
        return base
    peers = pd.concat([nb, pd.DataFrame({"area_code": nb["area_code"].unique(),
                                         "neighbour_code": nb["area_code"].unique()})])
    peers = peers.astype({"area_code": "string", "neighbour_code": "string"})
    vals = base[["measure_id", "period", "area_code", "value"]].dropna(subset=["value"]).rename(
        columns={"area_code": "neighbour_code"}).astype({"neighbour_code": "string"})
    x = peers.merge(vals, on="neighbour_code")
    if x.empty:
        return base
    lower_better = x["measure_id"].map(lambda i: by_id[i].polarity == "lower_is_better").to_numpy(bool)
    x["score"] = np.where(lower_better, x["value"], -x["value"])
    x["rank"] = x.groupby(["area_code", "measure_id", "period"])["score"].rank(method="min")
    x["rank_of"] = x.groupby(["area_code", "measure_id", "period"])["score"].transform("count")
    own = x[(x["area_code"] == x["neighbour_code"]) & (x["rank_of"] >= 2)][
        ["area_code", "measure_id", "period", "rank", "rank_of"]]
    base = base.drop(columns=["rank", "rank_of"]).astype({"area_code": "string"}).merge(
        own, on=["area_code", "measure_id", "period"], how="left")
    return base


def pool_neighbours(x: pd.DataFrame, by_id: dict[str, Measure], keys: list[str]) -> pd.DataFrame:
    """Pooled neighbour value: sum of numerators over sum of denominators of the neighbours that
    have both, and how many they are (``neighbours_n``).

    ``x`` holds one row per (area, neighbour, measure, period) with ``numerator`` and
    ``denominator``. A neighbour whose numerator is suppressed or missing takes no part at all
    (its denominator is not pooled either): 50/100, suppressed/100 and 90/100 give 140/200 =
    70.0%, not 140/300. Only proportions, rates and means (total points over pupils) are pooled;
    counts and everything else get no neighbour value. Never an average of rates or of means."""
    cols = [*keys, "neighbours_value", "neighbours_n"]
    if x.empty:
        return pd.DataFrame(columns=cols)
    x = x[x["measure_id"].map(lambda i: i in by_id and by_id[i].kind in POOLED_KINDS).astype(bool)]
    num = pd.to_numeric(x["numerator"], errors="coerce").astype(float)
    den = pd.to_numeric(x["denominator"], errors="coerce").astype(float)
    ok = np.isfinite(num) & np.isfinite(den) & (den > 0)
    x = x.assign(_num=num, _den=den)[ok.to_numpy(dtype=bool)]
    if x.empty:
        return pd.DataFrame(columns=cols)
    agg = x.groupby(keys).agg(_num=("_num", "sum"), _den=("_den", "sum"),
                              neighbours_n=("_num", "count")).reset_index()
    mult = agg["measure_id"].map(lambda i: by_id[i].multiplier).astype(float)
    agg["neighbours_value"] = agg["_num"] / agg["_den"] * mult
    agg["neighbours_n"] = agg["neighbours_n"].astype(float)
    return agg[cols]
