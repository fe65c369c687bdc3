-- Children waiting by wait band (grouped at 13, 18 and 52 weeks) and EHCP status, for every
-- area, one service and one month. Used by the Waiting times and Equity pages; the counts are
-- raw, so send_metrics.measures.waiting_times.protect_bands applies disclosure control before anything is shown.
-- Sums are NULL when any contributing cell carries a symbol (a symbol is never a zero).
SELECT area_code,
       month,
       service,
       ehcp_status,
       CASE WHEN wait_band IN ('0to4wk', '4to8wk', '8to13wk') THEN '0to13wk'
            WHEN wait_band IN ('18to26wk', '26to52wk') THEN '18to52wk'
            ELSE wait_band END AS wait_band,
       CASE WHEN count(*) FILTER (WHERE waiting IS NULL) > 0 THEN NULL ELSE sum(waiting) END AS waiting
FROM waiting_list
WHERE service = $service AND month = CAST($month AS DATE)
GROUP BY ALL
ORDER BY ALL  -- a fixed order: disclosure control breaks ties by position
