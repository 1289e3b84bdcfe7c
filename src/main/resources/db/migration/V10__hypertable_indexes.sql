-- On TimescaleDB, create_hypertable (V1) adds an index on (time DESC) by default, which the plain
-- layout does not have and no prom2pg query needs (every reader names series, or scans a range
-- by the unique (series_id, time) index): ~9 bytes a sample, and one more B-tree to write on
-- every insert. Dropped from the hypertable and its chunks; a no-op on plain PostgreSQL.
DO $do$
DECLARE
  idx regclass;
BEGIN
  FOR idx IN
    SELECT i.indexrelid::regclass
    FROM pg_index i
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
    WHERE i.indrelid = '${schema}.samples'::regclass
      AND i.indnatts = 1 AND a.attname = 'time' AND NOT i.indisunique
  LOOP
    EXECUTE format('DROP INDEX %s', idx);
  END LOOP;
END
$do$;
