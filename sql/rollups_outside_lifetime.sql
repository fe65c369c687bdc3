-- Parent areas not built for some periods because the periods fall outside the area's lifetime
-- (areas.valid_from / valid_to; read from the rollup_coverage table, sql/rollup_coverage.sql).
SELECT ancestor, CAST(min(period) AS VARCHAR), CAST(max(period) AS VARCHAR)
FROM rollup_coverage
WHERE NOT in_lifetime
GROUP BY ancestor
ORDER BY 1;
