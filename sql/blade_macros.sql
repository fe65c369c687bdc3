-- Whole years of age on a day, and the contract's age band of an age (the bands are filled in from
-- sen2_blade.AGE_BANDS; NULL outside them), for the SEN2 person-level reader.
CREATE OR REPLACE TEMP MACRO age_on(b, d) AS
    year(d) - year(b) - CASE WHEN month(d) < month(b) OR (month(d) = month(b) AND day(d) < day(b)) THEN 1 ELSE 0 END;
-- next
CREATE OR REPLACE TEMP MACRO age_band(x) AS CASE {bands} END
