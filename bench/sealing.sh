#!/usr/bin/env bash
# The sealed tier at scale, on a running prom2pg and Debian's PostgreSQL 15: one 4-hour window of
# SERIES series, HOURS of it at 15 s, first in the head, then sealed by prom2pg's own sealing route.
#
#   fill     the series by remote write, then the window's samples inserted round by round as
#            ingest leaves them (a mix of value shapes, millisecond jitter); prom2pg runs with its
#            first seal run a day away
#   head     bytes a sample of the window's partitions, count(*), sum(value) from prom2pg.metrics
#            over the window, remote read of 10 series over 3 h at prom2pg's endpoint
#   seal     prom2pg started again with sealing on (first run 15 s after start): the time it took
#            (its log line "Sealed ...") and the CPU PostgreSQL and prom2pg used meanwhile
#   sealed   the same measures from the sealed tier; the run fails unless the window holds the
#            same count and sum as in the head and every remote read returns its samples
#   by curl  after head and after sealed: the same remote reads sent again by curl (p50, p90 of 30)
#   through Prometheus   after head and after sealed: a Prometheus 2.42 (Debian's) with no storage
#            of its own for the window and prom2pg as its remote_read answers a query_range of
#            the same 10 series over 3 h at a 15 s step; p50 and p90 of 30 after 20 warm-ups
#   backlog  last, BACKLOG_ROUNDS (40) rounds of every series by remote write into the head, the
#            same into the sealed window between its samples (as a replay after an outage), again
#            (a retry), and their merge into the window's blocks at the next seal run (every 60 s
#            here; 15 minutes by default); the window checked to hold every sample once
#
# Usage: SERIES=100000 HOURS=1 bench/sealing.sh     (HOURS 1..4; a run of 100k x 4 h takes ~15 min)
#        SEAL_BY=hour SERIES=100000 HOURS=4 bench/sealing.sh
#            the seal as it goes while the window is open: its first HOURS-1 hours sealed one by
#            one into hour blocks, then the last hour, then the hour blocks compacted
# Settings: SERIES, HOURS, SEAL_BY (window, hour), BACKLOG_ROUNDS (0: none), PORT, BENCH_PG_OPTS
#           (more server settings), PROM2PG_JAVA_OPTS.
set -euo pipefail
cd "$(dirname "$0")/.."
SERIES=${SERIES:-100000}
HOURS=${HOURS:-1}
BACKLOG_ROUNDS=${BACKLOG_ROUNDS:-40}
PORT=${PORT:-25434}
OUT=${OUT:-target/bench/sealing-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"

mvn -q -B -DskipTests package test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test >/dev/null
CP="target/test-classes:target/classes:$(cat target/bench.classpath)"

# shellcheck source=e2e/postgres-server.sh
. e2e/postgres-server.sh
postgres_server_install
PGDIR=$(mktemp -d /tmp/prom2pg-sealing-pg.XXXXXX)
chmod 755 "$PGDIR"
postgres_server_init "$PGDIR/pg"
# shellcheck disable=SC2086 # BENCH_PG_OPTS: more server settings
postgres_server_start "$PGDIR/pg" "$PORT" -c full_page_writes=on -c wal_compression=on ${BENCH_PG_OPTS:-}
JDBC=jdbc:postgresql://127.0.0.1:$PORT/postgres
echo "PostgreSQL: $("$PGBIN/postgres" --version), data in $PGDIR/pg" | tee "$OUT/summary.txt"
PID=
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  postgres_server_stop "$PGDIR/pg" || true
  rm -rf "$PGDIR"
}
trap cleanup EXIT

