-- Parent areas and periods that could not be built because a member locality has no rows
-- (read from the rollup_coverage table, sql/rollup_coverage.sql).
SELECT ancestor, CAST(period AS VARCHAR) AS period, n_present, n_leaves
FROM rollup_coverage
WHERE n_present < n_leaves AND in_lifetime
ORDER BY 1, 2;
