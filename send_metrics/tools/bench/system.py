"""What the benchmark reports about the machine and its processes: peak resident memory (read in the
child processes too), the load averages (the machine is shared) and the platform and versions.
"""
from __future__ import annotations

import os
import platform
import resource

import duckdb
import pandas as pd


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB: VmHWM, which starts afresh at exec. (A child's
    ``ru_maxrss`` also counts the pages it shared with its parent when forked, so every child of
    a large bench process would report the bench process's size.)"""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:  # not Linux: the portable figure
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def uptime_load() -> str:
    """The machine's load averages (1, 5, 15 minutes): the machine is shared."""
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "unknown"


def machine() -> dict:
    mem = 0
    try:
        mem = int(next(ln for ln in open("/proc/meminfo") if ln.startswith("MemTotal")).split()[1]) // 1024
    except (OSError, StopIteration):
        pass
    return {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "memory_mb": mem, "duckdb": duckdb.__version__, "pandas": pd.__version__}
