-- For each parent area and period: how many of its member localities have rows, out of how
-- many it has. Only pairs where the parent has no direct rows of its own are listed (a parent's
-- own figures are never replaced by a sum). Built once per dataset into a temp table, which
-- sql/rollup.sql (complete pairs) and sql/incomplete_rollups.sql (the rest) read.
-- `in_lifetime` is false for a period whose last day ({period_end}) is outside the parent's
-- valid_from .. valid_to (areas.csv): an abolished area (Cumbria, to 31 March 2023) is never
-- built for later periods, and the 'Cumbria (both councils)' series never for earlier ones.
-- Placeholders in braces are identifiers from the data contract, filled in by
-- send_metrics/ingest/roll_up.py; values are never formatted into SQL.
CREATE OR REPLACE TEMP TABLE rollup_coverage AS
WITH leaves AS (
    SELECT ancestor, count(*) AS n_leaves FROM rollup_map GROUP BY ancestor
),
present AS (
    SELECT r.ancestor, f.{period} AS period, count(DISTINCT f.area_code) AS n_present
    FROM {table} f JOIN rollup_map r ON f.area_code = r.leaf
    WHERE NOT f.is_rollup
    GROUP BY ALL
)
SELECT p.ancestor, p.period, p.n_present, l.n_leaves,
       coalesce({period_end} >= a.valid_from, true) AND coalesce({period_end} <= a.valid_to, true) AS in_lifetime
FROM present p JOIN leaves l USING (ancestor) JOIN areas a ON a.area_code = p.ancestor
WHERE NOT EXISTS (SELECT 1 FROM {table} d WHERE d.area_code = p.ancestor AND d.{period} = p.period);
