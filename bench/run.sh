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
#   PREFILL_METHOD=remote-write PREFILL_HOURS=1 bench/run.sh
#       # the prefill as rounds sent by remote write after the first pass, in time order (240 an
#       # hour), reported as a "prefill" phase; the default with PEER=prometheus (sql, the default
#       # otherwise: the hours before the first pass inserted by SQL)
#   ALIGN_MS=900000 PREFILL_HOURS=1 bench/run.sh
#       # the last steady round is the last 15 s of a 15-minute window (timestamps up to ALIGN_MS
#       # ahead of now), so the steady phase writes at the end of a window already full of rounds
#   STEADY_CHECKPOINT=1 bench/run.sh  # a CHECKPOINT from another session ~1 s into the steady phase
#                                     # (default on when PREFILL_HOURS > 0; 0 turns it off)
#   PEER=prometheus PREFILL_HOURS=1 ALIGN_MS=900000 bench/run.sh
#       # then, prom2pg stopped, the same load (series, timestamps, request bodies) against
#       # Debian's Prometheus 2.42 remote-write receiver (installed when missing); summary.txt ends
#       # with its phases and "ratio steady prom2pg / Prometheus"
#
# Settings (environment): SERIES, SENDERS, BATCH, WARMUP_ROUNDS, ROUNDS, PACED_RATE, PACED_ROUNDS,
# PREFILL_HOURS, PREFILL_METHOD, ALIGN_MS, STEADY_CHECKPOINT, PEER, LOAD_VARIANTS, BENCH_PG_OPTS
# (server settings for BENCH_POSTGRES=system), BENCH_JAVA_OPTS (JVM options of the load generator,
# default -Xmx3g), PROM2PG_JAVA_OPTS (JVM options for prom2pg), and any PROM2PG_* setting of
# prom2pg itself.
set -euo pipefail
cd "$(dirname "$0")/.."

SERIES=${SERIES:-100000}
SENDERS=${SENDERS:-20}
BATCH=${BATCH:-2000}
WARMUP_ROUNDS=${WARMUP_ROUNDS:-1}
ROUNDS=${ROUNDS:-10}
PACED_RATE=${PACED_RATE:-0}
PACED_ROUNDS=${PACED_ROUNDS:-0}
PREFILL_HOURS=${PREFILL_HOURS:-0}
PEER=${PEER:-}
case $PEER in
  ''|prometheus) ;;
  *) echo "PEER is prometheus or empty, not $PEER" >&2; exit 2 ;;
esac
if [ -z "${PREFILL_METHOD:-}" ]; then
  if [ "$PEER" = prometheus ]; then PREFILL_METHOD=remote-write; else PREFILL_METHOD=sql; fi
fi
case $PREFILL_METHOD in
  sql|remote-write) ;;
  *) echo "PREFILL_METHOD is sql or remote-write, not $PREFILL_METHOD" >&2; exit 2 ;;
esac
prefilled=$(python3 -c "print(1 if float('$PREFILL_HOURS') > 0 else 0)")
if [ "$PEER" = prometheus ] && [ "$PREFILL_METHOD" = sql ] && [ "$prefilled" = 1 ]; then
  echo "PEER=prometheus: Prometheus can only be prefilled by remote write (PREFILL_METHOD=remote-write)" >&2; exit 2
fi
ALIGN_MS=${ALIGN_MS:-0}
STEADY_CHECKPOINT=${STEADY_CHECKPOINT:-$prefilled}
BENCH_JAVA_OPTS=${BENCH_JAVA_OPTS:--Xmx3g}
OUT=${OUT:-target/bench/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"

PROMETHEUS=/usr/bin/prometheus
if [ "$PEER" = prometheus ] && [ ! -x $PROMETHEUS ]; then
  echo "installing prometheus"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends prometheus >/dev/null
fi

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
  if [ -n "${PGDIR:-}" ]; then postgres_server_stop "$PGDIR/pg"; rm -rf "$PGDIR"; PGDIR=; fi
}

# prom2pg runs as users run it: bin/prom2pg, with its bounded JVM defaults unless
# PROM2PG_JAVA_OPTS says otherwise
if [ -n "${BENCH_JFR:-}" ]; then
  export PROM2PG_EXTRA_JAVA_OPTS="-XX:StartFlightRecording=filename=$OUT/prom2pg.jfr,settings=profile,dumponexit=true"
