-- Each distinct postcode of one return's children as written ('' for none; `written_keys`: with its
-- key as sen2_blade.postcode_key spells it), its locality (NULL when not placed) and why it is not
-- placed (NULL when it is): through the load's postcode lookup (`postcode_lsoa`: key -> LSOA 2021,
-- a later row of the lookup file winning), the LSOA's locality (`lsoa_locality`) and the council's
-- localities ($members). An LSOA given as blank text places nobody.
CREATE OR REPLACE TEMP TABLE placements AS
SELECT w.postcode,
       CASE WHEN list_contains(CAST($members AS VARCHAR[]), g.locality) THEN g.locality END AS locality,
       CASE WHEN list_contains(CAST($members AS VARCHAR[]), g.locality) THEN NULL
            WHEN w.postcode = '' THEN 'no postcode'
            WHEN p.k IS NULL THEN 'postcode not in the lookup'
            ELSE 'outside the council''s localities' END AS reason
FROM written_keys w
LEFT JOIN postcode_lsoa p ON p.k = w.k
LEFT JOIN lsoa_locality g ON g.lsoa = p.lsoa AND p.lsoa <> ''
