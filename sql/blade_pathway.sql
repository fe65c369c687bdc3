-- One row per request of return number $ret (the Pathway page's survival curves), in the export's
-- order (`ord`): the days from the request to each decision and to the final plan, or to the census
-- date ($census) while open. `request_key` is what the request's pseudonymous id is made from (the
-- child's identity and the day the request was received); it never leaves the reader.
SELECT $ret::BIGINT * 4294967296 + ri.line AS ord, p.identity || '|' || CAST(ri.rec AS VARCHAR) AS request_key,
       year(ri.rec) AS time_period, p.area,
       CASE WHEN p.area <> $council THEN 'locality' ELSE 'council' END AS area_level, ri.need,
       coalesce(age_band(greatest(0, age_on(p.birth, ri.rec))), 'all') AS age_band,
       CASE WHEN decided IS NULL THEN 'open'
            WHEN requestoutcome = 'A' THEN 'withdrawn' WHEN requestoutcome = 'B' THEN 'refused'
            WHEN requestoutcome = 'C' THEN 'assess' ELSE 'open' END AS decision,
       coalesce(CAST(date_diff('day', rec, decided) AS VARCHAR), '') AS days_to_decision,
       CASE WHEN NOT has_a THEN CASE WHEN decided IS NULL THEN 'open' ELSE 'none' END
            WHEN issued IS NULL THEN 'open'
            WHEN assessmentoutcome IN ('Y', 'S') THEN 'issue' WHEN assessmentoutcome = 'N' THEN 'not_issued'
            WHEN assessmentoutcome = 'A' THEN 'withdrawn' ELSE 'open' END AS issue_decision,
       coalesce(CAST(date_diff('day', rec, issued) AS VARCHAR), '') AS days_to_issue_decision,
       coalesce(CAST(date_diff('day', rec, final) AS VARCHAR), '') AS days_to_plan,
       CASE WHEN has_a AND exception THEN 'Y' ELSE 'N' END AS exception,
       date_diff('day', rec, $census) AS days_observed, year($census) AS observed_year
FROM req_info ri JOIN people p USING (pid)
