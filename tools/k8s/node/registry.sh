#!/usr/bin/env bash
# A registry on 127.0.0.1:$K8S_REGISTRY_PORT for skaffold to push to and
# the node's containerd to pull from (crane's, blobs in $K8S_DIR/registry).
# down.sh stops it.
set -euo pipefail
# shellcheck source=env.sh
source "$(dirname "$0")/env.sh"
[ -x "$K8S_BIN/crane" ] || { echo "registry: $K8S_BIN/crane is missing: make k8s-tools" >&2; exit 1; }
mkdir -p "$K8S_DIR/registry"
setsid "$K8S_BIN/crane" registry serve --address "127.0.0.1:$K8S_REGISTRY_PORT" --disk "$K8S_DIR/registry" \
	> "$K8S_STATE/logs/registry.log" 2>&1 < /dev/null &
echo $! > "$K8S_STATE/pids/registry"
for _ in $(seq 40); do
	curl -sf -o /dev/null "http://127.0.0.1:$K8S_REGISTRY_PORT/v2/" && exit 0
	sleep 0.25
done
echo "registry: not answering on 127.0.0.1:$K8S_REGISTRY_PORT" >&2
exit 1
