"""Measures: from a load to the figures every output shows.

Owns the computation of the catalogue's measures for every area and period (``engine``, SQL in
``sql/``) with their intervals, benchmarks, trends and disclosure control; the needs breakdowns
(``breakdowns``) and the disclosure control of such raw-count tables (``table_protection``, with
its whole-table check ``linear_repair``); the comparisons between areas (``pair_comparison``) and
what the comparison pages show (``footprints``, ``localities``, ``benchmarking``,
``waiting_times``); the headline tiles and sentences (``summary``); the demand projection and
model (``projection``, ``demand``); the assessment pathway from the person-level return
(``pathway``); the reconciliation of figures given by more than one source (``reconcile``); the
demo's derived tables shipped prebuilt (``prebuilt``); and what the analyst pages compute: the Data
explorer's protected sums and views (``explore``, protected by ``explore_protection``) and its
data-quality tables (``data_quality``), and the Needs and demand page's sections (``needs_view``).

May import: the declarations (``config``, ``code_key``, ``contract``, ``catalogue``), ``db`` (every
query runs through one ``Database``), ``ingest`` (to read what a load holds), ``stats`` and itself.
Never ``present`` or Streamlit.
"""
