-- Published benchmark values (England, regions, councils) with their source and edition;
-- when a figure was published in several editions, the latest edition is used.
SELECT measure_id, area_code, year, value, source, edition
FROM benchmarks
QUALIFY row_number() OVER (PARTITION BY measure_id, area_code, year ORDER BY edition DESC NULLS LAST) = 1
