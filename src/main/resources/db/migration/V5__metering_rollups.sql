-- Hourly metering results, materialized so that they outlive the raw samples' retention.
CREATE TABLE ${schema}.metering_pod_rollup (
    hour                        timestamptz      NOT NULL,
    namespace                   text             NOT NULL,
    pod                         text             NOT NULL,
    node                        text             NOT NULL,
    cpu_request_core_seconds    double precision NOT NULL,
    cpu_usage_core_seconds      double precision NOT NULL,
    memory_request_byte_seconds double precision NOT NULL,
    memory_usage_byte_seconds   double precision NOT NULL,
    PRIMARY KEY (hour, namespace, pod, node)
);

CREATE TABLE ${schema}.metering_node_rollup (
    hour                            timestamptz      NOT NULL,
    node                            text             NOT NULL,
    provider_id                     text             NOT NULL,
    cpu_capacity_core_seconds       double precision NOT NULL,
    cpu_allocatable_core_seconds    double precision NOT NULL,
    memory_capacity_byte_seconds    double precision NOT NULL,
    memory_allocatable_byte_seconds double precision NOT NULL,
    PRIMARY KEY (hour, node)
);

CREATE TABLE ${schema}.metering_pvc_rollup (
    hour                  timestamptz      NOT NULL,
    namespace             text             NOT NULL,
    persistentvolumeclaim text             NOT NULL,
    request_byte_seconds  double precision NOT NULL,
    usage_byte_seconds    double precision NOT NULL,
    PRIMARY KEY (hour, namespace, persistentvolumeclaim)
);

CREATE VIEW ${schema}.metering_namespace_rollup AS
SELECT hour, namespace,
       sum(cpu_request_core_seconds) AS cpu_request_core_seconds,
       sum(cpu_usage_core_seconds) AS cpu_usage_core_seconds,
       sum(memory_request_byte_seconds) AS memory_request_byte_seconds,
       sum(memory_usage_byte_seconds) AS memory_usage_byte_seconds
FROM ${schema}.metering_pod_rollup
GROUP BY 1, 2;

-- how far the rollups are complete: every hour before rolled_up_to has been rolled up
CREATE TABLE ${schema}.metering_rollup_state (
    id           integer     PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    rolled_up_to timestamptz NOT NULL
);

-- Recomputes the rollups of the hours in [p_from, p_to) from the raw samples; returns the rows written.
CREATE FUNCTION ${schema}.metering_rollup(p_from timestamptz, p_to timestamptz) RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE
  total integer := 0;
  n integer;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('${schema} metering rollup'));
  DELETE FROM ${schema}.metering_pod_rollup WHERE hour >= p_from AND hour < p_to;
  INSERT INTO ${schema}.metering_pod_rollup
  SELECT hour, coalesce(namespace, ''), coalesce(pod, ''), coalesce(node, ''), cpu_request_core_seconds,
         cpu_usage_core_seconds, memory_request_byte_seconds, memory_usage_byte_seconds
  FROM ${schema}.metering_pod_hours(p_from, p_to) WHERE hour >= p_from AND hour < p_to;
  GET DIAGNOSTICS n = ROW_COUNT;
  total := total + n;

  DELETE FROM ${schema}.metering_node_rollup WHERE hour >= p_from AND hour < p_to;
  INSERT INTO ${schema}.metering_node_rollup
  SELECT hour, coalesce(node, ''), coalesce(provider_id, ''), cpu_capacity_core_seconds, cpu_allocatable_core_seconds,
         memory_capacity_byte_seconds, memory_allocatable_byte_seconds
  FROM ${schema}.metering_node_hours(p_from, p_to) WHERE hour >= p_from AND hour < p_to;
  GET DIAGNOSTICS n = ROW_COUNT;
  total := total + n;

  DELETE FROM ${schema}.metering_pvc_rollup WHERE hour >= p_from AND hour < p_to;
  INSERT INTO ${schema}.metering_pvc_rollup
  SELECT hour, coalesce(namespace, ''), coalesce(persistentvolumeclaim, ''), request_byte_seconds, usage_byte_seconds
  FROM ${schema}.metering_pvc_hours(p_from, p_to) WHERE hour >= p_from AND hour < p_to;
  GET DIAGNOSTICS n = ROW_COUNT;
  total := total + n;

  INSERT INTO ${schema}.metering_rollup_state (id, rolled_up_to) VALUES (1, p_to)
  ON CONFLICT (id) DO UPDATE SET rolled_up_to = greatest(${schema}.metering_rollup_state.rolled_up_to, excluded.rolled_up_to);
  RETURN total;
END
$fn$;
