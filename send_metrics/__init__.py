"""send_metrics: loading, measures and statistics for the SEND needs dashboard.

Used by the Streamlit app, the command line (`python -m send_metrics`), the tests and the
benchmarks. It never imports Streamlit.
"""
__version__ = "0.1.0"
