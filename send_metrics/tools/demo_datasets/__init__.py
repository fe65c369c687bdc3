"""The datasets of the synthetic demo extract, one module per dataset family, each building its rows
from its own seeded random stream (`common.dataset_rng`), so a change to one dataset never shifts
another's numbers. `send_metrics.tools.demo` writes them, with the published files and the README.

* `common`: the geography (the seven localities and their councils), the contract's codes, the
  years, the rows the person-level export gives instead, and the apportioning helpers;
* `population`, `caseload` (EHC plans), `assessments` (requests, new plans, timeliness, reviews),
  `school_census`, `waiting` (community waiting lists and activity), `outcomes` (by SEN status).
"""
