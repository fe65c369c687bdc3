-- Whole years of age on a day; the contract's age band of an age (the bands are filled in from
-- sen2_blade.AGE_BANDS; NULL outside them); the national curriculum year by age on a census date
-- (age on the 31 August before it, minus 4; blank outside -5..21), for the SEN2 person-level reader.
CREATE OR REPLACE TEMP MACRO age_on(b, d) AS
    year(d) - year(b) - CASE WHEN month(d) < month(b) OR (month(d) = month(b) AND day(d) < day(b)) THEN 1 ELSE 0 END;
-- next
CREATE OR REPLACE TEMP MACRO age_band(x) AS CASE {bands} END;
-- next
CREATE OR REPLACE TEMP MACRO ncy(b, census) AS
    CASE WHEN b <= make_date(year(census) - 1, 8, 31)
              AND age_on(b, make_date(year(census) - 1, 8, 31)) - 4 BETWEEN -5 AND 21
         THEN CAST(age_on(b, make_date(year(census) - 1, 8, 31)) - 4 AS VARCHAR)
         WHEN b > make_date(year(census) - 1, 8, 31) THEN '-5'
         ELSE '' END
