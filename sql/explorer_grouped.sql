-- Data explorer: the sum of every indicator of one dataset at the chosen grain (area, period and
-- the chosen breakdown columns), plus the margins over each breakdown column, which are used only
-- for disclosure control (another view of the explorer can show them).
-- A sum is NULL when any row it covers has no number (a symbol such as c or x): a missing
-- figure is never counted as zero (the same rule as the measure engine).
-- Placeholders in braces are identifiers from the data contract, whitelisted in
-- send_metrics/measures/explore.py (grouped_sql); this query takes no values from users (filters are applied afterwards, so
-- that every view of the same grain is suppressed in the same way).
SELECT {dims}, {margin_flags}, {sums}
FROM "{dataset}"
GROUP BY GROUPING SETS ({grouping_sets})
-- A fixed row order: which extra cells secondary suppression hides depends on the order it meets
-- them, so the same grain must come out the same after every restart (and in every download).
ORDER BY ALL
