-- The DfE statistical neighbours of one council, most similar first.
SELECT neighbour_code
FROM statistical_neighbours
WHERE area_code = $area
ORDER BY neighbour_rank
