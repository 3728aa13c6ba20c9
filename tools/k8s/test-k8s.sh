#!/usr/bin/env bash
# make test-k8s: installs the Helm chart on a real, local control plane —
# etcd, kube-apiserver, kube-controller-manager and kube-scheduler, with
# kwok's fake node running the pods (no containers run: this checks the API
# objects, admission, schemas, hooks, rollouts and scheduling, not the
# programs). The binaries are built from their pinned Go modules in
# tools/k8s (once; make k8s-tools) and everything listens on loopback.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$root/.bin/k8s
helm=$root/.bin/helm
chart=$root/charts/co2-calculator
work=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
log() { echo "test-k8s: $*"; }
fail() {
	echo "test-k8s: FAIL: $*" >&2
	{
		"$bin/kubectl" get nodes,pods,jobs,deployments -A -o wide || true
		"$bin/kubectl" get events -A --sort-by=.lastTimestamp | tail -25 || true
		for f in "$work"/*.log; do echo "--- $f"; tail -15 "$f"; done
	} >&2 2>&1
	exit 1
}
wait_timeout=${K8S_WAIT_TIMEOUT:-3m}

etcd_port=${K8S_ETCD_PORT:-23790}
api_port=${K8S_API_PORT:-16443}

# Certificates: a CA, the apiserver's serving certificate, the service-account key pair.
cd "$work"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-k8s-ca -keyout ca.key -out ca.crt 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=kube-apiserver -keyout apiserver.key -out apiserver.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc,IP:10.96.0.1\n' > san.ext
openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out apiserver.crt 2>/dev/null
openssl genrsa -out sa.key 2048 2>/dev/null
openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
token=$(openssl rand -hex 16)
echo "$token,admin,admin,system:masters" > tokens.csv
cat > kubeconfig <<KUBECONFIG
apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "https://127.0.0.1:$api_port", certificate-authority: "$work/ca.crt"}}]
users: [{name: admin, user: {token: "$token"}}]
contexts: [{name: local, context: {cluster: local, user: admin}}]
current-context: local
KUBECONFIG
export KUBECONFIG=$work/kubeconfig
kubectl() { "$bin/kubectl" "$@"; }

log "starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok"
"$bin/etcd" --data-dir "$work/etcd" --listen-client-urls "http://127.0.0.1:$etcd_port" \
	--advertise-client-urls "http://127.0.0.1:$etcd_port" --listen-peer-urls "http://127.0.0.1:$((etcd_port + 10))" \
	--unsafe-no-fsync > etcd.log 2>&1 &
pids+=($!)
"$bin/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" --bind-address 127.0.0.1 --secure-port "$api_port" \
	--tls-cert-file apiserver.crt --tls-private-key-file apiserver.key --client-ca-file ca.crt \
	--token-auth-file tokens.csv --authorization-mode RBAC,Node \
	--service-account-issuer https://kubernetes.default.svc --service-account-key-file sa.pub \
	--service-account-signing-key-file sa.key --service-cluster-ip-range 10.96.0.0/16 \
	--allow-privileged=true --cert-dir "$work/certs" > apiserver.log 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do kubectl get --raw /readyz >/dev/null 2>&1 && break; sleep 0.5; done
kubectl get --raw /readyz >/dev/null 2>&1 || fail "kube-apiserver not ready"
"$bin/kube-controller-manager" --kubeconfig "$KUBECONFIG" --leader-elect=false \
	--service-account-private-key-file sa.key --root-ca-file ca.crt --use-service-account-credentials=false \
	--controllers '*,-nodeipam,-nodelifecycle,-service-lb-controller,-route' > controller-manager.log 2>&1 &
pids+=($!)
"$bin/kube-scheduler" --kubeconfig "$KUBECONFIG" --leader-elect=false > scheduler.log 2>&1 &
pids+=($!)
"$bin/kwok" --kubeconfig "$KUBECONFIG" --manage-all-nodes=false \
	--manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
	--config "$root/tools/k8s/kwok-stages.yaml" > kwok.log 2>&1 &
pids+=($!)
kubectl apply -f - > /dev/null <<NODE || fail "create the fake node"
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-0
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0"}
  labels: {kubernetes.io/hostname: kwok-node-0, type: kwok}
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "110"}
  capacity: {cpu: "32", memory: 256Gi, pods: "110"}
NODE
for _ in $(seq 1 60); do
	[ "$(kubectl get node kwok-node-0 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ] && break
	sleep 0.5
done
[ "$(kubectl get node kwok-node-0 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ] || fail "the fake node is not Ready"
# The not-ready taint a new node starts with is lifted by the node lifecycle
# controller, which is off here (kwok's node sends no heartbeats): lift it.
if [ -n "$(kubectl get node kwok-node-0 -o jsonpath='{.spec.taints}')" ]; then
	kubectl patch node kwok-node-0 --type=json -p='[{"op":"remove","path":"/spec/taints"}]' > /dev/null || fail "untaint the fake node"
fi
log "control plane ready ($(kubectl version -o json 2>/dev/null | grep -m1 gitVersion | tr -d ' ",'))"

log "helm lint"
"$helm" lint --strict "$chart" > /dev/null || fail "helm lint"

kubectl create namespace co2 > /dev/null
for values in minimal production dev; do
	log "server-side dry run of the rendered chart ($values values)"
	"$helm" template co2 "$chart" -n co2 -f "$chart/ci/$values-values.yaml" \
		| kubectl apply --dry-run=server -n co2 -f - > /dev/null || fail "the API server refused the $values rendering"
done

log "skaffold.yaml: diagnose, and its offline render (dev instances and the chart) dry-run on the server"
export HOME=$work SKAFFOLD_UPDATE_CHECK=false
"$bin/skaffold" config set --global collect-metrics false > /dev/null
(cd "$root" && "$bin/skaffold" diagnose --yaml-only > "$work/skaffold-diagnose.log") || fail "skaffold diagnose"
kubectl create namespace skaffold > /dev/null
(cd "$root" && PATH="$root/.bin:$PATH" "$bin/skaffold" render --offline=true --digest-source=tag -p dev > "$work/skaffold.yaml" 2> "$work/skaffold-render.log") \
	|| fail "skaffold render: $(cat "$work/skaffold-render.log")"
grep -q "name: dex-config" "$work/skaffold.yaml" || fail "the skaffold render lacks the Dex configuration"
kubectl apply --dry-run=server -n skaffold -f "$work/skaffold.yaml" > /dev/null || fail "the API server refused the skaffold render"

log "a bad values file is refused by the schema"
if "$helm" install bad "$chart" -n co2 -f "$root/charts/testdata/bad-values.yaml" > bad.log 2>&1; then
	fail "bad values were installed"
fi
grep -q "values don't meet the specifications" bad.log || fail "bad values refused for another reason: $(cat bad.log)"

log "helm install --wait (migration hooks, then the Deployments)"
"$helm" install co2 "$chart" -n co2 -f "$chart/ci/minimal-values.yaml" --wait --timeout "$wait_timeout" > install.log 2>&1 \
	|| fail "helm install: $(cat install.log)"
# helm's --wait counts a Deployment ready once it has its replicas less the
# ones its rollout strategy may leave unavailable; wait for the full rollout.
rollout() {
	for service in labs ingest calc reporting gateway; do
		kubectl rollout status "deployment/co2-$service" -n co2 --timeout "$wait_timeout" > /dev/null \
			|| fail "$service did not finish rolling out"
	done
}
rollout
for service in labs ingest reporting; do
	ready=$(kubectl get deployment "co2-$service" -n co2 -o jsonpath='{.status.availableReplicas}')
	[ "$ready" = 2 ] || fail "$service has $ready available replicas, want 2"
done
# calc and gateway are the HPAs' to size (no metrics server here: they stay
# at the Deployment's default until one reports).
for service in calc gateway; do
	ready=$(kubectl get deployment "co2-$service" -n co2 -o jsonpath='{.status.availableReplicas}')
	[ "${ready:-0}" -ge 1 ] || fail "$service has no available replica"
	[ "$(kubectl get hpa "co2-$service" -n co2 -o jsonpath='{.spec.minReplicas}')" = 2 ] || fail "$service's HPA"
done
[ "$(kubectl get hpa -n co2 --no-headers | wc -l)" = 2 ] || fail "want 2 HPAs (calc, gateway)"
[ "$(kubectl get pdb -n co2 --no-headers | wc -l)" = 5 ] || fail "want 5 PDBs"
[ "$(kubectl get networkpolicy -n co2 --no-headers | wc -l)" = 5 ] || fail "want 5 NetworkPolicies"
[ "$(kubectl get jobs -n co2 --no-headers 2>/dev/null | wc -l)" = 0 ] || fail "the migration hooks were not removed after success"
"$helm" history co2 -n co2 | grep -q deployed || fail "release not deployed"

log "helm upgrade with changed values rolls out"
"$helm" upgrade co2 "$chart" -n co2 -f "$chart/ci/minimal-values.yaml" --set services.labs.replicas=3 \
	--set logLevel=debug --wait --timeout "$wait_timeout" > upgrade.log 2>&1 || fail "helm upgrade: $(cat upgrade.log)"
rollout
[ "$(kubectl get deployment co2-labs -n co2 -o jsonpath='{.status.availableReplicas}')" = 3 ] || fail "labs not scaled to 3"
[ "$(kubectl get configmap co2-labs -n co2 -o jsonpath='{.data.LOG_LEVEL}')" = debug ] || fail "the ConfigMap did not change"

log "helm uninstall leaves nothing behind"
"$helm" uninstall co2 -n co2 --wait --timeout 2m > /dev/null || fail "helm uninstall"
left=$(kubectl get deploy,svc,sa,cm,pdb,hpa,networkpolicy,job,ingress -n co2 -l app.kubernetes.io/instance=co2 --no-headers 2>/dev/null | wc -l)
[ "$left" = 0 ] || fail "$left objects left after uninstall"
log "PASS"
