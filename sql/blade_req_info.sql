-- Each request of one return (after every check) with what its counting follows: its assessment
-- (the last one listed for it) and that assessment's named plan (the last one listed), the
-- assessment's 20-week exception (week20_flags), the plan's cease reason (cease_codes), its active
-- plan (ap_last) and its primary need (the need ranked first on its active plan when that is ranked
-- 1, else 'UNK').
CREATE OR REPLACE TEMP TABLE req_info AS
SELECT r.line, r.requeststableid, r.persontableid AS pid, r._receiveddate AS rec,
       r._requestoutcomedate AS decided, r.requestoutcome,
       a.assessmenttableid IS NOT NULL AS has_a, a.assessmentoutcome, a._assessmentoutcomedate AS issued,
       coalesce(w.exception, false) AS exception,
       n.namedplantableid IS NOT NULL AS has_n, n._startdate AS final, n._ceasedate AS ceased,
       coalesce(cc.reason, 'not_recorded') AS cease_reason,
       CASE WHEN nf.sentyperank = '1' THEN nf.sentype ELSE 'UNK' END AS need,
       ap.activeplanstableid, ap._reviewmeeting, ap._lastreview
FROM m_requests r
LEFT JOIN (SELECT * EXCLUDE (rn) FROM (
        SELECT *, row_number() OVER (PARTITION BY requeststableid ORDER BY line DESC) AS rn FROM m_assessment)
    WHERE rn = 1) a ON a.requeststableid = r.requeststableid
LEFT JOIN (SELECT * EXCLUDE (rn) FROM (
        SELECT *, row_number() OVER (PARTITION BY assessmenttableid ORDER BY line DESC) AS rn FROM m_namedplan)
    WHERE rn = 1) n ON n.assessmenttableid = a.assessmenttableid
LEFT JOIN week20_flags w ON w.k = a.week20
LEFT JOIN cease_codes cc ON cc.code = coalesce(n.ceasereason, '')
LEFT JOIN ap_last ap ON ap.requeststableid = r.requeststableid
LEFT JOIN need_first nf ON nf.activeplanstableid = ap.activeplanstableid
