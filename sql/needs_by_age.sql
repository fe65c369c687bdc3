-- EHC plans by primary need (the five largest needs, the rest as OTHER) and age band, for
-- every area, one January census year. Raw counts: send_metrics.measures.breakdowns applies disclosure control
-- (table_protection.protect_linked) before showing them.
SELECT area_code,
       year,
       CASE WHEN primary_need IN ('ASD', 'SLCN', 'SEMH', 'MLD', 'SLD') THEN primary_need ELSE 'OTHER' END AS need,
       age_band,
       CASE WHEN count(*) FILTER (WHERE ehc_plans IS NULL) > 0 THEN NULL ELSE sum(ehc_plans) END AS plans
FROM ehcp_caseload
WHERE year = $year
GROUP BY ALL
ORDER BY ALL  -- a fixed order: disclosure control breaks ties by position
