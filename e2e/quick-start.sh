#!/usr/bin/env bash
# The quick start as a user runs it, from the built jar: bin/prom2pg --help, bin/prom2pg with its
# embedded PostgreSQL, a second start in the same folder (refused, exit code 2, the first left
# alone), the metering rollup and retention on their schedule (short intervals through the
# documented environment variables), a kill -9 of the embedded postmaster (started again), and a
# mistyped database URL (exit code 2). Exits non-zero on any difference.
#
# Usage: e2e/quick-start.sh            (builds target/prom2pg.jar if it is missing)
# Ports: prom2pg 19201/19876, embedded PostgreSQL 15433, the refused second instance 19202/19877.
set -euo pipefail
cd "$(dirname "$0")/.."
. e2e/lib.sh

install_missing
fail() { log "FAIL: $*"; exit 1; }

log "bin/prom2pg --help and java -jar target/prom2pg.jar --help"
bin/prom2pg --help >"$WORK/help.txt" || fail "--help exited $?"
grep -q '^    PROM2PG_DB_URL=$' "$WORK/help.txt" || fail "--help does not list PROM2PG_DB_URL"
grep -q '^    PROM2PG_METERING_ROLLUP_INTERVAL_MS=300000$' "$WORK/help.txt" || fail "--help lacks a default"
java -jar target/prom2pg.jar --help | cmp -s - "$WORK/help.txt" || fail "the jar's --help differs from bin/prom2pg's"

log "a mistyped database URL: exit code 2 and one line"
code=0
PROM2PG_DB_URL=db.example:5432/metrics PROM2PG_HTTP_PORT=19202 PROM2PG_MANAGEMENT_PORT=19877 \
  bin/prom2pg >"$WORK/bad-url.log" 2>&1 || code=$?
[ "$code" = 2 ] || { cat "$WORK/bad-url.log"; fail "exit code $code for a bad URL"; }
grep -q "Not starting: prom2pg.db.url (PROM2PG_DB_URL): 'db.example:5432/metrics' is not a PostgreSQL URL" "$WORK/bad-url.log" ||
  fail "no one-line reason for the bad URL"

export PROM2PG_METERING_ROLLUP_INTERVAL_MS=1000 PROM2PG_METERING_ROLLUP_DELAY_MS=0
export PROM2PG_RETENTION_INTERVAL_MS=1000 PROM2PG_RETENTION_DELAY_MS=500
start_prom2pg
# the line is logged by the main thread once it has finished starting, which may be a moment after
# readiness (it follows the schema migration) has said ready
ready_line="prom2pg ready: remote write http://127.0.0.1:19201/api/v1/write"
for _ in $(seq 1 50); do grep -q "$ready_line" "$WORK/prom2pg.log" && break; sleep 0.2; done
grep -q "$ready_line" "$WORK/prom2pg.log" || fail "no ready line within 10 s of readiness"
if grep -q "Property-placeholders summary" "$WORK/prom2pg.log"; then fail "the settings summary is logged at info"; fi
postmaster=$(head -1 "$WORK/data/postmaster.pid")

log "the console from the jar: its page, its chart library and its status"
curl -sf http://127.0.0.1:19201/console/ | grep -q "lib/echarts.min.js" || fail "no console page at /console/"
curl -sf -o /dev/null http://127.0.0.1:19201/console/lib/echarts.min.js || fail "no chart library in the jar"
curl -sf http://127.0.0.1:19201/console/api/status | grep -q '"ready":true' || fail "the console's status is not ready"

log "a second prom2pg on the same data directory"
code=0
PROM2PG_HTTP_HOST=127.0.0.1 PROM2PG_HTTP_PORT=19202 PROM2PG_MANAGEMENT_PORT=19877 \
PROM2PG_EMBEDDED_PORT=15433 PROM2PG_EMBEDDED_DATA_DIR="$WORK/data" \
  timeout 120 bin/prom2pg >"$WORK/second.log" 2>&1 || code=$?
