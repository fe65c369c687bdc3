"""The floor of the stack for the browser benchmark (dashboard/bench_browser.py): the least a page of
this dashboard could be in Streamlit. Each page has two select boxes, one plotly line chart of 40
points and one small table, and nothing else; the benchmark reports every real page's time as a
ratio to this app's, measured in the same run, in the same browser, on the same machine."""
import zlib

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st


def _floor_page() -> None:
    st.title("Floor page")
    area = st.selectbox("Area", [f"Area {i}" for i in range(20)], key="area")
    year = st.selectbox("Year", [str(y) for y in range(2015, 2026)], key="year", index=10)
    rng = np.random.default_rng(zlib.crc32(f"{area}/{year}".encode()))
    y = rng.normal(size=40).cumsum()
    st.plotly_chart(go.Figure(go.Scatter(x=list(range(40)), y=y, mode="lines")))
    st.table(pd.DataFrame({"point": range(5), "value": y[:5].round(2)}))


def one() -> None:
    _floor_page()


def two() -> None:
    _floor_page()


st.set_page_config(page_title="Floor", layout="wide")
st.navigation([st.Page(one, title="Floor one", url_path="one", default=True),
               st.Page(two, title="Floor two", url_path="two")]).run()
