#!/usr/bin/env bash
# Prints the ConfigMaps the Camel K integration reads its routes from, made from the repository's
# routes/ folder: prom2pg-routes (routes/*.yaml) and prom2pg-routes-config (routes/config/*).
# Labeled camel.apache.org/integration=prom2pg, so that the integration restarts when they change.
#
#   deploy/camel-k/routes-configmaps.sh | oc apply -n prom2pg -f -
#
# Needs kubectl (or oc, with KUBECTL=oc); works offline (client-side dry run).
set -euo pipefail
cd "$(dirname "$0")/../.."
kubectl=${KUBECTL:-kubectl}
label=camel.apache.org/integration=prom2pg
make() { # name, files...
  local name=$1
  shift
  local args=()
  for f in "$@"; do args+=("--from-file=$f"); done
  "$kubectl" create configmap "$name" "${args[@]}" --dry-run=client -o yaml \
    | "$kubectl" label --local -f - "$label" app.kubernetes.io/name=prom2pg -o yaml
}
shopt -s nullglob
routes=(routes/*.yaml)
config=(routes/config/*.yaml)
[ ${#routes[@]} -gt 0 ] || { echo "no routes/*.yaml under $(pwd)" >&2; exit 1; }
make prom2pg-routes "${routes[@]}"
echo "---"
make prom2pg-routes-config "${config[@]}"
