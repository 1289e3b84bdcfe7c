-- The metrics view's rows of one time range, [from, to): the view's columns, read through
-- samples_between, so only the range's head partitions and block partitions are opened.
--
-- Why: a filter on time over the view cannot skip a sealed block. PostgreSQL pushes it down to
-- each sample a block decodes to, never to the block, so the view decodes every block of the
-- series it reads, of every day kept, before it filters. The README's example, one metric's last
-- hour, over 30 days of 100 series (bench/time-ranges.sh): 3.2 s through the view, 161 ms through
-- this function with now() in the bounds (partitions pruned as the statement starts), 14 ms with
-- literal bounds, as Grafana sends them (pruned as it is planned).
--
-- It is inlined (one SQL statement, STABLE): a filter on name or labels outside it reaches the
-- series table as it does through the view. The view is now this function over all time, so both
-- are one definition.
CREATE FUNCTION ${schema}.metrics_between(p_from timestamptz, p_to timestamptz)
RETURNS TABLE ("time" timestamptz, name text, value double precision, labels jsonb)
LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
  SELECT s.time, se.metric_name, s.value, se.labels
  FROM ${schema}.samples_between(p_from, p_to) s
  JOIN ${schema}.series se ON se.id = s.series_id
$fn$;

COMMENT ON FUNCTION ${schema}.metrics_between(timestamptz, timestamptz) IS
    'prom2pg samples of [from, to) from both tiers: time, metric name, value, labels (the metrics view''s columns); opens only the range''s partitions';

CREATE OR REPLACE VIEW ${schema}.metrics AS
SELECT m.time, m.name, m.value, m.labels
FROM ${schema}.metrics_between('-infinity', 'infinity') m;

COMMENT ON VIEW ${schema}.metrics IS
    'prom2pg samples of both tiers: time, metric name, value, labels (jsonb, without __name__); for a time range use metrics_between(from, to), which skips the sealed blocks outside it';
