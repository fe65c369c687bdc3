-- Rows of a Blade module whose parent (by its table id) is not a usable row of the parent module,
-- with the link's value as text (ids may be kept as whole numbers: adapters/blade_reader._whole_ids).
SELECT c.line, CAST(c.{key} AS VARCHAR) FROM m_{child} c
WHERE NOT EXISTS (SELECT 1 FROM m_{parent} p WHERE p.{parent_id} = c.{key})
ORDER BY c.line