[ "$code" = 2 ] || { tail -20 "$WORK/second.log"; fail "second instance exited $code, not 2"; }
grep -q "is in use by another prom2pg" "$WORK/second.log" || fail "no reason given by the second instance"
[ "$(head -1 "$WORK/data/postmaster.pid")" = "$postmaster" ] || fail "the first instance's server was replaced"
curl -sf -o /dev/null http://127.0.0.1:19876/observe/health/ready || fail "the first instance is no longer ready"

log "0.5 cores of metering:pod_request_cpu_cores for two complete hours, rolled up on schedule"
python3 - <<'EOF'
import struct, time, urllib.request
def varint(n):
    out = b""
    while True:
        b = n & 0x7f; n >>= 7
        if n: out += bytes([b | 0x80])
        else: return out + bytes([b])
def field(num, wire, payload):
    key = varint(num << 3 | wire)
    return key + (varint(len(payload)) + payload if wire == 2 else payload)
def label(name, value):
    return field(1, 2, name.encode()) + field(2, 2, value.encode())
def sample(value, ts):
    return field(1, 1, struct.pack("<d", value)) + field(2, 0, varint(ts))
hour = (int(time.time()) // 3600 - 3) * 3600 * 1000
series = b"".join(field(1, 2, label(n, v)) for n, v in
                  [("__name__", "metering:pod_request_cpu_cores"), ("namespace", "shop"), ("node", "n1"), ("pod", "web-1")])
samples = b"".join(field(2, 2, sample(0.5, hour + i * 60000)) for i in range(120))
samples += field(2, 2, sample(struct.unpack("<d", struct.pack("<Q", 0x7ff0000000000002))[0], hour + 120 * 60000))
body = field(1, 2, series + samples)
def snappy_literal(data):  # the snappy block format: length, then literals of at most 60 bytes' tag form
    out = varint(len(data))
    for i in range(0, len(data), 65536):
        chunk = data[i:i + 65536]
        n = len(chunk) - 1
        out += bytes([61 << 2, n & 0xff, n >> 8]) + chunk
    return out
req = urllib.request.Request("http://127.0.0.1:19201/api/v1/write", data=snappy_literal(body), method="POST",
                             headers={"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
                                      "X-Prometheus-Remote-Write-Version": "0.1.0"})
assert urllib.request.urlopen(req).status == 204
EOF
psql_() { psql -h 127.0.0.1 -p 15433 -U postgres -d postgres -At -c "$1"; }
deadline=$((SECONDS + 30))
until [ "$(psql_ "SELECT coalesce(sum(cpu_request_core_seconds), 0)::int FROM prom2pg.metering_namespace_rollup WHERE namespace = 'shop'")" = 3600 ]; do
  [ $SECONDS -gt $deadline ] && fail "metering_namespace_rollup does not hold 2 x 1800 core-seconds"
  sleep 0.5
done
metric() { curl -s http://127.0.0.1:19876/observe/metrics | awk -v m="$1" '$1 == m {print $2}'; }
[ "$(metric 'prom2pg_maintenance_failures_total{route="metering-rollup"}')" = 0.0 ] || fail "metering-rollup failures"
[ "$(metric 'prom2pg_maintenance_failures_total{route="retention"}')" = 0.0 ] || fail "retention failures"
awk 'BEGIN { exit !('"$(metric prom2pg_retention_runs_total)"' >= 1) }' || fail "retention never ran"
log "rollups 3600 core-seconds, retention ran, no maintenance failure"

log "kill -9 of the embedded postmaster"
kill -9 "$postmaster"
deadline=$((SECONDS + 60))
until [ -f "$WORK/data/postmaster.pid" ] && [ "$(head -1 "$WORK/data/postmaster.pid")" != "$postmaster" ] &&
      curl -sf -o /dev/null http://127.0.0.1:19876/observe/health/ready; do
  [ $SECONDS -gt $deadline ] && { tail -20 "$WORK/prom2pg.log"; fail "the embedded server was not started again"; }
  sleep 0.5
done
[ "$(psql_ "SELECT count(*) FROM prom2pg.metrics WHERE name = 'metering:pod_request_cpu_cores'")" = 121 ] ||
  fail "samples lost across the restart"
log "OK: usage, exit codes, one owner per data directory, scheduled rollups and retention, a supervised server"
