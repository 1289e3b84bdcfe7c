-- A day's partition is created as a table of its own and then attached: ATTACH PARTITION takes a
-- SHARE UPDATE EXCLUSIVE lock on samples, which writes and reads do not wait for, where CREATE
-- TABLE ... PARTITION OF takes an ACCESS EXCLUSIVE lock that queues every insert and query behind
-- any long-running reader (a report, a remote read).
CREATE OR REPLACE FUNCTION ${schema}.ensure_partition(day date) RETURNS void
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
    EXECUTE format('CREATE TABLE %I.%I (LIKE %I.samples INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                   '${schema}', part, '${schema}');
  EXCEPTION WHEN duplicate_table THEN
    -- another session created it between our check and our CREATE (the advisory lock does not
    -- refresh this session's catalog cache)
    RETURN;
  END;
  -- the range as a constraint first, so that attaching does not scan the (empty) table for it
  EXECUTE format('ALTER TABLE %I.%I ADD CONSTRAINT %I CHECK (time >= %L AND time < %L)',
                 '${schema}', part, part || '_range',
                 (day::timestamp AT TIME ZONE 'UTC'), ((day + 1)::timestamp AT TIME ZONE 'UTC'));
  EXECUTE format('ALTER TABLE %I.samples ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)',
                 '${schema}', '${schema}', part,
                 (day::timestamp AT TIME ZONE 'UTC'), ((day + 1)::timestamp AT TIME ZONE 'UTC'));
END
$fn$;
