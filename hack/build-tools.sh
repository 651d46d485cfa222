#!/usr/bin/env bash
# Builds the sandbox's pinned binaries (etcd, kube-apiserver, kube-controller-manager, vault) from the Go
# module proxy into a cache outside the repository, so later runs and fresh clones reuse them.
# The registry is Debian's docker-registry (installed by .ci/run or `apt-get install docker-registry`).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${ROTATOR_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rotator-tools/bin}
mkdir -p "$bin"

# A stamp per binary holds the pinned version, so changing a pin rebuilds exactly that binary.
build() { # name, module dir, package, version
  local name=$1 dir=$2 pkg=$3 version=$4
  if [ -x "$bin/$name" ] && [ "$(cat "$bin/$name.version" 2>/dev/null)" = "$version" ]; then
    return 0
  fi
  echo "building $name $version into $bin (first time only; kube-apiserver takes about 4 minutes on 2 cores)" >&2
  local start=$SECONDS
  (cd "$here/tools/$dir" && GOFLAGS=-mod=mod go build -trimpath -o "$bin/$name.tmp" "$pkg")
  mv "$bin/$name.tmp" "$bin/$name"
  echo "$version" > "$bin/$name.version"
  echo "built $name in $((SECONDS - start))s" >&2
}

build etcd etcd . etcd-v3.6.16
build kube-apiserver kube k8s.io/kubernetes/cmd/kube-apiserver kubernetes-v1.37.2
build kube-controller-manager kube k8s.io/kubernetes/cmd/kube-controller-manager kubernetes-v1.37.2
# Vault dev server for the Vault secret source and write-back (about 5 minutes, 500 MB of cache).
build vault vault github.com/hashicorp/vault vault-v1.21.0

if ! command -v docker-registry >/dev/null; then
  echo "docker-registry is missing: install it with 'apt-get install -y docker-registry' (Debian's distribution 2.8)" >&2
  exit 1
fi
echo "$bin"
