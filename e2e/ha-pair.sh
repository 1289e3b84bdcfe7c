#!/usr/bin/env bash
# An HA pair of real Prometheus servers (Debian's 2.42) writing to one prom2pg: replicas a and b,
# external labels {cluster: lab, __replica__: a|b}, 5 s scrapes of node exporter and of each
# other. After a steady phase the leader (a) is killed with kill -9; then every sample the
# survivor (b) scraped after the last one the leader stored (and after that scrape: samples
# within half an interval of it are the same scrape), series by series, must be in PostgreSQL,
# exactly once. Prints the steady-state cost: what the follower retried, its
# warnings, and duplicate copies (two samples of one series closer than half an interval).
#
# Usage: e2e/ha-pair.sh      (E2E_STEADY_SECONDS=60 E2E_HA_FOLLOWER_ACK=covered by default)
# Ports: prom2pg 19201/19876, embedded PostgreSQL 15433, Prometheus a 19090, b 19091, node exporter 19100.
set -euo pipefail
cd "$(dirname "$0")/.."
. e2e/lib.sh
STEADY=${E2E_STEADY_SECONDS:-60}
TIMEOUT_MS=10000
export PROM2PG_HA_TIMEOUT_MS=$TIMEOUT_MS PROM2PG_HA_FOLLOWER_ACK=${E2E_HA_FOLLOWER_ACK:-covered}

install_missing
start_prom2pg
start_node_exporter
psql_() { psql -h 127.0.0.1 -p 15433 -U postgres -d postgres -At -F "$(printf '\t')" -c "$1"; }
fail() { log "FAIL: $*"; exit 1; }

replica() { # name port
  cat >"$WORK/$1.yml" <<EOF
global:
  scrape_interval: 5s
  evaluation_interval: 5s
  external_labels: {cluster: lab, __replica__: $1}
scrape_configs:
  - job_name: node
    static_configs: [{targets: ["127.0.0.1:19100"]}]
  - job_name: prometheus
    static_configs: [{targets: ["127.0.0.1:19090", "127.0.0.1:19091"]}]
remote_write:
  - url: http://127.0.0.1:19201/api/v1/write
EOF
  prometheus --config.file="$WORK/$1.yml" --storage.tsdb.path="$WORK/tsdb-$1" \
    --web.listen-address="127.0.0.1:$2" >"$WORK/prometheus-$1.log" 2>&1 &
  PIDS+=($!)
  eval "PID_$1=$!"
  wait_for "http://127.0.0.1:$2/-/ready" 60 || { tail -30 "$WORK/prometheus-$1.log"; exit 1; }
}

log "follower ack: $PROM2PG_HA_FOLLOWER_ACK, lease timeout ${TIMEOUT_MS} ms"
replica a 19090
deadline=$((SECONDS + 60))
until [ "$(psql_ "SELECT leader FROM prom2pg.ha_leases WHERE cluster = 'cluster=lab'" 2>/dev/null)" = a ]; do
  [ $SECONDS -gt $deadline ] && fail "replica a never led"
  sleep 1
done
replica b 19091
log "steady phase: ${STEADY} s with a leading"
steady_start=$(date +%s)
sleep "$STEADY"
steady_end=$(date +%s)

q() { # port query -> value of the first result, 0 if none
  curl -sf --get "http://127.0.0.1:$1/api/v1/query" --data-urlencode "query=$2" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)'
}
sent=$(q 19091 'sum(prometheus_remote_storage_samples_total)')
retried=$(q 19091 'sum(prometheus_remote_storage_samples_retried_total)')
failed=$(q 19091 'sum(prometheus_remote_storage_samples_failed_total)')
warnings=$(grep -c 'Failed to send batch, retrying' "$WORK/prometheus-b.log" || true)
duplicates=$(psql_ "SELECT count(*) FROM (SELECT time - lag(time) OVER (PARTITION BY name, labels ORDER BY time) AS gap
  FROM prom2pg.metrics WHERE time BETWEEN to_timestamp($steady_start + 10) AND to_timestamp($steady_end)) g
  WHERE gap < interval '2.5 seconds'")