# prom2pg as users run it, against that server; $1: the first seal run's delay in ms, $2 (optional)
# prom2pg.storage.seal-after-ms
start_prom2pg() {
  env ${2:+PROM2PG_STORAGE_SEAL_AFTER_MS=$2} PROM2PG_DB_URL=$JDBC PROM2PG_DB_USER=postgres PROM2PG_STORAGE_SEAL_DELAY_MS=$1 \
    PROM2PG_STORAGE_SEAL_INTERVAL_MS=60000 \
  PROM2PG_HTTP_HOST=127.0.0.1 PROM2PG_HTTP_PORT=29202 PROM2PG_MANAGEMENT_PORT=29877 \
    bin/prom2pg >>"$OUT/prom2pg.log" 2>&1 &
  PID=$!
  until curl -sf -o /dev/null http://127.0.0.1:29877/observe/health/ready; do
    kill -0 "$PID" 2>/dev/null || { tail -30 "$OUT/prom2pg.log"; exit 1; }
    sleep 0.2
  done
}
stop_prom2pg() {
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
}
PROMETHEUS=/usr/bin/prometheus
if [ ! -x $PROMETHEUS ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends prometheus >/dev/null
fi
# $1: the tier being read (for the report)
through_prometheus() {
  local dir=$OUT/prometheus-$1
  mkdir -p "$dir"
  printf 'global:\n  scrape_interval: 1m\nremote_read:\n  - url: http://127.0.0.1:29202/api/v1/read\n    read_recent: true\n' >"$dir/prometheus.yml"
  $PROMETHEUS --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" --web.listen-address=127.0.0.1:29091 \
    >"$dir/prometheus.log" 2>&1 &
  local prom=$!
  until curl -sf -o /dev/null http://127.0.0.1:29091/-/ready; do sleep 0.1; done
  local start end
  start=$(python3 -c "import re; p=dict(l.split('=',1) for l in open('$OUT/window.properties') if '=' in l); print(int(p['start'])/1000)")
  end=$(python3 -c "print($start + min(3, $HOURS) * 3600 - 15)")
  local times=()
  for r in $(seq 0 49); do
    local first=$(( (r * 9973) % (SERIES / 10 - 10) )) pods
    pods=$(seq -s '|' "$first" $((first + 9)))
    local t
    t=$(curl -sf -o "$dir/answer.json" -w '%{time_total}' --get http://127.0.0.1:29091/api/v1/query_range \
      --data-urlencode "query=bench_metric_0{pod=~\"app-($pods)-.*\"}" --data-urlencode "start=$start" \
      --data-urlencode "end=$end" --data-urlencode step=15)
    local n
    n=$(python3 -c "import json; print(len(json.load(open('$dir/answer.json'))['data']['result']))")
    [ "$n" = 10 ] || { echo "through Prometheus: $n series in the answer, not 10"; exit 1; }
    [ "$r" -ge 20 ] && times+=("$t")
  done
  kill "$prom"; wait "$prom" 2>/dev/null || true
  printf '%s\n' "${times[@]}" | sort -n | python3 -c "import sys; v=[float(x)*1000 for x in sys.stdin]; print(f'through Prometheus ($1): query_range of 10 series over {min(3, $HOURS)} h at a 15 s step, remote read from prom2pg: p50 {v[len(v)//2]:.0f} ms, p90 {v[len(v)*9//10]:.0f} ms (30 queries)')" |
    tee -a "$OUT/summary.txt"
}
# $1: the tier read; the remote reads SealBench sent, sent again by curl (no client-side decoding
# or JVM in the time): p50 and p90 of the last 30 of the 50, each answer checked to be a 200
by_curl() {
  local times=() t
  for body in "$OUT/reads-$1"/*.bin; do
    t=$(curl -sf -o "$OUT/answer.bin" -w '%{time_total}' --data-binary @"$body" -H 'Content-Type: application/x-protobuf' \
      -H 'Content-Encoding: snappy' -H 'X-Prometheus-Remote-Read-Version: 0.1.0' http://127.0.0.1:29202/api/v1/read)
    times+=("$t")
  done
  printf '%s\n' "${times[@]:20}" | sort -n | python3 -c "import sys; v=[float(x)*1000 for x in sys.stdin]; print(f'by curl ($1): the same remote reads at prom2pg\'s endpoint: p50 {v[len(v)//2]:.1f} ms, p90 {v[len(v)*9//10]:.1f} ms (30 reads after 20)')" |
    tee -a "$OUT/summary.txt"
}
bench() {
  java -Xmx1g -cp "$CP" io.prom2pg.bench.SealBench "$@" --jdbc "$JDBC" --url http://127.0.0.1:29202 \
    --state "$OUT/window.properties" | tee -a "$OUT/summary.txt"
}

start_prom2pg 86400000
bench fill --series "$SERIES" --hours "$HOURS"
by_curl head
through_prometheus head
stop_prom2pg
if [ "${SEAL_BY:-window}" = hour ]; then
  # as while the window is open: "now minus the seal delay" 10 minutes into its last hour, so its
  # other hours are sealed one by one into hour blocks; then the window, over, is compacted
  start_ms=$(python3 -c "p=dict(l.strip().split('=',1) for l in open('$OUT/window.properties') if '=' in l); print(p['start'])")
  start_prom2pg 15000 $(( $(date +%s%3N) - (start_ms + (HOURS - 1) * 3600000 + 600000) ))
  until [ "$(grep -cE 'Sealed [0-9]' "$OUT/prom2pg.log")" -ge $((HOURS - 1)) ]; do sleep 1; done
  stop_prom2pg
fi
start_prom2pg 15000
bench seal --pid "$PID"
# the window is visible as sealed when its transaction commits; prom2pg logs it once the commit
# returns (after PostgreSQL removed the dropped partitions' files)
done_line='Sealed [0-9]'
[ "${SEAL_BY:-window}" = hour ] && done_line='Compacted [0-9]'
for _ in $(seq 1 3000); do grep -qE "$done_line" "$OUT/prom2pg.log" && break; sleep 0.2; done
grep -E 'Sealed [0-9]|Compacted [0-9]' "$OUT/prom2pg.log" | sed 's/^.*INFO  \[[^]]*\] /prom2pg: /' | tee -a "$OUT/summary.txt"
bench sealed
by_curl sealed
through_prometheus sealed
if [ "$BACKLOG_ROUNDS" -gt 0 ]; then
  seals=$(grep -cE 'Sealed [0-9]' "$OUT/prom2pg.log")
  bench backlog --pid "$PID" --rounds "$BACKLOG_ROUNDS"
  grep -E 'Sealed [0-9]' "$OUT/prom2pg.log" | tail -n +$((seals + 1)) | sed 's/^.*INFO  \[[^]]*\] /prom2pg (the merge): /' |
    tee -a "$OUT/summary.txt"
fi
echo "output: $OUT"
