-- A person-level Parquet file kept as it is (it passed every check as a whole; see
-- send_metrics.validate.clean_person_parquet) is counted into the caseload straight from the
-- file: the same cells as persons_to_caseload.sql gives for rows copied into the store.
INSERT INTO t_ehcp_caseload (year, area_code, area_level, area_name, primary_need, age_band, setting_type,
                             ehc_plans, ehc_plans_symbol, edition, source_file, source_row, is_rollup)
SELECT CAST(time_period AS INTEGER), area_code, any_value(area_level), NULL, primary_need, age_band, setting_type,
       count(*), NULL, NULL, $file, NULL, false
FROM read_parquet($path)
GROUP BY time_period, area_code, primary_need, age_band, setting_type;
