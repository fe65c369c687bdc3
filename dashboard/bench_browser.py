"""The browser half of `python -m send_metrics bench`: felt latency in headless Chromium, as ratios
to a floor app (dashboard/bench_floor.py) measured in the same run.

    python -m dashboard.bench_browser pages REPEATS DATA_DIR STORE_DIR [DATA_DIR STORE_DIR ...]  # JSON
    python -m dashboard.bench_browser first-start                                               # JSON

``pages``: for each scale (a data folder with its store: the demo, national scale), the app and
the floor app are started on loopback ports and driven by Playwright in Debian's Chromium
(/usr/bin/chromium, as tests/pages/test_browser.py). For every page, in rounds that interleave the
floor and every page (so a busy moment of the shared machine hits both alike):

- open: from navigation (a link typed into the address bar: a new session) to the page settled;
- change: from choosing another option of the page's first select box to the page settled;
- bytes: what the server sent over the websocket for that open or change (every frame).

"Settled" is measured in the page, on every animation frame: the app is connected, its script is
not running, no element is stale or a skeleton, and that has held for QUIET_MS (the time reported
is when the quiet period began, so the wait itself is not counted). Each page's median and p95 are
divided by the floor's median and p95 of the same run.

SEND_BENCH_PAGES=explorer,equity limits ``pages`` to those pages (the floor is always measured).

``first-start``: a fresh clone of the committed tree (git clone of HEAD), README command 1 run in it
(`python -m streamlit run app.py`, dependencies already installed), then the seconds from the
server answering its health check (navigation starts then) to the Board settled with its summary
table (when the quiet period began, as for ``open``), and the same for a second start. Needs git and the committed tree.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
# url path of each page (app.py); the Board is the default page, served at the root.
PAGES = {"board": "", "trends": "trends", "equity": "equity", "waiting": "waiting", "pathway": "pathway",
         "benchmarks": "benchmarks", "needs": "needs", "explorer": "explorer", "upload": "upload",
         "definitions": "definitions", "about": "about"}
FLOOR_PATH = "two"  # a page of the floor app opened by its address, as the app's pages are
QUIET_MS = 500
TIMEOUT_MS = 180_000

SETTLED_JS = """async ([quiet, timeout]) => {
    const idle = () => {
        const app = document.querySelector("[data-testid='stApp']");
        return !!app && app.getAttribute('data-test-connection-state') === 'CONNECTED'
            && app.getAttribute('data-test-script-state') === 'notRunning'
            && document.querySelectorAll("[data-testid='stMain']").length > 0
            && document.querySelectorAll("[data-testid='stSkeleton']").length === 0
            && document.querySelectorAll("[data-stale='true']").length === 0;
    };
    const start = performance.now();
    let since = null;
    while (performance.now() - start < timeout) {
        await new Promise(r => requestAnimationFrame(r));
        const now = performance.now();
        if (idle()) {
            if (since === null) since = now;
            if (now - since >= quiet) return since;
        } else {
            since = null;
        }
    }
    return -1;
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(script: str, env_extra: dict, cwd: Path = PROJECT_ROOT, log: Path | None = None,
          drop: tuple[str, ...] = ()):
    """Start a Streamlit script on a free loopback port; returns (process, base URL, seconds to
    the health check answering). ``drop``: environment variables the server must not see."""
    port = _free_port()
    env = {**{k: v for k, v in os.environ.items() if k not in drop}, "OPENBLAS_NUM_THREADS": "1",
           "OMP_NUM_THREADS": "1", **env_extra}
    out = open(log, "wb") if log else subprocess.DEVNULL
    t0 = time.time()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
                             "--server.address", "127.0.0.1", "--server.port", str(port),
                             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                            cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    while True:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return proc, base, time.time() - t0
        except OSError:
            pass
        if proc.poll() is not None or time.time() - t0 > 120:
            proc.kill()
            raise RuntimeError(f"{script} did not start" + (f": {log.read_text()[-1500:]}" if log else ""))
        time.sleep(0.05)


def stop(proc) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


class Tab:
    """One browser tab that counts the bytes the server sends it over websockets."""

    def __init__(self, browser, width: int = 1280):
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.page = self.context.new_page()
        self.received = 0
        self.frames: list[bytes] = []
        self.page.on("websocket", self._socket)

    def _socket(self, ws) -> None:
        ws.on("framereceived", lambda payload: self._count(payload))

    def _count(self, payload) -> None:
        self.received += len(payload)
        if isinstance(payload, bytes):
            self.frames.append(payload)

    def by_element(self) -> dict[str, int]:
        """Bytes of the frames received since the last open or change, by element type (the
        server's messages decoded with Streamlit's own protobuf classes)."""
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        out: dict[str, int] = {}
        for frame in self.frames:
            msg = ForwardMsg()
            try:
                msg.ParseFromString(frame)
            except Exception:  # noqa: BLE001 - not a ForwardMsg: counted apart
                out["other"] = out.get("other", 0) + len(frame)
                continue
            kind = msg.WhichOneof("type") or "other"
            if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                kind = msg.delta.new_element.WhichOneof("type") or "element"
            elif kind == "delta":
                kind = msg.delta.WhichOneof("type") or "delta"
            out[kind] = out.get(kind, 0) + len(frame)
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def settled(self) -> float:
        """performance.now() at which the page became settled (see SETTLED_JS)."""
        at = self.page.evaluate(SETTLED_JS, [QUIET_MS, TIMEOUT_MS])
        if at < 0:
            raise RuntimeError(f"{self.page.url} did not settle within {TIMEOUT_MS / 1000:.0f} s")
        return at

    def open(self, url: str) -> tuple[float, int]:
        """Seconds from navigation to settled, and bytes received."""
        self.received, self.frames = 0, []
        self.page.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
        at = self.settled()  # performance.now() counts from this document's navigation start
        return at / 1000, self.received

    def first_select(self):
        boxes = self.page.locator("[data-testid='stMain'] [data-testid='stSelectbox']")
        for i in range(boxes.count()):
            box = boxes.nth(i)
            if box.locator("input").first.is_enabled():
                return box
        return None

    def change(self) -> tuple[float, int] | None:
        """Choose another option of the first select box: seconds to settled and bytes received
        (None when the page has no select box with another option)."""
        box = self.first_select()
        if box is None:
            return None
        inp = box.locator("input").first
        current = inp.input_value()
        options = self.page.get_by_role("option")
        for attempt in range(3):  # a click during a rerun can be lost: try again
            inp.click()
            try:
                options.first.wait_for(timeout=10_000)
                break
            except Exception:
                self.page.keyboard.press("Escape")
                self.settled()
        else:
            return None
        texts = options.all_inner_texts()[:8]
        other = next((i for i, t in enumerate(texts) if t.strip() and t.strip() != current), None)
        if other is None:
            self.page.keyboard.press("Escape")
            return None
        self.received, self.frames = 0, []
        t0 = self.page.evaluate("performance.now()")
        options.nth(other).click()
        at = self.settled()
        return (at - t0) / 1000, self.received

    def elements(self) -> dict:
        return self.page.evaluate("""() => ({
            elements: document.querySelectorAll("[data-testid='stMain'] [data-testid='stElementContainer']").length,
            charts: document.querySelectorAll("[data-testid='stMain'] .js-plotly-plot").length,
            svg_paths: document.querySelectorAll("[data-testid='stMain'] .js-plotly-plot path").length,
            tables: document.querySelectorAll("[data-testid='stMain'] [data-testid='stTable'], [data-testid='stMain'] [data-testid='stDataFrame']").length,
        })""")


def _stats(xs: list[float]) -> dict:
    if not xs:
        return {"median_s": None, "p95_s": None, "n": 0}
    return {"median_s": round(statistics.median(xs), 3), "p95_s": round(float(np.percentile(xs, 95)), 3),
            "n": len(xs)}


def _ratio(a, b):
    return round(a / b, 2) if a is not None and b else None


def measure_scale(browser, base: str, floor_base: str, repeats: int, pages: dict = PAGES) -> dict:
    """Opens and changes of every page and of the floor, in interleaved rounds."""
    app, floor = Tab(browser), Tab(browser)
    # Warm-up (not timed): every page once, so first-use caches of the process are built.
    floor.open(f"{floor_base}/{FLOOR_PATH}")
    floor.change()
    for name, path in pages.items():
        print(f"warm-up: {name}", file=sys.stderr, flush=True)
        app.open(f"{base}/{path}")
        app.change()
    raw = {name: {"open": [], "change": [], "open_bytes": [], "change_bytes": []} for name in ["floor", *pages]}
    shape = {}
    for round_ in range(repeats):
        for name, path in [("floor", None), *pages.items()]:
            print(f"round {round_ + 1}: {name}", file=sys.stderr, flush=True)
            tab, url = (floor, f"{floor_base}/{FLOOR_PATH}") if name == "floor" else (app, f"{base}/{path}")
            seconds, nbytes = tab.open(url)
            raw[name]["open"].append(seconds)
            raw[name]["open_bytes"].append(nbytes)
            shape[name] = tab.elements()
            changed = tab.change()
            if changed:
                raw[name]["change"].append(changed[0])
                raw[name]["change_bytes"].append(changed[1])
                shape[name]["change_bytes_by_element"] = tab.by_element()
    app.context.close()
    floor.context.close()
    fo, fc = _stats(raw["floor"]["open"]), _stats(raw["floor"]["change"])
    out = {}
    for name, r in raw.items():
        o, c = _stats(r["open"]), _stats(r["change"])
        out[name] = {
            "open_median_s": o["median_s"], "open_p95_s": o["p95_s"],
            "change_median_s": c["median_s"], "change_p95_s": c["p95_s"], "repeats": o["n"],
            "open_median_ratio": _ratio(o["median_s"], fo["median_s"]),
            "change_median_ratio": _ratio(c["median_s"], fc["median_s"]),
            "change_p95_ratio": _ratio(c["p95_s"], fc["p95_s"]),
            "open_bytes": int(statistics.median(r["open_bytes"])) if r["open_bytes"] else None,
            "change_bytes": int(statistics.median(r["change_bytes"])) if r["change_bytes"] else None,
            **shape.get(name, {}),
        }
    return out


def chosen_pages() -> dict:
    """PAGES, or only those named in SEND_BENCH_PAGES (comma-separated), for measuring a change to a
    few pages against the floor without running every page; the full bench leaves it unset."""
    names = [n.strip() for n in os.environ.get("SEND_BENCH_PAGES", "").split(",") if n.strip()]
    unknown = [n for n in names if n not in PAGES]
    if unknown:
        raise SystemExit(f"SEND_BENCH_PAGES names unknown pages: {unknown}")
    return {n: PAGES[n] for n in names} if names else PAGES


def pages_run(repeats: int, scales: list[tuple[str, str, str]]) -> dict:
    from playwright.sync_api import sync_playwright
    logs = Path(tempfile.mkdtemp(prefix="send-bench-browser-"))
    result = {"quiet_ms": QUIET_MS, "repeats": repeats, "scales": {}}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        floor_proc, floor_base, _ = start("dashboard/bench_floor.py", {}, log=logs / "floor.log")
        try:
            for name, data_dir, store in scales:
                proc, base, _ = start("app.py", {"SEND_DATA_DIR": data_dir, "SEND_STORE_DIR": store},
                                      log=logs / f"{name}.log")
                try:
                    result["scales"][name] = measure_scale(browser, base, floor_base, repeats, chosen_pages())
                finally:
                    stop(proc)
        finally:
            stop(floor_proc)
            browser.close()
    shutil.rmtree(logs, ignore_errors=True)
    return result


def first_start() -> dict:
    """README command 1 in a fresh clone: seconds from the server answering to a useful Board."""
    from playwright.sync_api import sync_playwright
    work = Path(tempfile.mkdtemp(prefix="send-first-start-"))
    clone = work / "clone"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(PROJECT_ROOT), str(clone)], check=True)
    out = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
            for run in ("first", "second"):
                proc, base, health_s = start("app.py", {}, cwd=clone, log=work / f"{run}.log",
                                             drop=("SEND_DATA_DIR", "SEND_STORE_DIR"))
                try:
                    tab = Tab(browser)
                    tab.page.goto(base + "/", wait_until="commit", timeout=TIMEOUT_MS)
                    tab.page.locator("[data-testid='stDataFrame']").first.wait_for(timeout=TIMEOUT_MS)
                    # Seconds from navigation to settled, as for an open: the quiet period that
                    # confirms it (QUIET_MS) is not counted.
                    useful = tab.settled() / 1000
                    words = tab.page.locator("[data-testid='stMain']").inner_text()[:200]
                    out[run] = {"server_answering_s": round(health_s, 2), "useful_board_s": round(useful, 2),
                                "board_heading": "Board overview" in words}
                    tab.context.close()
                finally:
                    stop(proc)
            browser.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def main(argv: list[str]) -> int:
    if argv[:1] == ["pages"] and len(argv) >= 4 and len(argv) % 2 == 0:
        scales, rest = [], argv[2:]
        names = ["demo", "national", "scale3", "scale4"]
        for i in range(0, len(rest), 2):
            scales.append((names[i // 2], rest[i], rest[i + 1]))
        print(json.dumps(pages_run(int(argv[1]), scales)))
        return 0
    if argv[:1] == ["first-start"]:
        print(json.dumps(first_start()))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
