-- One module of a SEN2 Blade export, read into the Arrow table `src` (line, then the used columns
-- as text, stripped; each date column parsed as `_<column>`, each code upper-cased, each rank as a
-- whole number `rank_<column>`, with `bad_<column>` true where the text is not one), checked row
-- by row as the export's rules say. `fail` names each row's first problem (NULL when it has none),
-- in the order the checks are made: an empty table id, a repeated table id (the first row wins),
-- then each date that is not a date, each code outside its list, a rank that is not a whole
-- number, an empty date of birth or census date. The placeholders (the module, its id column, the
-- test of an empty id (ids are text, or whole numbers: adapters/blade_reader._whole_ids) and the
-- checks) are filled in by adapters/blade_reader.py from the module's columns; values are never
-- formatted into SQL.
CREATE OR REPLACE TEMP TABLE m_{module} AS
SELECT {keep},
       CASE WHEN {empty} THEN 'empty'
            {duplicate}
            {fails}
       END AS fail,
       {first_line} AS first_line
FROM src
