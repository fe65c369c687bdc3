"""Load test: many concurrent dashboard sessions changing selectors on every page.

    python scripts/loadtest.py --sessions 20 --seconds 60

Starts the app on loopback (127.0.0.1, a free port) on the data folder and a private store
(loaded first, so the sessions do not all wait for the first load), or uses a running app with
`--url`. Opens N sessions as N pages of one headless Chromium (/usr/bin/chromium, Playwright's
async API). Each session loops until the time is up: open the next page of app.py, wait until
Streamlit is idle, change a selector (a random option of a random select box), wait again. It
counts page loads and selector changes, and errors: stException elements, "could not be drawn"
boxes (exceptions the page caught), HTTP responses >= 400 (except Streamlit's own <page>/_stcore
probes), JavaScript page errors, pages not idle within 60 s, and lines in the server log naming a
traceback, "connection is busy" or a lock. A dropdown that did not open for the harness is
counted apart ("harness retries"), not as an error of the app. Server CPU seconds are reported
too, to tell a busy server from a busy machine. Server memory (RSS)
is read after a warm-up visit of every page, every second, and at the end (psutil when
installed, else /proc).

Serving while loading (`--loads N --rounds R`): the app serves a national-scale data folder
(`--load-data`, default: generated as the bench does, `send_metrics.tools.bench.national.generate`) and the run
alternates rounds without and with N loads of that folder running beside the sessions (`load
--force` in a loop, as a scheduled reload would): the first load writes into the app's own store
(so the app sees loads published while it serves), the others into private stores (competing for
the machine). Each round reports its page-load p95 and the machine's load average; the summary
gives the ratio of the with-loads p95 to the no-loads p95 of the neighbouring rounds.

Bounded: at most 50 sessions and 600 seconds; every wait has a timeout; the server and browser
are stopped at the end. Loopback only: --url must be http://127.0.0.1 or http://localhost.
Prints a summary and writes the figures as JSON (--json FILE).
Exit code 0 when there were no errors, 1 otherwise, 2 for usage errors.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
MAX_SESSIONS, MAX_SECONDS = 50, 600
ACTION_TIMEOUT_MS = 60_000
LOG_PATTERNS = {
    "traceback": re.compile(r"Traceback \(most recent call last\)"),
    "connection_busy": re.compile(r"connection is busy", re.I),
    "lock": re.compile(r"Could not set lock|lock on file|database is locked|ResourceInUse", re.I),
}


def app_pages() -> list[str]:
    """URL paths of the pages declared in app.py; the default page lives at the root ("")."""
    text = (ROOT / "app.py").read_text()
    out = []
    for call in re.findall(r"st\.Page\((.*?)\)", text, flags=re.S):
        url = re.search(r'url_path="([^"]+)"', call)
        if url:
            out.append("" if re.search(r"default\s*=\s*True", call) else url.group(1))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float | None:
    try:
        import psutil  # optional
        return psutil.Process(pid).memory_info().rss / 1e6
    except ImportError:
        pass
    except Exception:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), to tell a busy server from a busy browser."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def wait_health(url: str, timeout: float) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return True
        except OSError:
            time.sleep(0.5)
    return False


class Server:
    """The app under test, started on loopback with its log captured."""

    def __init__(self, data_dir: Path, store_dir: Path, log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = {**os.environ, "SEND_DATA_DIR": str(data_dir), "SEND_STORE_DIR": str(store_dir)}
        self.proc: subprocess.Popen | None = None

    def prepare(self) -> float:
        t0 = time.time()
        subprocess.run([sys.executable, "-m", "send_metrics", "load"], cwd=ROOT, env={**self.env, "SEND_LOAD_NICE": "0"},
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900)
        return time.time() - t0

    def start(self) -> None:
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(self.port),
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        if not wait_health(self.url, 120):
            self.stop()
            raise SystemExit("error: the app did not start within 120 s (see the log: %s)" % self.log_path)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if getattr(self, "log", None):
            self.log.close()


class Stats:
    def __init__(self):
        self.page_loads = 0
        self.selector_changes = 0
        self.errors: dict[str, int] = {}
        self.examples: list[str] = []
        self.load_seconds: list[float] = []
        self.harness_retries = 0

    def harness(self, detail: str) -> None:
        self.harness_retries += 1
        if len(self.examples) < 20:
            self.examples.append(f"harness (not counted): {detail[:300]}")

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if len(self.examples) < 20:
            self.examples.append(f"{kind}: {detail[:300]}")


async def wait_idle(page, timeout_ms: int = ACTION_TIMEOUT_MS) -> None:
    await page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=timeout_ms)
    # the script may not have started yet right after an interaction
    await page.wait_for_timeout(150)
    await page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout_ms)
    await page.wait_for_function("document.querySelectorAll(\"[data-testid='stSkeleton']\").length === 0",
                                 timeout=timeout_ms)


async def check_page(page, stats: Stats, where: str) -> None:
    n = await page.locator("[data-testid='stException']").count()
    if n:
        stats.error("stException", f"{where}: {n}")
    n = await page.get_by_text("could not be drawn").count()
    if n:
        stats.error("caught_exception", where)


async def change_selector(page, rng: random.Random) -> bool:
    boxes = page.locator("[data-testid='stSelectbox']")
    count = await boxes.count()
    if not count:
        return False
    box = boxes.nth(rng.randrange(count))
    await box.scroll_into_view_if_needed(timeout=30_000)
    await box.click(timeout=30_000)
    options = page.locator("[role='option']")
    await options.first.wait_for(timeout=30_000)
    n = await options.count()
    await options.nth(rng.randrange(n)).click(timeout=30_000)
    return True


def is_probe(url: str) -> bool:
    """Streamlit's frontend first asks <page>/_stcore/health and host-config (404) before the root ones."""
    path = urlparse(url).path
    return path.endswith("favicon.ico") or (re.search(r"/[^/]+/_stcore/(health|host-config)$", path) is not None)


