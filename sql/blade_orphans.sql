-- Rows of a Blade module whose parent (by its table id) is not a usable row of the parent module.
SELECT c.line, c.{key} FROM m_{child} c
WHERE NOT EXISTS (SELECT 1 FROM m_{parent} p WHERE p.{parent_id} = c.{key})
ORDER BY c.line
