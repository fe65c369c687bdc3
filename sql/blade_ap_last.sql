-- For each request of one return (after every check), its active plan: the last one listed (the
-- row of the highest line; a row's line is its own).
CREATE OR REPLACE TEMP TABLE ap_last AS
SELECT a.* FROM m_activeplans a
JOIN (SELECT max(line) AS line FROM m_activeplans GROUP BY requeststableid) USING (line)
