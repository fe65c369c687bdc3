-- For each active plan, its highest-ranked placement open on the census date ($census): lowest
-- placementrank (none ranks last), then the first listed.
CREATE OR REPLACE TEMP TABLE top_placement AS
SELECT p.activeplanstableid, p.urn, p.ukprn, p.sensetting FROM m_placementdetail p
JOIN (SELECT arg_min(line, (rank_placementrank, line)) AS line FROM m_placementdetail
      WHERE _leavingdate IS NULL OR _leavingdate > $census GROUP BY activeplanstableid) USING (line)
