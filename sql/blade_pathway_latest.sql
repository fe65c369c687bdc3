-- The pathway's rows of every return read (blade_pathway.sql): one per request, from the latest
-- return that holds it, in the order requests were first seen.
SELECT * EXCLUDE (ord, newest, first_seen) FROM (
    SELECT *, row_number() OVER (PARTITION BY request_key ORDER BY ord DESC) AS newest,
           min(ord) OVER (PARTITION BY request_key) AS first_seen
    FROM pathway_rows)
WHERE newest = 1
ORDER BY first_seen
