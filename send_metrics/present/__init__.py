"""Presentation without Streamlit: what turns figures into something a person reads.

Owns the plotly charts (``charts``, with the SPC charts in ``spc_charts``, the locality maps in
``maps`` and the Data explorer's own in ``explore_charts``), the board pack (``report``: one
self-contained HTML file, a module per section), safe downloads (``export``), the generated
documentation (``docs``), the methods in words (``methods``) and the showing of untrusted text
(``safe_text``). The Streamlit pages (``pages/``)
and their shared widgets (``dashboard/``) call these.

May import: ``measures``, ``stats``, ``db``, ``ingest`` (to say what is loaded), the declarations
and itself. Nothing imports it but the pages, the command line and the tools.
"""
