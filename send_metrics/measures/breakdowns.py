"""EHC plans by primary need and age band, and by primary need and setting: raw counts from
sql/needs_by_age.sql and sql/needs_by_setting.sql, protected together by
:func:`send_metrics.measures.table_protection.protect_linked` before anything is shown.

Protection starts from what the measure engine already publishes (each area's total, its
main-need counts and four setting counts, with the engine's own suppression), so the two views
can never be combined to recover a hidden count. At national scale protecting one census year
takes a second or two (all eleven years about twenty), so the loader leaves them out and a year is
computed the first time a page asks for it (:func:`for_year`), which keeps a new load's wait
short; the demo ships them prebuilt (send_metrics.measures.prebuilt), and :func:`precompute` computes
every year and keeps them beside the load (``Engine.compute_derived(needs=True)``).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

import pandas as pd

from send_metrics.measures.table_protection import protect_linked

if TYPE_CHECKING:  # the engine computes these tables (compute_derived) and is passed in
    from send_metrics.measures.engine import Engine

MAIN_NEEDS = ("ASD", "SLCN", "SEMH", "MLD", "SLD")
ENGINE_SETTINGS = ("mainstream", "special", "alternative_provision", "independent")
# breakdown -> (query, its category column)
BREAKDOWNS = {"age": ("needs_by_age", "age_band"), "setting": ("needs_by_setting", "setting_type")}
# The engine's measures whose figures the breakdowns start from (their totals, as published).
ENGINE_MEASURES = ["ehcp_caseload", *[f"need_share_{n}" for n in MAIN_NEEDS],
                   *[f"setting_{s}_pct" for s in ENGINE_SETTINGS]]


def _columns(name: str) -> list[str]:
    return ["year", "area_code", "need", BREAKDOWNS[name][1], "plans", "suppressed", "suppression_reason"]


def compute_year(engine: Engine, year: int, engine_rows: pd.DataFrame | None = None,
                 areas=None) -> dict[str, pd.DataFrame]:
    """Both breakdowns of one census year for every area (or only ``areas``), this output's own
    disclosure control applied ({} when the year has no caseload rows). Pages serve them through
    ``measures.release.needs_year``, which adds what the other outputs of the caseload require.
    ``engine_rows``: the engine's rows of :data:`ENGINE_MEASURES` for every year, when the caller
    has them already (:func:`precompute`).

    The areas of the hierarchies (localities and everything built from them) are protected apart
    from all other areas, which they never add up with, so a subset gives exactly the rows the
    whole table would."""
    db = engine.db
    raw = {name: db.query_file(query, {"year": int(year)}) for name, (query, _) in BREAKDOWNS.items()}
    if all(f.empty for f in raw.values()):
        return {}
    # Totals the engine already publishes, with its own suppression: start from them.
    if engine_rows is None:
        engine_rows = engine.table(ENGINE_MEASURES, None, [str(year)])
    else:  # as engine.table filters them
        engine_rows = engine.in_periods(engine_rows, [str(year)]).reset_index(drop=True)
    hidden = engine_rows["suppressed"].astype(bool)
    pre = pd.DataFrame([_cell(mid, area, year) for mid, area in zip(engine_rows.loc[hidden, "measure_id"],
                                                                    engine_rows.loc[hidden, "area_code"])])
    # What the engine really shows (a count it could not compute, e.g. a need with no rows for
    # an area, is not shown there, so it stays free to be hidden here).
    visible = ~hidden & engine_rows["numerator"].notna()
    shown = pd.DataFrame([_cell(mid, area, year) for mid, area in zip(engine_rows.loc[visible, "measure_id"],
                                                                        engine_rows.loc[visible, "area_code"])])
    hierarchies = engine.hierarchies()
    local = {a for p, ch in hierarchies for a in (p, *ch)}
    out: dict[str, list[pd.DataFrame]] = {name: [] for name in BREAKDOWNS}
    for in_local in (True, False):
        def part(frame: pd.DataFrame, in_local: bool = in_local) -> pd.DataFrame:
            if frame is None or not len(frame):
                return frame
            rows = frame["area_code"].astype(str).isin(local) == in_local
            if areas is not None:
                rows &= frame["area_code"].astype(str).isin({str(a) for a in areas})
            return frame[rows].reset_index(drop=True)
        tables = {name: part(raw[name]) for name in BREAKDOWNS}
        if all(f.empty for f in tables.values()):
            continue
        pre_part, shown_part = part(pre), part(shown)
        done = protect_linked(
            {name: (tables[name], ["need", column]) for name, (_, column) in BREAKDOWNS.items()}, "need",
            value_col="plans", hierarchies=hierarchies, low=engine.suppress_min, high=engine.suppress_max,
            group_cols=["year"], presuppressed=pre_part if pre_part is not None and len(pre_part) else None,
            published_elsewhere=shown_part if shown_part is not None and len(shown_part) else None,
            rest_of_group_areas=engine.below_council_areas())
        for name, frame in done.items():
            out[name].append(frame)
    return {name: pd.concat(frames, ignore_index=True) for name, frames in out.items() if frames}


def _cell(measure_id: str, area: str, year: int) -> dict:
    """The breakdown cell an engine measure's numerator counts."""
    if measure_id == "ehcp_caseload":
        return {"area_code": area, "year": int(year), "need": "ALL"}
    if measure_id.startswith("need_share_"):
        return {"area_code": area, "year": int(year), "need": measure_id.replace("need_share_", "")}
    return {"area_code": area, "year": int(year), "need": "ALL",
            "setting_type": measure_id.replace("setting_", "").replace("_pct", "")}


