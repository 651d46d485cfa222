#!/usr/bin/env bash
# `make demo`: show the demo workloads failing, rotate with rotator, show them running.
set -euo pipefail
dir=${1:-.sandbox}
# shellcheck disable=SC1091
. "$dir/env"
k() { kubectl --kubeconfig "$KUBECONFIG" "$@"; }

echo "== before: the demo workloads cannot pull (no credential yet)"
sleep 3
k get pods -n team-a -o wide 2>/dev/null | head -5 || true
k get events -n team-a --field-selector reason=Failed -o custom-columns=POD:.involvedObject.name,MESSAGE:.message 2>/dev/null | grep "Failed to pull" | tail -1 || true

echo
echo "== dry run: what rotator would do"
bin/rotator rotate now --kubeconfig "$ROTATOR_KUBECONFIG" --config "$dir/config.yaml" --dry-run

echo
echo "== rotator rotate now (as the least-privileged 'rotator' user)"
bin/rotator rotate now --kubeconfig "$ROTATOR_KUBECONFIG" --config "$dir/config.yaml"

echo
echo "== after: secrets, ServiceAccounts and workloads"
for ns in team-a team-b team-c; do
  k get secret harbor-pull -n "$ns" -o jsonpath='{.metadata.namespace}/{.metadata.name} type={.type} robot={.metadata.annotations.rotator\.dev/credential-name} expires={.metadata.annotations.rotator\.dev/expires-at}{"\n"}'
done
k get serviceaccount default -n team-b -o jsonpath='team-b/default imagePullSecrets={.imagePullSecrets}{"\n"}'
k get deployments,statefulsets -A -l '!skip' 2>/dev/null | grep -E 'team-|NAMESPACE'
echo
echo "== the Harbor password came from Vault; the new robot was written back to Vault for CI jobs"
# Field names, non-secret values and metadata only: the password never goes to the terminal.
go run ./hack/vaultshow secret rotator/pull/harbor-sandbox
echo
echo "== a second run with --if-due has nothing to do"
bin/rotator rotate now --kubeconfig "$ROTATOR_KUBECONFIG" --config "$dir/config.yaml" --if-due
echo
echo "Sandbox still running: 'source $dir/env' and use kubectl; 'make sandbox-down' stops it."
