-- Parent areas and periods that could not be built because a member locality has no rows.
WITH leaves AS (SELECT ancestor, count(*) AS n_leaves FROM rollup_map GROUP BY ancestor),
present AS (
    SELECT r.ancestor, f.{period} AS period, count(DISTINCT f.area_code) AS n_present
    FROM {table} f JOIN rollup_map r ON f.area_code = r.leaf
    WHERE NOT f.is_rollup GROUP BY ALL
)
SELECT p.ancestor, CAST(p.period AS VARCHAR) AS period, p.n_present, l.n_leaves
FROM present p JOIN leaves l USING (ancestor)
WHERE p.n_present < l.n_leaves
  AND NOT EXISTS (SELECT 1 FROM {table} d WHERE d.area_code = p.ancestor AND d.{period} = p.period)
ORDER BY 1, 2;
