#!/usr/bin/env bash
# Shared pieces of the end-to-end scripts: installing Debian's Prometheus, starting prom2pg and
# Prometheus on loopback, querying both. Sourced, not run.

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
  # the packages may start their own services on the default ports; ours use others
  [ -f target/prom2pg.jar ] || mvn -B -q -DskipTests package
}

wait_for() { # url, seconds
  local url=$1 deadline=$((SECONDS + $2))
  until curl -sf -o /dev/null "$url"; do
    if [ $SECONDS -gt "$deadline" ]; then log "timed out waiting for $url"; return 1; fi
    sleep 0.5
  done
}

# prom2pg on 19201 (management 19876), embedded PostgreSQL on 15433
start_prom2pg() {
  log "starting prom2pg (work dir $WORK)"
  PROM2PG_HTTP_HOST=127.0.0.1 PROM2PG_HTTP_PORT=19201 PROM2PG_MANAGEMENT_PORT=19876 \
  PROM2PG_EMBEDDED_PORT=15433 PROM2PG_EMBEDDED_DATA_DIR="$WORK/data" \
    bin/prom2pg >"$WORK/prom2pg.log" 2>&1 &
  PIDS+=($!)
  wait_for http://127.0.0.1:19876/observe/health/ready 90 || { tail -50 "$WORK/prom2pg.log"; exit 1; }
}

start_node_exporter() {
  prometheus-node-exporter --web.listen-address=127.0.0.1:19100 >"$WORK/node-exporter.log" 2>&1 &
  PIDS+=($!)
}

# start_prometheus NAME CONFIG_YAML: runs Prometheus on 19090 with its own TSDB; sets PROM_PID
start_prometheus() {
  local name=$1
  printf '%s\n' "$2" >"$WORK/$name.yml"
  prometheus --config.file="$WORK/$name.yml" --storage.tsdb.path="$WORK/tsdb-$name" \
    --web.listen-address=127.0.0.1:19090 >"$WORK/$name.log" 2>&1 &
  PROM_PID=$!
  PIDS+=("$PROM_PID")
  wait_for http://127.0.0.1:19090/-/ready 60 || { tail -50 "$WORK/$name.log"; exit 1; }
}

promql() { # query, time (s)
  curl -sf --get http://127.0.0.1:19090/api/v1/query --data-urlencode "query=$1" --data-urlencode "time=$2"
}

# waits until Prometheus' remote write has sent samples past the given time (s)
await_remote_write() {
  local until_s=$1 deadline=$((SECONDS + 60)) sent
  while :; do
    sent=$(promql 'max(prometheus_remote_storage_queue_highest_sent_timestamp_seconds)' "$(date +%s)" |
      python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(int(float(r[0]["value"][1])) if r else 0)')
    [ "$sent" -ge "$until_s" ] && break
    if [ $SECONDS -gt $deadline ]; then log "remote write did not catch up (highest sent: $sent)"; exit 1; fi
    sleep 1
  done
  sleep 2
}

# per-metric sample counts in PostgreSQL for [start_ms, end_ms], stale markers left out
postgres_counts() {
  PGPASSWORD= psql -h 127.0.0.1 -p 15433 -U postgres -d postgres -At -F '|' -c "
    SELECT name, count(*) FROM prom2pg.metrics
    WHERE time >= to_timestamp($1 / 1000.0) AND time <= to_timestamp($2 / 1000.0)
      AND float8send(value) <> '\\x7ff0000000000002'::bytea
    GROUP BY name"
}

# compare PROMETHEUS_JSON POSTGRES_TXT LABEL: the per-metric sample counts must be equal
compare_counts() {
  python3 - "$1" "$2" "$3" <<'PY'
import collections, json, sys
prom = collections.Counter()
for series in json.load(open(sys.argv[1]))["data"]["result"]:
    prom[series["metric"]["__name__"]] += len(series["values"])
pg = collections.Counter()
for line in open(sys.argv[2]):
    name, count = line.rstrip("\n").rsplit("|", 1)
    pg[name] = int(count)
diff = {n: (prom[n], pg[n]) for n in set(prom) | set(pg) if prom[n] != pg[n]}
print(f"e2e: {len(prom)} metrics, {sum(prom.values())} samples {sys.argv[3]}; "
      f"{len(pg)} metrics, {sum(pg.values())} samples in PostgreSQL")
if not prom:
    print("e2e: FAILED: Prometheus returned no samples for the window"); sys.exit(1)
if diff:
    for n, (p, q) in sorted(diff.items())[:50]:
        print(f"e2e: {n}: prometheus={p} postgresql={q}")
    print(f"e2e: FAILED: {len(diff)} metrics differ"); sys.exit(1)
print("e2e: OK: every metric has the same sample count in PostgreSQL as in Prometheus")
PY
}

SCRAPE_AND_WRITE_CONFIG='global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: ["127.0.0.1:19090"]}]
  - job_name: node
    static_configs: [{targets: ["127.0.0.1:19100"]}]
remote_write:
  - url: http://127.0.0.1:19201/api/v1/write
    queue_config:
      batch_send_deadline: 1s'

# check_window WARMUP_SECONDS WINDOW_SECONDS LABEL: after the warm-up, over a closed window, every
# metric must have as many samples in PostgreSQL as in the writing Prometheus' TSDB, and Prometheus
# must report no failed remote writes
check_window() {
  sleep "$1"
  local start_ms end_ms failed
  start_ms=$(( $(date +%s) * 1000 ))
  sleep "$2"
  end_ms=$(( $(date +%s) * 1000 ))
  log "window: $start_ms .. $end_ms ms"
  await_remote_write $((end_ms / 1000 + 2))
  promql "{__name__=~\".+\"}[$(( (end_ms - start_ms) / 1000 ))s]" "$(python3 -c "print($end_ms/1000)")" >"$WORK/prometheus-window.json"
  postgres_counts "$start_ms" "$end_ms" >"$WORK/postgres-window.txt"
  failed=$(promql 'sum(prometheus_remote_storage_samples_failed_total) or vector(0)' "$(date +%s)" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["result"][0]["value"][1])')
  log "remote write samples failed: $failed"
  [ "${failed%.*}" = "0" ] || { log "FAILED: Prometheus reports failed remote writes"; exit 1; }
  compare_counts "$WORK/prometheus-window.json" "$WORK/postgres-window.txt" "$3"
}
