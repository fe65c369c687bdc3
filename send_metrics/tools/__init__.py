"""Tools beside the product: the benchmark (``bench``, a package: one module per part of the run) and
the synthetic data generators (``demo``: the demo extract, its datasets in ``demo_datasets``; ``sen2_blade_demo``: a SEN2 person-level return as COLLECT exports it;
``demand_demo``: a person-level history for the demand model).

May import anything in the package. Nothing in the product imports a tool, except the command line
that runs them.
"""
