-- The national curriculum year by age on a census date (for the demand model): age on the 31 August
-- before it, minus 4; blank outside -5..21. Someone born after that 31 August (age -1 or less on it)
-- is -5; the ages 0 to 25 are -4 to 21; an older child, or no date of birth, is blank. The age is
-- worked out once and picks its entry from the list (as sql/blade_macro_age_band.sql does).
CREATE OR REPLACE MACRO ncy(b, census) AS
    ['-5', '-4', '-3', '-2', '-1', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12', '13', '14',
     '15', '16', '17', '18', '19', '20', '21', ''][
        greatest(least(age_on(b, make_date(year(census) - 1, 8, 31)) + 2, 28), 1)]
