#!/usr/bin/env bash
# End to end for remote read: a first Prometheus scrapes and remote-writes to prom2pg, then is
# stopped and its TSDB deleted. A second Prometheus, with no scrape targets and an empty TSDB,
# has prom2pg as its remote_read; its PromQL answers for the window must hold exactly the
# samples PostgreSQL holds. Exits non-zero on any difference.
#
# Usage: e2e/remote-read.sh   (same ports as e2e/prometheus.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
. e2e/lib.sh
WINDOW_SECONDS=${E2E_WINDOW_SECONDS:-15}

install_missing
start_prom2pg
start_node_exporter
log "writing with a first Prometheus"
start_prometheus writer "$SCRAPE_AND_WRITE_CONFIG"
sleep 5
START_MS=$(( $(date +%s) * 1000 ))
sleep "$WINDOW_SECONDS"
END_MS=$(( $(date +%s) * 1000 ))
await_remote_write $((END_MS / 1000 + 2))
kill "$PROM_PID"; wait "$PROM_PID" 2>/dev/null || true
rm -rf "$WORK/tsdb-writer"
log "writer stopped and its TSDB deleted; window $START_MS .. $END_MS ms"

log "reading with a second Prometheus whose only storage for that window is prom2pg"
start_prometheus reader 'global:
  scrape_interval: 1m
remote_read:
  - url: http://127.0.0.1:19201/api/v1/read
    read_recent: true'
promql "{__name__=~\".+\"}[$(( (END_MS - START_MS) / 1000 ))s]" "$(python3 -c "print($END_MS/1000)")" >"$WORK/prometheus-window.json"
postgres_counts "$START_MS" "$END_MS" >"$WORK/postgres-window.txt"
compare_counts "$WORK/prometheus-window.json" "$WORK/postgres-window.txt" "read back through Prometheus' remote_read"
log "a PromQL function over remote data: $(promql 'count(count_over_time(up[1m]))' "$(python3 -c "print($END_MS/1000)")" |
  python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print("count(up series) =", r[0]["value"][1] if r else "none")')"
