-- The usable children of one return (person_ids after the duplicates went): pseudonymous id (an
-- HMAC-SHA256 of the identity under the install's key, as sen2_blade.pseudonymise makes it: $ipad and
-- $opad are the key's inner and outer pads), date of birth, locality (`placements`: each postcode as
-- written, placed once per load in Python; NULL when not placed, with the reason) and area (the
-- locality, else the council $council).
CREATE OR REPLACE TEMP TABLE people AS
SELECT i.line, i.pid, pseudonym('P', i.identity, $ipad, $opad) AS id,
       i.identity, i.birth, pl.locality, pl.reason, coalesce(pl.locality, $council) AS area
FROM person_ids i LEFT JOIN placements pl ON pl.postcode = coalesce(i.postcode, '')
