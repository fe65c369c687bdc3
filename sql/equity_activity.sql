-- Children seen for a first appointment, and seen within 18 weeks of referral, by service and
-- EHCP status, pooled over the months from $first to $last, for the areas in $areas (the two
-- health footprints). Raw counts: the Equity page applies disclosure control
-- (send_metrics.measures.footprints.pooled_activity) before showing them.
SELECT area_code,
       service,
       ehcp_status,
       CASE WHEN count(*) FILTER (WHERE seen IS NULL) > 0 THEN NULL ELSE sum(seen) END AS seen,
       CASE WHEN count(*) FILTER (WHERE seen_within_18_weeks IS NULL) > 0 THEN NULL
            ELSE sum(seen_within_18_weeks) END AS seen_18
FROM waiting_activity
WHERE list_contains($areas, area_code)
  AND month BETWEEN CAST($first AS DATE) AND CAST($last AS DATE)
GROUP BY ALL
ORDER BY ALL  -- a fixed order: disclosure control breaks ties by position
