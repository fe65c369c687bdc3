-- Every figure published in more than one file or edition (written by the loader, see
-- ingest/resolve.py _record_reconciliation): each source's value side by side, whether all sources
-- agree, and which one the dashboard uses (the newest edition that holds the figure).
-- A breakdown is compared through the sum of its cells; a symbol in any cell leaves the sum
-- empty, and two sources agree only when they give the same number or the same symbol.
WITH figures AS (
    SELECT dataset, area_code, period, figure,
           count(*) AS sources,
           count(DISTINCT coalesce(CAST(round(value, 6) AS VARCHAR), 'symbol ' || coalesce(symbol, '-'))) = 1 AS agree,
           max(value) - min(value) AS spread
    FROM reconciliation
    GROUP BY ALL
)
SELECT r.dataset, r.area_code, a.area_name, r.period, r.figure, f.sources, f.agree, f.spread,
       r.edition, r.source_file, r.value, r.symbol, r.cells, r.used
FROM reconciliation r
JOIN figures f USING (dataset, area_code, period, figure)
LEFT JOIN areas a USING (area_code)
WHERE (NOT $differ_only OR NOT f.agree)
  AND ($dataset IS NULL OR r.dataset = $dataset)
  AND ($area IS NULL OR r.area_code = $area)
ORDER BY r.dataset, r.area_code, r.period, r.figure, r.edition DESC NULLS LAST, r.source_file
