#!/usr/bin/env bash
# A week of data in prom2pg with its default storage settings, against Prometheus' and
# VictoriaMetrics' own storage of the same samples, on Debian's PostgreSQL 15, prometheus 2.42
# (promtool) and victoria-metrics 1.79.
#
#   samples   SERIES series (1000) over DAYS days (7) at 15 s, ending now: the benchmarks' mix of
#             value shapes (bench/value-mix.py), written once as OpenMetrics text
#   prom2pg   a running prom2pg, default settings but for its sealing runs (every 30 s, the first
#             20 s after start, instead of every 15 minutes): the samples sent by remote write as
#             Prometheus replays a backlog (time order, 4 shards, 250 series x 8 samples a
#             request), while it seals; then waited for until two seal runs have passed since the
#             last sample was acknowledged, so that every window due is sealed and compacted, and
#             what is left in the head is what the defaults keep there (the last 1-1.5 h)
#   measured  bytes a sample of each tier, the series table, the rest of prom2pg's schema, and the
#             database's growth since prom2pg created its schema (after a CHECKPOINT); the store
#             checked to hold every sample once (count and sum from prom2pg.metrics)
#   prometheus  promtool tsdb create-blocks-from openmetrics of the same file, in 2 h blocks (as
#             Prometheus cuts them), 18 h (what a Prometheus with the default 15 d retention
#             compacts them into) and 162 h (a retention of 70 days or more)
#   victoria  the same file imported into VictoriaMetrics, flushed and merged: data and index
#
# Usage: SERIES=1000 DAYS=7 bench/week.sh     (~20 minutes on 2 cores; 3.3 GB of text in /tmp)
# Sizes are sizes: a second run gives the same figures within a few per cent (what autovacuum and
# the merges of late rows left as free space).
set -euo pipefail
cd "$(dirname "$0")/.."
SERIES=${SERIES:-1000}
DAYS=${DAYS:-7}
PORT=${PORT:-25435}
OUT=${OUT:-target/bench/week-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/prom2pg-week.XXXXXX)
chmod 755 "$WORK"

mvn -q -B -DskipTests package test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test >/dev/null
CP="target/test-classes:target/classes:$(cat target/bench.classpath)"

# shellcheck source=e2e/postgres-server.sh
. e2e/postgres-server.sh
# shellcheck source=bench/victoria-metrics.sh
. bench/victoria-metrics.sh
postgres_server_install
if ! command -v promtool >/dev/null || ! command -v victoria-metrics >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends prometheus victoria-metrics >/dev/null
fi
postgres_server_init "$WORK/pg"
postgres_server_start "$WORK/pg" "$PORT" -c full_page_writes=on -c wal_compression=on
psql_() { "$PGBIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -At -v ON_ERROR_STOP=1 "$@"; }
PID=
vm_pid=
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  if [ -n "$vm_pid" ]; then kill "$vm_pid" 2>/dev/null || true; wait "$vm_pid" 2>/dev/null || true; fi
  postgres_server_stop "$WORK/pg" || true
  rm -rf "$WORK"
}
trap cleanup EXIT
echo "week: PostgreSQL $("$PGBIN/postgres" --version | sed -n 's/.*PostgreSQL) \([0-9.]*\).*/\1/p')," \
  "promtool $(promtool --version 2>&1 | awk 'NR == 1 { print $3 }'), victoria-metrics $(dpkg-query -W -f '${Version}' victoria-metrics)" |
  tee "$OUT/summary.txt"

# the week ends a minute before now (the last scrape of a series is up to 15 s after its grid)
start=$(( ($(date +%s) - DAYS * 86400 - 60) * 1000 ))
t0=$(date +%s)
python3 bench/value-mix.py "$SERIES" $((DAYS * 24)) "$WORK" --start "$start" --no-rows --no-gorilla
samples=$((SERIES * DAYS * 24 * 240))
echo "week: $samples samples ($SERIES series x $DAYS days at 15 s) generated in $(( $(date +%s) - t0 )) s" | tee -a "$OUT/summary.txt"

PROM2PG_DB_URL=jdbc:postgresql://127.0.0.1:$PORT/postgres PROM2PG_DB_USER=postgres \
  PROM2PG_STORAGE_SEAL_DELAY_MS=20000 PROM2PG_STORAGE_SEAL_INTERVAL_MS=30000 \
  PROM2PG_HTTP_HOST=127.0.0.1 PROM2PG_HTTP_PORT=29203 PROM2PG_MANAGEMENT_PORT=29878 \
  bin/prom2pg >"$OUT/prom2pg.log" 2>&1 &
PID=$!
until curl -sf -o /dev/null http://127.0.0.1:29878/observe/health/ready; do
  kill -0 "$PID" 2>/dev/null || { tail -30 "$OUT/prom2pg.log"; exit 1; }
  sleep 0.2
done
psql_ -q -c CHECKPOINT
empty=$(psql_ -c "SELECT pg_database_size(current_database())")
seal_runs() {
  curl -sf http://127.0.0.1:29878/observe/metrics | awk '/^prom2pg_storage_seal_runs_total/ { print int($2) }'
}