fi
# a prefill by remote write reaches hours back: hours that ended more than
# prom2pg.storage.seal-after-ms (30 min) ago would be sealed in the middle of the run, moving rows
# the check counts into blocks and sharing the cores with the phases
if [ "$PREFILL_METHOD" = remote-write ] && [ "$prefilled" = 1 ]; then
  export PROM2PG_STORAGE_SEAL_AFTER_MS=${PROM2PG_STORAGE_SEAL_AFTER_MS:-86400000}
fi
PROM2PG_HTTP_HOST=127.0.0.1 PROM2PG_HTTP_PORT=29201 PROM2PG_MANAGEMENT_PORT=29876 \
PROM2PG_EMBEDDED_PORT=25433 PROM2PG_EMBEDDED_DATA_DIR="$OUT/data" \
  bin/prom2pg >"$OUT/prom2pg.log" 2>&1 &
PID=$!
PROM_PID=
cleanup() {
  kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true
  if [ -n "$PROM_PID" ]; then kill "$PROM_PID" 2>/dev/null || true; wait "$PROM_PID" 2>/dev/null || true; fi
  stop_postgres
}
trap cleanup EXIT

T0=$(date +%s.%N)
until curl -sf -o /dev/null http://127.0.0.1:29876/observe/health/ready; do
  kill -0 $PID 2>/dev/null || { tail -30 "$OUT/prom2pg.log"; exit 1; }
  sleep 0.1
done
echo "prom2pg ready in $(python3 -c "print(round($(date +%s.%N) - $T0, 2))") s (fresh database; pid $PID)"

LOAD=(--series "$SERIES" --senders "$SENDERS" --batch "$BATCH" --warmup-rounds "$WARMUP_ROUNDS" --rounds "$ROUNDS"
  --paced-rate "$PACED_RATE" --paced-rounds "$PACED_ROUNDS" --prefill-hours "$PREFILL_HOURS"
  --prefill-method "$PREFILL_METHOD" --out "$OUT")
# shellcheck disable=SC2086 # BENCH_JAVA_OPTS: JVM options, split on spaces
java $BENCH_JAVA_OPTS -cp "$CP" io.prom2pg.bench.Bench --pid "$PID" --jdbc "$JDBC" "${LOAD[@]}" \
  --align-ms "$ALIGN_MS" --steady-checkpoint "$STEADY_CHECKPOINT" --load-variants "${LOAD_VARIANTS:-}"

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

# the peer: prom2pg and its PostgreSQL stopped first (they would share the 2 cores), then
# Prometheus' own remote-write receiver, a fresh TSDB and no scrapes, gets the same load with the
# same timeline (Bench reads it from $OUT/timeline.properties) and so the same request bodies
if [ "$PEER" = prometheus ]; then
  kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true
  stop_postgres
  mkdir -p "$OUT/prometheus"
  printf 'global:\n' >"$OUT/prometheus/prometheus.yml"
  T0=$(date +%s.%N)
  $PROMETHEUS --config.file="$OUT/prometheus/prometheus.yml" --storage.tsdb.path="$OUT/prometheus/data" \
    --web.listen-address=127.0.0.1:29090 --web.enable-remote-write-receiver >"$OUT/prometheus.log" 2>&1 &
  PROM_PID=$!
  until curl -sf -o /dev/null http://127.0.0.1:29090/-/ready; do
    kill -0 "$PROM_PID" 2>/dev/null || { tail -30 "$OUT/prometheus.log"; exit 1; }
    sleep 0.1
  done
  version=$($PROMETHEUS --version 2>&1 | head -1)
  echo "Prometheus ready in $(python3 -c "print(round($(date +%s.%N) - $T0, 2))") s ($version; pid $PROM_PID)"
  # shellcheck disable=SC2086
  java $BENCH_JAVA_OPTS -cp "$CP" io.prom2pg.bench.Bench --receiver Prometheus --receiver-version "$version" \
    --url http://127.0.0.1:29090/api/v1/write --metrics http://127.0.0.1:29090/metrics --pid "$PROM_PID" \
    --receiver-data "$OUT/prometheus/data" "${LOAD[@]}"
fi
echo "output: $OUT"