log "steady state, follower b: $sent samples sent, $retried retried, $failed failed, $warnings 'Failed to send batch' warnings;"
log "  stored: $duplicates samples closer than half a scrape interval to the previous one of their series (second copies)"
[ "$duplicates" = 0 ] || fail "a second copy of some samples was stored"

log "kill -9 of the leader (a)"
kill -9 "$PID_a"
killed_ms=$(( $(date +%s%N) / 1000000 ))
deadline=$((SECONDS + TIMEOUT_MS / 1000 + 60))
until [ "$(psql_ "SELECT leader FROM prom2pg.ha_leases WHERE cluster = 'cluster=lab'")" = b ]; do
  [ $SECONDS -gt $deadline ] && fail "the lease never moved to b"
  sleep 0.5
done
moved_ms=$(( $(date +%s%N) / 1000000 ))
log "lease moved to b $(( moved_ms - killed_ms )) ms after the kill (timeout $TIMEOUT_MS ms)"
sleep 20
end_s=$(date +%s)
sleep 12 # b's last batches of the window are sent (batch_send_deadline 5 s)

# every sample b scraped over [kill - 60 s, end], against what PostgreSQL holds
window=$(( end_s - killed_ms / 1000 + 60 ))
curl -sf --get http://127.0.0.1:19091/api/v1/query --data-urlencode "query={__name__=~\".+\"}[${window}s]" \
  --data-urlencode "time=$end_s" >"$WORK/b-window.json"
psql_ "SELECT name, labels::text, (extract(epoch FROM time) * 1000)::int8 FROM prom2pg.metrics
  WHERE time >= to_timestamp($end_s - $window) AND time <= to_timestamp($end_s)
    AND float8send(value) <> '\\x7ff0000000000002'::bytea" >"$WORK/pg-window.txt"
python3 - "$WORK/b-window.json" "$WORK/pg-window.txt" "$killed_ms" <<'PY'
import collections, json, sys
killed = int(sys.argv[3])
def key(name, labels):
    labels = {k: v for k, v in labels.items() if k not in ("__name__", "cluster")}
    return (name, tuple(sorted(labels.items())))
b = collections.defaultdict(set)
for s in json.load(open(sys.argv[1]))["data"]["result"]:
    m = s["metric"]
    b[key(m["__name__"], m)] = {round(float(t) * 1000) for t, _ in s["values"]}
pg = collections.defaultdict(list)
for line in open(sys.argv[2]):
    name, labels, t = line.rstrip("\n").split("\t")
    pg[key(name, json.loads(labels))].append(int(t))
missing, checked, series = [], 0, 0
for k, times in b.items():
    stored = pg.get(k, [])
    # the leader's samples are the stored ones b does not have; the last of them before the kill
    leader = [t for t in stored if t not in times and t <= killed + 5000]
    last_leader = max(leader) if leader else None
    if last_leader is None:
        continue  # a series only b scraped (b's scrape of a, say): not the leader's to cover
    series += 1
    ordered = sorted(times)
    gaps = sorted(b2 - b1 for b1, b2 in zip(ordered, ordered[1:]))
    interval = gaps[len(gaps) // 2] if gaps else 0
    for t in ordered:
        # b's sample of the scrape a stored last (within half an interval of it) is covered by a's
        if t > last_leader + interval // 2:
            checked += 1
            if stored.count(t) != 1:
                missing.append((k[0], dict(k[1]), t, stored.count(t)))
print(f"e2e: {series} series, {checked} samples b scraped after the last one a stored")
for m in missing[:20]:
    print(f"e2e: not stored exactly once: {m}")
if checked == 0:
    print("e2e: FAILED: nothing to check"); sys.exit(1)
if missing:
    print(f"e2e: FAILED: {len(missing)} acknowledged samples of b missing or doubled"); sys.exit(1)
print("e2e: OK: every sample b scraped after a's last stored one is in PostgreSQL, once")
PY
