-- The usable children of one return (person_ids after the duplicates went): the identity their
-- pseudonymous id is made from (once per child per load, as the persons file is written:
-- sql/blade_persons_file.sql), date of birth, locality (`placements`: each postcode as written,
-- placed by sql/blade_placements.sql; NULL when not placed, with the reason) and area (the locality,
-- else the council $council).
CREATE OR REPLACE TEMP TABLE people AS
SELECT i.line, i.pid, i.identity, i.birth, pl.locality, pl.reason, coalesce(pl.locality, $council) AS area
FROM person_ids i LEFT JOIN placements pl ON pl.postcode = coalesce(i.postcode, '')
