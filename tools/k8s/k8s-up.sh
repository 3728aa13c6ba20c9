#!/usr/bin/env bash
# make k8s-up: the test node (node/up.sh) left running for skaffold's loop,
# with the stores outside the cluster and the Secrets that name them in
# namespace co2, and a registry to push to. make k8s-down stops it all.
set -euo pipefail
# shellcheck source=node/env.sh
source "$(dirname "$0")/node/env.sh"
"$node_dir/up.sh"
"$node_dir/stores.sh" start
"$node_dir/registry.sh"
source "$K8S_STATE/stores.env"
kubectl create namespace co2 > /dev/null
kubectl -n co2 create secret generic co2-calculator-db --from-literal=DB_URL="$DB_URL" > /dev/null
kubectl -n co2 create secret generic co2-calculator-redis --from-literal=REDIS_URL="$REDIS_URL" > /dev/null
cat <<HOW
The node is up (make k8s-down stops it). From this shell:
  export KUBECONFIG=$KUBECONFIG PATH=$K8S_BIN:$root/.bin:\$PATH
  skaffold dev -p node -n co2 --default-repo=localhost:$K8S_REGISTRY_PORT
HOW
