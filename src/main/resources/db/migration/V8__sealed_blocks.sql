-- Two tiers. The head, ${schema}.samples, keeps one row per sample in daily partitions: written by
-- binary COPY, queryable at once. Once a day is older than prom2pg.storage.seal-after-ms, the
-- sealing route packs each series' samples of that day into one row here (times and values as
-- two arrays, in time order, TOAST-compressed) and drops the day's partition, in one transaction.
-- Measured (BENCHMARKS.md, "Storage layouts"): 83.7 bytes a sample as rows, 7.9 as day blocks.
CREATE TABLE ${schema}.sample_blocks (
    day        date               NOT NULL,
    series_id  bigint             NOT NULL,
    first_time bigint             NOT NULL, -- ms since the epoch, the block's first sample
    last_time  bigint             NOT NULL, -- ... and its last
    count      integer            NOT NULL,
    times      bigint[]           NOT NULL, -- ms since the epoch, ascending, one a sample (int4 offsets from
                                            -- the day's start measured 7.80 bytes a sample against 7.90: not worth a decode)
    vals       double precision[] NOT NULL, -- bit for bit (NaN payloads, stale markers, -0.0)
    PRIMARY KEY (series_id, day)
) PARTITION BY RANGE (day);

COMMENT ON TABLE ${schema}.sample_blocks IS 'prom2pg sealed samples: one row per series and UTC day; read them with samples_between() or the metrics view';

-- Creates the block partition of one UTC day if it is missing (it locks sample_blocks: the sealer
-- calls it in a transaction of its own, before the seal). pglz, not lz4: on 1,000 series x
-- 24 h (bench/storage-formats.sh) a sample takes 7.90 bytes with pglz and 9.43 with lz4; lz4
-- reads every sample back 1.6x faster (1.0 s against 1.7 s for 5.76M samples), but old data is
-- mostly kept, rarely read.
CREATE FUNCTION ${schema}.ensure_block_partition(p_day date) RETURNS void
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
  -- whatever default_toast_compression the server has (PostgreSQL 14+; before it, pglz is the only one)
  IF current_setting('server_version_num')::int >= 140000 THEN
    EXECUTE format('ALTER TABLE %I.%I ALTER COLUMN times SET COMPRESSION pglz, ALTER COLUMN vals SET COMPRESSION pglz',
                   '${schema}', part);
  END IF;
END
$fn$;

-- Every sample of [p_from, p_to), from both tiers: the one way readers see the store. A block is
-- only opened when its day and its first and last times overlap the range.
CREATE FUNCTION ${schema}.samples_between(p_from timestamptz, p_to timestamptz)
RETURNS TABLE ("time" timestamptz, series_id bigint, value double precision)
LANGUAGE sql STABLE AS $fn$
  SELECT s.time, s.series_id, s.value
  FROM ${schema}.samples s
  WHERE s.time >= p_from AND s.time < p_to
  UNION ALL
  SELECT timestamptz 'epoch' + u.t * interval '1 millisecond', b.series_id, u.v
  FROM ${schema}.sample_blocks b
  CROSS JOIN LATERAL unnest(b.times, b.vals) AS u(t, v)
  WHERE b.day >= (p_from AT TIME ZONE 'UTC')::date AND b.day <= (p_to AT TIME ZONE 'UTC')::date
    AND timestamptz 'epoch' + b.last_time * interval '1 millisecond' >= p_from
    AND timestamptz 'epoch' + b.first_time * interval '1 millisecond' < p_to
    AND timestamptz 'epoch' + u.t * interval '1 millisecond' >= p_from
    AND timestamptz 'epoch' + u.t * interval '1 millisecond' < p_to
$fn$;

COMMENT ON FUNCTION ${schema}.samples_between(timestamptz, timestamptz) IS 'prom2pg samples of [from, to) from the head and the sealed blocks: time, series_id, value';

-- The stable query surface, unchanged columns, over both tiers. For a time range, ask
-- samples_between(from, to) joined to series: it opens only the blocks of that range.
CREATE OR REPLACE VIEW ${schema}.metrics AS
SELECT s.time, se.metric_name AS name, s.value, se.labels
FROM ${schema}.samples_between('-infinity', 'infinity') s
JOIN ${schema}.series se ON se.id = s.series_id;

CREATE OR REPLACE FUNCTION ${schema}.metering_gauge_seconds(p_metric text, p_from timestamptz, p_to timestamptz,
                                                 p_cap interval DEFAULT interval '10 minutes')
RETURNS TABLE (hour timestamptz, series_id bigint, value_seconds double precision)
LANGUAGE sql STABLE AS $fn$
  WITH s AS (
    SELECT sa.series_id, sa.time AS t0, sa.value,
           least(coalesce(lead(sa.time) OVER w, sa.time + p_cap), sa.time + p_cap) AS t1
    FROM ${schema}.samples_between(p_from - p_cap, p_to) sa
    JOIN ${schema}.series se ON se.id = sa.series_id
    WHERE se.metric_name = p_metric AND sa.time >= p_from - p_cap AND sa.time < p_to
    WINDOW w AS (PARTITION BY sa.series_id ORDER BY sa.time)
  ), c AS (
    -- NaN (stale markers included: PostgreSQL compares every NaN equal) covers nothing
    SELECT s.series_id, s.value, greatest(s.t0, p_from) AS t0, least(s.t1, p_to) AS t1
    FROM s
    WHERE s.value <> 'NaN'::float8 AND s.t1 > p_from AND s.t0 < p_to AND s.t1 > s.t0
  )
  SELECT h.hour, c.series_id,
         sum(c.value * extract(epoch FROM least(c.t1, h.hour + interval '1 hour') - greatest(c.t0, h.hour)))::float8
  FROM c,
       generate_series(date_trunc('hour', c.t0, 'UTC'), date_trunc('hour', c.t1 - interval '1 microsecond', 'UTC'),
                       interval '1 hour') AS h(hour)
  GROUP BY h.hour, c.series_id
$fn$;

CREATE OR REPLACE FUNCTION ${schema}.metering_counter_increase(p_metric text, p_from timestamptz, p_to timestamptz,
                                                    p_lookback interval DEFAULT interval '1 hour')
RETURNS TABLE (hour timestamptz, series_id bigint, increase double precision)
LANGUAGE sql STABLE AS $fn$
  WITH s AS (
    SELECT sa.series_id, sa.time AS t1, sa.value AS v1,
           lag(sa.time) OVER w AS t0, lag(sa.value) OVER w AS v0
    FROM ${schema}.samples_between(p_from - p_lookback, p_to) sa
    JOIN ${schema}.series se ON se.id = sa.series_id
    WHERE se.metric_name = p_metric AND sa.time >= p_from - p_lookback AND sa.time < p_to
      AND sa.value <> 'NaN'::float8
    WINDOW w AS (PARTITION BY sa.series_id ORDER BY sa.time)
  ), d AS (
    SELECT s.series_id, s.t0, s.t1, CASE WHEN s.v1 >= s.v0 THEN s.v1 - s.v0 ELSE s.v1 END AS inc
    FROM s
    WHERE s.t0 IS NOT NULL AND s.t1 > p_from
  ), c AS (
    SELECT d.series_id, d.inc, extract(epoch FROM d.t1 - d.t0) AS span,
           greatest(d.t0, p_from) AS t0, least(d.t1, p_to) AS t1
    FROM d
  )
  SELECT h.hour, c.series_id,
         sum(c.inc * extract(epoch FROM least(c.t1, h.hour + interval '1 hour') - greatest(c.t0, h.hour)) / c.span)::float8
  FROM c,
       generate_series(date_trunc('hour', c.t0, 'UTC'), date_trunc('hour', c.t1 - interval '1 microsecond', 'UTC'),
                       interval '1 hour') AS h(hour)
  WHERE c.t1 > c.t0
  GROUP BY h.hour, c.series_id
$fn$;
