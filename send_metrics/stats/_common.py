"""What every statistical method shares: reading a confidence level, the normal quantile, scalar
or array in and out, the polarities a measure may have, and scipy imported only when first used.

Kept apart so that the families (``intervals``, ``comparisons``, ``trends``, ``funnels``) read as
their published methods alone, and so that none of them imports scipy when the package is imported
(a page that only reads the precomputed measure table, the Board on every start, never pays for
scipy.stats).
"""

from __future__ import annotations

from typing import Any

import numpy as np


class _Lazy:
    """A scipy module imported on first use: scipy.stats takes a second or more to import and
    scipy.special about half a second (it pulls in numpy.f2py), and a page that only reads the
    precomputed measure table (the Board, on every start) needs neither."""

    def __init__(self, module: str):
        self._module = module

    def __getattr__(self, name: str):
        import importlib
        return getattr(importlib.import_module(self._module), name)


_stats = _Lazy("scipy.stats")
_special = _Lazy("scipy.special")

#: Accepted polarity values (``None`` is read as ``"no_judgement"``).
POLARITIES = ("higher_is_better", "lower_is_better", "no_judgement")


def _confidence(confidence: float) -> float:
    """Normalise a confidence level given as a fraction or a percentage."""
    c = float(confidence)
    if 1.0 < c <= 100.0:
        c = c / 100.0
    if not 0.0 < c < 1.0:
        raise ValueError(f"confidence must be in (0, 1) or (1, 100); got {confidence!r}")
    return c


def _z(confidence: float) -> float:
    """Two-sided standard normal quantile for a confidence level."""
    c = _confidence(confidence)
    return float(_stats.norm.ppf(c + (1.0 - c) / 2.0))


def _is_scalar(*args: Any) -> bool:
    return all(np.ndim(a) == 0 for a in args)


def _as_float(a: Any) -> np.ndarray:
    return np.asarray(a, dtype=float)


def _out(a: np.ndarray, scalar: bool) -> Any:
    if scalar:
        return float(np.asarray(a).reshape(-1)[0])
    return a


def _polarity(p: Any) -> str:
    if p is None or (isinstance(p, float) and np.isnan(p)):
        return "no_judgement"
    if p not in POLARITIES:
        raise ValueError(f"polarity must be one of {POLARITIES} or None; got {p!r}")
    return p
