-- The children of one return (after every check of the person module) with the identity their
-- pseudonymous id is made from (sen2_blade.normalise_identity): the UPN (upper case), else the ULN,
-- else the letters of surname and forename (upper case) with the date of birth; NULL when there is
-- none. Rows whose UPN or names are not ASCII have their identity made in Python (`odd_ids`:
-- Python's upper case differs from DuckDB's outside ASCII). `k` numbers the rows of one identity
-- (a second is the same child twice) and `first_line` is the first one's row.
CREATE OR REPLACE TEMP TABLE person_ids AS
SELECT line, pid, identity, birth, postcode,
       CASE WHEN identity IS NOT NULL THEN row_number() OVER (PARTITION BY identity ORDER BY line) END AS k,
       CASE WHEN identity IS NOT NULL THEN min(line) OVER (PARTITION BY identity) END AS first_line
FROM (
    SELECT p.line, p.persontableid AS pid, p._personbirthdate AS birth, p.postcode,
           CASE WHEN o.line IS NOT NULL THEN o.identity
                WHEN coalesce(p.upn, '') <> '' THEN 'UPN:' || upper(p.upn)
                WHEN coalesce(p.uniquelearnernumber, '') <> '' THEN 'ULN:' || p.uniquelearnernumber
                WHEN n.name <> '' AND p._personbirthdate IS NOT NULL
                    THEN 'NDB:' || n.name || ':' || CAST(p._personbirthdate AS VARCHAR)
           END AS identity
    FROM m_person p
    LEFT JOIN odd_ids o ON o.line = p.line
    CROSS JOIN LATERAL (SELECT regexp_replace(upper(coalesce(p.surname, '') || coalesce(p.forename, '')),
                                              '[^A-Z]', '', 'g') AS name) n)
