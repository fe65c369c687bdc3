-- For each active plan, the need ranked first (lowest sentyperank, then the first listed).
CREATE OR REPLACE TEMP TABLE need_first AS
SELECT activeplanstableid, sentype, sentyperank FROM (
    SELECT *, row_number() OVER (PARTITION BY activeplanstableid ORDER BY rank_sentyperank, line) AS rn
    FROM m_senneed)
WHERE rn = 1
