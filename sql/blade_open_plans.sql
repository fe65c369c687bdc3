-- Named plans open on the census date ($census: issued on or before it, not ceased by it), in the
-- export's order, with the child, the request's primary need, the setting of the highest-ranked
-- placement (NULL when it is named by URN and there is no GIAS extract: $gias) and the active plan's
-- latest review meeting.
SELECT n.line, n.startdate, n._startdate, ri.pid, ri.need,
       CASE WHEN tp.activeplanstableid IS NULL THEN 'other'
            WHEN coalesce(tp.urn, '') <> '' THEN CASE WHEN $gias THEN coalesce(g.setting, 'other') END
            WHEN coalesce(tp.ukprn, '') <> '' THEN 'post16'
            ELSE coalesce(st.setting, 'other') END AS setting,
       coalesce(ri._reviewmeeting, ri._lastreview) AS meeting
FROM m_namedplan n
JOIN m_assessment a ON a.assessmenttableid = n.assessmenttableid
JOIN req_info ri ON ri.requeststableid = a.requeststableid
LEFT JOIN top_placement tp ON tp.activeplanstableid = ri.activeplanstableid
LEFT JOIN gias g ON g.urn = tp.urn
LEFT JOIN sen_settings st ON st.code = coalesce(tp.sensetting, '')
WHERE n._startdate IS NOT NULL AND n._startdate <= $census AND (n._ceasedate IS NULL OR n._ceasedate > $census)
ORDER BY n.line
