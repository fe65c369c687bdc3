-- Published benchmark values (England, regions, councils) with their source and edition, and the
-- published numerator and denominator when known (neighbours are pooled from these, never averaged);
-- when a figure was published in several editions, the latest edition is used.
SELECT measure_id, area_code, year, value, numerator, denominator, source, edition
FROM benchmarks
QUALIFY row_number() OVER (PARTITION BY measure_id, area_code, year ORDER BY edition DESC NULLS LAST) = 1
