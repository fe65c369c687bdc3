"""The measures at national scale: numerators, denominators and values of the whole catalogue through
the engine's SQL against a straightforward pandas implementation of the same measures on the same
Parquet files, checked equal before the ratio is reported.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pandas as pd

from send_metrics import contract
from send_metrics.catalogue import load_catalogue


def _pandas_filter(expr: str) -> str:
    """The catalogue's simple SQL filters (col = 'x' AND col IN ('a', 'b')) as pandas query text."""
    if not expr:
        return ""
    e = re.sub(r"\bAND\b", "and", expr)
    e = re.sub(r"(\w+) IN \(([^)]*)\)", r"\1 in [\2]", e)
    e = e.replace("<>", "!=")
    return re.sub(r"(\w+) = ", r"\1 == ", e)


def pandas_measures(load_dir: Path, measures) -> pd.DataFrame:
    """What a team would write without the engine: pandas over the same Parquet files."""
    frames, cache = [], {}

    def read(name):
        if name not in cache:
            cache[name] = pd.read_parquet(load_dir / f"{name}.parquet")
        return cache[name]

    for m in measures:
        if m.kind in ("gap", "growth", "median_wait"):
            continue
        ds = contract.DATASETS[m.dataset]
        period = contract.period_column(ds)
        df = read(m.dataset)
        num_rows = df.query(_pandas_filter(m.numerator_filter)) if m.numerator_filter else df
        num = num_rows.groupby(["area_code", period])[m.numerator].sum(min_count=1).rename("numerator")
        out = num.to_frame()
        if m.denominator and not m.denominator_dataset:
            den_rows = df.query(_pandas_filter(m.denominator_filter)) if m.denominator_filter else df
            out = out.join(den_rows.groupby(["area_code", period])[m.denominator].sum(min_count=1).rename("denominator"),
                           how="outer")
        elif m.denominator_dataset:
            pop = read(m.denominator_dataset).groupby(["area_code", "year"])["population"].sum().rename("denominator")
            out = out.join(pop, how="left")
        else:
            out["denominator"] = np.nan
        out = out.reset_index().rename(columns={period: "period"})
        out["measure_id"] = m.id
        out["value"] = (out["numerator"] / out["denominator"] * m.multiplier) if m.denominator else out["numerator"]
        frames.append(out)
    return pd.concat(frames, ignore_index=True)


def compare_measures(config, load_dir: Path) -> dict:
    from send_metrics.db import Database
    from send_metrics.measures.engine import Engine
    measures = [m for m in load_catalogue() if not m.denominator_dataset]
    db = Database(config)
    engine = Engine(db)
    t0 = time.perf_counter()
    ours = engine.measure_values(measures)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = pandas_measures(load_dir, measures)
    t_pandas = time.perf_counter() - t0
    ours = ours[ours["measure_id"].isin(ref["measure_id"].unique())]
    ref = ref.copy()
    ref["period"] = ref["period"].astype(str).str[:10]
    key = ["measure_id", "area_code", "period"]
    a = ours.set_index(key)[["numerator", "denominator", "value"]].sort_index()
    b = ref.set_index(key)[["numerator", "denominator", "value"]].astype(float).sort_index()
    b = b[~(b["numerator"].isna() & b["denominator"].isna())]
    a = a[~(a["numerator"].isna() & a["denominator"].isna())]
    equal = a.index.equals(b.index) and np.allclose(a.to_numpy(float), b.to_numpy(float), equal_nan=True)
    db.close()
    return {"ours_s": t_ours, "pandas_s": t_pandas, "equal": bool(equal), "rows": len(a)}
