-- Requests, decisions, assessments and plans issued in the calendar year before the census ($year),
-- for each area a child's activity counts in (DfE's definitions: docs/sen2-person-level.md); every
-- area with a request of any year has its row. Ceased plans by reason are counted apart.
SELECT pa.area,
       count(*) FILTER (year(rec) = $year) AS requests,
       count(*) FILTER (year(rec) = $year AND decided IS NOT NULL AND requestoutcome = 'B') AS requests_refused,
       count(*) FILTER (year(rec) = $year AND decided IS NOT NULL AND requestoutcome IN ('B', 'C')) AS decisions,
       count(*) FILTER (year(rec) = $year AND decided IS NOT NULL AND requestoutcome IN ('B', 'C')
                        AND date_diff('day', rec, decided) <= 42) AS decisions_within_6_weeks,
       count(*) FILTER (has_n AND year(final) = $year) AS new_plans,
       count(*) FILTER (has_n AND year(final) = $year AND assessmentoutcome IS DISTINCT FROM 'S'
                        AND NOT exception) AS plans_issued_ex,
       count(*) FILTER (has_n AND year(final) = $year AND assessmentoutcome IS DISTINCT FROM 'S'
                        AND NOT exception AND date_diff('day', rec, final) <= 140) AS plans_issued_20wk_ex,
       count(*) FILTER (has_n AND year(final) = $year AND assessmentoutcome IS DISTINCT FROM 'S') AS plans_issued_inc,
       count(*) FILTER (has_n AND year(final) = $year AND assessmentoutcome IS DISTINCT FROM 'S'
                        AND date_diff('day', rec, final) <= 140) AS plans_issued_20wk_inc,
       count(*) FILTER (has_a AND assessmentoutcome IN ('N', 'A') AND year(issued) = $year)
           + count(*) FILTER (has_n AND year(final) = $year) AS assessments,
       count(*) FILTER (has_a AND assessmentoutcome = 'N' AND year(issued) = $year) AS assessments_not_issued
FROM req_info JOIN person_areas pa USING (pid)
GROUP BY pa.area
