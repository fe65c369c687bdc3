-- The national curriculum year by age on a census date (for the demand model): age on the 31 August
-- before it, minus 4; blank outside -5..21.
CREATE OR REPLACE TEMP MACRO ncy(b, census) AS
    CASE WHEN b <= make_date(year(census) - 1, 8, 31)
              AND age_on(b, make_date(year(census) - 1, 8, 31)) - 4 BETWEEN -5 AND 21
         THEN CAST(age_on(b, make_date(year(census) - 1, 8, 31)) - 4 AS VARCHAR)
         WHEN b > make_date(year(census) - 1, 8, 31) THEN '-5'
         ELSE '' END
