"""Adapters: recognise published DfE / NHS files by their columns and map them to the contract.

`adapt(path, workdir)` returns None when the file is not a known published format (it is then
checked against the contract as it is), or an AdaptResult naming contract-shaped files written
into `workdir`, which the loader validates like any other extract.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class AdaptResult:
    source_format: str
    outputs: list[tuple[str, Path]] = field(default_factory=list)  # (dataset name, file)
    notes: list[str] = field(default_factory=list)  # what was recognised, what was ignored and why


def adapt(path: Path, workdir: Path) -> AdaptResult | None:
    return None
