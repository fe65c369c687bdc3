-- Rows of a council's SEN2 person-level export (COLLECT Blade export) that the load quarantined.
SELECT count(*) AS n FROM quarantine
WHERE source_file LIKE $local OR lower(source_file) LIKE '%blade-export%'
