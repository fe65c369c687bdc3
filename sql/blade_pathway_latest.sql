-- The pathway's rows of every return read (blade_pathway.sql): one per request, from the latest
-- return that holds it, in the order requests were first seen, as the ehcp_pathway file's rows. The
-- request's pseudonymous id is an HMAC-SHA256 of its key under the install's key (as
-- sen2_blade.pseudonymise makes it, prefix 'R': $ipad and $opad are the key's inner and outer pads).
-- Empty text is NULL so the CSV writer leaves the field empty. (`ord` numbers every row apart: the
-- return, then the request's row in it.)
SELECT time_period, 'Calendar year' AS time_identifier, area AS area_code, area_level,
       pseudonym('R', request_key, $ipad, $opad) AS request_id,
       nullif(need, '') AS primary_need, nullif(age_band, '') AS age_band, nullif(decision, '') AS decision,
       nullif(days_to_decision, '') AS days_to_decision, nullif(issue_decision, '') AS issue_decision,
       nullif(days_to_issue_decision, '') AS days_to_issue_decision, nullif(days_to_plan, '') AS days_to_plan,
       nullif(exception, '') AS exception, days_observed, observed_year
FROM pathway_out
JOIN (SELECT max(ord) AS ord, min(ord) AS first_seen FROM pathway_out GROUP BY request_key) USING (ord)
ORDER BY first_seen
