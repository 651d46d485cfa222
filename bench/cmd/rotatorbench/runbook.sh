#!/usr/bin/env bash
# The runbook: what a platform team scripts today to put a pull secret into every namespace,
# bind it to the ServiceAccount and restart what depends on it. One kubectl call per step and
# namespace, in a loop. The credential comes from a file (--from-file), not from the command
# line, so it does not show in the process list.
#
# usage: runbook.sh SECRET DOCKERCONFIGJSON_FILE NAMESPACES_FILE SERVICEACCOUNT DEPLOYMENT...
set -euo pipefail
secret=$1 dockerconfig=$2 namespaces=$3 serviceaccount=$4
shift 4
deployments=()
for d in "$@"; do deployments+=("deployment/$d"); done

while read -r ns; do
  [ -n "$ns" ] || continue
  kubectl create secret docker-registry "$secret" --namespace "$ns" \
    --from-file=.dockerconfigjson="$dockerconfig" --dry-run=client -o yaml |
    kubectl apply -f -
  kubectl patch serviceaccount "$serviceaccount" --namespace "$ns" \
    -p "{\"imagePullSecrets\":[{\"name\":\"$secret\"}]}"
  kubectl rollout restart "${deployments[@]}" --namespace "$ns"
done < "$namespaces"
