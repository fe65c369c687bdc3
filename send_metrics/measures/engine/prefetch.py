"""The measure table's queries started at once, in the background, while Python works.

``Engine._compute`` asks the database for each dataset's sums, then for the published benchmarks,
the median waits, the regions and the statistical neighbours, one after another, each when its
step comes. DuckDB runs a query without holding Python's lock, so on two cores the later queries
can run while the first steps (disclosure control above all) compute in Python: :class:`Prefetching`
starts the listed queries on two worker threads and hands each result to the step that asks for
it (a query two steps ask for is listed twice: the first gets a copy, the last the frame itself,
so a step may change its own and nothing is kept longer than needed). A query not listed, asked
for more often than listed, or with other parameters, runs as before.
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
        self._uses: dict[tuple[str, str, str], int] = {}  # how many steps will ask (listed that often)
        for kind, what, params in queries:
            key = _key(kind, what, params)
            if key not in self._started:
                run = db.query if kind == "sql" else db.query_file
                self._started[key] = self._pool.submit(run, what, params)
            self._uses[key] = self._uses.get(key, 0) + 1

    def _take(self, key):
        """The result for ``key``: a copy while another step will ask for it, the frame itself (and
        let go of) for the last one; None when not started."""
        started = self._started.get(key)
        if started is None:
            return None
        self._uses[key] -= 1
        if self._uses[key] > 0:
            return started.result().copy()
        del self._started[key]
        return started.result()

    def submit(self, fn, *args) -> Future:
        """Run ``fn(*args)`` on a worker (for work that does not hold Python's lock for long)."""
        return self._pool.submit(fn, *args)

    def query(self, sql: str, params=None):
        got = self._take(_key("sql", sql, params))
        return got if got is not None else self._db.query(sql, params)

    def query_file(self, name: str, params=None, **identifiers):
        got = None if identifiers else self._take(_key("file", name, params))
        return got if got is not None else self._db.query_file(name, params, **identifiers)

    def __getattr__(self, name: str):
        return getattr(self._db, name)

    def __enter__(self) -> Prefetching:
        return self

    def __exit__(self, *exc) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
