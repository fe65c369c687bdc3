-- For each request of one return (after every check), its active plan: the last one listed.
CREATE OR REPLACE TEMP TABLE ap_last AS
SELECT * EXCLUDE (rn) FROM (
    SELECT *, row_number() OVER (PARTITION BY requeststableid ORDER BY line DESC) AS rn FROM m_activeplans)
WHERE rn = 1
