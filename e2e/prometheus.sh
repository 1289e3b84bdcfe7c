#!/usr/bin/env bash
# End to end with a real Prometheus: Debian's prometheus (2.42) scrapes itself and
# prometheus-node-exporter every second and remote-writes to prom2pg (embedded PostgreSQL).
# Over a closed time window, the sample count of every metric in PostgreSQL must equal the
# count Prometheus' own TSDB reports through its query API. Exits non-zero on any difference.
#
# Usage: e2e/prometheus.sh            (builds target/prom2pg.jar if it is missing)
# Ports: PROM2PG 19201/19876, embedded PostgreSQL 15433, Prometheus 19090, node exporter 19100.
set -euo pipefail

cd "$(dirname "$0")/.."
WINDOW_SECONDS=${E2E_WINDOW_SECONDS:-20}
WARMUP_SECONDS=${E2E_WARMUP_SECONDS:-8}
WORK=$(mktemp -d /tmp/prom2pg-e2e.XXXXXX)
PIDS=()

log() { echo "e2e: $*"; }
cleanup() {
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap cleanup EXIT

need() { command -v "$1" >/dev/null 2>&1; }
install_missing() {
  local pkgs=()
  need prometheus || pkgs+=(prometheus)
  need prometheus-node-exporter || pkgs+=(prometheus-node-exporter)
  need psql || pkgs+=(postgresql-client)
  need python3 || pkgs+=(python3)
  need curl || pkgs+=(curl)
  if [ ${#pkgs[@]} -gt 0 ]; then
    log "installing ${pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${pkgs[@]}" >/dev/null
  fi
}
install_missing
# the packages may start their own services on the default ports; ours use others

[ -f target/prom2pg.jar ] || mvn -B -q -DskipTests package

wait_for() { # url, seconds
  local url=$1 deadline=$((SECONDS + $2))
  until curl -sf -o /dev/null "$url"; do
    if [ $SECONDS -gt "$deadline" ]; then log "timed out waiting for $url"; return 1; fi
    sleep 0.5
  done
}

log "starting prom2pg (work dir $WORK)"
PROM2PG_HTTP_HOST=127.0.0.1 PROM2PG_HTTP_PORT=19201 PROM2PG_MANAGEMENT_PORT=19876 \
PROM2PG_EMBEDDED_PORT=15433 PROM2PG_EMBEDDED_DATA_DIR="$WORK/data" \
  java -jar target/prom2pg.jar >"$WORK/prom2pg.log" 2>&1 &
PIDS+=($!)
wait_for http://127.0.0.1:19876/observe/health/ready 90 || { tail -50 "$WORK/prom2pg.log"; exit 1; }

log "starting node exporter and Prometheus"
prometheus-node-exporter --web.listen-address=127.0.0.1:19100 >"$WORK/node-exporter.log" 2>&1 &
PIDS+=($!)
cat >"$WORK/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: ['127.0.0.1:19090']}]
  - job_name: node
    static_configs: [{targets: ['127.0.0.1:19100']}]
remote_write:
  - url: http://127.0.0.1:19201/api/v1/write
    queue_config:
      batch_send_deadline: 1s
YAML
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
  --web.listen-address=127.0.0.1:19090 >"$WORK/prometheus.log" 2>&1 &
PIDS+=($!)
wait_for http://127.0.0.1:19090/-/ready 60 || { tail -50 "$WORK/prometheus.log"; exit 1; }

sleep "$WARMUP_SECONDS"
START_MS=$(( $(date +%s) * 1000 ))
sleep "$WINDOW_SECONDS"
END_MS=$(( $(date +%s) * 1000 ))
log "window: $START_MS .. $END_MS ms"

promql() { # query, time (s)
  curl -sf --get http://127.0.0.1:19090/api/v1/query --data-urlencode "query=$1" --data-urlencode "time=$2"
}
# wait until remote write has sent past the end of the window
deadline=$((SECONDS + 60))
while :; do
  sent=$(promql 'max(prometheus_remote_storage_queue_highest_sent_timestamp_seconds)' "$(date +%s)" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(int(float(r[0]["value"][1])) if r else 0)')
  [ "$sent" -ge $((END_MS / 1000 + 2)) ] && break
  if [ $SECONDS -gt $deadline ]; then log "remote write did not catch up (highest sent: $sent)"; exit 1; fi
  sleep 1
done
sleep 2

END_S=$(python3 -c "print($END_MS/1000)")
promql "{__name__=~\".+\"}[$(( (END_MS - START_MS) / 1000 ))s]" "$END_S" >"$WORK/prometheus-window.json"
PGPASSWORD= psql -h 127.0.0.1 -p 15433 -U postgres -d postgres -At -F '|' -c "
  SELECT name, count(*) FROM prom2pg.metrics
  WHERE time >= to_timestamp($START_MS / 1000.0) AND time <= to_timestamp($END_MS / 1000.0)
    AND float8send(value) <> '\\x7ff0000000000002'::bytea
  GROUP BY name" >"$WORK/postgres-window.txt"

failed=$(promql 'sum(prometheus_remote_storage_samples_failed_total) or vector(0)' "$(date +%s)" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["result"][0]["value"][1])')

python3 - "$WORK/prometheus-window.json" "$WORK/postgres-window.txt" "$failed" <<'PY'
import collections, json, sys
prom = collections.Counter()
for series in json.load(open(sys.argv[1]))["data"]["result"]:
    prom[series["metric"]["__name__"]] += len(series["values"])
pg = collections.Counter()
for line in open(sys.argv[2]):
    name, count = line.rstrip("\n").rsplit("|", 1)
    pg[name] = int(count)
diff = {n: (prom[n], pg[n]) for n in set(prom) | set(pg) if prom[n] != pg[n]}
print(f"e2e: {len(prom)} metrics, {sum(prom.values())} samples in Prometheus; "
      f"{len(pg)} metrics, {sum(pg.values())} samples in PostgreSQL; "
      f"remote write samples failed: {sys.argv[3]}")
if not prom:
    print("e2e: FAILED: Prometheus returned no samples for the window"); sys.exit(1)
if diff:
    for n, (p, q) in sorted(diff.items())[:50]:
        print(f"e2e: {n}: prometheus={p} postgresql={q}")
    print(f"e2e: FAILED: {len(diff)} metrics differ"); sys.exit(1)
print("e2e: OK: every metric has the same sample count in PostgreSQL as in Prometheus")
PY
