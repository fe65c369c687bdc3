-- A person-level extract is counted into the caseload dataset at load: one cell per area,
-- year, need, age band and setting, keeping the source file and edition so that an aggregated
-- file and a person-level file of the same figures are caught as duplicates. The placeholder
-- (cells) gives those cells with `persons` (person_cells.sql): from the store's copied rows, or from a file
-- kept as it is, whose check already counted them.
INSERT INTO t_ehcp_caseload (year, area_code, area_level, area_name, primary_need, age_band, setting_type,
                             ehc_plans, ehc_plans_symbol, edition, source_file, source_row, is_rollup)
SELECT year, area_code, area_level, NULL, primary_need, age_band, setting_type,
       persons, NULL, edition, source_file, NULL, false
FROM {cells}
-- The order placeholder is "ORDER BY source_file" when the cells come from several files: in file order, so
-- that when two files give the same cell the first file's is kept (see store.py); empty for one file.
{order};
