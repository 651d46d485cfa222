#!/usr/bin/env bash
# Builds the sandbox's pinned binaries (etcd, kube-apiserver, kube-controller-manager, registry,
# vault, and kubectl when none is on PATH) from the Go module proxy into a cache outside the
# repository, so later runs and fresh clones reuse them. Nothing else is installed: no apt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${ROTATOR_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rotator-tools/bin}
mkdir -p "$bin"

# A stamp per binary holds the pinned version and the link flags, so changing a pin or a flag
# rebuilds exactly that binary.
build() { # name, module dir, package, version, [ldflags]
  local name=$1 dir=$2 pkg=$3 version=$4 ldflags=${5:-}
  local stamp="$version${ldflags:+ ldflags: $ldflags}"
  if [ -x "$bin/$name" ] && [ "$(cat "$bin/$name.version" 2>/dev/null)" = "$stamp" ]; then
    return 0
  fi
  echo "building $name $version into $bin (first time only; kube-apiserver takes about 4 minutes on 2 cores)" >&2
  local start=$SECONDS
  (cd "$here/tools/$dir" && GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$bin/$name.tmp" "$pkg")
  mv "$bin/$name.tmp" "$bin/$name"
  echo "$stamp" > "$bin/$name.version"
  echo "built $name in $((SECONDS - start))s" >&2
}

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

build etcd etcd . etcd-v3.6.16
build kube-apiserver kube k8s.io/kubernetes/cmd/kube-apiserver kubernetes-$kube "$kube_ldflags"
build kube-controller-manager kube k8s.io/kubernetes/cmd/kube-controller-manager kubernetes-$kube "$kube_ldflags"
# The registry (CNCF distribution v3) with token auth, behind the Harbor and GitLab doubles.
build registry registry github.com/distribution/distribution/v3/cmd/registry distribution-v3.0.0 \
  "-X github.com/distribution/distribution/v3/version.version=v3.0.0"
# Vault dev server for the Vault secret source and write-back (about 5 minutes, 500 MB of cache).
build vault vault github.com/hashicorp/vault vault-v1.21.0
# kubectl for the demo and the tests: the one on PATH if there is one, else a pinned build.
if ! command -v kubectl >/dev/null; then
  build kubectl kube k8s.io/kubernetes/cmd/kubectl kubernetes-$kube "$kube_ldflags"
fi
echo "$bin"
