"""The board pack's reference sections: the definition, direction and source of every measure the
pack showed (and how the statistics are computed), and the sources, data dates and editions of
the current load.
"""
from __future__ import annotations

import pandas as pd

from send_metrics.contract import codes
from send_metrics.catalogue import POLARITY_TEXT
from send_metrics.present.methods import METHODS
from send_metrics.present.report.pack import Pack, esc, missing


def definitions(pack: Pack) -> str:
    rows = []
    needs = [mid for mid in pack.shown if mid.startswith("need_share_")]
    for mid in pack.shown:
        m = pack.by_id[mid]
        title, ids, definition = m.title, m.id, m.definition
        if mid.startswith("need_share_"):
            if mid != needs[0]:
                continue  # one row for the whole family, which differs only in the need named
            label = codes.PRIMARY_NEEDS[mid.split("_")[-1]]
            title = m.title.replace(label, "each primary need")
            definition = m.definition.replace(label, "the need named")
            ids = ", ".join(needs)
        extra = f"<br><span class=\"muted\">{esc(m.caveats)}</span>" if m.caveats else ""
        target = f" Target: {m.target:g}." if m.target is not None else ""
        rows.append(f'<th scope="row">{esc(title)}<span class="ci">{esc(ids)}</span></th>'
                    f"<td>{esc(definition)}{extra}</td><td>{esc(POLARITY_TEXT[m.polarity])}.{esc(target)}"
                    f"</td><td>{esc(m.source)}</td>")
    methods = "".join(f"<li><strong>{esc(h)}.</strong> {esc(t)}</li>" for h, t in METHODS)
    return (pack.table("Definitions of every measure in this pack",
                       ["Measure", "Definition", "Direction", "Source"], rows, cls="defs")
            + f'<h3>How the statistics are computed</h3><ul class="methods">{methods}</ul>')


def sources(pack: Pack) -> str:
    man = pack.db.query("SELECT source_file, dataset, edition, loaded_at, rows_loaded FROM manifest "
                        "ORDER BY dataset, source_file")
    full = pack.engine.full_table()
    ds_of = {m.id: m.dataset for m in pack.by_id.values()}
    monthly = {m.id: m.monthly for m in pack.by_id.values()}
    f = full[["measure_id", "period"]].drop_duplicates().copy()
    f["dataset"] = f["measure_id"].map(ds_of)
    f["monthly"] = f["measure_id"].map(monthly)
    ranges = {}
    for ds, g in f.groupby("dataset"):
        lo, hi = str(g["period"].min()), str(g["period"].max())
        if bool(g["monthly"].iloc[0]):
            lo, hi = pd.Timestamp(lo).strftime("%b %Y"), pd.Timestamp(hi).strftime("%b %Y")
        ranges[ds] = f"{lo[:8]} to {hi[:8]}" if lo != hi else lo[:8]
    try:
        bench = pack.db.query("SELECT min(year) AS lo, max(year) AS hi FROM benchmarks")
        if len(bench) and not missing(bench["lo"].iloc[0]):
            ranges.setdefault("benchmarks", f"{int(bench['lo'].iloc[0])} to {int(bench['hi'].iloc[0])}")
    except Exception:  # noqa: BLE001 - a data-date column is optional context
        pass
    rows = []
    for _, r in man.iterrows():
        loaded = pd.Timestamp(r["loaded_at"]).strftime("%d %b %Y %H:%M") if not missing(r["loaded_at"]) else "–"
        rows.append(f'<th scope="row">{esc(r["source_file"])}</th><td>{esc(r["dataset"])}</td>'
                    f'<td>{esc(ranges.get(r["dataset"], "–"))}</td>'
                    f'<td>{esc(r["edition"] if not missing(r["edition"]) else "–")}</td>'
                    f'<td class="num">{int(r["rows_loaded"]) if not missing(r["rows_loaded"]) else "–"}</td>'
                    f"<td>{esc(loaded)}</td>")
    return pack.table("Sources, data dates and editions of the current load",
                      ["File", "Dataset", "Data dates", "Edition", "Rows", "Loaded"], rows, cls="sources")
