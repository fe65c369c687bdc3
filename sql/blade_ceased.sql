-- Plans ceased in the calendar year before the census ($year), by area and reason.
SELECT pa.area, cease_reason, count(*) AS ceased_plans
FROM req_info JOIN person_areas pa USING (pid)
WHERE has_n AND year(ceased) = $year
GROUP BY ALL
