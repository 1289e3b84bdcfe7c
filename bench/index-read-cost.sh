#!/usr/bin/env bash
# What the samples index order costs a read: an hour of 100k series at 15 s (24M rows, stored in
# time order as ingest writes them) under a unique index on (series_id, time) and, in a copy, on
# (time, series_id); then 10 series over the last hour and the last 15 minutes, EXPLAIN ANALYZE
# after a warm-up run; and how long building each index over those rows takes. Debian's
# PostgreSQL server (installed when missing), a fresh cluster under /tmp, removed at the end.
# About a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=e2e/postgres-server.sh
. e2e/postgres-server.sh
postgres_server_install
DIR=$(mktemp -d /tmp/prom2pg-index-read.XXXXXX)
chmod 777 "$DIR"
postgres_server_init "$DIR/pg"
postgres_server_start "$DIR/pg" 25499
trap 'postgres_server_stop "$DIR/pg"; rm -rf "$DIR"' EXIT
psql() { "$PGBIN/psql" -h 127.0.0.1 -p 25499 -U postgres -d postgres -X -q "$@"; }

echo "== loading; then each index built in one sorted pass, as over a sealed partition"
psql <<'SQL'
CREATE TABLE by_series (time timestamptz NOT NULL, series_id bigint NOT NULL, value float8);
INSERT INTO by_series
  SELECT to_timestamp(1795500000 + t * 15), s, s FROM generate_series(0, 239) t, generate_series(1, 100000) s
  ORDER BY t, s;
CREATE TABLE by_time AS SELECT * FROM by_series;
-- stored in time order: the first rows are all series at the first timestamp
SELECT CASE WHEN count(DISTINCT time) = 1 THEN 'rows stored in time order' ELSE 'ROWS NOT IN TIME ORDER' END
  FROM (SELECT time FROM by_series WHERE ctid < '(50,0)') x;
\timing on
CREATE UNIQUE INDEX ON by_series (series_id, time);
CREATE UNIQUE INDEX ON by_time (time, series_id);
\timing off
VACUUM ANALYZE by_series;
VACUUM ANALYZE by_time;
SQL
for table in by_series by_time; do
  for seconds in 3600 900; do
    q="SELECT count(*), sum(value) FROM (SELECT * FROM $table
         WHERE series_id = ANY('{5,17000,23456,40000,51234,60001,70000,80808,90000,99999}'::bigint[])
           AND time >= to_timestamp(1795503600 - $seconds) AND time < to_timestamp(1795503600)
         ORDER BY series_id, time) x"
    psql -c "$q" >/dev/null
    echo "== index on ${table#by_} first: 10 series over the last $seconds s"
    psql -c "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) $q" | grep -E "Scan on|Execution"
  done
done