def census_years(engine: Engine) -> list[int]:
    years = engine.db.query("SELECT DISTINCT year FROM ehcp_caseload WHERE year IS NOT NULL ORDER BY year")
    return [int(y) for y in years["year"]]


def precompute(engine: Engine) -> int:
    """Compute every census year and keep the result beside the current load; returns the
    number of years."""
    engine.db.refresh()
    load_id = engine.db.load_id  # the load these tables are computed from, and kept beside
    years = census_years(engine)
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in BREAKDOWNS}
    engine_rows = engine.table(ENGINE_MEASURES)  # once, not once a year
    for year in years:
        for name, frame in compute_year(engine, year, engine_rows).items():
            parts[name].append(frame[_columns(name)])
    if engine.db.load_id != load_id:  # a load was published meanwhile: these may mix both; keep none
        return len(years)
    for name in BREAKDOWNS:
        frame = pd.concat(parts[name], ignore_index=True) if parts[name] else pd.DataFrame(columns=_columns(name))
        engine.save_derived(f"needs-{name}", frame, load_id)
    with _lock:
        _memory.pop(_key(engine), None)
    return len(years)


# Per load: the precomputed tables (read once) and the years computed on demand.
_memory: OrderedDict[str, dict] = OrderedDict()
_lock = threading.Lock()


def _key(engine: Engine) -> str:
    return f"{engine.db.config.store_dir}/{engine.db.load_id}/{engine.suppress_min}-{engine.suppress_max}"


def for_year(engine: Engine, year: int) -> dict[str, pd.DataFrame]:
    """Both breakdowns of one census year ({} when it has none). Shared between callers, who
    must not change them."""
    engine.db.refresh()
    key, year = _key(engine), int(year)
    with _lock:
        entry = _memory.get(key)
        if entry is None:
            entry = _memory[key] = {"stored": None, "years": {}}
            while len(_memory) > 2:
                _memory.popitem(last=False)
        _memory.move_to_end(key)
        if year in entry["years"]:
            return entry["years"][year]
    if entry["stored"] is None:
        stored = {name: engine.read_derived(f"needs-{name}", _columns(name)) for name in BREAKDOWNS}
        if any(f is None for f in stored.values()) and engine.adopt_prebuilt(engine.db.load_id):
            stored = {name: engine.read_derived(f"needs-{name}", _columns(name)) for name in BREAKDOWNS}
        if all(f is not None for f in stored.values()):
            for f in stored.values():  # as computed: no reason is None, not a missing string
                reason = f["suppression_reason"].astype(object)
                f["suppression_reason"] = reason.where(reason.notna(), None)
            entry["stored"] = stored
        else:
            entry["stored"] = {}
    if entry["stored"]:
        out = {name: f[f["year"] == year].reset_index(drop=True) for name, f in entry["stored"].items()}
        out = out if any(len(f) for f in out.values()) else {}
    else:
        out = compute_year(engine, year)
    with _lock:
        entry["years"][year] = out
    return out
