-- The region of each area: its own region parent, or the region of a council it belongs to.
WITH RECURSIVE up(child, parent) AS (
    SELECT child_code, parent_code FROM area_membership WHERE weight = 1
    UNION
    SELECT up.child, m.parent_code FROM up JOIN area_membership m ON m.child_code = up.parent AND m.weight = 1
)
SELECT up.child AS area_code, min(up.parent) AS region_code
FROM up JOIN areas a ON a.area_code = up.parent AND a.area_level = 'region'
GROUP BY up.child
