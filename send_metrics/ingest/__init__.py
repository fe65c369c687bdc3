"""Ingest: from a dropped file to a load in the store.

Owns everything a file passes through before a figure is computed from it: finding the files
(``data_folder``), reading them in any encoding or format (``readers``), recognising published
DfE / NHS / ONS layouts and adapting them to the data contract (``recognise``, ``adapters/``,
including the SEN2 person-level return, ``sen2_blade`` and ``adapters/blade``), checking every row
against the contract with quarantine of bad rows (``validate``, ``area_codes``), resolving one value
per figure across files and editions (``resolve``) and rolling areas up (``roll_up``), and publishing
an immutable load as Parquet (``store``; the store on disk that readers use, ``stored_loads``; the
demo's load shipped made, ``snapshot``).

It may import: ``config``, ``code_key``, ``contract``, ``catalogue`` (the declarations at the top
of the package) and itself. Never the measures, statistics or presentation: a load is the same whatever
reads it.
"""
