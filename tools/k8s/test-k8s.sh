#!/usr/bin/env bash
# make test-k8s: the chart on a real one-node cluster (tools/k8s/node), the
# images of this commit in real containers:
#   - the images built (tools/images) and loaded into the node's containerd
#   - the chart's renderings and skaffold's accepted by the API server, bad
#     values refused by the schema
#   - helm install --wait: migration hooks, then every pod Running and
#     Ready through its own probes, none restarted
#   - the smoke test through the gateway's Service (a token from the Dex in
#     the cluster, a lab, a CSV import, its report), and again as helm test
#   - a calc pod killed in the middle of an import: it still ends exact
#   - helm upgrade to new image tags while a client reads through every
#     service: not one failed request
#   - helm uninstall leaves nothing
# PostgreSQL and Redis run outside the cluster, on the node's address.
# Needs root; the node is torn down on exit, whatever happened.
set -euo pipefail
# shellcheck source=node/env.sh
source "$(dirname "$0")/node/env.sh"

chart=$root/charts/co2-calculator
helm=${HELM:-$root/.bin/helm}
namespace=co2
release=co2
wait_timeout=${K8S_WAIT_TIMEOUT:-5m}
kill_rows=${K8S_KILL_ROWS:-300000}
started=$(date +%s)
say() { echo "[+$(($(date +%s) - started))s] test-k8s: $*"; }
diagnose() {
	kubectl get nodes,pods,jobs,deployments,services -A -o wide || true
	kubectl get events -A --sort-by=.lastTimestamp 2> /dev/null | tail -30 || true
	for pod in $(kubectl get pods -n "$namespace" -o name 2> /dev/null); do
		echo "--- $pod"
		kubectl logs -n "$namespace" "$pod" --all-containers --tail=15 2> /dev/null || true
	done
	for log in "$K8S_STATE"/logs/*.log; do
		echo "--- $log"
		tail -8 "$log"
	done
}
# The reason is printed first and again last, after the diagnosis and the
# node's teardown: a log cut to its tail still says what failed.
failure=
fail() {
	failure=$*
	echo "test-k8s: FAIL: $failure" >&2
	diagnose >&2 2>&1
	exit 1
}
finish() {
	[ -n "${node_started:-}" ] && "$node_dir/down.sh"
	[ -z "$failure" ] || echo "test-k8s: FAIL: $failure" >&2
}
trap finish EXIT
[ "$(id -u)" = 0 ] || fail "the test node needs root (cgroups, network namespaces, iptables, mounts)"

# One test node per machine: a second run waits for the first.
exec 9> /run/lock/co2-calculator-test-k8s.lock
if ! flock -n 9; then
	say "another make test-k8s runs on this machine: waiting for it"
	flock -w "${K8S_LOCK_WAIT:-3600}" 9 || fail "the other run did not end"
fi

say "images of this commit (tools/images)"
cd "$root"
images=(labs ingest calc reporting gateway smoke dex)
go run ./tools/images -repository localhost/co2-calculator "${images[@]}" > "$K8S_DIR/images.log" ||
	fail "images: $(tail -20 "$K8S_DIR/images.log")"
tag=$(head -1 "$K8S_DIR/images.log" | cut -d' ' -f1 | sed 's/.*://')
# The upgrade's: the same images under a new tag, as a registry would
# hold a release's.
upgrade_tag=$tag-upgrade
say "built $tag"

node_started=1
say "the node (tools/k8s/node/up.sh)"
"$node_dir/up.sh" || fail "the node did not come up"
ctr() { command ctr --address "$CONTAINERD_ADDRESS" -n k8s.io "$@"; }
for name in "${images[@]}"; do
	ctr images import "$K8S_DIR/images/$name.tar" > /dev/null || fail "import $name"
	ctr images tag --force "localhost/co2-calculator/$name:$tag" "localhost/co2-calculator/$name:$upgrade_tag" > /dev/null ||
		fail "tag $name:$upgrade_tag"
done

say "PostgreSQL and Redis on $NODE_IP, Dex in the cluster"
"$node_dir/stores.sh" start || fail "the stores did not start"
source "$K8S_STATE/stores.env"
kubectl create namespace "$namespace" > /dev/null
kubectl -n "$namespace" create secret generic co2-calculator-db --from-literal=DB_URL="$DB_URL" > /dev/null
kubectl -n "$namespace" create secret generic co2-calculator-redis --from-literal=REDIS_URL="$REDIS_URL" > /dev/null
# Dex, its configuration and the Secrets of the dev identities, as skaffold deploys them.
kubectl kustomize deploy/dev/dex | sed "s|image: co2-calculator/dex|image: localhost/co2-calculator/dex:$tag|; s|imagePullPolicy: IfNotPresent|imagePullPolicy: Never|" |
	kubectl -n "$namespace" apply -f - > /dev/null
kubectl -n "$namespace" rollout status deployment/dex --timeout=2m > /dev/null || fail "Dex did not start"

say "renderings: server-side dry runs, the schema's refusal"
"$helm" lint --strict "$chart" > /dev/null || fail "helm lint"
for values in minimal production dev; do
	"$helm" template co2 "$chart" -n "$namespace" -f "$chart/ci/$values-values.yaml" |
		kubectl apply --dry-run=server -n "$namespace" -f - > /dev/null || fail "the API server refused the $values rendering"
done
if "$helm" template bad "$chart" -f charts/testdata/bad-values.yaml > "$K8S_STATE/bad.log" 2>&1; then
	fail "bad values were accepted"
fi
grep -q "values don't meet the specifications" "$K8S_STATE/bad.log" || fail "bad values refused for another reason: $(cat "$K8S_STATE/bad.log")"
# skaffold keeps its settings and cache in $HOME: one of the build cache's
# (Go keeps using its own caches).
GOCACHE=$(go env GOCACHE) GOMODCACHE=$(go env GOMODCACHE) GOPATH=$(go env GOPATH)
export GOCACHE GOMODCACHE GOPATH
export HOME=$K8S_DIR/skaffold-home SKAFFOLD_UPDATE_CHECK=false
mkdir -p "$HOME"
"$K8S_BIN/skaffold" config set --global collect-metrics false > /dev/null
"$K8S_BIN/skaffold" diagnose --yaml-only > "$K8S_STATE/skaffold-diagnose.log" || fail "skaffold diagnose"
PATH=$root/.bin:$PATH "$K8S_BIN/skaffold" render --offline=true --digest-source=tag > "$K8S_STATE/skaffold.yaml" 2> "$K8S_STATE/skaffold-render.log" ||
	fail "skaffold render: $(cat "$K8S_STATE/skaffold-render.log")"
kubectl create namespace skaffold > /dev/null
kubectl apply --dry-run=server -n skaffold -f "$K8S_STATE/skaffold.yaml" > /dev/null || fail "the API server refused the skaffold render"

chart_values=(-f tools/k8s/test-values.yaml --set "image.tag=$tag"
	--set "networkPolicy.egressPorts={443,80,4318,5556,$K8S_DB_PORT,$K8S_REDIS_PORT}")
say "helm install --wait"
"$helm" install "$release" "$chart" -n "$namespace" "${chart_values[@]}" --wait --timeout "$wait_timeout" > "$K8S_STATE/install.log" 2>&1 ||
	fail "helm install: $(cat "$K8S_STATE/install.log")"
rollout() {
	for service in labs ingest calc reporting gateway; do
		kubectl rollout status "deployment/$release-$service" -n "$namespace" --timeout "$wait_timeout" > /dev/null ||
			fail "$service did not finish rolling out"
	done
}
# Every pod of the release Running and Ready (their own probes), none
# restarted, each Deployment at its size, running image $1.
check_pods() {
	local image_tag=$1 pods
	pods=$(kubectl get pods -n "$namespace" -l "app.kubernetes.io/instance=$release" --no-headers \
		-o custom-columns='NAME:.metadata.name,PHASE:.status.phase,READY:.status.containerStatuses[0].ready,RESTARTS:.status.containerStatuses[0].restartCount,IMAGE:.spec.containers[0].image,DELETING:.metadata.deletionTimestamp')
	echo "$pods" | awk -v tag="$image_tag" '$2 != "Running" || $3 != "true" || $4 != 0 || $5 !~ ":"tag"$" || $6 != "<none>" {bad = 1; print "  not as expected: " $0} END {exit bad}' >&2 ||
		fail "pods not all Running, Ready, unrestarted, on $image_tag:"$'\n'"$pods"
	for service in labs ingest calc reporting gateway; do
		[ "$(echo "$pods" | grep -c "^$release-$service-")" = 2 ] || fail "$service does not have 2 pods:"$'\n'"$pods"
	done
}
rollout
# calc and gateway start at one pod; their HPAs bring them to minReplicas.
for service in calc gateway; do
	for _ in $(seq 60); do
		[ "$(kubectl get deployment "$release-$service" -n "$namespace" -o jsonpath='{.status.availableReplicas}')" = 2 ] && break
		sleep 1
	done
done
check_pods "$tag"
[ "$(kubectl get hpa -n "$namespace" --no-headers | wc -l)" = 2 ] || fail "want 2 HPAs (calc, gateway)"
[ "$(kubectl get pdb -n "$namespace" --no-headers | wc -l)" = 5 ] || fail "want 5 PDBs"
[ "$(kubectl get networkpolicy -n "$namespace" --no-headers | wc -l)" = 5 ] || fail "want 5 NetworkPolicies"
[ "$(kubectl get jobs -n "$namespace" --no-headers 2> /dev/null | wc -l)" = 0 ] || fail "the migration hooks were not removed after success"
say "installed: every pod Running and Ready"

gateway=http://$(kubectl get service "$release-gateway" -n "$namespace" -o jsonpath='{.spec.clusterIP}'):8000
token_url=http://$(kubectl get service dex -n "$namespace" -o jsonpath='{.spec.clusterIP}'):5556/dex/token
smoke() { "$K8S_DIR/images/bin/smoke" "$@" -gateway "$gateway" -token-url "$token_url" -username admin@example.com -password password; }

say "smoke test through the gateway's Service ($gateway)"
smoke check -rows 1000 || fail "the smoke test"
say "helm test (the smoke test as the chart's test, in the cluster)"
"$helm" test "$release" -n "$namespace" --timeout 3m > "$K8S_STATE/helm-test.log" 2>&1 ||
	fail "helm test: $(cat "$K8S_STATE/helm-test.log"; kubectl logs -n "$namespace" "$release-smoke-test" 2>&1)"

say "a calc pod killed in the middle of an import of $kill_rows rows"
export NAMESPACE=$namespace DB_ADMIN_URL="postgres://co2@127.0.0.1:$K8S_DB_PORT/co2?host=$K8S_STATE/stores/postgres"
smoke import -rows "$kill_rows" -while-running "$root/tools/k8s/kill-import-worker.sh" || fail "the import after its worker was killed"
rollout

say "helm upgrade to $upgrade_tag while a client reads through every service"
{
	echo "set -e"
	printf '%q ' "$helm" upgrade "$release" "$chart" -n "$namespace" "${chart_values[@]}" --set "image.tag=$upgrade_tag" \
		--wait --timeout "$wait_timeout"
	echo
	for service in labs ingest calc reporting gateway; do
		printf 'kubectl rollout status deployment/%q -n %q --timeout %q\n' "$release-$service" "$namespace" "$wait_timeout"
	done
} > "$K8S_STATE/upgrade.sh"
# The requests' failures come last in the message: a log cut to its tail
# shows them.
smoke poll -while "bash '$K8S_STATE/upgrade.sh' > '$K8S_STATE/upgrade.log' 2>&1" > "$K8S_STATE/poll.log" 2>&1 ||
	fail "the upgrade failed, or requests did during it; the upgrade's last lines:"$'\n'"$(tail -5 "$K8S_STATE/upgrade.log")"$'\n'"the client's:"$'\n'"$(tail -25 "$K8S_STATE/poll.log")"
cat "$K8S_STATE/poll.log"
# The pods are the new ones: wait for the old ones to be gone.
for _ in $(seq 120); do
	[ -z "$(kubectl get pods -n "$namespace" -l "app.kubernetes.io/instance=$release" -o jsonpath='{.items[?(@.metadata.deletionTimestamp)].metadata.name}')" ] && break
	sleep 1
done
check_pods "$upgrade_tag"

say "helm uninstall leaves nothing behind"
"$helm" uninstall "$release" -n "$namespace" --wait --timeout 3m > /dev/null || fail "helm uninstall"
for _ in $(seq 120); do
	left=$(kubectl get all,configmap,secret,serviceaccount,pdb,hpa,networkpolicy,ingress,job -n "$namespace" \
		-l "app.kubernetes.io/instance=$release" --no-headers 2> /dev/null)
	[ -z "$left" ] && break
	sleep 1
done
[ -z "$left" ] || fail "left after uninstall:"$'\n'"$left"
say "PASS in $(($(date +%s) - started))s"
