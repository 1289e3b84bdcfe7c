#!/usr/bin/env bash
# prom2pg throughput benchmark: one command, numbers on stdout, a summary and a plot in the
# output folder. Starts prom2pg (embedded PostgreSQL, fresh data directory) and loads it.
#
#   bench/run.sh                      # 100k series, 20 senders, 2000 samples/request
#   SERIES=1000000 ROUNDS=3 bench/run.sh
#   BENCH_JFR=1 bench/run.sh          # also record a JFR profile of prom2pg
#   BENCH_POSTGRES=system bench/run.sh  # Debian's PostgreSQL server instead of the embedded one
#   LOAD_VARIANTS=copy:8x2000,unnest:8x2000,batch:8x2000 bench/run.sh
#       # also the same rows written another way: method (copy, unnest, batch, batch-rewrite),
#       # sessions x rows per statement; e.g. COPYs of 2000 rows from 8 sessions
#   PREFILL_HOURS=4 bench/run.sh      # after the first pass, fill the partition with 4 earlier hours
#                                     # of every series, so the steady phase writes into a fuller one
#
# Settings (environment): SERIES, SENDERS, BATCH, WARMUP_ROUNDS, ROUNDS, PACED_RATE, PACED_ROUNDS,
# PREFILL_HOURS, LOAD_VARIANTS, BENCH_PG_OPTS (server settings for BENCH_POSTGRES=system),
# PROM2PG_JAVA_OPTS (JVM options for prom2pg), and any PROM2PG_* setting of prom2pg itself.
set -euo pipefail
cd "$(dirname "$0")/.."

SERIES=${SERIES:-100000}
SENDERS=${SENDERS:-20}
BATCH=${BATCH:-2000}
WARMUP_ROUNDS=${WARMUP_ROUNDS:-1}
ROUNDS=${ROUNDS:-10}
PACED_RATE=${PACED_RATE:-0}
PACED_ROUNDS=${PACED_ROUNDS:-0}
OUT=${OUT:-target/bench/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"

mvn -q -B -DskipTests package test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test >/dev/null
CP="target/test-classes:target/classes:$(cat target/bench.classpath)"

# PostgreSQL: the embedded server (prom2pg starts it, data in $OUT/data), or with
# BENCH_POSTGRES=system Debian's server (installed when missing) in a folder under /tmp, with the same
# durability settings; both on port 25433 of this host
JDBC=jdbc:postgresql://127.0.0.1:25433/postgres
if [ "${BENCH_POSTGRES:-embedded}" = system ]; then
  # shellcheck source=e2e/postgres-server.sh
  . e2e/postgres-server.sh
  postgres_server_install
  # under /tmp, which the postgres user can reach whoever owns this checkout; removed at the end
  PGDIR=$(mktemp -d /tmp/prom2pg-bench-pg.XXXXXX)
  postgres_server_init "$PGDIR/pg"
  # shellcheck disable=SC2086 # BENCH_PG_OPTS: more server settings, e.g. "-c shared_buffers=1GB"
  postgres_server_start "$PGDIR/pg" 25433 -c full_page_writes=on -c wal_compression=on ${BENCH_PG_OPTS:-}
  export PROM2PG_DB_URL=$JDBC PROM2PG_DB_USER=postgres
  echo "PostgreSQL: $("$PGBIN/postgres" --version), data in $PGDIR/pg"
fi
stop_postgres() {
  if [ -n "${PGDIR:-}" ]; then postgres_server_stop "$PGDIR/pg"; rm -rf "$PGDIR"; fi
}

# prom2pg runs as users run it: bin/prom2pg, with its bounded JVM defaults unless
# PROM2PG_JAVA_OPTS says otherwise
if [ -n "${BENCH_JFR:-}" ]; then
  export PROM2PG_EXTRA_JAVA_OPTS="-XX:StartFlightRecording=filename=$OUT/prom2pg.jfr,settings=profile,dumponexit=true"
fi
PROM2PG_HTTP_HOST=127.0.0.1 PROM2PG_HTTP_PORT=29201 PROM2PG_MANAGEMENT_PORT=29876 \
PROM2PG_EMBEDDED_PORT=25433 PROM2PG_EMBEDDED_DATA_DIR="$OUT/data" \
  bin/prom2pg >"$OUT/prom2pg.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null || true; stop_postgres' EXIT

T0=$(date +%s.%N)
until curl -sf -o /dev/null http://127.0.0.1:29876/observe/health/ready; do
  kill -0 $PID 2>/dev/null || { tail -30 "$OUT/prom2pg.log"; exit 1; }
  sleep 0.1
done
echo "prom2pg ready in $(python3 -c "print(round($(date +%s.%N) - $T0, 2))") s (fresh database; pid $PID)"

java -cp "$CP" io.prom2pg.bench.Bench --pid "$PID" --jdbc "$JDBC" --series "$SERIES" --senders "$SENDERS" --batch "$BATCH" \
  --warmup-rounds "$WARMUP_ROUNDS" --rounds "$ROUNDS" --paced-rate "$PACED_RATE" --paced-rounds "$PACED_ROUNDS" \
  --prefill-hours "${PREFILL_HOURS:-0}" --load-variants "${LOAD_VARIANTS:-}" --out "$OUT"

# start-up on the existing database: stop prom2pg and start it again on the same data
kill "$PID"; wait "$PID" 2>/dev/null || true
T0=$(date +%s.%N)
PROM2PG_HTTP_HOST=127.0.0.1 PROM2PG_HTTP_PORT=29201 PROM2PG_MANAGEMENT_PORT=29876 \
PROM2PG_EMBEDDED_PORT=25433 PROM2PG_EMBEDDED_DATA_DIR="$OUT/data" \
  bin/prom2pg >"$OUT/prom2pg-restart.log" 2>&1 &
PID=$!
until curl -sf -o /dev/null http://127.0.0.1:29876/observe/health/ready; do
  kill -0 $PID 2>/dev/null || { tail -30 "$OUT/prom2pg-restart.log"; exit 1; }
  sleep 0.05
done
ready="start-up to ready on the existing database: $(python3 -c "print(round($(date +%s.%N) - $T0, 2))") s"
echo "$ready" | tee -a "$OUT/summary.txt"
echo "output: $OUT"
