-- The pathway's rows of every return read (blade_pathway.sql): one per request, from the latest
-- return that holds it, in the order requests were first seen, as the ehcp_pathway file's rows. The
-- request's pseudonymous id is an HMAC-SHA256 of its key under the install's key (as
-- sen2_blade.pseudonymise makes it, prefix 'R': $ipad and $opad are the key's inner and outer pads).
-- Empty text is NULL so the CSV writer leaves the field empty.
SELECT time_period, 'Calendar year' AS time_identifier, area AS area_code, area_level,
       pseudonym('R', request_key, $ipad, $opad) AS request_id,
       nullif(need, '') AS primary_need, nullif(age_band, '') AS age_band, nullif(decision, '') AS decision,
       nullif(days_to_decision, '') AS days_to_decision, nullif(issue_decision, '') AS issue_decision,
       nullif(days_to_issue_decision, '') AS days_to_issue_decision, nullif(days_to_plan, '') AS days_to_plan,
       nullif(exception, '') AS exception, days_observed, observed_year
FROM (
    SELECT *, row_number() OVER (PARTITION BY request_key ORDER BY ord DESC) AS newest,
           min(ord) OVER (PARTITION BY request_key) AS first_seen
    FROM pathway_out)
WHERE newest = 1
ORDER BY first_seen
