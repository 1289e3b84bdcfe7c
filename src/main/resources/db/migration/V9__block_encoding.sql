-- Sealed blocks that know their data. A block's times are a regular grid (first time, step) plus
-- each sample's offset from it (int4: a few ms of scrape jitter, which pglz packs into less than a
-- byte); its values, when every one of them is an integer or a decimal of at most three places
-- (counters, byte and item gauges, cpu seconds in hundredths), are the integers k with
-- value = k / 10^scale, bit for bit; otherwise the float8 values as they are. Both stay PostgreSQL
-- arrays, decoded set-based by block_samples() (an unnest and arithmetic, no window function).
-- Measured (BENCHMARKS.md, "Block encoding"): 7.90 bytes a sample as V8's two arrays, 4.15 as these
-- (1,000 series x 24 h; 8.65 and 4.45 on 10,000 x 3 h; Prometheus' own blocks 5.35 and 5.33).

-- A block's columns (all but day and series_id) from its samples in ascending time order. The one
-- place blocks are made: the sealer, its merge of late samples, and this migration call it.
CREATE FUNCTION ${schema}.block_encode(p_times bigint[], p_vals double precision[],
                                       OUT first_time bigint, OUT last_time bigint, OUT count integer,
                                       OUT time_step bigint, OUT time_offsets integer[],
                                       OUT value_scale smallint, OUT value_ints bigint[], OUT vals double precision[])
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  WITH u AS (
    SELECT u.t, u.v, u.n,
           -- the fewest decimal places (0-3) from which an integer gives v back bit for bit; none for
           -- NaN (stale markers), ±Inf, -0.0 and magnitudes from 4e12 on (k = v * 1000 must stay
           -- below 2^53, where every integer is exact in float8)
           CASE WHEN u.v <> 'NaN'::float8 AND abs(u.v) < 4e12 THEN
             CASE WHEN float8send(round(u.v)::bigint::float8) = float8send(u.v) THEN 0
                  WHEN float8send(round(u.v * 10)::bigint::float8 / 10) = float8send(u.v) THEN 1
                  WHEN float8send(round(u.v * 100)::bigint::float8 / 100) = float8send(u.v) THEN 2
                  WHEN float8send(round(u.v * 1000)::bigint::float8 / 1000) = float8send(u.v) THEN 3
             END
           END AS places
    FROM unnest(p_times, p_vals) WITH ORDINALITY AS u(t, v, n)
  ), g AS (
    SELECT min(u.t) AS first_time, max(u.t) AS last_time, count(*)::integer AS count,
           CASE WHEN count(*) > 1 THEN round((max(u.t) - min(u.t))::numeric / (count(*) - 1))::bigint ELSE 0 END AS step,
           -- a value exact with p places is exact with more (v * 10^q rounds to the same integer
           -- times 10^(q - p)): the block takes the most any of its values needs
           CASE WHEN bool_and(u.places IS NOT NULL) THEN max(u.places) END AS scale
    FROM u
  )
  SELECT g.first_time, g.last_time, g.count, g.step,
         -- within one UTC day, so an offset from the grid is less than a day's milliseconds: int4
         array_agg((u.t - (g.first_time + (u.n - 1) * g.step))::integer ORDER BY u.n),
         g.scale::smallint,
         CASE WHEN g.scale IS NOT NULL THEN array_agg(round(u.v * power(10::float8, g.scale))::bigint ORDER BY u.n) END,
         CASE WHEN g.scale IS NULL THEN array_agg(u.v ORDER BY u.n) END
  FROM u CROSS JOIN g
  GROUP BY g.first_time, g.last_time, g.count, g.step, g.scale
$fn$;

COMMENT ON FUNCTION ${schema}.block_encode(bigint[], double precision[]) IS 'prom2pg: a sealed block''s columns from its samples (ms times ascending, values)';

-- A block's samples back, bit for bit, in time order: t in ms since the epoch, v. Inlined by the
-- planner into the query that calls it (one SELECT, IMMUTABLE, not STRICT).
CREATE FUNCTION ${schema}.block_samples(p_first_time bigint, p_time_step bigint, p_time_offsets integer[],
                                        p_value_scale smallint, p_value_ints bigint[], p_vals double precision[])
RETURNS TABLE (t bigint, v double precision)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT p_first_time + (u.n - 1) * p_time_step + u.o,
         CASE WHEN p_value_scale IS NULL THEN u.f ELSE u.k::float8 / power(10::float8, p_value_scale) END
  FROM unnest(p_time_offsets, p_value_ints, p_vals) WITH ORDINALITY AS u(o, k, f, n)
$fn$;

COMMENT ON FUNCTION ${schema}.block_samples(bigint, bigint, integer[], smallint, bigint[], double precision[]) IS
  'prom2pg: a sealed block''s samples (t ms, v) from its first_time, time_step, time_offsets, value_scale, value_ints, vals';

-- The new columns; pglz on every partition's arrays, as for the old ones (PostgreSQL 14+)
ALTER TABLE ${schema}.sample_blocks
  ADD COLUMN time_step bigint,
  ADD COLUMN time_offsets integer[],
  ADD COLUMN value_scale smallint,
  ADD COLUMN value_ints bigint[],
  ALTER COLUMN vals DROP NOT NULL;

DO $do$
BEGIN
  IF current_setting('server_version_num')::int >= 140000 THEN
    EXECUTE 'ALTER TABLE ${schema}.sample_blocks ALTER COLUMN time_offsets SET COMPRESSION pglz,'
            ' ALTER COLUMN value_ints SET COMPRESSION pglz, ALTER COLUMN vals SET COMPRESSION pglz';
  END IF;
END
$do$;

-- Blocks sealed by the release before are encoded in place, in this migration's transaction
UPDATE ${schema}.sample_blocks b
SET (first_time, last_time, count, time_step, time_offsets, value_scale, value_ints, vals) =
    (SELECT e.* FROM ${schema}.block_encode(b.times, b.vals) e);

ALTER TABLE ${schema}.sample_blocks
  DROP COLUMN times,
  ALTER COLUMN time_step SET NOT NULL,
  ALTER COLUMN time_offsets SET NOT NULL,
  ADD CONSTRAINT sample_blocks_values CHECK (
    (value_scale IS NULL) = (value_ints IS NULL) AND (value_ints IS NULL) <> (vals IS NULL));

CREATE OR REPLACE FUNCTION ${schema}.ensure_block_partition(p_day date) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  part text := 'sample_blocks_' || to_char(p_day, 'YYYYMMDD');
BEGIN
  IF to_regclass(format('%I.%I', '${schema}', part)) IS NOT NULL THEN
    RETURN;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtext('${schema}.sample_blocks partitions'));
  IF to_regclass(format('%I.%I', '${schema}', part)) IS NOT NULL THEN
    RETURN;
  END IF;
  EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.sample_blocks FOR VALUES FROM (%L) TO (%L)',
                 '${schema}', part, '${schema}', p_day, p_day + 1);
  -- pglz whatever default_toast_compression the server has (PostgreSQL 14+; before it, pglz is
  -- the only one), as measured for V8's arrays (7.90 bytes a sample against 9.43 with lz4)
  IF current_setting('server_version_num')::int >= 140000 THEN
    EXECUTE format('ALTER TABLE %I.%I ALTER COLUMN time_offsets SET COMPRESSION pglz,'
                   ' ALTER COLUMN value_ints SET COMPRESSION pglz, ALTER COLUMN vals SET COMPRESSION pglz',
                   '${schema}', part);
  END IF;
