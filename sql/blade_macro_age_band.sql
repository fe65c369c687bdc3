-- The contract's age band of an age (the bands are filled in from sen2_blade.AGE_BANDS; NULL
-- outside them).
CREATE OR REPLACE TEMP MACRO age_band(x) AS CASE {bands} END
