#!/usr/bin/env bash
# End to end with TLS and authentication: prom2pg serves its data port over TLS (a certificate
# made here with openssl) and requires a bearer token; Debian's Prometheus (2.42) remote-writes
# with tls_config and authorization. Every metric must have the same sample count in
# PostgreSQL as in Prometheus over a closed window, and nothing may have failed.
#
# Usage: e2e/prometheus-secure.sh      (builds target/prom2pg.jar if it is missing)
set -euo pipefail
cd "$(dirname "$0")/.."
. e2e/lib.sh
WINDOW_SECONDS=${E2E_WINDOW_SECONDS:-15}
WARMUP_SECONDS=${E2E_WARMUP_SECONDS:-8}

install_missing
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$WORK/tls.key" -out "$WORK/tls.crt" -subj /CN=prom2pg \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$WORK/token"
export PROM2PG_TLS_ENABLED=true PROM2PG_TLS_CERT_FILE="$WORK/tls.crt" PROM2PG_TLS_KEY_FILE="$WORK/tls.key"
export PROM2PG_AUTH_ENABLED=true PROM2PG_AUTH_BEARER_TOKENS_FILE="$WORK/token"
start_prom2pg

status=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$WORK/tls.crt" -X POST \
  -H 'Content-Type: application/x-protobuf' -H 'Content-Encoding: snappy' https://127.0.0.1:19201/api/v1/write || true)
log "a write without credentials is answered $status"
[ "$status" = 401 ] || { log "FAILED: expected 401"; exit 1; }

log "starting node exporter and Prometheus (remote write over TLS with a bearer token)"
start_node_exporter
start_prometheus writer "global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: [\"127.0.0.1:19090\"]}]
  - job_name: node
    static_configs: [{targets: [\"127.0.0.1:19100\"]}]
remote_write:
  - url: https://127.0.0.1:19201/api/v1/write
    tls_config:
      ca_file: $WORK/tls.crt
    authorization:
      credentials_file: $WORK/token
    queue_config:
      batch_send_deadline: 1s"

check_window "$WARMUP_SECONDS" "$WINDOW_SECONDS" "in Prometheus' TSDB (TLS + bearer token)"
