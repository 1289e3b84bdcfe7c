-- Metering: OpenShift Metering's semantics - each sample is priced as value x the time it covers.
-- A gauge sample covers the time until the next sample of its series, but at most the cap (so a
-- pod that stopped is not billed forever); a stale marker ends the coverage. Hours are UTC.

-- Which metric feeds each metering measure; routes/config/views.yaml (metering:) can change it.
CREATE TABLE ${schema}.metering_sources (
    measure text PRIMARY KEY,
    metric  text NOT NULL
);
INSERT INTO ${schema}.metering_sources (measure, metric) VALUES
    ('pod_cpu_request', 'metering:pod_request_cpu_cores'),
    ('pod_cpu_usage', 'metering:pod_usage_cpu_cores'),
    ('pod_memory_request', 'metering:pod_request_memory_bytes'),
    ('pod_memory_usage', 'metering:pod_usage_memory_bytes'),
    ('node_cpu_capacity', 'metering:node_capacity_cpu_cores'),
    ('node_cpu_allocatable', 'metering:node_allocatable_cpu_cores'),
    ('node_memory_capacity', 'metering:node_capacity_memory_bytes'),
    ('node_memory_allocatable', 'metering:node_allocatable_memory_bytes'),
    ('pvc_request', 'metering:persistentvolumeclaim_request_bytes'),
    ('pvc_usage', 'metering:persistentvolumeclaim_usage_bytes');

CREATE FUNCTION ${schema}.metering_source(p_measure text) RETURNS text
LANGUAGE sql STABLE AS $fn$
  SELECT metric FROM ${schema}.metering_sources WHERE measure = p_measure
$fn$;

-- value-seconds per hour and series of a gauge metric, for [p_from, p_to)
CREATE FUNCTION ${schema}.metering_gauge_seconds(p_metric text, p_from timestamptz, p_to timestamptz,
                                                 p_cap interval DEFAULT interval '10 minutes')
