#!/usr/bin/env bash
# The fault suite: under a steady remote_write load whose sender records every request answered
# 2xx, break things and check that every acknowledged sample is in PostgreSQL.
#
#   e2e/faults.sh              # all scenarios
#   e2e/faults.sh kill9 lock   # some of them: kill9, pg-restart, lock, two-instances
#
# Each scenario prints what was sent, acknowledged and stored, and fails on any acknowledged
# sample missing. PostgreSQL is Debian's server (installed if missing), on port 15532; prom2pg
# instances run from target/prom2pg.jar with bin/prom2pg.
set -euo pipefail
cd "$(dirname "$0")/.."

SCENARIOS=${*:-kill9 pg-restart lock two-instances}
WORK=$(mktemp -d /tmp/prom2pg-faults.XXXXXX)
chmod 755 "$WORK"
PGPORT=15532
JDBC="jdbc:postgresql://127.0.0.1:$PGPORT/postgres"
declare -A PIDS=()
FAILED=()

log() { echo "faults: $*"; }

cleanup() {
  for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true; done
  [ -n "${PGBIN:-}" ] && postgres_server_stop "$WORK/pg" immediate
  wait 2>/dev/null || true
}
trap cleanup EXIT

# shellcheck source=e2e/postgres-server.sh
. e2e/postgres-server.sh

# --- tools: Debian's PostgreSQL server, the jar and the sender's classpath
postgres_server_install
mvn -q -B -DskipTests package test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/faults.classpath -Dmdep.includeScope=test >"$WORK/build.log" 2>&1 ||
  { cat "$WORK/build.log"; exit 1; }
CP="target/test-classes:target/classes:$(cat target/faults.classpath)"
sender() { java -cp "$CP" io.prom2pg.faults.AckedSender "$@"; }

# --- PostgreSQL
postgres_server_init "$WORK/pg"
pg_start() { postgres_server_start "$WORK/pg" $PGPORT; }
pg_crash() { postgres_server_stop "$WORK/pg" immediate; }
psql_() { "$PGBIN/psql" -h 127.0.0.1 -p $PGPORT -U postgres -d postgres -At "$@"; }

# --- prom2pg instances: start_instance NAME HTTP_PORT MANAGEMENT_PORT
start_instance() {
  PROM2PG_HTTP_HOST=127.0.0.1 PROM2PG_HTTP_PORT=$2 PROM2PG_MANAGEMENT_PORT=$3 \
  PROM2PG_DB_URL=$JDBC PROM2PG_DB_USER=postgres PROM2PG_DB_PING_INTERVAL_MS=500 \
  PROM2PG_DB_LOCK_TIMEOUT_MS=2000 PROM2PG_HA_TIMEOUT_MS=5000 PROM2PG_HA_FOLLOWER_WAIT_MS=1000 \
    bin/prom2pg >>"$WORK/$1.log" 2>&1 &
  PIDS[$1]=$!
  await_ready "$3" 60 || { tail -40 "$WORK/$1.log"; exit 1; }
}
ready() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/observe/health/ready" || true; }
await_ready() { # port seconds
  local deadline=$((SECONDS + $2))
  until [ "$(ready "$1")" = 200 ]; do [ $SECONDS -gt "$deadline" ] && return 1; sleep 0.2; done
}
stop_instance() { kill "${PIDS[$1]}" 2>/dev/null || true; wait "${PIDS[$1]}" 2>/dev/null || true; unset "PIDS[$1]"; }

T0=$(( $(date +%s) * 1000 - 3600 * 1000 ))  # an hour ago: the partitions exist, nothing is too old
check() { # cluster ack-logs offsets
  if sender --check --jdbc "$JDBC" --cluster "$1" --ack-log "$2" --offsets-ms "${3:-0}" --t0 "$T0" --series 200; then
    log "$1: OK"
  else
    log "$1: FAILED"; FAILED+=("$1")
  fi
}

pg_start
log "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on $PGPORT, work dir $WORK"

