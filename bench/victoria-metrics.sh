#!/usr/bin/env bash
# VictoriaMetrics' storage of a benchmark's samples, for the scripts that compare prom2pg's bytes a
# sample with it (storage-formats.sh, week.sh). Sourced, not run.
#
#   victoria_metrics_store FILE DIR PORT TIME
#       imports FILE (OpenMetrics text, seconds) into a VictoriaMetrics storing in DIR and listening
#       on 127.0.0.1:PORT, flushes and merges it, waits until its data and index stop changing in
#       size, and stops it; sets vm_bytes (data and index) and vm_rows (the samples it holds of
#       series named bench_*, counted at TIME, Unix seconds, over the year before); vm_pid is its
#       process while it runs, for a caller's exit trap

victoria_metrics_store() {
  local file=$1 dir=$2 port=$3 time=$4 previous=0 part
  victoria-metrics -storageDataPath="$dir" -httpListenAddr="127.0.0.1:$port" -retentionPeriod=100y \
    >"$dir.log" 2>&1 &
  vm_pid=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$port/health"; do sleep 0.5; done
  # its Prometheus text import takes ms timestamps
  awk '$1 != "#" { ts = $NF; $NF = sprintf("%.0f", ts * 1000); print }' "$file" | split -l 500000 - "$dir.part."
  for part in "$dir".part.*; do
    curl -sf --data-binary @"$part" "http://127.0.0.1:$port/api/v1/import/prometheus"
    rm "$part"
  done
  curl -sf "http://127.0.0.1:$port/internal/force_flush"
  curl -sf "http://127.0.0.1:$port/internal/force_merge"
  # the merge runs in the background: its size is read once it has stopped changing
  sleep 5
  while vm_bytes=$(du -sb "$dir/data" "$dir/indexdb" | awk '{ n += $1 } END { print n }'); [ "$vm_bytes" != "$previous" ]; do
    previous=$vm_bytes
    sleep 5
  done
  vm_rows=$(curl -sf --get "http://127.0.0.1:$port/api/v1/query" \
    --data-urlencode 'query=sum(count_over_time({__name__=~"bench_.+"}[1y]))' --data-urlencode "time=$time" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["result"][0]["value"][1])')
  kill "$vm_pid"
  wait "$vm_pid" 2>/dev/null || true
  vm_pid=
}
