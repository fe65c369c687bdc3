"""Per-row look-ups of the measure table worked out once per distinct value.

A national measure table has 664,000 rows but a few dozen measures, a few hundred areas and a
handful of reason texts: mapping or testing every row in pandas costs a second or more a step,
once per distinct value a few milliseconds. Each function gives exactly what its per-row
counterpart gives (named in its docstring).
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd


def map_values(values: pd.Series, mapping: Mapping) -> np.ndarray:
    """``values.map(mapping).to_numpy(object)``, looked up once per distinct value."""
    codes, distinct = pd.factorize(values, use_na_sentinel=False)
    return pd.Series(distinct, dtype=object).map(mapping).to_numpy(object)[codes]


def starts_with(values, prefix: str) -> np.ndarray:
    """``pd.Series(values, dtype=object).str.startswith(prefix).fillna(False).to_numpy(dtype=bool)``
    (a value that is not text is False), tested once per distinct value."""
    codes, distinct = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
    hits = np.array([isinstance(v, str) and v.startswith(prefix) for v in distinct], dtype=bool)
    return hits[codes]
