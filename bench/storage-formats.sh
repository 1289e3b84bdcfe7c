#!/usr/bin/env bash
# Bytes per sample of candidate storage layouts, on the same samples: a realistic mix of value
# shapes (constants, integer and float counters, integer gauges, 2-decimal gauges; scrape
# timestamps every 15 s with millisecond jitter; bench/value-mix.py), SERIES series over HOURS hours.
#
#   rows           today's layout: one row per sample, unique index on (series_id, time)
#   arrays-pglz    one row per series and hour: int8[] times, float8[] values (TOAST, pglz)
#   arrays-lz4     the same with lz4
#   deltas-lz4     one row per series and hour: first time, int4[] time deltas, float8[] values (lz4)
#   sealed-*       prom2pg's sealed tier: one row per series and UTC day, first and last time, count,
#                  primary key (series_id, day), and the samples as two arrays, compressed by TOAST:
#                    sealed-lz4 / sealed-pglz       int8[] times (ms), float8[] values
#                    offsets-lz4 / offsets-pglz     int4[] ms from the day's start, float8[] values
#                  each also timed: every sample of every block read back (median of 3, ms)
#   encoded        the sealed tier as prom2pg makes it (V9, V12): one row per series and 4-hour UTC
#                  window, its samples encoded by the schema's own block_encode (times as a grid plus offsets,
#                  values as integers of a decimal scale where exact), read by block_samples; the
#                  encoding timed too, against sealed-pglz's plain arrays
#   encoded-1h     the same in blocks of one hour, as the sealer makes them while a window is open (V14)
#   rows read      count(*), sum(value) over the rows, the rate a sealed layout is compared with
#   metrics view   prom2pg's schema (its migrations, applied with psql): count(*), sum(value) from
#                  prom2pg.metrics with the samples in the head, then with the same samples sealed
#                  (median of 3 each)
#   gorilla        the bits of Prometheus' chunk encoding (delta-of-delta times, XOR values) of
#                  each series and hour, computed, plus a row's overhead; not stored
#   prometheus     Prometheus 2.42's own blocks (promtool tsdb create-blocks-from openmetrics)
#   victoria       VictoriaMetrics 1.79 (Debian's), imported, flushed and merged: data and index
#
# Usage: SERIES=10000 HOURS=3 bench/storage-formats.sh     (Debian's PostgreSQL and promtool)
# Sizes are sizes: CPU noise does not change them; a run takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
SERIES=${SERIES:-10000}
HOURS=${HOURS:-3}
PORT=${PORT:-15632}
WORK=$(mktemp -d /tmp/prom2pg-formats.XXXXXX)
chmod 755 "$WORK"
. e2e/postgres-server.sh
. bench/victoria-metrics.sh
postgres_server_install
command -v promtool >/dev/null || { apt-get update -q >/dev/null; apt-get install -y -q --no-install-recommends prometheus >/dev/null; }
vm_pid=
trap 'if [ -n "$vm_pid" ]; then kill "$vm_pid" 2>/dev/null || true; fi; postgres_server_stop "$WORK/pg" immediate' EXIT
postgres_server_init "$WORK/pg"
postgres_server_start "$WORK/pg" "$PORT" -c shared_buffers=256MB -c max_wal_size=4GB
psql_() { "$PGBIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -At -v ON_ERROR_STOP=1 "$@"; }

echo "formats: generating $SERIES series x $HOURS h at 15 s ($WORK)"
python3 bench/value-mix.py "$SERIES" "$HOURS" "$WORK"
samples=$((SERIES * HOURS * 240))

psql_ -q >/dev/null <<SQL
CREATE TABLE rows (time timestamptz NOT NULL, series_id int8 NOT NULL, value float8 NOT NULL);
CREATE TABLE raw (s int8, t int8, v float8);
COPY raw FROM '$WORK/rows.tsv';
INSERT INTO rows SELECT timestamptz 'epoch' + t * interval '1 millisecond', s, v FROM raw ORDER BY t;
ALTER TABLE rows ADD CONSTRAINT rows_key UNIQUE (series_id, time);
CREATE TABLE arrays_pglz (series_id int8, hour timestamptz, times int8[], vals float8[]);
ALTER TABLE arrays_pglz ALTER COLUMN times SET COMPRESSION pglz, ALTER COLUMN vals SET COMPRESSION pglz;
INSERT INTO arrays_pglz SELECT s, timestamptz 'epoch' + (t / 3600000) * interval '1 hour', array_agg(t ORDER BY t), array_agg(v ORDER BY t)
  FROM raw GROUP BY s, t / 3600000;
CREATE TABLE arrays_lz4 (LIKE arrays_pglz);
ALTER TABLE arrays_lz4 ALTER COLUMN times SET COMPRESSION lz4, ALTER COLUMN vals SET COMPRESSION lz4;
-- from the raw values: INSERT ... SELECT would keep the other table's compressed datums as they are
INSERT INTO arrays_lz4 SELECT s, timestamptz 'epoch' + (t / 3600000) * interval '1 hour', array_agg(t ORDER BY t), array_agg(v ORDER BY t)
  FROM raw GROUP BY s, t / 3600000;
CREATE TABLE deltas_lz4 (series_id int8, hour timestamptz, first int8, deltas int4[], vals float8[]);
ALTER TABLE deltas_lz4 ALTER COLUMN deltas SET COMPRESSION lz4, ALTER COLUMN vals SET COMPRESSION lz4;
INSERT INTO deltas_lz4 SELECT series_id, hour, times[1],
  ARRAY(SELECT (times[i] - times[greatest(i - 1, 1)])::int4 FROM generate_subscripts(times, 1) AS i ORDER BY i),
  ARRAY(SELECT v FROM unnest(vals) AS v)
  FROM arrays_pglz;
CREATE TABLE sealed_lz4 (day date NOT NULL, series_id bigint NOT NULL, first_time bigint NOT NULL, last_time bigint NOT NULL,
  count integer NOT NULL, times bigint[] NOT NULL, vals double precision[] NOT NULL, PRIMARY KEY (series_id, day));
ALTER TABLE sealed_lz4 ALTER COLUMN times SET COMPRESSION lz4, ALTER COLUMN vals SET COMPRESSION lz4;
INSERT INTO sealed_lz4 SELECT (timestamptz 'epoch' + (t / 86400000) * interval '1 day')::date, s, min(t), max(t), count(*),
  array_agg(t ORDER BY t), array_agg(v ORDER BY t) FROM raw GROUP BY s, t / 86400000;
CREATE TABLE sealed_pglz (LIKE sealed_lz4 INCLUDING ALL);
ALTER TABLE sealed_pglz ALTER COLUMN times SET COMPRESSION pglz, ALTER COLUMN vals SET COMPRESSION pglz;
INSERT INTO sealed_pglz SELECT (timestamptz 'epoch' + (t / 86400000) * interval '1 day')::date, s, min(t), max(t), count(*),
  array_agg(t ORDER BY t), array_agg(v ORDER BY t) FROM raw GROUP BY s, t / 86400000;
CREATE TABLE offsets_lz4 (day date NOT NULL, series_id bigint NOT NULL, first_time bigint NOT NULL, last_time bigint NOT NULL,
  count integer NOT NULL, offsets integer[] NOT NULL, vals double precision[] NOT NULL, PRIMARY KEY (series_id, day));
ALTER TABLE offsets_lz4 ALTER COLUMN offsets SET COMPRESSION lz4, ALTER COLUMN vals SET COMPRESSION lz4;
INSERT INTO offsets_lz4 SELECT (timestamptz 'epoch' + (t / 86400000) * interval '1 day')::date, s, min(t), max(t), count(*),
  array_agg((t % 86400000)::int4 ORDER BY t), array_agg(v ORDER BY t) FROM raw GROUP BY s, t / 86400000;
CREATE TABLE offsets_pglz (LIKE offsets_lz4 INCLUDING ALL);
ALTER TABLE offsets_pglz ALTER COLUMN offsets SET COMPRESSION pglz, ALTER COLUMN vals SET COMPRESSION pglz;
INSERT INTO offsets_pglz SELECT (timestamptz 'epoch' + (t / 86400000) * interval '1 day')::date, s, min(t), max(t), count(*),
  array_agg((t % 86400000)::int4 ORDER BY t), array_agg(v ORDER BY t) FROM raw GROUP BY s, t / 86400000;
SQL
# prom2pg's own encoding functions, from the migrations that define them (schema public here):
# V9's block_samples, and block_encode as V13 replaced it
sed -n '/^CREATE FUNCTION \${schema}.block_encode/,/^-- The new columns/p' src/main/resources/db/migration/V9__block_encoding.sql |
  sed '$d; s/\${schema}/public/g' | psql_ -q
sed 's/\${schema}/public/g' src/main/resources/db/migration/V13__faster_block_encode.sql | psql_ -q
encode_ms() {
  local t0; t0=$(date +%s%N)
  psql_ -q -c "$1" >/dev/null
  echo $(( ($(date +%s%N) - t0) / 1000000 ))
}
plain_ms=$(encode_ms "CREATE TABLE sealed_plain AS SELECT (timestamptz 'epoch' + (t / 86400000) * interval '1 day')::date AS day, s AS series_id,
  min(t), max(t), count(*), array_agg(t ORDER BY t) AS times, array_agg(v ORDER BY t) AS vals FROM raw GROUP BY s, t / 86400000")
psql_ -q -c "CREATE TABLE encoded (day date NOT NULL, series_id bigint NOT NULL, hour smallint NOT NULL, first_time bigint NOT NULL,
  last_time bigint NOT NULL, count integer NOT NULL, time_step bigint NOT NULL, time_offsets integer[] NOT NULL, value_scale smallint,
  value_ints bigint[], vals double precision[], PRIMARY KEY (series_id, day, hour))" \
  -c "ALTER TABLE encoded ALTER COLUMN time_offsets SET COMPRESSION pglz, ALTER COLUMN value_ints SET COMPRESSION pglz,
  ALTER COLUMN vals SET COMPRESSION pglz"
# one block per series and 4-hour window (prom2pg's Sealer.BLOCK_MILLIS), as the sealer groups them
encoded_ms=$(encode_ms "INSERT INTO encoded SELECT (timestamptz 'epoch' + (g.w / 6) * interval '1 day')::date, g.s, (g.w % 6) * 4, e.*
  FROM (SELECT s, t / 14400000 AS w, array_agg(t ORDER BY t) AS ts, array_agg(v ORDER BY t) AS vs FROM raw GROUP BY 1, 2) g
  CROSS JOIN LATERAL block_encode(g.ts, g.vs) e")
# the same samples in blocks of one hour, as the sealer makes them while a 4-hour window is open (V14)
psql_ -q -c "CREATE TABLE encoded_hour (LIKE encoded INCLUDING ALL)" \
  -c "ALTER TABLE encoded_hour ALTER COLUMN time_offsets SET COMPRESSION pglz, ALTER COLUMN value_ints SET COMPRESSION pglz,
  ALTER COLUMN vals SET COMPRESSION pglz" \
  -c "INSERT INTO encoded_hour SELECT (timestamptz 'epoch' + (g.w / 24) * interval '1 day')::date, g.s, g.w % 24, e.*
  FROM (SELECT s, t / 3600000 AS w, array_agg(t ORDER BY t) AS ts, array_agg(v ORDER BY t) AS vs FROM raw GROUP BY 1, 2) g
  CROSS JOIN LATERAL block_encode(g.ts, g.vs) e"
psql_ -q -c "VACUUM ANALYZE"
wrong=$(psql_ -c "SELECT count(*) FROM (SELECT b.series_id, u.t, float8send(u.v) AS v FROM encoded b
  CROSS JOIN LATERAL block_samples(b.first_time, b.time_step, b.time_offsets, b.value_scale, b.value_ints, b.vals) u) e
  FULL JOIN (SELECT s, t, float8send(v) AS v FROM raw) r ON e.series_id = r.s AND e.t = r.t AND e.v = r.v WHERE e.t IS NULL OR r.t IS NULL")
[ "$wrong" = 0 ] || { echo "formats: the encoded blocks differ from the samples in $wrong places"; exit 1; }
size() { psql_ -c "SELECT pg_total_relation_size('$1')"; }
per() { python3 -c "print(f'{$1 / $samples:.2f}')"; }
read -r gbits windows <"$WORK/gorilla.txt"
# a stored Gorilla window: its bits, a 24-byte row header, series_id, window start, count, bytea header
gorilla_bytes=$(python3 -c "print($gbits // 8 + $windows * (24 + 8 + 8 + 4 + 4))")

promtool tsdb create-blocks-from openmetrics "$WORK/samples.om" "$WORK/tsdb" >"$WORK/promtool.log" 2>&1 ||
  { tail -20 "$WORK/promtool.log"; exit 1; }
prometheus_bytes=$(du -sb "$WORK/tsdb" | cut -f1)

# VictoriaMetrics (Debian's 1.79) given the same samples through its Prometheus text import, then
# flushed and merged; its data and index (not its caches) measured
if command -v victoria-metrics >/dev/null || { apt-get install -y -q --no-install-recommends victoria-metrics >/dev/null 2>&1; command -v victoria-metrics >/dev/null; }; then
  victoria_metrics_store "$WORK/samples.om" "$WORK/vm" 18428 $(( 1796011200 + HOURS * 3600 + 3600 ))
  [ "$vm_rows" = "$samples" ] || echo "formats: VictoriaMetrics holds $vm_rows samples of $samples"
else
  vm_bytes=
fi

echo "formats: $samples samples ($SERIES series x $HOURS h at 15 s), bytes per sample (series table not counted):"
printf '  %-12s %8s\n' rows "$(per "$(size rows)")" arrays-pglz "$(per "$(size arrays_pglz)")" \
  arrays-lz4 "$(per "$(size arrays_lz4)")" deltas-lz4 "$(per "$(size deltas_lz4)")" \
  gorilla "$(per "$gorilla_bytes")" prometheus "$(per "$prometheus_bytes")"
[ -n "$vm_bytes" ] && printf '  %-12s %8s\n' victoria "$(per "$vm_bytes")"
# prom2pg's sealed candidates: bytes a sample, and the time to read every sample back (the decode a
# query over old data pays), median of 3 warm runs
timed() {
  local runs=()
  for _ in 1 2 3; do
    local t0; t0=$(date +%s%N)
    psql_ -c "$1" >/dev/null
    runs+=($(( ($(date +%s%N) - t0) / 1000000 )))
  done
  printf '%s\n' "${runs[@]}" | sort -n | sed -n 2p
}
readms() { timed "SELECT count(*) FROM $1 b, unnest(b.$2, b.vals) AS u(t, v) WHERE v = v OR v <> v"; }
printf '  %-12s %8s %8s\n' layout 'B/sample' 'read ms'
printf '  %-12s %8s %8s\n' rows "$(per "$(size rows)")" "$(timed "SELECT count(*), sum(value) FROM rows")"
for t in sealed_lz4:times sealed_pglz:times offsets_lz4:offsets offsets_pglz:offsets; do
  printf '  %-12s %8s %8s\n' "${t%%:*}" "$(per "$(size "${t%%:*}")")" "$(readms "${t%%:*}" "${t##*:}")"
done
printf '  %-12s %8s %8s\n' encoded "$(per "$(size encoded)")" "$(timed "SELECT count(*), sum(u.v) FROM encoded b
  CROSS JOIN LATERAL block_samples(b.first_time, b.time_step, b.time_offsets, b.value_scale, b.value_ints, b.vals) u")"
printf '  %-12s %8s %8s\n' encoded-1h "$(per "$(size encoded_hour)")" "$(timed "SELECT count(*), sum(u.v) FROM encoded_hour b
  CROSS JOIN LATERAL block_samples(b.first_time, b.time_step, b.time_offsets, b.value_scale, b.value_ints, b.vals) u")"
echo "formats: making the blocks took $plain_ms ms as plain day arrays, $encoded_ms ms encoded in 4-hour blocks (one statement each)"
echo "formats: encoded blocks by value form: $(psql_ -c "SELECT string_agg(coalesce('scale ' || value_scale, 'floats') || ' ' || n, ', ')
  FROM (SELECT value_scale, count(*) AS n FROM encoded GROUP BY 1 ORDER BY 1) x")"

# the metrics view over each tier: prom2pg's own schema, the samples first in the head, then sealed
psql_ -q -c "CREATE SCHEMA prom2pg"
# in version order, as Flyway applies them (V10 after V9, not after V1)
for migration in $(ls src/main/resources/db/migration/V*.sql | sort -V); do
  sed 's/\${schema}/prom2pg/g' "$migration" | psql_ -q -c "SET search_path = prom2pg" -f - >/dev/null
done
psql_ -q >/dev/null <<SQL
INSERT INTO prom2pg.series (id, labels_key, metric_name, labels) OVERRIDING SYSTEM VALUE
  SELECT i, decode(md5('s' || i), 'hex'), 'bench_' || (i % 97), jsonb_build_object('instance', 'host-' || (i / 5 % 400), 'n', i::text)
  FROM generate_series(0, $SERIES - 1) i;
-- the head as prom2pg lays it out: one partition per 15-minute window (SampleChunk.WINDOW_MILLIS)
SELECT prom2pg.ensure_head_partition(timestamptz 'epoch' + w * interval '15 minutes', interval '15 minutes')
  FROM (SELECT DISTINCT t / 900000 AS w FROM raw) x;
INSERT INTO prom2pg.samples (time, series_id, value) SELECT to_timestamp(t::float8 / 1000), s, v FROM raw ORDER BY t;
SQL
psql_ -q -c "VACUUM ANALYZE"
view_head=$(timed "SELECT count(*), sum(value) FROM prom2pg.metrics")
psql_ -q >/dev/null <<SQL
SELECT prom2pg.ensure_block_partition(d) FROM (SELECT DISTINCT (timestamptz 'epoch' + (t / 86400000) * interval '1 day')::date AS d FROM raw) x;
-- the blocks encoded above (by the same block_encode), not encoded a second time
INSERT INTO prom2pg.sample_blocks (day, series_id, hour, first_time, last_time, count, time_step, time_offsets, value_scale, value_ints, vals)
  SELECT day, series_id, hour, first_time, last_time, count, time_step, time_offsets, value_scale, value_ints, vals FROM encoded;
TRUNCATE prom2pg.samples;
SQL
psql_ -q -c "VACUUM ANALYZE"
view_sealed=$(timed "SELECT count(*), sum(value) FROM prom2pg.metrics")
echo "formats: count(*), sum(value) FROM prom2pg.metrics: $view_head ms from the head, $view_sealed ms from the sealed tier"
echo "formats: prom2pg.series with its indexes, $SERIES series: $(per "$(size prom2pg.series)") bytes per sample on top of either tier"
