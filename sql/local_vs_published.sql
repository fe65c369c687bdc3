-- The rows of one dataset that come from a council's SEN2 person-level return (the COLLECT Blade
-- export, $local) or from DfE's "Education, health and care plans" release ($published), every
-- edition kept, with the council each row belongs to (a locality's council through a whole
-- membership), for the councils the return covers. reconcile.local_vs_published sets the two side
-- by side. {table}, {cells} and {values} are filled from the data contract (dataset name,
-- breakdown and indicator columns).
WITH r AS (
    SELECT CASE WHEN t.source_file LIKE $local THEN 'local' ELSE 'published' END AS side,
           t.source_file, t.edition, t.area_code, t.area_level,
           coalesce(m.parent_code, t.area_code) AS council, t.year AS period, {cells}, {values}
    FROM "{table}" t
    LEFT JOIN (SELECT child_code, min(parent_code) AS parent_code FROM area_membership
               WHERE relationship = 'council' AND weight = 1 GROUP BY child_code) m
           ON m.child_code = t.area_code AND t.area_level = 'locality'
    WHERE NOT coalesce(t.is_rollup, false)
      AND (t.source_file LIKE $local OR t.source_file LIKE $published)
)
SELECT * FROM r WHERE council IN (SELECT council FROM r WHERE side = 'local')
