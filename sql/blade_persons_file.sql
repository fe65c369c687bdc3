-- The ehcp_persons file's rows: every return's persons (persons_out, the returns' rows from
-- blade_persons_out.sql) in the order of the returns, then of their named plans, with each child's
-- pseudonymous id: an HMAC-SHA256 of the child's identity under the install's key (as
-- sen2_blade.pseudonymise makes it, prefix 'P': $ipad and $opad are the key's inner and outer pads),
-- made once per child per load, however many returns hold the child.
SELECT o.time_period, o.time_identifier, o.area_code, o.area_level, ids.person_id, o.primary_need, o.age_band,
       o.setting_type, o.ncy
FROM persons_out o
JOIN (SELECT identity, pseudonym('P', identity, $ipad, $opad) AS person_id
      FROM (SELECT DISTINCT identity FROM persons_out)) ids USING (identity)
ORDER BY o.ret, o.line