async def warm_up(browser, base: str, pages: list[str]) -> float:
    """Visit every page once (not counted), so the figures measure concurrency, not first computations."""
    t0 = time.time()
    context = await browser.new_context()
    page = await context.new_page()
    for url_path in pages:
        try:
            await page.goto(f"{base}/{url_path}", timeout=4 * ACTION_TIMEOUT_MS)
            await wait_idle(page, 4 * ACTION_TIMEOUT_MS)
        except Exception:
            pass
    await context.close()
    return time.time() - t0


async def session(browser, base: str, pages: list[str], deadline: float, stats: Stats, seed: int) -> None:
    rng = random.Random(seed)
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.on("pageerror", lambda e: stats.error("page_error", str(e)))
    page.on("response", lambda r: stats.error("http", f"{r.status} {r.url}") if r.status >= 400
            and not is_probe(r.url) else None)
    order = pages[seed % len(pages):] + pages[:seed % len(pages)]
    i = 0
    try:
        while time.time() < deadline:
            url_path = order[i % len(order)]
            i += 1
            where = f"session {seed} /{url_path}"
            try:
                t0 = time.time()
                await page.goto(f"{base}/{url_path}", timeout=ACTION_TIMEOUT_MS)
                await wait_idle(page)
                stats.load_seconds.append(time.time() - t0)
                stats.page_loads += 1
                await check_page(page, stats, where)
                if time.time() >= deadline:
                    break
                try:
                    changed = await change_selector(page, rng)
                except Exception as exc:  # the dropdown did not open or its option moved: the harness's problem
                    stats.harness(f"{where}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
                    continue
                if changed:
                    await wait_idle(page)
                    stats.selector_changes += 1
                    await check_page(page, stats, where + " after a selector change")
            except Exception as exc:  # the app did not become idle in time, or the page broke
                if time.time() < deadline + 5:
                    stats.error("timeout" if "Timeout" in type(exc).__name__ else "interaction",
                                f"{where}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    finally:
        await context.close()


# -- lightweight clients: Streamlit's own websocket protocol, no browser ------------------------
class WsSession:
    """One Streamlit session spoken to over its websocket (/_stcore/stream), as the frontend does:
    BackMsg.rerun_script with the page and widget states; ForwardMsgs until script_finished."""

    def __init__(self, base: str):
        self.url = base.replace("http://", "ws://").rstrip("/") + "/_stcore/stream"
        self.pages: dict[str, str] = {}  # url path -> page_script_hash
        self.page_hash = ""
        self.selectboxes: list = []
        self.texts: list[str] = []
        self.exceptions: list[str] = []

    async def connect(self):
        import websockets
        self.ws = await websockets.connect(self.url, subprotocols=["streamlit"], max_size=None,
                                           open_timeout=30, ping_interval=None)

    async def run(self, page_hash: str, widget_states: list | None = None, page_name: str = "") -> float:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = ""
        cs.page_script_hash = page_hash
        cs.page_name = page_name
        for ws_state in widget_states or []:
            cs.widget_states.widgets.append(ws_state)
        t0 = time.time()
        await self.ws.send(msg.SerializeToString())
        self.selectboxes, self.texts, self.exceptions = [], [], []
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), timeout=ACTION_TIMEOUT_MS / 1000)
            fm = ForwardMsg()
            fm.ParseFromString(raw)
            kind = fm.WhichOneof("type")
            if kind == "navigation" or kind == "new_session":
                src = fm.navigation if kind == "navigation" else fm.new_session
                for p in src.app_pages:
                    self.pages["" if p.is_default else p.url_pathname.strip("/")] = p.page_script_hash
                if kind == "navigation" and fm.navigation.page_script_hash:
                    self.page_hash = fm.navigation.page_script_hash
            elif kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                el = fm.delta.new_element
                t = el.WhichOneof("type")
                if t == "selectbox":
                    self.selectboxes.append(el.selectbox)
                elif t == "exception":
                    self.exceptions.append(f"{el.exception.type}: {el.exception.message}"[:300])
                elif t == "alert":
                    self.texts.append(el.alert.body)
                elif t in ("text", "code"):
                    self.texts.append(getattr(el, t).body if t == "text" else el.code.code_text)
            elif kind == "script_finished":
                if fm.script_finished in (0, 3):  # finished (a run interrupted for a rerun goes on)
                    return time.time() - t0
                if fm.script_finished == 1:
                    self.exceptions.append("the script did not compile")
                    return time.time() - t0

    async def close(self):
        await self.ws.close()


