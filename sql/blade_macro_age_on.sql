-- Whole years of age on day d of someone born on day b (for the SEN2 person-level reader).
CREATE OR REPLACE MACRO age_on(b, d) AS
    year(d) - year(b) - CASE WHEN month(d) < month(b) OR (month(d) = month(b) AND day(d) < day(b)) THEN 1 ELSE 0 END
