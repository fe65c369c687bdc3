"""SEND needs dashboard: entry point. Declares the pages; each page is a thin file in pages/."""
import streamlit as st

st.set_page_config(page_title="SEND needs dashboard", page_icon=":material/insights:", layout="wide")

PAGES = {
    "For the board": [
        st.Page("pages/board.py", title="Board overview", url_path="board", default=True),
        st.Page("pages/trends.py", title="Trends", url_path="trends"),
    ],
    "For commissioners": [
        st.Page("pages/equity.py", title="Equity: North vs South", url_path="equity"),
        st.Page("pages/waiting.py", title="Waiting times", url_path="waiting"),
        st.Page("pages/benchmarks.py", title="Benchmarks", url_path="benchmarks"),
        st.Page("pages/needs.py", title="Needs and demand", url_path="needs"),
    ],
    "For analysts": [
        st.Page("pages/explorer.py", title="Data explorer", url_path="explorer"),
        st.Page("pages/upload.py", title="Upload an extract", url_path="upload"),
    ],
    "About": [
        st.Page("pages/definitions.py", title="Definitions", url_path="definitions"),
        st.Page("pages/about.py", title="About and accessibility", url_path="about"),
    ],
}

# Lets a page know it runs inside this navigation (see dashboard.ui.ensure_navigation).
st.session_state["_navigation_ready"] = True
st.navigation(PAGES).run()
