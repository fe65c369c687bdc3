-- Resident population aged 0-25 by area and year (all age bands summed), with where it comes from
-- (the `source` label of its rows, e.g. 'ONS mid-2020'; NULL when the extract does not say).
SELECT area_code, year, sum(population) AS population, string_agg(DISTINCT source, ' / ') AS denominator_source
FROM population
GROUP BY area_code, year
HAVING count(*) FILTER (WHERE population IS NULL) = 0
