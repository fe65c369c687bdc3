"""The measure catalogue (`catalogue.toml`), read once and checked against the data contract."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from send_metrics import contract
from send_metrics.contract import codes

CATALOGUE_PATH = Path(__file__).resolve().parent / "catalogue.toml"

KINDS = {"proportion", "rate", "count", "mean", "growth", "median_wait", "gap"}
POLARITIES = {"higher_is_better", "lower_is_better", "no_judgement"}
CI_METHODS = {"wilson", "byar", "none", "newcombe", "t"}
DISCLOSURE = {"numerator", "denominator", "none"}

# Short labels used when a template is expanded.
LABELS: dict[str, str] = {
    **{k: v for k, v in codes.PRIMARY_NEEDS.items()},
    "mainstream": "mainstream", "special": "special school",
    "alternative_provision": "alternative provision", "independent": "independent or non-maintained",
    **codes.SERVICES,
    "ehc_plan": "EHC plan", "sen_support": "SEN support", "no_sen": "no SEN",
    **{k: v[0].lower() + v[1:] for k, v in codes.CEASE_REASONS.items()},
}

POLARITY_TEXT = {"higher_is_better": "Higher is better", "lower_is_better": "Lower is better",
                 "no_judgement": "No judgement (context measure)"}


@dataclass(frozen=True)
class Measure:
    id: str
    title: str
    definition: str
    dataset: str
    numerator: str
    kind: str
    unit: str
    multiplier: float
    polarity: str
    ci_method: str
    disclosure: str
    source: str
    caveats: str = ""
    group: str = ""
    numerator_filter: str = ""
    denominator: str = ""
    denominator_filter: str = ""
    denominator_dataset: str = ""
    gap_of: tuple[str, ...] = ()
    target: float | None = None
    footprint: str = ""
    # Share waiting `wait_over_weeks` or more (waiting_list): the numerator is the bands wholly at or
    # above that edge (added to numerator_filter from codes.WAIT_BANDS), and the value is not
    # available for an area and month whose source has a band straddling the edge (no estimate).
    wait_over_weeks: float | None = None

    @property
    def has_denominator(self) -> bool:
        return bool(self.denominator)

    @property
    def monthly(self) -> bool:
        return contract.DATASETS[self.dataset].monthly

    @property
    def is_ratio(self) -> bool:
        return self.kind in ("proportion", "rate", "mean")

    def format_value(self, value: float | None) -> str:
        if value is None or value != value:
            return "-"
        if self.kind in ("count",):
            return f"{value:,.0f}"
        if self.unit == "%" or self.kind in ("gap", "growth"):
            return f"{value:,.1f}{'%' if self.unit == '%' else ''}"
        return f"{value:,.1f}"


def _expand(entry: dict, value: str) -> dict:
    label = LABELS.get(value, value)
    out = {}
    for k, v in entry.items():
        if k == "for_each":
            continue
        if isinstance(v, str):
            v = v.replace("{value}", value).replace("{label}", label)
        elif isinstance(v, list):
            v = [x.replace("{value}", value).replace("{label}", label) if isinstance(x, str) else x for x in v]
        out[k] = v
    return out


def _check(m: Measure) -> None:
    problems = []
    if m.dataset not in contract.DATASETS:
        problems.append(f"unknown dataset {m.dataset}")
    else:
        names = {c.name for c in contract.DATASETS[m.dataset].columns}
        if m.numerator not in names:
            problems.append(f"numerator {m.numerator} is not a column of {m.dataset}")
        den_ds = m.denominator_dataset or m.dataset
        if m.denominator and m.denominator not in {c.name for c in contract.DATASETS[den_ds].columns}:
            problems.append(f"denominator {m.denominator} is not a column of {den_ds}")
    for attr, allowed in (("kind", KINDS), ("polarity", POLARITIES), ("ci_method", CI_METHODS),
                          ("disclosure", DISCLOSURE)):
        if getattr(m, attr) not in allowed:
            problems.append(f"{attr} {getattr(m, attr)!r} not one of {sorted(allowed)}")
    if m.kind in ("proportion", "rate", "mean") and not m.denominator:
        problems.append("a ratio needs a denominator")
    if m.ci_method == "t" and (m.kind != "mean" or "sd" not in {c.name for c in contract.DATASETS[m.dataset].columns}):
        problems.append("a Student's t interval is for a mean whose dataset has an sd column")
    if m.wait_over_weeks is not None and m.dataset != "waiting_list":
        problems.append("wait_over_weeks is only for waiting_list measures")
    if problems:
        raise ValueError(f"catalogue measure {m.id}: " + "; ".join(problems))


@lru_cache(maxsize=1)
def load_catalogue(path: Path = CATALOGUE_PATH) -> tuple[Measure, ...]:
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    entries = list(raw.get("measure", []))
    for tpl in raw.get("template", []):
        entries += [_expand(tpl, v) for v in tpl["for_each"]]
    measures = []
    for e in entries:
        e = dict(e)
        e["gap_of"] = tuple(e.get("gap_of", ()))
        if e.get("wait_over_weeks") is not None:
            bands = ", ".join(f"'{c}'" for c in codes.wait_bands_from(float(e["wait_over_weeks"])))
            base = e.get("numerator_filter", "")
            e["numerator_filter"] = (f"({base}) AND " if base else "") + f"wait_band IN ({bands})"
        m = Measure(**e)
        _check(m)
        measures.append(m)
    ids = [m.id for m in measures]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise ValueError(f"duplicate measure ids: {sorted(dupes)}")
    by_id = {m.id: m for m in measures}
    for m in measures:
        for g in m.gap_of:
            if g not in by_id:
                raise ValueError(f"catalogue measure {m.id}: gap_of names unknown measure {g}")
    return tuple(measures)


def measures_by_id() -> dict[str, Measure]:
    return {m.id: m for m in load_catalogue()}
