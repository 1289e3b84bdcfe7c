#!/usr/bin/env bash
# Checks the metering PrometheusRule, and prom2pg's alerts, with promtool (Debian's prometheus package): the rule
# groups are taken out of the custom resource and checked as a Prometheus rules file, and the
# recorded series are exactly the predecessor's 16 metering:* series; then promtool's rule unit
# tests (deploy/tests/metering-rules.test.yml) feed them kube-state-metrics v2 series.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v promtool >/dev/null || { apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus >/dev/null; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - deploy/base/prometheusrule-metering.yaml "$work/rules.yml" <<'PY'
import json, sys
try:
    import yaml
except ImportError:
    sys.exit("python3-yaml is needed")
doc = yaml.safe_load(open(sys.argv[1]))
assert doc["kind"] == "PrometheusRule" and doc["metadata"]["name"] == "metering", "not the metering PrometheusRule"
groups = doc["spec"]["groups"]
assert [g["name"] for g in groups] == ["metering.rules"], "one group, metering.rules"
records = sorted(r["record"] for r in groups[0]["rules"])
expected = sorted("metering:" + n for n in """container_memory_usage_bytes node_allocatable_cpu_cores
  node_allocatable_memory_bytes node_capacity_cpu_cores node_capacity_memory_bytes
  persistentvolumeclaim_capacity_bytes persistentvolumeclaim_phase persistentvolumeclaim_request_bytes
  persistentvolumeclaim_usage_bytes pod_limit_cpu_cores pod_limit_memory_bytes pod_request_cpu_cores
  pod_request_memory_bytes pod_persistentvolumeclaim_request_info pod_usage_cpu_cores
  pod_usage_memory_bytes""".split())
assert records == expected, f"recorded series differ: {set(records) ^ set(expected)}"
yaml.safe_dump({"groups": groups}, open(sys.argv[2], "w"))
print(f"check-rules: {len(records)} metering:* records")
PY
promtool check rules "$work/rules.yml"
cp deploy/tests/metering-rules.test.yml "$work/"
promtool test rules "$work/metering-rules.test.yml"

# prom2pg's alerts: the same, with their unit tests (deploy/tests/alert-rules.test.yml)
python3 - deploy/base/prometheusrule-alerts.yaml "$work/alerts.yml" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
assert doc["kind"] == "PrometheusRule" and doc["metadata"]["name"] == "prom2pg-alerts", "not prom2pg's alerts"
yaml.safe_dump({"groups": doc["spec"]["groups"]}, open(sys.argv[2], "w"))
print(f"check-rules: {sum(len(g['rules']) for g in doc['spec']['groups'])} prom2pg alerts")
PY
promtool check rules "$work/alerts.yml"
cp deploy/tests/alert-rules.test.yml "$work/"
promtool test rules "$work/alert-rules.test.yml"