RETURNS TABLE (hour timestamptz, series_id bigint, value_seconds double precision)
LANGUAGE sql STABLE AS $fn$
  WITH s AS (
    SELECT sa.series_id, sa.time AS t0, sa.value,
           least(coalesce(lead(sa.time) OVER w, sa.time + p_cap), sa.time + p_cap) AS t1
    FROM ${schema}.samples sa
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

-- increase per hour and series of a cumulative counter, for [p_from, p_to): the increase between
-- two samples (after a counter reset, the new value) is spread over the time between them
CREATE FUNCTION ${schema}.metering_counter_increase(p_metric text, p_from timestamptz, p_to timestamptz,
                                                    p_lookback interval DEFAULT interval '1 hour')
RETURNS TABLE (hour timestamptz, series_id bigint, increase double precision)
LANGUAGE sql STABLE AS $fn$
  WITH s AS (
    SELECT sa.series_id, sa.time AS t1, sa.value AS v1,
           lag(sa.time) OVER w AS t0, lag(sa.value) OVER w AS v0
    FROM ${schema}.samples sa
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

-- per hour and (namespace, pod, node): CPU request and usage core-seconds, memory request and
-- usage byte-seconds, for [p_from, p_to)
CREATE FUNCTION ${schema}.metering_pod_hours(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (hour timestamptz, namespace text, pod text, node text, cpu_request_core_seconds float8,
               cpu_usage_core_seconds float8, memory_request_byte_seconds float8, memory_usage_byte_seconds float8)
LANGUAGE sql STABLE AS $fn$
WITH m AS (
  SELECT hour, series_id, value_seconds AS v, 'cpu_request' AS k
    FROM ${schema}.metering_gauge_seconds(${schema}.metering_source('pod_cpu_request'), p_from, p_to)
  UNION ALL
  SELECT hour, series_id, increase, 'cpu_usage'
    FROM ${schema}.metering_counter_increase(${schema}.metering_source('pod_cpu_usage'), p_from, p_to)
  UNION ALL
  SELECT hour, series_id, value_seconds, 'memory_request'
    FROM ${schema}.metering_gauge_seconds(${schema}.metering_source('pod_memory_request'), p_from, p_to)
  UNION ALL
  SELECT hour, series_id, value_seconds, 'memory_usage'
    FROM ${schema}.metering_gauge_seconds(${schema}.metering_source('pod_memory_usage'), p_from, p_to)
)
SELECT m.hour, se.labels ->> 'namespace' AS namespace, se.labels ->> 'pod' AS pod, se.labels ->> 'node' AS node,
       coalesce(sum(m.v) FILTER (WHERE m.k = 'cpu_request'), 0) AS cpu_request_core_seconds,
       coalesce(sum(m.v) FILTER (WHERE m.k = 'cpu_usage'), 0) AS cpu_usage_core_seconds,
       coalesce(sum(m.v) FILTER (WHERE m.k = 'memory_request'), 0) AS memory_request_byte_seconds,
       coalesce(sum(m.v) FILTER (WHERE m.k = 'memory_usage'), 0) AS memory_usage_byte_seconds
FROM m JOIN ${schema}.series se ON se.id = m.series_id
GROUP BY 1, 2, 3, 4
$fn$;

CREATE VIEW ${schema}.metering_pod_hourly AS
SELECT * FROM ${schema}.metering_pod_hours('-infinity', 'infinity');

-- per hour and namespace: the same, summed
CREATE VIEW ${schema}.metering_namespace_hourly AS
SELECT hour, namespace,
       sum(cpu_request_core_seconds) AS cpu_request_core_seconds,
       sum(cpu_usage_core_seconds) AS cpu_usage_core_seconds,
       sum(memory_request_byte_seconds) AS memory_request_byte_seconds,
       sum(memory_usage_byte_seconds) AS memory_usage_byte_seconds
FROM ${schema}.metering_pod_hourly
GROUP BY 1, 2;

-- per hour and node: capacity and allocatable core-seconds and byte-seconds, for [p_from, p_to)
CREATE FUNCTION ${schema}.metering_node_hours(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (hour timestamptz, node text, provider_id text, cpu_capacity_core_seconds float8,
               cpu_allocatable_core_seconds float8, memory_capacity_byte_seconds float8,
               memory_allocatable_byte_seconds float8)
LANGUAGE sql STABLE AS $fn$
WITH m AS (
  SELECT hour, series_id, value_seconds AS v, 'cpu_capacity' AS k
    FROM ${schema}.metering_gauge_seconds(${schema}.metering_source('node_cpu_capacity'), p_from, p_to)
  UNION ALL
  SELECT hour, series_id, value_seconds, 'cpu_allocatable'
    FROM ${schema}.metering_gauge_seconds(${schema}.metering_source('node_cpu_allocatable'), p_from, p_to)
  UNION ALL
  SELECT hour, series_id, value_seconds, 'memory_capacity'
    FROM ${schema}.metering_gauge_seconds(${schema}.metering_source('node_memory_capacity'), p_from, p_to)
  UNION ALL
  SELECT hour, series_id, value_seconds, 'memory_allocatable'
    FROM ${schema}.metering_gauge_seconds(${schema}.metering_source('node_memory_allocatable'), p_from, p_to)
)
SELECT m.hour, se.labels ->> 'node' AS node, max(se.labels ->> 'provider_id') AS provider_id,
       coalesce(sum(m.v) FILTER (WHERE m.k = 'cpu_capacity'), 0) AS cpu_capacity_core_seconds,
       coalesce(sum(m.v) FILTER (WHERE m.k = 'cpu_allocatable'), 0) AS cpu_allocatable_core_seconds,
       coalesce(sum(m.v) FILTER (WHERE m.k = 'memory_capacity'), 0) AS memory_capacity_byte_seconds,
       coalesce(sum(m.v) FILTER (WHERE m.k = 'memory_allocatable'), 0) AS memory_allocatable_byte_seconds
FROM m JOIN ${schema}.series se ON se.id = m.series_id
GROUP BY 1, 2
$fn$;

CREATE VIEW ${schema}.metering_node_hourly AS
SELECT * FROM ${schema}.metering_node_hours('-infinity', 'infinity');

-- per hour and (namespace, persistentvolumeclaim): request and usage byte-seconds, for [p_from, p_to)
CREATE FUNCTION ${schema}.metering_pvc_hours(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (hour timestamptz, namespace text, persistentvolumeclaim text, request_byte_seconds float8,
               usage_byte_seconds float8)
LANGUAGE sql STABLE AS $fn$
WITH m AS (
  SELECT hour, series_id, value_seconds AS v, 'request' AS k
    FROM ${schema}.metering_gauge_seconds(${schema}.metering_source('pvc_request'), p_from, p_to)
  UNION ALL
  SELECT hour, series_id, value_seconds, 'usage'
    FROM ${schema}.metering_gauge_seconds(${schema}.metering_source('pvc_usage'), p_from, p_to)
)
SELECT m.hour, se.labels ->> 'namespace' AS namespace, se.labels ->> 'persistentvolumeclaim' AS persistentvolumeclaim,
       coalesce(sum(m.v) FILTER (WHERE m.k = 'request'), 0) AS request_byte_seconds,
       coalesce(sum(m.v) FILTER (WHERE m.k = 'usage'), 0) AS usage_byte_seconds
FROM m JOIN ${schema}.series se ON se.id = m.series_id
GROUP BY 1, 2, 3
$fn$;

CREATE VIEW ${schema}.metering_pvc_hourly AS
SELECT * FROM ${schema}.metering_pvc_hours('-infinity', 'infinity');
