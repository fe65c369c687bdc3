-- Named plans whose assessment or request was quarantined, issued before the request was received,
-- or ceased before they were issued.
SELECT line, why, assessmenttableid, startdate, ceasedate FROM (
    SELECT n.line, n.assessmenttableid, n.startdate, n.ceasedate,
           CASE WHEN r.requeststableid IS NULL THEN 'link'
                WHEN n._startdate IS NOT NULL AND n._startdate < r._receiveddate THEN 'start'
                WHEN n._ceasedate IS NOT NULL AND n._startdate IS NOT NULL AND n._ceasedate < n._startdate THEN 'cease'
           END AS why
    FROM m_namedplan n
    LEFT JOIN m_assessment a ON a.assessmenttableid = n.assessmenttableid
    LEFT JOIN m_requests r ON r.requeststableid = a.requeststableid)
WHERE why IS NOT NULL ORDER BY line
