"""NHS England publications: autism waiting time statistics, MHSDS time series and Community
Health Services (CHS) waiting lists. (See adapt_text / adapt_workbook.)"""
from __future__ import annotations

from pathlib import Path


def adapt_text(path: Path, workdir: Path, header: list[str], keys: set[str]):
    return None


def adapt_workbook(path: Path, workdir: Path):
    return None
