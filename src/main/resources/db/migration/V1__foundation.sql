-- prom2pg foundation schema. ${schema} is the configured schema (prom2pg.db.schema).

-- TimescaleDB is used when the server can load it: already created, or installed and preloaded
-- (shared_preload_libraries); otherwise plain declarative partitioning. Created without being
-- preloaded it ends the session with a FATAL that no EXCEPTION block catches, so it is not tried.
-- Only superusers and pg_read_all_settings may read shared_preload_libraries; for others the
-- extension's own settings, which exist once the server has loaded it, say the same.
DO $$
DECLARE
  preloaded boolean;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')
     AND EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
    BEGIN
      preloaded := current_setting('shared_preload_libraries') ~ '(^|[\s,"])timescaledb([\s,"]|$)';
    EXCEPTION WHEN insufficient_privilege THEN
      preloaded := current_setting('timescaledb.license', true) IS NOT NULL;
    END;
    IF preloaded THEN
      BEGIN
        CREATE EXTENSION timescaledb SCHEMA public;
      EXCEPTION WHEN others THEN
        RAISE NOTICE 'timescaledb is available but could not be created (%), using plain partitioning', SQLERRM;
      END;
    END IF;
  END IF;
END
$$;

-- One row per label set. labels holds every label but __name__, which is metric_name.
-- labels_key is a 128-bit hash of the canonical label set, computed by prom2pg.
CREATE TABLE ${schema}.series (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    labels_key  bytea       NOT NULL,
    metric_name text        NOT NULL,
    labels      jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT series_labels_key UNIQUE (labels_key)
);
CREATE INDEX series_metric_name_idx ON ${schema}.series (metric_name);
-- No GIN index on labels: it made creating series ~30% slower, and queries name a metric first.
-- For label queries across metrics: CREATE INDEX ON prom2pg.series USING gin (labels jsonb_path_ops);

-- Samples: one row per (series, time). Values are stored bit for bit (NaN payloads included).
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
    CREATE TABLE ${schema}.samples (
        time      timestamptz      NOT NULL,
        series_id bigint           NOT NULL,
        value     double precision NOT NULL
    );
    PERFORM create_hypertable('${schema}.samples', 'time', chunk_time_interval => interval '1 day');
    CREATE UNIQUE INDEX samples_series_time_key ON ${schema}.samples (series_id, time);
  ELSE
    CREATE TABLE ${schema}.samples (
        time      timestamptz      NOT NULL,
        series_id bigint           NOT NULL,
        value     double precision NOT NULL,
        CONSTRAINT samples_series_time_key UNIQUE (series_id, time)
    ) PARTITION BY RANGE (time);
  END IF;
END
$$;

-- Creates the partition of one UTC day if it is missing (no-op on a hypertable).
CREATE FUNCTION ${schema}.ensure_partition(day date) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  part text := 'samples_' || to_char(day, 'YYYYMMDD');
BEGIN
  IF (SELECT c.relkind FROM pg_class c WHERE c.oid = '${schema}.samples'::regclass) <> 'p' THEN
    RETURN;
  END IF;
  IF to_regclass(format('%I.%I', '${schema}', part)) IS NOT NULL THEN
    RETURN;
  END IF;
  -- several prom2pg instances may race for the same day
  PERFORM pg_advisory_xact_lock(hashtext('${schema}.samples partitions'));
  IF to_regclass(format('%I.%I', '${schema}', part)) IS NOT NULL THEN
    RETURN;
  END IF;
  BEGIN
    EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.samples FOR VALUES FROM (%L) TO (%L)',
                   '${schema}', part, '${schema}',
                   (day::timestamp AT TIME ZONE 'UTC'), ((day + 1)::timestamp AT TIME ZONE 'UTC'));
  EXCEPTION WHEN duplicate_table THEN
    -- another session created it between our check and our CREATE (the advisory lock does not
    -- refresh this session's catalog cache)
    NULL;
  END;
END
$fn$;

-- Metric metadata (TYPE, HELP, UNIT) as Prometheus sends it, latest wins.
CREATE TABLE ${schema}.metric_metadata (
    metric_family_name text        PRIMARY KEY,
    type               text        NOT NULL,
    help               text        NOT NULL,
    unit               text        NOT NULL,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- The stable query surface: one row per sample, labels without __name__.
CREATE VIEW ${schema}.metrics AS
SELECT s.time, se.metric_name AS name, s.value, se.labels
FROM ${schema}.samples s
JOIN ${schema}.series se ON se.id = s.series_id;

COMMENT ON VIEW ${schema}.metrics IS 'prom2pg samples: time, metric name, value, labels (jsonb, without __name__)';
