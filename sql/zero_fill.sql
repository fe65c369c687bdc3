-- The categories no child falls in, written as counts of 0 for the areas of the hierarchies
-- (localities and every area built from them), in each period they have rows for. A table that
-- lists only the categories some child falls in says, by a missing row, that a count is 0: where
-- the publisher shows a council's figure unsuppressed (DfE's SEN2 release), a locality's small
-- count is then that figure less its neighbours' zeros, and a missing row cannot be withheld.
-- Written out, a zero is a cell like any other, which disclosure control can withhold.
-- Every combination some locality (a leaf of the hierarchies) has in the period is filled in, for
-- the localities and for the areas built from them; an area with rows of its own in the period (a
-- council's published file) is as its file says (a total the file gives alone, e.g. DfE's ceased
-- plans where the reasons do not add up, says nothing of its parts). The rows are marked as built
-- (is_rollup), so they are never counted as rows read from a file.
-- Placeholders in braces are identifiers from the data contract, filled in by
-- send_metrics/ingest/roll_up.py; values are never formatted into SQL.
INSERT INTO {table} BY NAME
WITH local_rows AS (
    SELECT * FROM {table}
    WHERE area_code IN (SELECT leaf FROM rollup_map UNION SELECT ancestor FROM rollup_map)
),
area_periods AS (
    SELECT area_code, {period}, any_value(area_level) AS area_level, max(edition) AS edition
    FROM local_rows GROUP BY ALL
    HAVING bool_and(coalesce(is_rollup, false)) OR area_code IN (SELECT leaf FROM rollup_map)
),
combos AS (
    SELECT DISTINCT {period}, {categories} FROM local_rows WHERE area_code IN (SELECT leaf FROM rollup_map)
),
missing AS (
    SELECT a.area_code, c.* FROM area_periods a JOIN combos c USING ({period})
    EXCEPT
    SELECT area_code, {period}, {categories} FROM local_rows
)
SELECT m.*, a.area_level, a.edition, {zeros}, 'zero-fill' AS source_file, NULL AS source_row, true AS is_rollup
FROM missing m JOIN area_periods a USING (area_code, {period});
