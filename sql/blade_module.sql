-- One module of a SEN2 Blade export, read (by Python's csv module, for exact row numbers) into the
-- Arrow table `src` (line, then the used columns as text, stripped), checked row by row as the
-- export's rules say. `fail` names each row's first problem (NULL when it has none), in the order the
-- checks are made: an empty table id, a repeated table id (the first row wins), then each date
-- column that is not a date, each code outside its list, a rank that is not a whole number, an
-- empty date of birth or census date. The placeholders (column lists, the lookups of distinct
-- values worked out in Python, the checks) are filled in from the module's columns by
-- adapters/blade.py; values are never formatted into SQL.
CREATE OR REPLACE TEMP TABLE m_{module} AS
SELECT s.line, {columns},
       CASE WHEN coalesce(s.{tid}, '') = '' THEN 'empty'
            WHEN row_number() OVER (PARTITION BY s.{tid} ORDER BY s.line) > 1 THEN 'duplicate'
            {fails}
       END AS fail,
       min(s.line) OVER (PARTITION BY s.{tid}) AS first_line
FROM src s {joins}
