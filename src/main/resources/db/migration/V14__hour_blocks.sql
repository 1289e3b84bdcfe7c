-- The head is sealed hour by hour, into blocks of one hour, and a 4-hour window's hour blocks are
-- compacted into one block per series once the window is over.
--
-- Why: a 4-hour window could only be sealed once it ended, so the head held the open window and
-- the seal delay after it, 2 to 6 hours of rows at ~84 bytes a sample against ~5 as blocks: of
-- the bytes a week took, the head was ~30% (BENCHMARKS.md, "The head in 15-minute partitions,
-- sealed into 4-hour blocks"). Sealed by the hour, the head holds about the last hour and the
-- seal delay. The hour blocks are compacted because a block of one hour is less compact: 7.56
-- bytes a sample against 4.70 in 4-hour blocks (10k series of the mix of value shapes, 4 hours,
-- bench/storage-formats.sh), and a series scraped every 60 s has 60 samples an hour, ~0.7 KB of
-- arrays, under TOAST's 2 KB threshold: not compressed at all. A week, computed from those
-- sizes, went from ~6.8 to ~5.5 bytes a sample (Prometheus' blocks of the same samples: 5.27;
-- BENCHMARKS.md, "Sealing by the hour").
--
-- Compaction writes no dead rows: a day's block partition made from now on is itself partitioned
-- by hour into its six 4-hour windows (sample_blocks_YYYYMMDD_HH), and a window is compacted by
-- building its table anew beside it and swapping the two in one transaction. Readers still read
-- sample_blocks. The day partitions made before stay one table each; the windows of such a day
-- go on being sealed whole, as before.

-- A table for the blocks of one 4-hour window, not attached: the columns and checks of
-- sample_blocks, pglz for the arrays (as V9), and the window's range as a constraint, so that
-- attaching it does not scan it.
CREATE FUNCTION ${schema}.create_block_window(p_name text, p_day date, p_hour int) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
  EXECUTE format('CREATE TABLE %I.%I (LIKE %I.sample_blocks INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                 '${schema}', p_name, '${schema}');
  IF current_setting('server_version_num')::int >= 140000 THEN
    EXECUTE format('ALTER TABLE %I.%I ALTER COLUMN time_offsets SET COMPRESSION pglz,'
                   ' ALTER COLUMN value_ints SET COMPRESSION pglz, ALTER COLUMN vals SET COMPRESSION pglz',
                   '${schema}', p_name);
  END IF;
  EXECUTE format('ALTER TABLE %I.%I ADD CONSTRAINT %I CHECK (day = %L AND hour >= %s AND hour < %s)',
                 '${schema}', p_name, p_name || '_range', p_day, p_hour, p_hour + 4);
END
$fn$;

-- The block partition of one UTC day, made when missing, with its six window partitions.
CREATE OR REPLACE FUNCTION ${schema}.ensure_block_partition(p_day date) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  part text := 'sample_blocks_' || to_char(p_day, 'YYYYMMDD');
  win text;
BEGIN
  IF to_regclass(format('%I.%I', '${schema}', part)) IS NOT NULL THEN
    RETURN;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtext('${schema}.sample_blocks partitions'));
  IF to_regclass(format('%I.%I', '${schema}', part)) IS NOT NULL THEN
    RETURN;
  END IF;
  EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.sample_blocks FOR VALUES FROM (%L) TO (%L) PARTITION BY RANGE (hour)',
                 '${schema}', part, '${schema}', p_day, p_day + 1);
  FOR h IN 0..20 BY 4 LOOP
    win := part || '_' || lpad(h::text, 2, '0');
    PERFORM ${schema}.create_block_window(win, p_day, h);
    EXECUTE format('ALTER TABLE %I.%I ATTACH PARTITION %I.%I FOR VALUES FROM (%s) TO (%s)',
                   '${schema}', part, '${schema}', win, h, h + 4);
  END LOOP;
END
$fn$;

COMMENT ON TABLE ${schema}.sample_blocks IS 'prom2pg sealed samples: one row per series and 4-hour window (day, hour), or per series and hour while its window is open; read them with samples_between() or the metrics view';