for scenario in $SCENARIOS; do
  case $scenario in
  kill9)
    log "== kill9: prom2pg is killed with kill -9 mid-load and started again"
    start_instance p1 19301 19302
    sender --targets http://127.0.0.1:19301/api/v1/write --cluster kill9 --t0 "$T0" --seconds 25 \
      --ack-log "$WORK/kill9.acks" &
    S=$!
    sleep 8
    kill -9 "${PIDS[p1]}"; wait "${PIDS[p1]}" 2>/dev/null || true
    log "prom2pg killed (kill -9); starting it again"
    started=$SECONDS
    start_instance p1 19301 19302
    log "prom2pg ready again after $((SECONDS - started)) s"
    wait $S
    check kill9 "$WORK/kill9.acks"
    stop_instance p1
    ;;
  pg-restart)
    log "== pg-restart: PostgreSQL crashes (immediate stop) mid-load and comes back 10 s later"
    start_instance p1 19301 19302
    sender --targets http://127.0.0.1:19301/api/v1/write --cluster pgrestart --t0 "$T0" --seconds 30 \
      --ack-log "$WORK/pgrestart.acks" --expect-status 503 &
    S=$!
    sleep 8
    pg_crash
    down_at=$SECONDS
    log "PostgreSQL stopped"
    until [ "$(ready 19302)" = 503 ]; do sleep 0.2; [ $((SECONDS - down_at)) -gt 20 ] && break; done
    log "readiness: $(ready 19302) after $((SECONDS - down_at)) s"
    [ "$(ready 19302)" = 503 ] || { log "pg-restart: readiness did not go down"; FAILED+=(pg-restart-readiness); }
    sleep $((10 - (SECONDS - down_at) > 0 ? 10 - (SECONDS - down_at) : 0))
    pg_start
    up_at=$SECONDS
    log "PostgreSQL started again"
    await_ready 19302 60 || { log "pg-restart: prom2pg did not become ready again"; FAILED+=(pg-restart-recovery); }
    log "readiness: $(ready 19302) after $((SECONDS - up_at)) s"
    wait $S || { log "pg-restart: the sender saw no 503 during the outage"; FAILED+=(pg-restart-503); }
    check pgrestart "$WORK/pgrestart.acks"
    stop_instance p1
    ;;
  lock)
    log "== lock: another session holds an exclusive lock on the samples for 10 s"
    start_instance p1 19301 19302
    sender --targets http://127.0.0.1:19301/api/v1/write --cluster locked --t0 "$T0" --seconds 25 \
      --ack-log "$WORK/lock.acks" --expect-status 503 --max-ms 503:5000 &
    S=$!
    sleep 8
    log "locking prom2pg.samples (lock timeout of prom2pg: 2 s)"
    psql_ -c "BEGIN; LOCK TABLE prom2pg.samples IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(10); COMMIT;" >/dev/null
    log "lock released"
    wait $S || { log "lock: no 503, or a 503 slower than 5 s"; FAILED+=(lock-deadline); }
    check locked "$WORK/lock.acks"
    stop_instance p1
    ;;
  two-instances)
    log "== two-instances: an HA pair writes through two prom2pg instances; one instance is killed,"
    log "   then the leading Prometheus replica stops: the lease moves, nothing acknowledged is lost"
    start_instance p1 19301 19302
    start_instance p2 19311 19312
    rm -f "$WORK/stop-a"
    sender --targets http://127.0.0.1:19301/api/v1/write,http://127.0.0.1:19311/api/v1/write --cluster failover \
      --replica a --offset-ms 1 --t0 "$T0" --seconds 40 --ack-log "$WORK/a.acks" --stop-file "$WORK/stop-a" &
    SA=$!
    sleep 1
    sender --targets http://127.0.0.1:19311/api/v1/write,http://127.0.0.1:19301/api/v1/write --cluster failover \
      --replica b --offset-ms 0 --t0 "$T0" --seconds 30 --ack-log "$WORK/b.acks" --expect-status 503 &
    SB=$!
    sleep 7
    log "leader: $(psql_ -c "SELECT leader FROM prom2pg.ha_leases WHERE cluster = 'cluster=failover'")"
    kill -9 "${PIDS[p1]}"; wait "${PIDS[p1]}" 2>/dev/null || true; unset "PIDS[p1]"
    log "instance p1 killed (kill -9): both replicas go on through p2"
    sleep 7
    leader=$(psql_ -c "SELECT leader FROM prom2pg.ha_leases WHERE cluster = 'cluster=failover'")
    log "leader after the instance died: $leader"
    [ "$leader" = a ] || { log "two-instances: the lease moved although replica a kept writing"; FAILED+=(two-instances-lease); }
    touch "$WORK/stop-a"; wait $SA
    stopped=$SECONDS
    log "replica a stopped"
    until [ "$(psql_ -c "SELECT leader FROM prom2pg.ha_leases WHERE cluster = 'cluster=failover'")" = b ]; do
      sleep 0.5; [ $((SECONDS - stopped)) -gt 30 ] && break
    done
    leader=$(psql_ -c "SELECT leader FROM prom2pg.ha_leases WHERE cluster = 'cluster=failover'")
    log "leader: $leader, $((SECONDS - stopped)) s after replica a stopped (HA timeout 5 s)"
    [ "$leader" = b ] || { log "two-instances: the lease did not move to b"; FAILED+=(two-instances-failover); }
    # b waits for a's copy up to 1 s (PROM2PG_HA_FOLLOWER_WAIT_MS), so while a is gone it is refused and retries
    wait $SB || { log "two-instances: the follower was never refused while ahead of its leader"; FAILED+=(two-instances-ahead); }
    check failover "$WORK/a.acks,$WORK/b.acks" 1,0
    # after the takeover, b's own copies (timestamps on whole seconds) are the stored ones
    from_b=$(psql_ -c "SELECT count(*) FROM prom2pg.samples s JOIN prom2pg.series r ON r.id = s.series_id
      WHERE r.labels ->> 'cluster' = 'failover' AND (extract(epoch FROM s.time) * 1000)::bigint % 1000 = 0")
    log "samples stored from replica b after the takeover: $from_b"
    [ "$from_b" -gt 0 ] || { log "two-instances: nothing of replica b was stored after it took over"; FAILED+=(two-instances-takeover); }
    stop_instance p2
    ;;
  *) log "unknown scenario $scenario"; exit 2 ;;
  esac
done

if [ ${#FAILED[@]} -gt 0 ]; then
  log "FAILED: ${FAILED[*]} (logs in $WORK)"
  exit 1
fi
log "OK: every acknowledged sample is in PostgreSQL in every scenario"