END
$fn$;

-- The same reader as V8's over the new columns, cheaper per sample: a sample's time is computed
-- with to_timestamp(ms / 1000) (the writer's own conversion; a float8 of seconds, exact to the
-- microsecond from 1857 to 2242, 1 µs off beyond, as the head's rows are), not
-- 'epoch' + ms * interval, and only a block that straddles the range has its samples' times
-- compared ("whole": decided once a block, OFFSET 0 keeps the planner from copying it into the
-- per-sample filter). A full scan of the metrics view over 5.76M sealed samples went from 2.2 s
-- to 1.4 s (0.8 s as rows), BENCHMARKS.md.
CREATE OR REPLACE FUNCTION ${schema}.samples_between(p_from timestamptz, p_to timestamptz)
RETURNS TABLE ("time" timestamptz, series_id bigint, value double precision)
LANGUAGE sql STABLE AS $fn$
  SELECT s.time, s.series_id, s.value
  FROM ${schema}.samples s
  WHERE s.time >= p_from AND s.time < p_to
  UNION ALL
  SELECT to_timestamp(u.t::float8 / 1000), b.series_id, u.v
  FROM ${schema}.sample_blocks b
  CROSS JOIN LATERAL (SELECT to_timestamp(b.first_time::float8 / 1000) >= p_from
                             AND to_timestamp(b.last_time::float8 / 1000) < p_to AS whole OFFSET 0) w
  CROSS JOIN LATERAL ${schema}.block_samples(b.first_time, b.time_step, b.time_offsets, b.value_scale, b.value_ints, b.vals) u
  WHERE b.day >= (p_from AT TIME ZONE 'UTC')::date AND b.day <= (p_to AT TIME ZONE 'UTC')::date
    AND to_timestamp(b.last_time::float8 / 1000) >= p_from AND to_timestamp(b.first_time::float8 / 1000) < p_to
    AND (w.whole OR (to_timestamp(u.t::float8 / 1000) >= p_from AND to_timestamp(u.t::float8 / 1000) < p_to))
$fn$;
