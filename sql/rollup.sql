-- Build a parent area's rows by summing its member localities (sum of counts, never an
-- average of rates). Placeholders in braces are identifiers from the data contract, filled in
-- by send_metrics/store.py; values are never formatted into SQL.
-- A parent is built for a period only when (a) the parent has no direct rows for that period
-- and (b) every member locality has rows for that period (coverage is complete).
INSERT INTO {table}
WITH leaves AS (
    SELECT ancestor, count(*) AS n_leaves FROM rollup_map GROUP BY ancestor
),
present AS (
    SELECT r.ancestor, f.{period}, count(DISTINCT f.area_code) AS n_present
    FROM {table} f JOIN rollup_map r ON f.area_code = r.leaf
    WHERE NOT f.is_rollup
    GROUP BY r.ancestor, f.{period}
),
complete AS (
    SELECT p.ancestor, p.{period} FROM present p JOIN leaves l USING (ancestor)
    WHERE p.n_present = l.n_leaves
      AND NOT EXISTS (SELECT 1 FROM {table} d
                      WHERE d.area_code = p.ancestor AND d.{period} = p.{period})
)
SELECT {select_list}
FROM {table} f
JOIN rollup_map r ON f.area_code = r.leaf
JOIN complete c ON c.ancestor = r.ancestor AND c.{period} = f.{period}
JOIN areas a ON a.area_code = r.ancestor
WHERE NOT f.is_rollup
GROUP BY {group_list};
