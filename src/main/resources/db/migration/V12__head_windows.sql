-- The head in 15-minute partitions, sealed into blocks of 4 hours.
--
-- Why 15 minutes: each new sample goes to the end of its series' entries in the partition's
-- (series_id, time) index. Once a series holds more entries in one partition than an index page
-- (~250, about an hour at 15 s), every active series keeps a page of its own busy, and each busy
-- page is logged whole after every checkpoint: 100k series, 100k full-page images a checkpoint,
-- whether the partition holds 1 hour or 24 (BENCHMARKS.md, "A partition that already holds data").
-- A 15-minute partition holds at most 60 entries a series at 15 s, so the pages touched between
-- two checkpoints stay at about a quarter of the series, whatever the head holds
-- (BENCHMARKS.md, "The head in 15-minute partitions").
--
-- Why 4-hour blocks: a week's disk is mostly sealed data only when sealing follows soon after
-- the data's time, and a day's block could only be grown by decoding and encoding it again at
-- every seal. TOAST compresses a row only from 2 KB on (toast_tuple_target does not lower that
-- threshold, tried on PostgreSQL 15): 4 hours of a series scraped every 60 s (240 samples,
-- ~2.9 KB of arrays) are compressed, 2 hours (1.4 KB) would be stored as they are, ~12 bytes a
-- sample.
--
-- A day's partitions made by the releases before (samples_YYYYMMDD) keep being written until
-- their day is sealed; empty ones (days ahead) are dropped here so that the new windows can be
-- made in their place. Stop instances of the release before first: they would make day
-- partitions again.

-- The head partition for the window that starts at p_start, made when missing; returns its name
-- (unqualified): the day's partition of an earlier release when there is one, the samples table
-- itself on TimescaleDB (it makes its chunks).
CREATE FUNCTION ${schema}.ensure_head_partition(p_start timestamptz, p_span interval) RETURNS text
LANGUAGE plpgsql AS $fn$
DECLARE
  day_part text := 'samples_' || to_char(p_start AT TIME ZONE 'UTC', 'YYYYMMDD');
  part text := 'samples_' || to_char(p_start AT TIME ZONE 'UTC', 'YYYYMMDD_HH24MI');
BEGIN
  IF (SELECT c.relkind FROM pg_class c WHERE c.oid = '${schema}.samples'::regclass) <> 'p' THEN
    RETURN 'samples';
  END IF;
  IF to_regclass(format('%I.%I', '${schema}', day_part)) IS NOT NULL THEN
    RETURN day_part;
  END IF;
  IF to_regclass(format('%I.%I', '${schema}', part)) IS NOT NULL THEN
    RETURN part;
  END IF;
  -- several prom2pg instances may race for the same window
  PERFORM pg_advisory_xact_lock(hashtext('${schema}.samples partitions'));
  IF to_regclass(format('%I.%I', '${schema}', day_part)) IS NOT NULL THEN
    RETURN day_part;
  END IF;
  IF to_regclass(format('%I.%I', '${schema}', part)) IS NOT NULL THEN
    RETURN part;
  END IF;
  BEGIN
    EXECUTE format('CREATE TABLE %I.%I (LIKE %I.samples INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                   '${schema}', part, '${schema}');
  EXCEPTION WHEN duplicate_table THEN
    RETURN part; -- made by another session between the check and the CREATE
  END;
  -- as V7: the range as a constraint first (attaching does not scan for it), then ATTACH, whose
  -- SHARE UPDATE EXCLUSIVE lock on samples writes and reads do not wait for
  EXECUTE format('ALTER TABLE %I.%I ADD CONSTRAINT %I CHECK (time >= %L AND time < %L)',
                 '${schema}', part, part || '_range', p_start, p_start + p_span);
  EXECUTE format('ALTER TABLE %I.samples ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)',
                 '${schema}', '${schema}', part, p_start, p_start + p_span);
  RETURN part;
END
$fn$;

DO $do$
DECLARE
  r record;
  empty boolean;
BEGIN
  IF (SELECT c.relkind FROM pg_class c WHERE c.oid = '${schema}.samples'::regclass) <> 'p' THEN
    RETURN;
  END IF;
  FOR r IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = '${schema}.samples'::regclass AND c.relname ~ '^samples_[0-9]{8}$' LOOP
    EXECUTE format('SELECT NOT EXISTS (SELECT 1 FROM %I.%I)', '${schema}', r.relname) INTO empty;
    IF empty THEN
      EXECUTE format('DROP TABLE %I.%I', '${schema}', r.relname);
    END IF;
  END LOOP;
END
$do$;

-- The time ranges sealed at least once: a write into one checks the blocks first (late samples,
-- retries of what was sealed). A row is added, in a transaction of its own, before its window is
-- sealed; the days sealed by the releases before count whole.
CREATE TABLE ${schema}.sealed_windows (
    start timestamptz PRIMARY KEY,
    "end" timestamptz NOT NULL
);

COMMENT ON TABLE ${schema}.sealed_windows IS 'prom2pg: time ranges sealed into sample_blocks at least once';

INSERT INTO ${schema}.sealed_windows (start, "end")
SELECT d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC'
FROM (SELECT to_date(substr(c.relname, length('sample_blocks_') + 1), 'YYYYMMDD') AS d
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = '${schema}.sample_blocks'::regclass AND c.relname ~ '^sample_blocks_[0-9]{8}$') b;

-- A block is one series' samples of one window: the UTC hour its window starts at joins the key.
-- The day blocks of the releases before keep hour 0 (they cover their whole day; readers go by
-- first_time and last_time, and a late sample of such a day is merged into it).
ALTER TABLE ${schema}.sample_blocks ADD COLUMN hour smallint NOT NULL DEFAULT 0;
ALTER TABLE ${schema}.sample_blocks ALTER COLUMN hour DROP DEFAULT;
ALTER TABLE ${schema}.sample_blocks DROP CONSTRAINT sample_blocks_pkey;
ALTER TABLE ${schema}.sample_blocks ADD PRIMARY KEY (series_id, day, hour);

COMMENT ON TABLE ${schema}.sample_blocks IS 'prom2pg sealed samples: one row per series and 4-hour window (day, hour); read them with samples_between() or the metrics view';
