-- Published values of every measure for one year, every area (latest edition wins), for the
-- spine chart's comparator ranges. Published figures are disclosure-controlled by their publisher.
SELECT b.measure_id,
       b.area_code,
       coalesce(a.area_name, b.area_name) AS area_name,
       coalesce(a.area_level, b.area_level) AS area_level,
       b.value, b.numerator, b.denominator, b.source, b.edition
FROM benchmarks b
LEFT JOIN areas a ON a.area_code = b.area_code
WHERE b.year = $year
QUALIFY row_number() OVER (PARTITION BY b.measure_id, b.area_code ORDER BY b.edition DESC NULLS LAST) = 1
