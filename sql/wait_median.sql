-- Median weeks waited per area, month and service, estimated from the wait bands by linear
-- interpolation within the band holding the median; in the open-ended top band the median is
-- its lower edge. Band edges come from the data contract as parameters.
WITH edges AS (
    SELECT unnest($codes) AS wait_band, unnest($lows) AS lo, unnest($highs) AS hi
),
banded AS (
    SELECT w.area_code, w.month, w.service, w.wait_band, sum(w.waiting) AS n
    FROM waiting_list w
    GROUP BY ALL
    HAVING count(*) FILTER (WHERE w.waiting IS NULL) = 0
),
cumulative AS (
    SELECT b.*, e.lo, e.hi,
           sum(n) OVER (PARTITION BY area_code, month, service ORDER BY e.lo) AS cum,
           sum(n) OVER (PARTITION BY area_code, month, service) AS total
    FROM banded b JOIN edges e USING (wait_band)
)
SELECT 'wait_median_' || service AS measure_id, area_code, CAST(month AS VARCHAR) AS period,
       arg_min(CASE WHEN hi IS NULL THEN lo ELSE lo + (total / 2.0 - (cum - n)) / n * (hi - lo) END, lo)
           FILTER (WHERE cum >= total / 2.0 AND n > 0) AS median
FROM cumulative
WHERE total > 0
GROUP BY ALL
