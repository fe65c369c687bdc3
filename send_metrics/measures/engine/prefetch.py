"""The measure table's queries started at once, in the background, while Python works.

``Engine._compute`` asks the database for each dataset's sums, then for the published benchmarks,
the median waits, the regions and the statistical neighbours, one after another, each when its
step comes. DuckDB runs a query without holding Python's lock, so on two cores the later queries
can run while the first steps (disclosure control above all) compute in Python: :class:`Prefetching`
starts the listed queries on two worker threads and hands each result to the step that asks for
it, as a fresh copy (the same frame the query gives; a step may change its own). A query not
listed, or asked for again with other parameters, runs as before.
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor


def _key(kind: str, what: str, params) -> tuple[str, str, str]:
    return kind, what, repr(params)


class Prefetching:
    """A stand-in for the ``Database`` of one computation: listed queries already under way."""

    def __init__(self, db, queries: list[tuple[str, str, object]], workers: int = 2):
        self._db = db
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="measure-sql")
        self._started: dict[tuple[str, str, str], Future] = {}
        for kind, what, params in queries:
            run = db.query if kind == "sql" else db.query_file
            self._started.setdefault(_key(kind, what, params), self._pool.submit(run, what, params))

    def submit(self, fn, *args) -> Future:
        """Run ``fn(*args)`` on a worker (for work that does not hold Python's lock for long)."""
        return self._pool.submit(fn, *args)

    def query(self, sql: str, params=None):
        started = self._started.get(_key("sql", sql, params))
        return started.result().copy() if started is not None else self._db.query(sql, params)

    def query_file(self, name: str, params=None, **identifiers):
        started = None if identifiers else self._started.get(_key("file", name, params))
        return started.result().copy() if started is not None else self._db.query_file(name, params, **identifiers)

    def __getattr__(self, name: str):
        return getattr(self._db, name)

    def __enter__(self) -> Prefetching:
        return self

    def __exit__(self, *exc) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
