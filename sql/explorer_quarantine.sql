-- Data explorer, data quality: rows the loader quarantined, with the reason, for one file or
-- for all files ($file is NULL). Values are parameters; the number of rows is capped by $limit.
SELECT source_file, dataset, source_row, column_name, value, reason, raw_row
FROM quarantine
WHERE $file IS NULL OR source_file = $file
ORDER BY source_file, source_row, column_name
LIMIT $limit
