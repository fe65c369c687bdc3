-- Numerator and denominator of one catalogue measure for every area and period.
-- Placeholders in braces are identifiers and expressions compiled from catalogue.toml by
-- send_metrics/engine.py (never user input). Sums are NULL when any contributing cell
-- carries a symbol, so a suppressed or missing figure is never counted as zero.
SELECT '{measure_id}' AS measure_id,
       area_code,
       CAST({period} AS VARCHAR) AS period,
       {numerator} AS numerator,
       {numerator_symbol} AS numerator_symbol,
       {denominator} AS denominator
FROM "{dataset}"
GROUP BY area_code, {period}