java -Xmx4g -cp "$CP" io.prom2pg.bench.WeekBench --samples "$WORK/samples.om" --url http://127.0.0.1:29203 |
  tee -a "$OUT/summary.txt"
runs=$(seal_runs)
until [ "$(seal_runs)" -ge $((runs + 2)) ]; do
  kill -0 "$PID" 2>/dev/null || { tail -30 "$OUT/prom2pg.log"; exit 1; }
  sleep 1
done
grep -cE 'Sealed [0-9]' "$OUT/prom2pg.log" | sed 's/^/week: seal lines in the log: /' | tee -a "$OUT/summary.txt"
grep -E 'ERROR|WARN' "$OUT/prom2pg.log" | head -5 || true
psql_ -q -c CHECKPOINT
per() { python3 -c "print(f'{$1 / $samples:.2f}')"; }
# the tables' sizes as prom2pg's console shows them (/console/api/status: each table with its
# partitions, indexes and TOAST), a moment after the CHECKPOINT
sleep 6
curl -sf http://127.0.0.1:29203/console/api/status >"$OUT/status.json"
read -r head_rows head_parts < <(psql_ -F ' ' -c "SELECT (SELECT count(*) FROM prom2pg.samples),
  (SELECT count(*) FROM pg_partition_tree('prom2pg.samples') WHERE isleaf)")
grown=$(( $(psql_ -c "SELECT pg_database_size(current_database())") - empty ))
# every sample once: the samples of both tiers (samples_between, the schema's reader of both),
# counted and counted distinct by series and time
read -r stored distinct < <(psql_ -q -F ' ' -c "SET work_mem = '2GB'" -c "SELECT count(*), count(DISTINCT (series_id, time))
  FROM prom2pg.samples_between('-infinity', 'infinity')")
[ "$stored" = "$samples" ] && [ "$distinct" = "$samples" ] ||
  { echo "week: prom2pg holds $stored samples ($distinct distinct) of $samples"; exit 1; }
# the SQL surface over the week: count(*), sum(value) from prom2pg.metrics, median of 3
scans=()
for _ in 1 2 3; do
  t0=$(date +%s%N)
  psql_ -c "SELECT count(*), sum(value) FROM prom2pg.metrics" >/dev/null
  scans+=($(( ($(date +%s%N) - t0) / 1000000 )))
done
scan_ms=$(printf '%s\n' "${scans[@]}" | sort -n | sed -n 2p)
{
  echo "week: prom2pg holds the $samples samples once each; bytes a sample:"
  python3 - "$OUT/status.json" "$samples" "$head_rows" "$head_parts" "$grown" <<'PY'
import json, sys
status, samples, rows, parts, grown = json.load(open(sys.argv[1])), int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
tables = {t["table"]: t["bytes"] for t in status["storage"]["tables"]}
named = {"sample_blocks": "sealed tier (sample_blocks)", "samples": f"head ({rows} rows in {parts} partitions)",
         "series": "series table"}
for table, what in named.items():
    print(f"  {what:<34} {tables.get(table, 0) / samples:6.2f}")
rest = sum(b for t, b in tables.items() if t not in named)
print(f"  {'the other tables of the schema':<34} {rest / samples:6.2f}")
print(f"  {'all of the schema':<34} {sum(tables.values()) / samples:6.2f}")
print(f"  {'database growth':<34} {grown / samples:6.2f}")
PY
  echo "week: count(*), sum(value) FROM prom2pg.metrics over the week: $scan_ms ms (median of ${scans[*]})"
} | tee -a "$OUT/summary.txt"

# promtool parses its whole input once for every block it makes (2 minutes for each 2 h block of
# 1000 series over a week): the file is cut into one file a block first, each given to promtool
for hours in 2 18 162; do
  mkdir -p "$WORK/om-$hours" "$WORK/tsdb-$hours"
  awk -v dir="$WORK/om-$hours" -v span=$((hours * 3600)) \
    '$1 != "#" { f = dir "/" int($NF / span) ".om"; files[f] = 1; print > f }
     END { for (f in files) { print "# EOF" > f; close(f) } }' "$WORK/samples.om"
  for part in "$WORK/om-$hours"/*.om; do
    promtool tsdb create-blocks-from openmetrics --max-block-duration=${hours}h "$part" "$WORK/tsdb-$hours" \
      >"$WORK/promtool.log" 2>&1 || { tail -20 "$WORK/promtool.log"; exit 1; }
  done
  printf '  %-34s %6s\n' "prometheus, ${hours} h blocks ($(ls "$WORK/tsdb-$hours" | wc -l))" "$(per "$(du -sb "$WORK/tsdb-$hours" | cut -f1)")" |
    tee -a "$OUT/summary.txt"
  rm -rf "$WORK/om-$hours" "$WORK/tsdb-$hours"
done

victoria_metrics_store "$WORK/samples.om" "$WORK/vm" 18429 "$(date +%s)"
[ "$vm_rows" = "$samples" ] || echo "week: VictoriaMetrics holds $vm_rows samples of $samples"
printf '  %-34s %6s\n' "victoria-metrics (data and index)" "$(per "$vm_bytes")" | tee -a "$OUT/summary.txt"
echo "output: $OUT"
