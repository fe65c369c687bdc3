-- Children waiting by wait band, for medians estimated from the banded distribution.
SELECT area_code, month, service, wait_band, sum(waiting) AS waiting
FROM waiting_list
GROUP BY area_code, month, service, wait_band
