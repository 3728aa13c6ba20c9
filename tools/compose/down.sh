#!/usr/bin/env bash
# make docker-down: stops what make docker-up started; with VOLUMES set,
# drops the data too.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
COMPOSE=${COMPOSE:-podman-compose}
export CONTAINERS_CONF=${K8S_DIR:-$root/.k8s}/podman/containers.conf
$COMPOSE -p co2-calculator -f deploy/compose.yaml down ${VOLUMES:+-v} > /dev/null
# podman-compose leaves the project's network.
if [ "$COMPOSE" = podman-compose ] && podman network exists co2-calculator_default; then
	podman network rm co2-calculator_default > /dev/null
fi
