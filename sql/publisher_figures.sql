-- The areas and periods of one dataset whose figures the publisher itself shows: areas at the
-- publisher's levels ($levels: councils and above), for periods whose last day ({period_end})
-- falls within the area's life as a publishing body (areas.published_from, else valid_from, to
-- valid_to). A council formed by reorganisation (Cumberland, April 2023) has figures for earlier
-- periods built back from its localities, which no publisher shows.
-- Placeholders in braces are identifiers from the data contract, filled in by
-- send_metrics/measures/release_cells.py; values are passed as parameters.
SELECT DISTINCT CAST(f.area_code AS VARCHAR) AS area_code, CAST(f.{period} AS VARCHAR) AS period
FROM {dataset} f JOIN areas a ON a.area_code = f.area_code
WHERE list_contains($levels, a.area_level)
  AND coalesce({period_end} >= coalesce(a.published_from, a.valid_from), true)
  AND coalesce({period_end} <= a.valid_to, true)
ORDER BY ALL
