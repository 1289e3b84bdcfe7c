#!/usr/bin/env bash
# End to end with a real Prometheus: Debian's prometheus (2.42) scrapes itself and
# prometheus-node-exporter every second and remote-writes to prom2pg (embedded PostgreSQL).
# Over a closed time window, the sample count of every metric in PostgreSQL must equal the
# count Prometheus' own TSDB reports through its query API. Exits non-zero on any difference.
#
# Usage: e2e/prometheus.sh            (builds target/prom2pg.jar if it is missing)
# Ports: prom2pg 19201/19876, embedded PostgreSQL 15433, Prometheus 19090, node exporter 19100.
set -euo pipefail
cd "$(dirname "$0")/.."
. e2e/lib.sh
WINDOW_SECONDS=${E2E_WINDOW_SECONDS:-20}
WARMUP_SECONDS=${E2E_WARMUP_SECONDS:-8}

install_missing
start_prom2pg
log "starting node exporter and Prometheus"
start_node_exporter
start_prometheus writer "$SCRAPE_AND_WRITE_CONFIG"

check_window "$WARMUP_SECONDS" "$WINDOW_SECONDS" "in Prometheus' TSDB"
