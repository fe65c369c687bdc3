-- Named plans open on the census date ($census: issued on or before it, not ceased by it), in no
-- particular order (its readers order by `line` or count), with the child (the identity its
-- pseudonymous id is made from, locality), the request's primary need, the setting of the
-- highest-ranked placement (NULL when it is named by URN and there is no GIAS extract: $gias), age
-- band and national curriculum year on the census date, and the annual review (due: issued on or
-- before $year_before, the same day a year before the census; held: its latest review meeting is in
-- $year; on time: after $year_before and by the census). `first_line` is the row of the child's
-- first open plan and `seen` is 1 on it, 2 on any later one (quarantined); found by grouping, which
-- costs about a quarter of this query less than a window.
WITH open_now AS MATERIALIZED (
SELECT n.line, n.startdate, p.identity, p.locality, ri.need,
       CASE WHEN tp.activeplanstableid IS NULL THEN 'other'
            WHEN coalesce(tp.urn, '') <> '' THEN CASE WHEN $gias THEN coalesce(g.setting, 'other') END
            WHEN coalesce(tp.ukprn, '') <> '' THEN 'post16'
            ELSE coalesce(st.setting, 'other') END AS setting,
       age_band(age_on(p.birth, $census)) AS age_band,
       ncy(p.birth, $census) AS ncy,
       n._startdate <= $year_before AS review_due,
       coalesce(year(coalesce(ri._reviewmeeting, ri._lastreview)) = $year, false) AS review_held,
       coalesce(coalesce(ri._reviewmeeting, ri._lastreview) > $year_before
                AND coalesce(ri._reviewmeeting, ri._lastreview) <= $census, false) AS review_on_time,
       ri.pid
FROM m_namedplan n
JOIN m_assessment a ON a.assessmenttableid = n.assessmenttableid
JOIN req_info ri ON ri.requeststableid = a.requeststableid
JOIN people p ON p.pid = ri.pid
LEFT JOIN top_placement tp ON tp.activeplanstableid = ri.activeplanstableid
LEFT JOIN gias g ON g.urn = tp.urn
LEFT JOIN sen_settings st ON st.code = coalesce(tp.sensetting, '')
WHERE n._startdate IS NOT NULL AND n._startdate <= $census AND (n._ceasedate IS NULL OR n._ceasedate > $census))
SELECT o.* EXCLUDE (pid), CASE WHEN o.line = f.first_line THEN 1 ELSE 2 END AS seen, f.first_line
FROM open_now o
JOIN (SELECT pid, min(line) AS first_line FROM open_now GROUP BY pid) f USING (pid)
