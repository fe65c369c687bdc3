-- Published values of one measure for one year, every area, with numerator and denominator
-- when the publication gives them (latest edition wins). Published figures are already
-- disclosure-controlled by their publisher (DfE 'c' symbols arrive as NULL values).
SELECT b.area_code,
       coalesce(a.area_name, b.area_name) AS area_name,
       coalesce(a.area_level, b.area_level) AS area_level,
       b.value, b.numerator, b.denominator, b.source, b.edition
FROM benchmarks b
LEFT JOIN areas a ON a.area_code = b.area_code
WHERE b.measure_id = $measure AND b.year = $year
QUALIFY row_number() OVER (PARTITION BY b.area_code ORDER BY b.edition DESC NULLS LAST) = 1
