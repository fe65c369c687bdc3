-- The contract's age band of a whole age x (NULL outside the bands, and for NULL): the bands of the
-- ages {first} to {last} are listed in order in {bands}, from sen2_blade.AGE_BANDS, between two
-- NULLs, and x picks its entry (an age below them the first NULL, above them the last; a NULL age
-- the last, as least() passes over it). x is worked out once, where a CASE over the bands would
-- work out the macro's argument once for each band.
CREATE OR REPLACE MACRO age_band(x) AS {bands}[greatest(least(x - {first} + 2, {last} - {first} + 3), 1)]
