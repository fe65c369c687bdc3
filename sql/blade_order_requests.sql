-- Requests with no received date, or decided before they were received (the first problem of each).
SELECT line, why, receiveddate, requestoutcomedate FROM (
    SELECT line, receiveddate, requestoutcomedate,
           CASE WHEN _receiveddate IS NULL THEN 'empty'
                WHEN _requestoutcomedate IS NOT NULL AND _requestoutcomedate < _receiveddate THEN 'order' END AS why
    FROM m_requests)
WHERE why IS NOT NULL ORDER BY line
