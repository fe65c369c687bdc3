"""The first run of the app in a new server process: the data is made ready while the code loads.

The first page of a new server waits about a second and a half for its modules (pandas, the
engine, the page furniture) and then about as long for the data: the load of the data folder
(a copy of the shipped demo load, or nothing when nothing changed), the database and the measure
table. The two are independent, and most of the data work (DuckDB, Parquet) runs outside
Python's global lock, so ``start`` begins the data work on a thread of its own while the page
imports its modules. The page then asks for the same things through the usual calls
(``dashboard.ui.database`` and ``engine``), which wait for the work already under way instead of
doing it again: ``store.load`` holds the store's lock, ``get_database`` and ``get_engine`` are one
per process, and ``Engine.full_table`` fills its table once.

Nothing here decides anything: a failure on this thread is dropped, and the page's own calls then
do the work, and report any error, exactly as they would have. No Streamlit here.
"""
from __future__ import annotations

import threading

_started = threading.Event()


def _prepare() -> None:
    try:
        from send_metrics.config import load_config
        from send_metrics.store import load
        config = load_config()
        load(config)  # cheap when nothing changed: compares file hashes
        from send_metrics.db import get_database
        from send_metrics.engine import get_engine
        get_engine(get_database(config)).full_table()
    except Exception:  # noqa: BLE001 - the page's own calls redo the work and report the error
        pass


def start() -> bool:
    """Start preparing the data on a thread, once per process; True when this call started it."""
    if _started.is_set():
        return False
    _started.set()
    threading.Thread(target=_prepare, name="send-first-run", daemon=True).start()
    return True
