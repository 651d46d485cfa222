#!/usr/bin/env bash
# Builds the pinned binaries the sandbox runs (etcd, kube-apiserver, kube-controller-manager,
# registry, vault, and kubectl when none is on PATH) from the Go module proxy into a cache outside
# the repository, so later runs and fresh clones reuse them. Nothing else is installed: no apt.
#
#   hack/build-tools.sh                  the sandbox's tools (make tools)
#   hack/build-tools.sh golangci-lint    only the named tools (make lint)
#   hack/build-tools.sh helm promrules   the chart's and the alerts' tests (make test, make helm)
#
# Builds run one at a time, longest first (TOOLS_JOBS=2 runs two at once: measured slower on 2
# cores, since one go build already keeps both busy and two at once compile their shared packages
# twice). Each one prints its time and an estimate of what is left; its output goes to a log next
# to the cache, quoted if it fails.
# Prints the tools directory on stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${ROTATOR_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rotator-tools/bin}
jobs=${TOOLS_JOBS:-1}
mkdir -p "$bin"
logs="$(cd "$bin/.." && pwd)/logs"
mkdir -p "$logs"

# Kubernetes stamps its release into its binaries at link time (hack/lib/version.sh): built from
# the module proxy without these flags, kube-apiserver says v0.0.0-master+$Format:%H$ and
# `kubectl version` against it exits 1. Changing them changes the stamp: a relink, since the
# Go build cache keeps the compiled packages. The release's commit is not in the module, so
# gitCommit is left empty rather than a made-up one.
kube=v1.37.2
kube_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$kube -X $pkg.gitMajor=1 -X $pkg.gitMinor=37"
  kube_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit="
