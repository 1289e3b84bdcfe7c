#!/usr/bin/env bash
# A time range over weeks of sealed data: the README's queries of one metric (the last hour per
# instance, an hourly average over a day) through a filter on time over prom2pg.metrics and through
# prom2pg.metrics_between(from, to). prom2pg's schema (made by prom2pg itself, against Debian's
# PostgreSQL 15 in a fresh cluster under /tmp), then SERIES series of node_load1 and DAYS days at
# 15 s: every 4-hour window up to the last one over as blocks (encoded by the schema's
# block_encode, as the sealing route does), the rest as head rows. Each query run once to warm up,
# then 3 times; the median printed. A few minutes at the defaults.
#
# Usage: SERIES=100 DAYS=30 bench/time-ranges.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SERIES=${SERIES:-100}
DAYS=${DAYS:-30}
PORT=${PORT:-25435}
mvn -q -B -DskipTests package >/dev/null
# shellcheck source=e2e/postgres-server.sh
. e2e/postgres-server.sh
postgres_server_install
DIR=$(mktemp -d /tmp/prom2pg-time-ranges.XXXXXX)
chmod 777 "$DIR"
postgres_server_init "$DIR/pg"
postgres_server_start "$DIR/pg" "$PORT"
PID=
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  postgres_server_stop "$DIR/pg" || true
  rm -rf "$DIR"
}
trap cleanup EXIT
psql() { "$PGBIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -X -q -v ON_ERROR_STOP=1 "$@"; }

# the schema, as prom2pg makes it; no sealing run meanwhile
PROM2PG_DB_URL=jdbc:postgresql://127.0.0.1:$PORT/postgres PROM2PG_DB_USER=postgres PROM2PG_STORAGE_SEAL_DELAY_MS=86400000 \
  PROM2PG_HTTP_HOST=127.0.0.1 PROM2PG_HTTP_PORT=29203 PROM2PG_MANAGEMENT_PORT=29878 bin/prom2pg >"$DIR/prom2pg.log" 2>&1 &
PID=$!
until curl -sf -o /dev/null http://127.0.0.1:29878/observe/health/ready; do
  kill -0 "$PID" 2>/dev/null || { tail -30 "$DIR/prom2pg.log"; exit 1; }
  sleep 0.2
done
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=

echo "PostgreSQL: $("$PGBIN/postgres" --version); $SERIES series of node_load1, $DAYS days at 15 s"
psql -v series="$SERIES" -v days="$DAYS" <<'SQL'
INSERT INTO prom2pg.series (labels_key, metric_name, labels)
  SELECT decode(md5('node_load1 ' || i), 'hex'), 'node_load1',
         jsonb_build_object('instance', 'node-' || i || ':9100', 'job', 'node')
  FROM generate_series(1, :series) i;
CREATE TEMP TABLE bounds AS
  SELECT date_bin('4 hours', now() - interval '2 hours', timestamptz 'epoch') AS sealed_to,
         date_bin('4 hours', now() - :days * interval '1 day', timestamptz 'epoch') AS first;
-- blocks: each 4-hour window of each series, load averages in hundredths (an integer block)
DO $$
DECLARE w timestamptz;
BEGIN
  FOR w IN SELECT generate_series(first, sealed_to - interval '4 hours', interval '4 hours') FROM bounds LOOP
    PERFORM prom2pg.ensure_block_partition((w AT TIME ZONE 'UTC')::date);
    INSERT INTO prom2pg.sample_blocks (day, hour, series_id, first_time, last_time, count, time_step, time_offsets,
                                       value_scale, value_ints, vals)
      SELECT (w AT TIME ZONE 'UTC')::date, date_part('hour', w AT TIME ZONE 'UTC')::smallint, s.id, e.*
      FROM prom2pg.series s
      CROSS JOIN LATERAL (SELECT array_agg((date_part('epoch', w) * 1000)::bigint + k * 15000 ORDER BY k) AS ts,
                                 array_agg(round((1 + sin(s.id + k / 40.0))::numeric, 2)::float8 ORDER BY k) AS vs
                          FROM generate_series(0, 959) k) a
      CROSS JOIN LATERAL prom2pg.block_encode(a.ts, a.vs) e;
    INSERT INTO prom2pg.sealed_windows (start, "end") VALUES (w, w + interval '4 hours');
  END LOOP;
END $$;
-- the head: rows from the last window sealed to now, in its 15-minute partitions
DO $$
DECLARE p timestamptz;
BEGIN
  FOR p IN SELECT generate_series(sealed_to, now(), interval '15 minutes') FROM bounds LOOP
    PERFORM prom2pg.ensure_head_partition(p, interval '15 minutes');
  END LOOP;
END $$;
INSERT INTO prom2pg.samples (time, series_id, value)
  SELECT t, s.id, round((1 + sin(s.id + date_part('epoch', t) / 600))::numeric, 2)::float8
  FROM bounds, generate_series(sealed_to, now(), interval '15 seconds') t, prom2pg.series s;
VACUUM ANALYZE;
SELECT format('blocks %s (%s samples), head rows %s', (SELECT count(*) FROM prom2pg.sample_blocks),
              (SELECT sum(count) FROM prom2pg.sample_blocks), (SELECT count(*) FROM prom2pg.samples));
SQL

# $1: a label, $2: the query; psql's \timing of it (the server's answer, no connection set-up), the
# median of 3 runs after one, and the rows it gave
measure() {
  local times=() out rows median
  for r in 0 1 2 3; do
    out=$(psql -At -c '\timing on' -c "SELECT count(*) FROM ($2) q")
    rows=$(echo "$out" | sed -n 1p)
    [ "$r" -gt 0 ] && times+=("$(echo "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')")
  done
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
  printf '%-66s %10s ms  (%s rows; runs %s ms)\n' "$1" "$median" "$rows" "${times[*]}"
}
measure "last hour, one metric: filter on time over prom2pg.metrics" \
  "SELECT time, labels->>'instance', value FROM prom2pg.metrics WHERE name = 'node_load1' AND time > now() - interval '1 hour'"
measure "last hour, one metric: prom2pg.metrics_between" \
  "SELECT time, labels->>'instance', value FROM prom2pg.metrics_between(now() - interval '1 hour', now()) WHERE name = 'node_load1'"
measure "hourly average over a day: filter on time over prom2pg.metrics" \
  "SELECT date_trunc('hour', time), labels->>'instance', avg(value) FROM prom2pg.metrics WHERE name = 'node_load1' AND time > now() - interval '1 day' GROUP BY 1, 2"
measure "hourly average over a day: prom2pg.metrics_between" \
  "SELECT date_trunc('hour', time), labels->>'instance', avg(value) FROM prom2pg.metrics_between(now() - interval '1 day', now()) WHERE name = 'node_load1' GROUP BY 1, 2"
# the same with the range as literals, as Grafana's $__timeFrom() and $__timeTo() give it: the
# partitions outside it are left out when the statement is planned, not when it starts
from_hour=$(date -u -d '1 hour ago' +%FT%T.%3NZ) from_day=$(date -u -d '1 day ago' +%FT%T.%3NZ) to=$(date -u +%FT%T.%3NZ)
measure "last hour, one metric: prom2pg.metrics_between, literal range" \
  "SELECT time, labels->>'instance', value FROM prom2pg.metrics_between('$from_hour', '$to') WHERE name = 'node_load1'"
measure "hourly average over a day: prom2pg.metrics_between, literal range" \
  "SELECT date_trunc('hour', time), labels->>'instance', avg(value) FROM prom2pg.metrics_between('$from_day', '$to') WHERE name = 'node_load1' GROUP BY 1, 2"
for q in "now() - interval '1 hour', now()" "'$from_hour', '$to'"; do
  psql -At -c "EXPLAIN (ANALYZE, SUMMARY) SELECT count(*) FROM prom2pg.metrics_between($q) WHERE name = 'node_load1'" |
    grep -E 'Planning Time|Execution Time' | tr '\n' ' ' | sed "s/^/last hour, metrics_between($q): /;s/$/\n/"
done
