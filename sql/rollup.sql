-- Build a parent area's rows by summing its member localities (sum of counts, never an
-- average of rates). Placeholders in braces are identifiers from the data contract, filled in
-- by send_metrics/ingest/roll_up.py; values are never formatted into SQL.
-- A parent is built for a period only when (a) the parent has no direct rows for that period
-- and (b) every member locality has rows for that period (coverage is complete): both are
-- read from the rollup_coverage table (sql/rollup_coverage.sql), which also says whether the
-- period is within the parent's lifetime (never a row for Cumbria after March 2023).
INSERT INTO {table}
SELECT {select_list}
FROM {table} f
JOIN rollup_map r ON f.area_code = r.leaf
JOIN rollup_coverage c ON c.ancestor = r.ancestor AND c.period = f.{period} AND c.n_present = c.n_leaves
    AND c.in_lifetime
JOIN areas a ON a.area_code = r.ancestor
WHERE NOT f.is_rollup
GROUP BY {group_list};