done
kube_ldflags=${kube_ldflags# }

# Every tool: the build unit it belongs to (one `go build` per unit, in the module
# hack/tools/<unit>, so binaries of one module share its compiled packages), its package, and its
# pin. Its stamp is the pin and the unit's build tags and link flags: a binary whose .version
# file differs is rebuilt.
declare -A unit_of pkg_of stamp_of
declare -A ldflags_of=([kube]=$kube_ldflags
  [registry]="-X github.com/distribution/distribution/v3/version.version=v3.0.0"
  [helm]="-X helm.sh/helm/v4/internal/version.version=v4.3.2")
# Vault's own `minimal` build (hack/tools/vault/main.go says what it keeps).
declare -A tags_of=([vault]=minimal)
tool() { # name, unit, package, pin
  unit_of[$1]=$2
  pkg_of[$1]=$3
  local flags=${ldflags_of[$2]:-} tags=${tags_of[$2]:-}
  stamp_of[$1]="$4${tags:+ tags: $tags}${flags:+ ldflags: $flags}"
}
tool etcd etcd rotator.dev/hack/tools/etcd etcd-v3.6.16
tool kube-apiserver kube k8s.io/kubernetes/cmd/kube-apiserver "kubernetes-$kube"
tool kube-controller-manager kube k8s.io/kubernetes/cmd/kube-controller-manager "kubernetes-$kube"
tool kubectl kube k8s.io/kubernetes/cmd/kubectl "kubernetes-$kube"
# The registry (CNCF distribution v3) with token auth, behind the Harbor and GitLab doubles.
tool registry registry github.com/distribution/distribution/v3/cmd/registry distribution-v3.0.0
# Vault's server (dev mode) for the Vault secret source and write-back: KV, AppRole, Kubernetes auth.
tool vault vault rotator.dev/hack/tools/vault vault-v1.21.0
tool golangci-lint golangci-lint github.com/golangci/golangci-lint/v2/cmd/golangci-lint golangci-lint-v2.15.0
# helm for the chart's tests (charts/, test/e2e/helm_test.go): a module of its own, since its
# k8s.io modules are not the kube unit's. Built only when named (make test and make helm name it),
# so `make tools` for the sandbox alone does not wait for it. Stamped with its release, as its
# Makefile does (otherwise `helm version` says v4.3).
tool helm helm helm.sh/helm/v4/cmd/helm helm-v4.3.2
# promrules (hack/tools/promrules/main.go): the shipped alerts parsed as Prometheus loads them,
# every expr as PromQL (model/rulefmt), for test/e2e/monitoring_test.go. A module of its own, so
# Prometheus's dependencies stay out of the product's go.mod; built only when named, like helm.
tool promrules promrules rotator.dev/hack/tools/promrules prometheus-v0.316.0

# The time of each unit's build, in this order from empty caches, on 2 idle cores, in seconds
# (measured 550, 271, 56 and 25 s at load average 3-4, 1,526 CPU-seconds in all): only for the
# estimate of what is left, which then follows the pace observed.
declare -A estimate=([kube]=480 [vault]=240 [registry]=50 [etcd]=25 [golangci-lint]=150 [helm]=150 [promrules]=30)

# What to build: the named tools, or the sandbox's (kubectl only when PATH has none but ours).
if [ $# -gt 0 ]; then
  wanted=("$@")
else
  wanted=(etcd kube-apiserver kube-controller-manager registry vault)
  system_kubectl=$(PATH=$(tr ':' '\n' <<<"$PATH" | grep -vxF "$bin" | paste -sd: -) command -v kubectl || true)
  [ -n "$system_kubectl" ] || wanted+=(kubectl)
fi

# One build at a time per cache: another clone or worktree may be filling it right now.
exec 9>"$bin/.lock"
if ! flock -n 9; then
  echo "tools: another build-tools.sh is building into $bin; waiting for it" >&2
  flock 9
fi

declare -A stale=() # unit -> its tools to build
for name in "${wanted[@]}"; do
  [ -n "${unit_of[$name]:-}" ] || { echo "tools: unknown tool $name" >&2; exit 2; }
  if [ -x "$bin/$name" ] && [ "$(cat "$bin/$name.version" 2>/dev/null)" = "${stamp_of[$name]}" ]; then
    continue
  fi
  stale[${unit_of[$name]}]+=" $name"
done
if [ ${#stale[@]} -eq 0 ]; then
  echo "$bin"
  exit 0
fi

# Longest first, so the long builds overlap the short ones.
mapfile -t queue < <(for u in "${!stale[@]}"; do echo "${estimate[$u]:-60} $u"; done | sort -rn | cut -d' ' -f2)
minutes() { if [ "$1" -lt 45 ]; then echo "under a minute"; else echo "about $(( ($1 + 30) / 60 )) min"; fi; }

tmp=$(mktemp -d "$bin/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
build_unit() { # unit: go build of its stale tools into $tmp/<unit>/, then into the cache
  local u=$1 names pkgs=() n
  read -ra names <<<"${stale[$u]}"
  for n in "${names[@]}"; do pkgs+=("${pkg_of[$n]}"); done
  mkdir -p "$tmp/$u"
  (cd "$here/tools/$u" && GOFLAGS=-mod=mod go build -trimpath -tags "${tags_of[$u]:-}" -ldflags "${ldflags_of[$u]:-}" -o "$tmp/$u/" "${pkgs[@]}")
  for n in "${names[@]}"; do
    mv "$tmp/$u/$n" "$bin/$n"
    echo "${stamp_of[$n]}" >"$bin/$n.version"
  done
}

start=$SECONDS
declare -A pid_of=() started_at=()
done_work=0 done_took=0 done_count=0 failed=0
# The time left: each build's estimate at the pace of the builds that finished (estimated
# seconds of work per second, in thousandths; before any, two builds sharing 2 cores are
# assumed to go at a little over half their speed alone), less what a running build has done.
report() {
  local pace=1000 u rem longest=0 sum=0 i
  [ "$jobs" -eq 1 ] || pace=550
  if [ "$done_took" -gt 0 ]; then pace=$((done_work * 1000 / done_took)); fi
  [ "$pace" -gt 0 ] || pace=1
  for u in "${!pid_of[@]}"; do
    rem=$(( ${estimate[$u]:-60} * 1000 / pace - (SECONDS - ${started_at[$u]}) ))
    [ "$rem" -gt 0 ] || rem=0
    sum=$((sum + rem))
    [ "$rem" -le "$longest" ] || longest=$rem
  done
  for ((i = next; i < ${#queue[@]}; i++)); do
    sum=$((sum + ${estimate[${queue[$i]}]:-60} * 1000 / pace))
  done
  local left=$((sum / jobs))
  [ "$left" -ge "$longest" ] || left=$longest
  minutes "$left"
}
next=0 last_note=$SECONDS
echo "tools: building ${queue[*]} into $bin, $jobs at a time (with empty caches: $(report) on 2 idle cores; logs in $logs)" >&2
while [ "$next" -lt ${#queue[@]} ] || [ ${#pid_of[@]} -gt 0 ]; do
  while [ "$next" -lt ${#queue[@]} ] && [ ${#pid_of[@]} -lt "$jobs" ]; do
    u=${queue[$next]}
    next=$((next + 1))
    echo "tools: building${stale[$u]} ..." >&2
    build_unit "$u" >"$logs/$u.log" 2>&1 &
    pid_of[$u]=$!
    started_at[$u]=$SECONDS
  done
  sleep 1
  running=" $(jobs -rp | tr '\n' ' ')"
  for u in "${!pid_of[@]}"; do
    [[ $running == *" ${pid_of[$u]} "* ]] && continue
    took=$((SECONDS - ${started_at[$u]}))
    if wait "${pid_of[$u]}"; then
      done_work=$((done_work + ${estimate[$u]:-60}))
      done_took=$((done_took + took))
      done_count=$((done_count + 1))
      echo "tools: [$done_count/${#queue[@]}] built${stale[$u]} in ${took}s; $(report) left" >&2
      echo "$(date -u +%FT%TZ) ${stale[$u]# } ${took}s jobs=$jobs" >>"$logs/times"
    else
      failed=1
      echo "tools: building${stale[$u]} failed after ${took}s; the end of $logs/$u.log:" >&2
      tail -n 25 "$logs/$u.log" >&2
    fi
    unset "pid_of[$u]"
  done
  if [ ${#pid_of[@]} -gt 0 ] && [ $((SECONDS - last_note)) -ge 60 ]; then
    last_note=$SECONDS
    echo "tools: still building ${!pid_of[*]} ($((SECONDS - start))s so far; $(report) left)" >&2
  fi
  [ "$failed" -eq 0 ] || { wait; exit 1; }
done
echo "tools: built ${queue[*]} in $((SECONDS - start))s" >&2
echo "$bin"
