#!/usr/bin/env bash
# What the console's pages cost on a large store: SERIES series (default 1,000,000) in prom2pg's
# series table of Debian's PostgreSQL, one metric holding a third of them (30,000 pods × 10 codes),
# the rest spread over 199 metrics, created over 30 days with 2,000 in the last hour. Each console
# answer is asked 3 times with the cache off (prom2pg.console.cache-ms=0) and the median printed,
# beside the floor of the same run: a bare count(*) of the series table.
#
# Usage: bench/console-queries.sh                 (SERIES=200000 for a quicker run)
set -euo pipefail
cd "$(dirname "$0")/.."
SERIES=${SERIES:-1000000}
PORT=${PORT:-15642}
WORK=$(mktemp -d /tmp/prom2pg-console.XXXXXX)
chmod 755 "$WORK"
. e2e/postgres-server.sh
postgres_server_install
[ -f target/prom2pg.jar ] || mvn -B -q -DskipTests package
postgres_server_init "$WORK/pg"
postgres_server_start "$WORK/pg" "$PORT"
PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; wait 2>/dev/null; postgres_server_stop "$WORK/pg" immediate; rm -rf "$WORK"' EXIT
psql_() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d postgres "$@"; }

PROM2PG_DB_URL="jdbc:postgresql://127.0.0.1:$PORT/postgres" PROM2PG_DB_USER=postgres \
PROM2PG_HTTP_HOST=127.0.0.1 PROM2PG_HTTP_PORT=29211 PROM2PG_MANAGEMENT_PORT=29886 PROM2PG_CONSOLE_CACHE_MS=0 \
  bin/prom2pg >"$WORK/prom2pg.log" 2>&1 &
PID=$!
until curl -sf -o /dev/null http://127.0.0.1:29886/observe/health/ready; do
  kill -0 $PID 2>/dev/null || { tail -30 "$WORK/prom2pg.log"; exit 1; }
  sleep 0.2
done

big=$((SERIES * 3 / 10))
rest=$((SERIES - big))
echo "inserting $SERIES series ($big of bench_http_requests_total)"
psql_ <<SQL
INSERT INTO prom2pg.series (labels_key, metric_name, labels, created_at)
SELECT sha256(convert_to(m || l::text, 'UTF8')), m, l, now() - interval '30 days' + (i::float8 / $SERIES) * interval '30 days'
FROM (
  SELECT i, 'bench_http_requests_total' AS m,
         jsonb_build_object('job', 'shop', 'namespace', 'ns-' || (i % 50), 'pod', 'pod-' || (i / 10), 'code', (200 + i % 10)::text) AS l
  FROM generate_series(0, $big - 1) i
  UNION ALL
  SELECT $big + i, 'bench_metric_' || (i % 199),
         jsonb_build_object('job', 'node', 'instance', 'host-' || (i / 199) || ':9100', 'namespace', 'ns-' || (i % 50))
  FROM generate_series(0, $rest - 1) i
) s ORDER BY i;
UPDATE prom2pg.series SET created_at = now() - (id % 3600) * interval '1 second'
  WHERE id > (SELECT max(id) FROM prom2pg.series) - 2000;
VACUUM ANALYZE prom2pg.series;
SQL
echo "series table: $(psql_ -Atc "SELECT pg_size_pretty(pg_total_relation_size('prom2pg.series'))")"

median() { sort -n | sed -n 2p; }
time_url() {
  for _ in 1 2 3; do
    curl -s -o "$WORK/answer" -w '%{time_total}\n' "http://127.0.0.1:29211$1"
  done | median
}
floor=$(for _ in 1 2 3; do
  psql_ -At -c '\timing on' -c 'SELECT count(*) FROM prom2pg.series' | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
done | median)
echo "floor: SELECT count(*) FROM prom2pg.series  ${floor} ms"
for path in /console/api/status /console/api/cardinality \
    "/console/api/cardinality?metric=bench_http_requests_total" "/console/api/cardinality?metric=bench_metric_7"; do
  s=$(time_url "$path")
  printf '%-62s %6.0f ms  %s\n' "$path" "$(python3 -c "print($s * 1000)")" "$(head -c 160 "$WORK/answer")"
done
