"""What holds for the statistics package as a whole (send_metrics.stats): its modules never import
Streamlit, and importing the method families does not import scipy (first start: a page that only
reads the precomputed measure table, the Board on every start, must not pay for scipy.stats)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(f"send_metrics.stats.{p.stem}" for p in (ROOT / "send_metrics" / "stats").glob("*.py")
                 if p.stem != "__init__")


def test_metrics_modules_never_import_streamlit():
    code = f"import sys, importlib; [importlib.import_module(m) for m in {MODULES!r}]; assert 'streamlit' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(ROOT))


def test_the_method_families_import_scipy_only_when_a_method_needs_it():
    families = ["intervals", "comparisons", "trends", "funnels"]
    code = ("import sys; " + "; ".join(f"import send_metrics.stats.{f}" for f in families)
            + "; assert not [m for m in sys.modules if m == 'scipy' or m.startswith('scipy.')], "
              "sorted(m for m in sys.modules if m.startswith('scipy'))"
            + "; from send_metrics.stats.intervals import wilson_ci; wilson_ci(1, 2)"
            + "; assert 'scipy.stats' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(ROOT))
