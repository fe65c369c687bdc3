-- For each active plan, the need ranked first (lowest sentyperank, then the first listed).
CREATE OR REPLACE TEMP TABLE need_first AS
SELECT s.activeplanstableid, s.sentype, s.sentyperank FROM m_senneed s
JOIN (SELECT arg_min(line, (rank_sentyperank, line)) AS line FROM m_senneed GROUP BY activeplanstableid) USING (line)