async def ws_session(base: str, pages: list[str], deadline: float, stats: Stats, seed: int) -> None:
    from streamlit.proto.WidgetStates_pb2 import WidgetState
    rng = random.Random(seed)
    s = WsSession(base)
    await s.connect()
    try:
        await s.run("")  # the default page; learns the page list
        order = pages[seed % len(pages):] + pages[:seed % len(pages)]
        i = 0
        while time.time() < deadline:
            url_path = order[i % len(order)]
            i += 1
            where = f"session {seed} /{url_path}"
            try:
                took = await s.run(s.pages.get(url_path, ""), page_name=url_path)
                stats.load_seconds.append(took)
                stats.page_loads += 1
                ws_check(s, stats, where)
                if s.selectboxes and time.time() < deadline:
                    box = rng.choice(s.selectboxes)
                    if box.options:
                        state = WidgetState(id=box.id, string_value=rng.choice(list(box.options)))
                        await s.run(s.pages.get(url_path, ""), [state], page_name=url_path)
                        stats.selector_changes += 1
                        ws_check(s, stats, where + " after a selector change")
            except Exception as exc:
                if time.time() < deadline + 5:
                    stats.error("timeout" if isinstance(exc, asyncio.TimeoutError) else "websocket",
                                f"{where}: {type(exc).__name__}: {exc}")
                if isinstance(exc, asyncio.TimeoutError) or "closed" in str(exc).lower():
                    await s.close()
                    s = WsSession(base)
                    await s.connect()
                    await s.run("")
    finally:
        await s.close()


def ws_check(s: WsSession, stats: Stats, where: str) -> None:
    for e in s.exceptions:
        stats.error("stException", f"{where}: {e}")
    for t in s.texts:
        if "could not be drawn" in t:
            details = [x for x in s.texts if "Error" in x or "Exception" in x]
            stats.error("caught_exception", f"{where}: {' | '.join(details)[:250]}")
        if re.search(r"connection is busy|Could not set lock", t, re.I):
            stats.error("duckdb_busy", f"{where}: {t[:200]}")


