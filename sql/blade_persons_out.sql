-- The ehcp_persons rows of return number $ret (the open plans that passed, blade_open_plans.sql):
-- with no postcode lookup ($council_only) every child in the council; else only the children placed
-- in a locality. The setting is 'all' for every row when one row's setting is unknown ($setting_all).
-- Empty text is NULL so the CSV writer leaves the field empty.
INSERT INTO {table}
SELECT $ret::BIGINT AS ret, line, $year::BIGINT AS time_period, 'January' AS time_identifier,
       CASE WHEN $council_only THEN $council ELSE locality END AS area_code,
       CASE WHEN $council_only THEN 'council' ELSE 'locality' END AS area_level,
       identity, nullif(need, '') AS primary_need, nullif(age_band, '') AS age_band,
       CASE WHEN $setting_all THEN 'all' ELSE nullif(setting, '') END AS setting_type, nullif(ncy, '') AS ncy
FROM open_plans
WHERE seen = 1 AND age_band IS NOT NULL AND ($council_only OR locality IS NOT NULL)
