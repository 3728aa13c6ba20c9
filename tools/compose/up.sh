#!/usr/bin/env bash
# make docker-up: deploy/compose.yaml under podman (podman-compose), or
# Docker Compose with COMPOSE="docker compose". Builds the images of this
# commit (tools/images) into the engine; PostgreSQL's and Redis's are pulled,
# or built from Debian's packages where no registry answers
# (stores-image.sh). Waits until the gateway reports every service ready.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
COMPOSE=${COMPOSE:-podman-compose}
export GATEWAY_PORT=${GATEWAY_PORT:-8000} DEX_PORT=${DEX_PORT:-5556}
export IMAGE_REPOSITORY=${IMAGE_REPOSITORY:-localhost/co2-calculator}
export POSTGRES_IMAGE=${POSTGRES_IMAGE:-docker.io/library/postgres:15-bookworm}
export REDIS_IMAGE=${REDIS_IMAGE:-docker.io/library/redis:7-bookworm}
say() { echo "[$(date +%H:%M:%S)] docker-up: $*"; }

if [ "$COMPOSE" = podman-compose ]; then
	engine=podman
	if ! command -v podman-compose > /dev/null; then
		[ "$(id -u)" = 0 ] || { echo "docker-up: install podman and podman-compose (apt-get install podman podman-compose)" >&2; exit 1; }
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman podman-compose > /dev/null
	fi
	# runc refuses a "hybrid" cgroup host where hugetlb is only on cgroup2.
	if [ "$(id -u)" = 0 ] && [ "$(stat -f -c %T /sys/fs/cgroup)" = tmpfs ] && ! mountpoint -q /sys/fs/cgroup/hugetlb; then
		mkdir -p /sys/fs/cgroup/hugetlb
		mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb
	fi
	# podman raises the containers' open-file and process limits, which
	# needs CAP_SYS_RESOURCE (root may lack it): give them limits this shell
	# can grant (runc failed to set nproc even to the shell's own hard limit).
	conf=${K8S_DIR:-$root/.k8s}/podman/containers.conf
	mkdir -p "$(dirname "$conf")"
	printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=4096:4096"]\n' "$(ulimit -Hn)" "$(ulimit -Hn)" > "$conf"
	export CONTAINERS_CONF=$conf
else
	engine=docker
fi

say "images of this commit"
built=$(go run ./tools/images -repository "$IMAGE_REPOSITORY" -load "$engine" ${IMAGE_TAG:+-tag "$IMAGE_TAG"} \
	labs ingest calc reporting gateway dex)
IMAGE_TAG=$(head -1 <<< "$built" | cut -d' ' -f1 | sed 's/.*://')
export IMAGE_TAG
for image in "$POSTGRES_IMAGE" "$REDIS_IMAGE"; do
	$engine image inspect "$image" > /dev/null 2>&1 || $engine pull -q "$image" > /dev/null 2>&1 || {
		say "$image cannot be pulled: PostgreSQL and Redis from Debian's packages instead"
		export POSTGRES_IMAGE=$IMAGE_REPOSITORY/postgres:15-bookworm REDIS_IMAGE=$IMAGE_REPOSITORY/redis:7-bookworm
		$engine image inspect "$POSTGRES_IMAGE" > /dev/null 2>&1 || tools/compose/stores-image.sh "$POSTGRES_IMAGE" "$REDIS_IMAGE"
		break
	}
done

say "$COMPOSE up (images $IMAGE_REPOSITORY/*:$IMAGE_TAG)"
$COMPOSE -p co2-calculator -f deploy/compose.yaml up -d > "${K8S_DIR:-$root/.k8s}/compose-up.log" 2>&1 ||
	{ cat "${K8S_DIR:-$root/.k8s}/compose-up.log" >&2; exit 1; }
for _ in $(seq 180); do
	curl -sf -o /dev/null "http://127.0.0.1:$GATEWAY_PORT/ready" && break
	sleep 1
done
curl -sf "http://127.0.0.1:$GATEWAY_PORT/ready" > /dev/null || {
	curl -s "http://127.0.0.1:$GATEWAY_PORT/ready" >&2
	$engine ps -a >&2
	echo "docker-up: the gateway does not report every service ready" >&2
	exit 1
}
say "up: http://127.0.0.1:$GATEWAY_PORT/api/v1 (Dex at http://127.0.0.1:$DEX_PORT/dex; make docker-smoke checks it)"