async def run(base: str, sessions: int, seconds: float, server_pid: int | None, client: str = "browser",
              only: list[str] | None = None) -> dict:
    from playwright.async_api import async_playwright
    pages = [p for p in app_pages() if only is None or p in only or (p == "" and "board" in only)]
    stats = Stats()
    rss = {"start": rss_mb(server_pid) if server_pid else None, "peak": None, "samples": []}

    async def sample():
        while True:
            if server_pid:
                v = rss_mb(server_pid)
                if v is not None:
                    rss["samples"].append(round(v, 1))
                    rss["peak"] = max(rss["peak"] or 0, v)
            await asyncio.sleep(1)

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                          args=["--no-sandbox", "--disable-dev-shm-usage"])
        warm_s = await warm_up(browser, base, pages)
        if client == "ws":  # the browser is needed for the warm-up only
            await browser.close()
        rss["start"] = rss_mb(server_pid) if server_pid else None
        cpu0 = cpu_seconds(server_pid) if server_pid else None
        sampler = asyncio.create_task(sample())
        t0 = time.time()
        deadline = t0 + seconds
        if client == "ws":
            jobs = [ws_session(base, pages, deadline, stats, s) for s in range(sessions)]
        else:
            jobs = [session(browser, base, pages, deadline, stats, s) for s in range(sessions)]
        try:
            results = await asyncio.wait_for(asyncio.gather(*jobs, return_exceptions=True),
                                             timeout=seconds + 2 * ACTION_TIMEOUT_MS / 1000 + 30)
            for r in results:
                if isinstance(r, Exception):
                    stats.error("session", f"{type(r).__name__}: {r}")
        except asyncio.TimeoutError:
            stats.error("timeout", "the run did not stop in time")
        elapsed = time.time() - t0
        sampler.cancel()
        if client != "ws":
            await browser.close()
    rss["end"] = rss_mb(server_pid) if server_pid else None
    cpu1 = cpu_seconds(server_pid) if server_pid else None
    server_cpu = round(cpu1 - cpu0, 1) if cpu0 is not None and cpu1 is not None else None
    loads = sorted(stats.load_seconds)
    return {
        "client": client, "sessions": sessions, "seconds": round(elapsed, 1), "pages": pages,
        "warm_up_seconds": round(warm_s, 1),
        "page_loads": stats.page_loads, "selector_changes": stats.selector_changes,
        "page_load_seconds_median": round(loads[len(loads) // 2], 2) if loads else None,
        "page_load_seconds_p95": round(loads[int(len(loads) * 0.95)], 2) if loads else None,
        "server_cpu_seconds": server_cpu,
        "errors": stats.errors, "harness_retries": stats.harness_retries, "error_examples": stats.examples,
        "server_rss_mb": {"start": rss["start"] and round(rss["start"], 1), "end": rss["end"] and round(rss["end"], 1),
                          "peak": rss["peak"] and round(rss["peak"], 1),
                          "every_10_s": rss["samples"][::10]},
    }


class Loads:
    """N `python -m send_metrics load --force` processes, each restarted when it ends, until stopped."""

    def __init__(self, n: int, data_dir: Path, app_store: Path, tmp: Path):
        self.n, self.data_dir, self.app_store, self.tmp = n, data_dir, app_store, tmp
        self.procs: list[subprocess.Popen | None] = [None] * n
        self.completed = 0
        self.seconds: list[float] = []
        self._started: list[float] = [0.0] * n
        self._stop = False

    def _store(self, i: int) -> Path:
        return self.app_store if i == 0 else self.tmp / f"load_store_{i}"

    def _spawn(self, i: int) -> None:
        env = {**os.environ, "SEND_STORE_DIR": str(self._store(i))}
        self._started[i] = time.time()
        self.procs[i] = subprocess.Popen([sys.executable, "-m", "send_metrics", "load", "--force",
                                          "--data-dir", str(self.data_dir)], cwd=ROOT, env=env,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    async def run(self) -> None:
        for i in range(self.n):
            self._spawn(i)
        while not self._stop:
            for i, proc in enumerate(self.procs):
                if proc is not None and proc.poll() is not None:
                    if proc.returncode == 0:
                        self.completed += 1
                        self.seconds.append(round(time.time() - self._started[i], 1))
                    if not self._stop:
                        self._spawn(i)
            await asyncio.sleep(0.5)

    def stop(self) -> None:
        self._stop = True
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        # A load stopped after it published may leave the app's store on a load without derived
        # tables: the app keeps serving its previous complete load (db.DERIVED_WAIT_S), and the
        # next `load` completes it (RELIABILITY.md 7.6.6, 7.7).


async def run_with_loads(base: str, sessions: int, seconds: float, server_pid: int | None, client: str,
                         only: list[str] | None, loads: Loads | None) -> dict:
    """One round: the sessions, with the loads running beside them when given."""
    task = asyncio.create_task(loads.run()) if loads else None
    load_avg_before = os.getloadavg()
    try:
        result = await run(base, sessions, seconds, server_pid, client, only)
    finally:
        if loads:
            loads._stop = True
            await task
    result["load_average_before"] = [round(x, 2) for x in load_avg_before]
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    if loads:
        loads.stop()
        result["loads"] = {"running": loads.n, "completed": loads.completed, "seconds": loads.seconds}
    return result


def generate_national(folder: Path) -> Path:
    sys.path.insert(0, str(ROOT))
    from send_metrics.tools.bench.national import generate
    generate(folder)
    return folder


def scan_log(path: Path) -> dict[str, int]:
    text = path.read_text(errors="replace") if path.exists() else ""
    return {name: len(rx.findall(text)) for name, rx in LOG_PATTERNS.items()}


def serving_while_loading(args, base: str, pid: int | None, only, server: Server, tmp: Path) -> dict:
    """Rounds alternating without and with the loads; the last round's figures at the top level, every
    round under "rounds", and the with / without p95 ratios of neighbouring rounds."""
    rounds = []
    for r in range(args.rounds):
        with_loads = r % 2 == 1
        loads = Loads(args.loads, Path(args.data_dir).resolve(), server.env and Path(server.env["SEND_STORE_DIR"]),
                      tmp) if with_loads else None
        print(f"round {r + 1}/{args.rounds}: {'with ' + str(args.loads) + ' loads' if with_loads else 'no loads'} "
              f"(load average {os.getloadavg()[0]:.2f}) ...", flush=True)
        res = asyncio.run(run_with_loads(base, args.sessions, args.seconds, pid, args.client, only, loads))
        res["with_loads"] = with_loads
        rounds.append(res)
        print(f"  p95 {res['page_load_seconds_p95']} s, median {res['page_load_seconds_median']} s, "
              f"{res['page_loads']} page loads, errors {res['errors'] or 0}, load average "
              f"{res['load_average_before'][0]} -> {res['load_average_after'][0]}"
              + (f", loads completed {res['loads']['completed']}" if with_loads else ""), flush=True)
    ratios = []
    for i, res in enumerate(rounds):
        if res["with_loads"]:
            near = [rounds[j]["page_load_seconds_p95"] for j in (i - 1, i + 1)
                    if 0 <= j < len(rounds) and rounds[j]["page_load_seconds_p95"]]
            if near and res["page_load_seconds_p95"]:
                ratios.append(round(res["page_load_seconds_p95"] / (sum(near) / len(near)), 2))
    merged = dict(rounds[-1])
    merged["errors"] = {}
    for res in rounds:
        for k, v in res["errors"].items():
            merged["errors"][k] = merged["errors"].get(k, 0) + v
    merged["error_examples"] = [e for res in rounds for e in res["error_examples"]][:20]
    merged["page_loads"] = sum(res["page_loads"] for res in rounds)
    merged["selector_changes"] = sum(res["selector_changes"] for res in rounds)
    merged["rounds"] = [{k: v for k, v in res.items() if k not in ("error_examples", "pages")} for res in rounds]
    merged["p95_ratio_with_loads"] = ratios
    print(f"p95 with loads / without (neighbouring rounds): {ratios}")
    return merged


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=20, help=f"concurrent sessions (1-{MAX_SESSIONS})")
    ap.add_argument("--seconds", type=float, default=60, help=f"duration (1-{MAX_SECONDS})")
    ap.add_argument("--url", help="use a running app on loopback instead of starting one")
    ap.add_argument("--data-dir", default=str(ROOT / "data"), help="data folder for the started app")
    ap.add_argument("--store-dir", help="store for the started app (default: a new temporary folder)")
    ap.add_argument("--client", choices=["browser", "ws"], default="browser",
                    help="browser: N pages of headless Chromium (default); ws: N lightweight websocket "
                         "clients speaking Streamlit's protocol (measures the server, not the browser)")
    ap.add_argument("--pages", help="comma-separated URL paths to visit (default: every page of app.py)")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    ap.add_argument("--loads", type=int, default=0,
                    help="serving while loading: this many national-scale loads (1-4) run in the rounds that have them")
    ap.add_argument("--rounds", type=int, default=2,
                    help="with --loads: rounds alternating without and with the loads (2-8; default 2)")
    ap.add_argument("--load-data", help="with --loads: the data folder the app serves and the loads load "
                                        "(default: national-scale data generated as the bench does)")
    args = ap.parse_args(argv)
    if args.loads and not (1 <= args.loads <= 4 and 2 <= args.rounds <= 8) or (args.loads and args.url):
        print("error: --loads must be 1-4 and --rounds 2-8, and --loads needs the app started here (no --url)",
              file=sys.stderr)
        return 2
    if not 1 <= args.sessions <= MAX_SESSIONS or not 1 <= args.seconds <= MAX_SECONDS:
        print(f"error: --sessions must be 1-{MAX_SESSIONS} and --seconds 1-{MAX_SECONDS}", file=sys.stderr)
        return 2
    if not Path(CHROMIUM).exists():
        print(f"error: {CHROMIUM} is missing (apt-get install chromium)", file=sys.stderr)
        return 2
    if args.url and urlparse(args.url).hostname not in ("127.0.0.1", "localhost", "::1"):
        print("error: --url must be a loopback address (http://127.0.0.1:PORT)", file=sys.stderr)
        return 2

    server = None
    tmp = Path(tempfile.mkdtemp(prefix="send-loadtest-"))
    log_path = tmp / "server.log"
    prepare_s = None
    try:
        if args.url:
            base, pid = args.url.rstrip("/"), None
            if not wait_health(base, 30):
                print(f"error: no app answers at {base}", file=sys.stderr)
                return 2
        else:
            store = Path(args.store_dir) if args.store_dir else tmp / "store"
            data_dir = Path(args.data_dir)
            if args.loads:
                data_dir = Path(args.load_data) if args.load_data else tmp / "national"
                if not args.load_data:
                    print(f"generating national-scale data in {data_dir} ...", flush=True)
                    generate_national(data_dir)
                args.data_dir = str(data_dir)
            server = Server(data_dir.resolve(), store.resolve(), log_path)
            print(f"loading {args.data_dir} into {store} ...", flush=True)
            prepare_s = server.prepare()
            server.start()
            base, pid = server.url, server.proc.pid
        print(f"{args.sessions} sessions for {args.seconds:g} s against {base} ...", flush=True)
        only = [p.strip().strip("/") for p in args.pages.split(",")] if args.pages else None
        if args.loads:
            result = serving_while_loading(args, base, pid, only, server, tmp)
        else:
            result = asyncio.run(run(base, args.sessions, args.seconds, pid, args.client, only))
        result["prepare_seconds"] = prepare_s and round(prepare_s, 1)
        result["server_log"] = scan_log(log_path) if server else None
        result["machine"] = {"cpus": os.cpu_count(), "load_average": os.getloadavg()}
    finally:
        if server:
            server.stop()
            if not args.store_dir:  # the private store is large; the server log is kept
                import shutil
                shutil.rmtree(tmp / "store", ignore_errors=True)
    log_errors = sum((result.get("server_log") or {}).values())
    total_errors = sum(result["errors"].values()) + log_errors
    result["total_errors"] = total_errors
    rss = result["server_rss_mb"]
    print(f"{result['client']} sessions held: {result['sessions']} for {result['seconds']} s")
    print(f"page loads: {result['page_loads']}, selector changes: {result['selector_changes']}, "
          f"median page load {result['page_load_seconds_median']} s, p95 {result['page_load_seconds_p95']} s")
    print(f"errors: {result['errors'] or 0}; server log: {result['server_log']}")
    print(f"server RSS: start {rss['start']} MB, end {rss['end']} MB, peak {rss['peak']} MB; "
          f"server CPU {result['server_cpu_seconds']} s in {result['seconds']} s")
    for e in result["error_examples"][:10]:
        print("  " + e)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    if server:
        print(f"server log: {log_path}")
    return 0 if total_errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
