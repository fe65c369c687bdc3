-- People counted by every column except the person identifier: one row per cell, with
-- `persons`. The placeholders (the grouped columns, and a table or a read_parquet call) are
-- filled in by send_metrics from the data contract; values are never formatted into SQL.
SELECT {columns}, count(*) AS persons FROM {persons} GROUP BY ALL
