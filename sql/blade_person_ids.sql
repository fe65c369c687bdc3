-- The children of one return (after every check of the person module) with the identity their
-- pseudonymous id is made from (sen2_blade.normalise_identity): the UPN (upper case), else the ULN,
-- else the letters of surname and forename (upper case) with the date of birth; NULL when there is
-- none. Rows whose UPN or names are not ASCII have their identity made in Python (`odd_ids`:
-- Python's upper case differs from DuckDB's outside ASCII). The letters of the names are worked out
-- only for rows with no UPN or ULN (inside the CASE; `nullif` makes a name with no letters no
-- identity). `first_line` is the first row of the row's identity and `k` is 1 on that row, 2 on any
-- later one (the same child twice); both NULL when there is no identity.
CREATE OR REPLACE TEMP TABLE person_ids AS
WITH ids AS MATERIALIZED (
    SELECT p.line, p.persontableid AS pid, p._personbirthdate AS birth, p.postcode,
           CASE WHEN o.line IS NOT NULL THEN o.identity
                WHEN coalesce(p.upn, '') <> '' THEN 'UPN:' || upper(p.upn)
                WHEN coalesce(p.uniquelearnernumber, '') <> '' THEN 'ULN:' || p.uniquelearnernumber
                WHEN p._personbirthdate IS NOT NULL
                    THEN nullif('NDB:' || regexp_replace(upper(coalesce(p.surname, '') || coalesce(p.forename, '')),
                                                         '[^A-Z]', '', 'g'), 'NDB:')
                         || ':' || CAST(p._personbirthdate AS VARCHAR)
           END AS identity
    FROM m_person p
    LEFT JOIN odd_ids o ON o.line = p.line)
SELECT i.line, i.pid, i.identity, i.birth, i.postcode,
       CASE WHEN i.identity IS NOT NULL THEN CASE WHEN i.line = f.first_line THEN 1 ELSE 2 END END AS k,
       f.first_line
FROM ids i
LEFT JOIN (SELECT identity, min(line) AS first_line FROM ids WHERE identity IS NOT NULL GROUP BY identity) f
    ON f.identity = i.identity
