"""SEND needs dashboard: entry point. Declares the pages; each page is a thin file in pages/."""
import base64
import os
import sys

# Small matrix work (disclosure checks) is far slower with multi-threaded BLAS on shared cores.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import streamlit as st  # noqa: E402

# A local favicon: a Material or emoji page_icon makes the browser fetch the icon from the internet.
# Given as a data URL, which Streamlit passes on as it is: a file path is opened and checked with
# PIL on every run, about a third of a second of the first page.
FAVICON = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dashboard", "favicon.png")
with open(FAVICON, "rb") as _icon:
    FAVICON_URL = "data:image/png;base64," + base64.b64encode(_icon.read()).decode("ascii")
st.set_page_config(page_title="SEND needs dashboard", layout="wide")

# A flat list (grouped by audience in this order): Streamlit's sectioned sidebar renders
# invalid list markup that fails axe's "list" rule, a serious accessibility violation.
PAGES = [
    st.Page("pages/board.py", title="Board overview", url_path="home", default=True),
    st.Page("pages/trends.py", title="Trends", url_path="trends"),
    st.Page("pages/equity.py", title="Equity: North vs South", url_path="equity"),
    st.Page("pages/waiting.py", title="Waiting times", url_path="waiting"),
    st.Page("pages/pathway.py", title="Assessment pathway", url_path="pathway"),
    st.Page("pages/benchmarks.py", title="Benchmarks", url_path="benchmarks"),
    st.Page("pages/needs.py", title="Needs and demand", url_path="needs"),
    st.Page("pages/demand.py", title="Demand and cost projection", url_path="demand"),
    st.Page("pages/explorer.py", title="Data explorer", url_path="explorer"),
    st.Page("pages/upload.py", title="Upload an extract", url_path="upload"),
    st.Page("pages/definitions.py", title="Definitions", url_path="definitions"),
    st.Page("pages/about.py", title="About and accessibility", url_path="about"),
    # The default page is served at the root only (its url_path names nothing), so /board would
    # say "Page not found"; a hidden second entry serves the same page at /board.
    st.Page("pages/board.py", title="Board overview", url_path="board", visibility="hidden"),
]

# Lets a page know it runs inside this navigation (see dashboard.ui.ensure_navigation).
st.session_state["_navigation_ready"] = True
navigation = st.navigation(PAGES)  # before anything is written: the sidebar then lists these pages

# The first run in a new server process loads the pages' modules (a second or more) before a page
# can write anything: say so in words at once, never a blank page. (Preparing the data on a thread
# meanwhile was tried and measured: slower, the two contend for the interpreter on two cores.)
opening = None
if "dashboard.ui" not in sys.modules:
    opening = st.empty()
    opening.info("Opening the dashboard: the server has just started, so it is loading its code and "
                 "reading the data (a few seconds; this happens once).", icon=":material/hourglass_top:")
# The icon after the words: Streamlit imports numpy and PIL for it on the first run.
st.set_page_config(page_icon=FAVICON_URL)
try:
    navigation.run()
finally:
    if opening is not None:
        opening.empty()
