-- A pseudonymous id as sen2_blade.pseudonymise makes it: the prefix, then the first 20 hex digits of
-- HMAC-SHA256 of the text under the install's key (RFC 2104; ipad and opad are the key's inner and
-- outer pads, blade._hmac_pads). The one place the reader's SQL makes an id (persons and requests).
CREATE OR REPLACE MACRO pseudonym(prefix, text, ipad, opad) AS
    prefix || sha256(opad || unhex(sha256(ipad || encode(text))))[:20]
