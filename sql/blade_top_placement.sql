-- For each active plan, its highest-ranked placement open on the census date ($census): lowest
-- placementrank (none ranks last), then the first listed.
CREATE OR REPLACE TEMP TABLE top_placement AS
SELECT activeplanstableid, urn, ukprn, sensetting FROM (
    SELECT *, row_number() OVER (PARTITION BY activeplanstableid ORDER BY rank_placementrank, line) AS rn
    FROM m_placementdetail WHERE _leavingdate IS NULL OR _leavingdate > $census)
WHERE rn = 1
