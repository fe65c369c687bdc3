-- Assessments whose request was quarantined, or whose decision whether to issue is dated before the
-- decision to assess (or, with none, before the request was received).
SELECT line, why, requeststableid, assessmentoutcomedate FROM (
    SELECT a.line, a.requeststableid, a.assessmentoutcomedate,
           CASE WHEN r.requeststableid IS NULL THEN 'link'
                WHEN a._assessmentoutcomedate IS NOT NULL
                     AND a._assessmentoutcomedate < coalesce(r._requestoutcomedate, r._receiveddate) THEN 'order'
           END AS why
    FROM m_assessment a LEFT JOIN m_requests r ON r.requeststableid = a.requeststableid)
WHERE why IS NOT NULL ORDER BY line
