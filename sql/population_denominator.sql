-- Resident population aged 0-25 by area and year (all age bands summed).
SELECT area_code, year, sum(population) AS population
FROM population
GROUP BY area_code, year
HAVING count(*) FILTER (WHERE population IS NULL) = 0
