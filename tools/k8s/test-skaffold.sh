#!/usr/bin/env bash
# make test-skaffold: skaffold against the test node, as a developer runs
# it (make k8s-up, then skaffold with the node profile): skaffold run
# builds every image (tools/images), pushes them to the node's registry
# and deploys Dex and the chart; the smoke test passes through the
# gateway's Service and as helm test. Then skaffold dev: a file added to
# one service rebuilds that image alone and rolls its Deployment, and the
# smoke test passes again. The node is torn down on exit.
set -euo pipefail
# shellcheck source=node/env.sh
source "$(dirname "$0")/node/env.sh"
started=$(date +%s)
say() { echo "[+$(($(date +%s) - started))s] test-skaffold: $*"; }
fail() {
	echo "test-skaffold: FAIL: $*" >&2
	kubectl get pods -A -o wide >&2 || true
	tail -30 "$K8S_STATE/skaffold-dev.log" >&2 2> /dev/null || true
	exit 1
}
[ "$(id -u)" = 0 ] || fail "the test node needs root"
exec 9> /run/lock/co2-calculator-test-k8s.lock
flock -w "${K8S_LOCK_WAIT:-3600}" 9 || fail "another run holds the test node"
cd "$root"
# The change: a file of labs's main package that puts a new string in its
# binary (a variable of its own environment), removed on exit.
touched=services/labs/cmd/labs/skaffold_dev_check.go
dev=
cleanup() {
	[ -n "$dev" ] && kill -INT "$dev" 2> /dev/null && wait "$dev" 2> /dev/null
	rm -f "$touched"
	cp "$K8S_STATE"/skaffold-*.log "$K8S_STATE/logs/" 2> /dev/null
	"$node_dir/down.sh"
}
trap cleanup EXIT

say "make k8s-up"
tools/k8s/k8s-up.sh > /dev/null || fail "k8s-up"
# skaffold keeps its settings and cache in $HOME: one of the build cache's
# (Go keeps using its own caches).
GOCACHE=$(go env GOCACHE) GOMODCACHE=$(go env GOMODCACHE) GOPATH=$(go env GOPATH)
export GOCACHE GOMODCACHE GOPATH
export HOME=$K8S_DIR/skaffold-home SKAFFOLD_UPDATE_CHECK=false
export PATH=$K8S_BIN:$root/.bin:$PATH
mkdir -p "$HOME"
skaffold config set --global collect-metrics false > /dev/null
skaffold=(skaffold -p node -n co2 --default-repo "localhost:$K8S_REGISTRY_PORT")

say "skaffold run"
"${skaffold[@]}" run --status-check=true > "$K8S_STATE/skaffold-run.log" 2>&1 || fail "skaffold run: $(cp "$K8S_STATE/skaffold-run.log" "$K8S_DIR/logs-skaffold-run.log"; tail -30 "$K8S_STATE/skaffold-run.log")"
images() { kubectl get deployments -n co2 -o jsonpath='{range .items[*]}{.metadata.name}={.spec.template.spec.containers[0].image}{"\n"}{end}'; }
images > "$K8S_STATE/images-run.txt"
for service in labs ingest calc reporting gateway; do
	grep -q "^co2-$service=localhost:$K8S_REGISTRY_PORT/.*$service.*@sha256:" "$K8S_STATE/images-run.txt" ||
		fail "$service does not run its own pushed image:"$'\n'"$(cat "$K8S_STATE/images-run.txt")"
done
[ "$(cut -d: -f3 "$K8S_STATE/images-run.txt" | cut -d@ -f1 | sort -u | wc -l)" -ge 5 ] || fail "the images share a tag"
smoke() {
	"$K8S_DIR/images/bin/smoke" check -rows 500 -gateway "http://$(kubectl get service co2-gateway -n co2 -o jsonpath='{.spec.clusterIP}'):8000" \
		-token-url "http://$(kubectl get service dex -n co2 -o jsonpath='{.spec.clusterIP}'):5556/dex/token" \
		-username admin@example.com -password password
}
go run ./tools/images -out "$K8S_DIR/images" smoke > /dev/null
say "smoke test, and helm test"
smoke || fail "the smoke test after skaffold run"
helm test co2 -n co2 --timeout 3m > "$K8S_STATE/helm-test.log" 2>&1 || fail "helm test: $(cat "$K8S_STATE/helm-test.log")"

say "skaffold dev, then a change to labs"
"${skaffold[@]}" dev --port-forward=off --cleanup=true > "$K8S_STATE/skaffold-dev.log" 2>&1 &
dev=$!
waitlog() {
	for _ in $(seq 600); do
		[ "$(grep -c "Watching for changes" "$K8S_STATE/skaffold-dev.log")" -ge "$1" ] && return 0
		kill -0 "$dev" 2> /dev/null || fail "skaffold dev stopped"
		sleep 1
	done
	fail "skaffold dev did not reach iteration $1"
}
waitlog 1
# New content each time: a content seen before is found in skaffold's cache.
printf 'package main\n\nimport "os"\n\n// Written by make test-skaffold, which removes it.\nfunc init() { os.Setenv("SKAFFOLD_DEV_CHECK", "%s") }\n' \
	"$(date +%s.%N)" > "$touched"
waitlog 2
after=$(sed -n '/Watching for changes/,$p' "$K8S_STATE/skaffold-dev.log")
looked=$(grep -oE '^ - co2-calculator/[a-z]+:' <<< "$after" | sed -E 's/^ - //; s/:$//' | sort -u | paste -sd' ' || true)
[ "$looked" = co2-calculator/labs ] && grep -q 'Building \[co2-calculator/labs\]' <<< "$after" ||
	fail "the change to labs rebuilt: ${looked:-nothing}"
images > "$K8S_STATE/images-dev.txt"
changed=$(diff "$K8S_STATE/images-run.txt" "$K8S_STATE/images-dev.txt" | grep '^>' | cut -d= -f1 | tr -d '> ' || true)
[ "$changed" = co2-labs ] || fail "the change rolled: ${changed:-nothing}"$'\n'"$(diff "$K8S_STATE/images-run.txt" "$K8S_STATE/images-dev.txt")"
kubectl rollout status deployment/co2-labs -n co2 --timeout 3m > /dev/null || fail "labs did not roll"
smoke || fail "the smoke test after the change"
say "PASS in $(($(date +%s) - started))s"
