"""Downloads: CSV and Parquet that are safe to open in a spreadsheet.

Every text cell that begins with = + - @ (or a tab / carriage return) is prefixed with an
apostrophe so Excel shows it as text instead of running it as a formula (OWASP "CSV
injection"). Numbers are written as numbers. Callers pass tables that have already been
through disclosure control.
"""
from __future__ import annotations

import io

import pandas as pd

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    if isinstance(value, str) and value.startswith(_DANGEROUS):
        return "'" + value
    return value


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out.columns = [neutralise(str(c)) for c in out.columns]
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise)
    return out


def safe_csv(df: pd.DataFrame) -> str:
    # CRLF line ends make the csv writer quote any cell holding a bare CR (or LF), so a
    # spreadsheet can never start a new row, and a formula, inside a cell.
    return safe_frame(df).to_csv(index=False, lineterminator="\r\n")


def safe_csv_bytes(df: pd.DataFrame) -> bytes:
    return safe_csv(df).encode("utf-8-sig")  # BOM so Excel reads UTF-8


def parquet_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    safe_frame(df).to_parquet(buf, index=False)
    return buf.getvalue()
