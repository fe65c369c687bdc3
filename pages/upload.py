"""Upload an extract: check a CSV or Parquet file against the data contract, see the validation
report, then add it to the data (a new load the app picks up without restarting) or discard it.

All file handling is in send_metrics/upload.py; this page only shows it. Text from the file
(names, values, reasons) is shown in tables, never as Markdown or HTML.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import sign_in, ui
from send_metrics import contract
from send_metrics import upload as up
from send_metrics.ingest.readers import SUPPORTED_SUFFIXES

STATE = "upload_pending"
COUNTER = "upload_counter"
MESSAGE = "upload_message"


def report_table(check: up.UploadCheck) -> pd.DataFrame:
    """One row per problem: file, row, column, value, reason (plain text)."""
    rows = []
    for r in check.reports:
        if r.fatal:
            rows.append({"file": r.path, "row": None, "column": "", "value": "", "reason": f"rejected: {r.fatal}"})
        for p in r.problems:
            rows.append({"file": r.path, "row": p.line, "column": p.column or "",
                         "value": "" if p.value is None else str(p.value), "reason": p.reason})
    return pd.DataFrame(rows, columns=["file", "row", "column", "value", "reason"]).astype({"row": "Int64"})


def summary_table(check: up.UploadCheck) -> pd.DataFrame:
    return pd.DataFrame([{"file": r.path, "dataset": r.dataset or "", "result": "rejected" if r.fatal else
                          ("ok" if r.ok else "problems"), "rows read": r.rows_read,
                          "rows valid": r.rows_loaded if not r.fatal else 0,
                          "rows quarantined": r.rows_quarantined,
                          "ignored columns": ", ".join(r.ignored_columns)} for r in check.reports])


def md(text: str) -> str:
    """Text from a file or an error shown in a Markdown element: the one way (ui.md) of showing it."""
    return ui.md(text)


def _reset_uploader() -> None:
    st.session_state.pop(STATE, None)
    st.session_state[COUNTER] = st.session_state.get(COUNTER, 0) + 1


def render() -> None:
    ui.page("Upload an extract", "Check a CSV or Parquet extract against the data contract, read the "
            "validation report, then add it to the data or discard it.")
    if not sign_in.require_sign_in("Uploading extracts"):
        return
    cfg = ui.database().config
    if MESSAGE in st.session_state:
        kind, text = st.session_state.pop(MESSAGE)
        (st.success if kind == "success" else st.error)(md(text))

    st.markdown(f"Files up to **{cfg.max_upload_mb} MB**. The file is checked exactly as the loader checks "
                "the data folder: rows that fail a check are listed with their row and column and, if you add "
                "the file, are kept aside (quarantined) while the good rows are loaded. Nothing is added until "
                "you choose **Add to the data**.")
    with st.expander("Which files are accepted"):
        st.markdown("Tidy CSV (UTF-8 or Windows-1252; comma, semicolon or tab separated) or Parquet, with the "
                    "columns of one dataset of the data contract; published DfE SEN2, LAIT and NHS waiting-time "
                    "files are recognised too.")
        st.dataframe(pd.DataFrame([{"dataset": d.name, "title": d.title,
                                    "required columns": ", ".join(d.required_names)}
                                   for d in contract.DATASETS.values()]), hide_index=True)

    n = st.session_state.get(COUNTER, 0)
    uploaded = st.file_uploader("Extract to check (CSV or Parquet)", type=[s.lstrip(".") for s in SUPPORTED_SUFFIXES],
                                key=f"upload_file_{n}", max_upload_size=cfg.max_upload_mb)
    if uploaded is None:
        pending = st.session_state.pop(STATE, None)
        if pending:  # the user removed the file from the uploader: forget the staged copy
            try:
                up.discard(Path(pending["path"]), cfg)
            except up.UploadRefused:
                pass
        return

    name = up.sanitise_name(uploaded.name)
    pending = st.session_state.get(STATE)
    if not pending or pending.get("file_id") != uploaded.file_id:
        try:
            up.check_size(uploaded.size, cfg)
            with st.spinner("Checking the file..."):
                path = up.stage_upload(uploaded.getvalue(), name, cfg)
                check = up.check_staged(path, cfg, display=name)
        except up.UploadRefused as exc:
            st.error(md(f"Upload refused. {exc}"), icon=":material/block:")
            return
        pending = {"file_id": uploaded.file_id, "path": str(path), "name": name, "check": check}
        st.session_state[STATE] = pending
    check: up.UploadCheck = pending["check"]

    st.subheader("Validation report")
    if check.ok:
        st.success("Every row passed every check.", icon=":material/check_circle:")
    elif check.loadable:
        st.warning("Some rows have problems. If you add the file they will be quarantined and the other rows "
                   "loaded.", icon=":material/warning:")
    else:
        st.error("This file cannot be loaded: nothing in it passed the checks.", icon=":material/error:")
    st.dataframe(summary_table(check), hide_index=True)
    notes = [*check.notes, *(note for r in check.reports for note in r.notes)]
    if check.source_format:
        notes.insert(0, f"recognised as: {check.source_format}")
    if notes:
        st.dataframe(pd.DataFrame({"note": [str(x) for x in notes]}), hide_index=True)
    problems = report_table(check)
    if len(problems):
        st.markdown(f"**{len(problems):,} problems** (row = line in the file, the header is row 1):")
        st.dataframe(problems.head(1000), hide_index=True)
        if len(problems) > 1000:
            st.caption(f"The first 1,000 of {len(problems):,}; download the report for all of them.")
        st.download_button("Download the validation report (CSV)", data=ui.safe_csv_bytes(problems),
                           file_name=f"validation-{Path(name).stem}.csv", mime="text/csv",
                           key="dl_validation", icon=":material/download:")

    if ui.database().is_demo:
        st.info("The dashboard is showing the synthetic demo. The demo is used only while the data folder holds "
                "nothing else, so adding this file replaces the demo with your data (synthetic and real figures "
                "are never mixed). Remove the file from the data folder to go back to the demo.",
                icon=":material/info:")
    c1, c2 = st.columns(2)
    with c1:
        add = st.button("Add to the data", type="primary", disabled=not check.loadable, key="upload_add",
                        icon=":material/add:")
    with c2:
        drop = st.button("Discard", key="upload_discard", icon=":material/delete:")
    if add:
        with st.spinner("Loading the data (the dashboard keeps serving the previous load meanwhile)..."):
            try:
                result = up.accept(Path(pending["path"]), cfg, name=pending["name"])
            except up.UploadRefused as exc:
                result = None
                st.session_state[MESSAGE] = ("error", f"Not added. {exc}")
        if result is not None:
            if result.error:
                st.session_state[MESSAGE] = ("error", "The load failed, so the file was not added and the "
                                             f"previous data is still in use. ({result.error[:300]})")
            else:
                st.cache_data.clear()
                try:
                    ui.database().refresh(force=True)  # the new load, even before its derived tables
                except ui.NoData:
                    pass
                added = next((x for x in result.notes if x.startswith("added as ")), "added")
                st.session_state[MESSAGE] = ("success", f"{added[0].upper() + added[1:]}; the dashboard now shows "
                                             f"load {result.load_id}. Problems found are listed under Data "
                                             "explorer → Data quality.")
        _reset_uploader()
        st.rerun()
    if drop:
        try:
            up.discard(Path(pending["path"]), cfg)
        except up.UploadRefused:
            pass
        st.session_state[MESSAGE] = ("success", f"Discarded {pending['name']}; nothing was added.")
        _reset_uploader()
        st.rerun()


if __name__ == "__main__":
    ui.guarded(render)
