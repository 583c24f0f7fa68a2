#!/usr/bin/env bash
# Build the real control plane (kube-apiserver, kube-controller-manager, kube-scheduler, etcd,
# kwok), and helm for the chart tests, from the pinned Go modules beside this script into a cache
# outside the clone, once per machine. Prints the cache directory on the last line of stdout; progress goes to stderr.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# version_of <module dir> <module>: the version its go.mod requires.
version_of() { awk -v m="$2" '$1 == m && $2 ~ /^v/ {print $2; exit}' "$here/$1/go.mod"; }
kube_version=$(version_of kube k8s.io/kubernetes)
kwok_version=$(version_of kwok sigs.k8s.io/kwok)
helm_version=$(version_of helm helm.sh/helm/v3)
cache="${PODIUM_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/podium/kube-$kube_version}"
mkdir -p "$cache"
export GOFLAGS="${GOFLAGS:-} -trimpath -buildvcs=false" CGO_ENABLED=0

minor=${kube_version#v1.}; minor=${minor%%.*}
kube_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  kube_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit=podium-realcluster"
  kube_ldflags+=" -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

# build <module dir> <package> <binary> <ldflags>: skipped when the binary was built from the same go.sum.
build() {
  local dir=$1 pkg=$2 bin=$3 ldflags=$4
  local stamp="$cache/$bin.stamp" want
  # The contents only, not the paths: every clone on the machine shares the cache.
  want="$(cat "$here/$dir/go.mod" "$here/$dir/go.sum" | sha256sum | cut -c1-16)"
  if [ -x "$cache/$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return
  fi
  echo "==> building $bin from $pkg into $cache (first time on this machine: minutes)" >&2
  local start=$SECONDS
  (cd "$here/$dir" && go build -ldflags "$ldflags" -o "$cache/$bin.tmp" "$pkg")
  mv "$cache/$bin.tmp" "$cache/$bin"
  echo "$want" >"$stamp"
  echo "    built $bin in $((SECONDS - start)) s" >&2
}

build kube k8s.io/kubernetes/cmd/kube-apiserver kube-apiserver "$kube_ldflags"
build kube k8s.io/kubernetes/cmd/kube-controller-manager kube-controller-manager "$kube_ldflags"
build kube k8s.io/kubernetes/cmd/kube-scheduler kube-scheduler "$kube_ldflags"
build etcd go.etcd.io/etcd/server/v3 etcd "-s -w"
build kwok sigs.k8s.io/kwok/cmd/kwok kwok "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$kwok_version"
# As helm's own Makefile does: its version, and the Kubernetes version its client-go speaks as the
# default .Capabilities.KubeVersion (v1.20 otherwise).
client_go=$(version_of helm k8s.io/client-go); client_go_minor=${client_go#v0.}; client_go_minor=${client_go_minor%%.*}
helm_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version"
helm_ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
helm_ldflags+=" -X helm.sh/helm/v3/internal/version.gitCommit=podium-realcluster"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  helm_ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$client_go_minor"
done
build helm helm.sh/helm/v3/cmd/helm helm "$helm_ldflags"
echo "$cache"
