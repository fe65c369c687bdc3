-- Numerator and denominator of one catalogue measure for every area and period.
-- Placeholders in braces are identifiers and expressions compiled from catalogue.toml by
-- send_metrics/measures/engine/__init__.py (never user input). Sums are NULL when any contributing cell
-- carries a symbol, so a suppressed or missing figure is never counted as zero. sumsq (means
-- with a Student's t interval only) is the sum of squares of the observations behind a mean,
-- (n - 1) sd^2 + numerator^2 / n summed over rows: NULL when any row lacks its sd.
SELECT '{measure_id}' AS measure_id,
       area_code,
       CAST({period} AS VARCHAR) AS period,
       {numerator} AS numerator,
       {numerator_symbol} AS numerator_symbol,
       {denominator} AS denominator,
       {sumsq} AS sumsq
FROM "{dataset}"
GROUP BY area_code, {period}
