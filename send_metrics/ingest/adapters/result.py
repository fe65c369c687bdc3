"""What an adapter returns for one published file (every adapter module and the dispatcher share it)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class AdaptResult:
    source_format: str
    outputs: list[tuple[str, Path]] = field(default_factory=list)  # (dataset name, file)
    notes: list[str] = field(default_factory=list)  # what was recognised, what was ignored and why
    # Rows an adapter could not use (file, row, column, value, reason): they go to the load's quarantine.
    problems: list = field(default_factory=list)
    files_read: list = field(default_factory=list)  # other files of the folder read with this one
