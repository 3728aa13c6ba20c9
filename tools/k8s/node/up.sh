#!/usr/bin/env bash
# Brings up a one-node Kubernetes on this machine, with real containers:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, Debian's
# containerd and runc, the kubelet, kube-proxy (iptables), a CNI bridge and
# CoreDNS. Pod traffic stays on the machine: pods get routes to each other,
# the Services and the node's address only, and CoreDNS forwards nothing.
# Binaries come from $K8S_BIN (make k8s-tools); down.sh undoes everything.
# Needs root. About 30 s once built.
set -euo pipefail
# shellcheck source=env.sh
source "$(dirname "$0")/env.sh"

fail() {
	echo "node: FAIL: $*" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || fail "the test node needs root (cgroups, network namespaces, iptables, mounts)"
[ -n "$NODE_IP" ] || fail "no address to give the node (no default route; set NODE_IP)"
for binary in etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
	[ -x "$K8S_BIN/$binary" ] || fail "$K8S_BIN/$binary is missing: make k8s-tools"
done

# One node per machine: its bridge, iptables rules and ports are global.
mkdir -p "$K8S_RUN"
if [ -f "$K8S_RUN/owner" ]; then
	owner=$(cat "$K8S_RUN/owner")
	if [ -f "$owner/pids/kube-apiserver" ] && kill -0 "$(cat "$owner/pids/kube-apiserver")" 2> /dev/null; then
		fail "a test node already runs on this machine (state in $owner): stop it first (make k8s-down, or K8S_STATE=$owner tools/k8s/node/down.sh)"
	fi
fi
echo "$K8S_STATE" > "$K8S_RUN/owner"

"$node_dir/packages.sh"

# Kernel and cgroups. runc refuses a "hybrid" host where hugetlb is only on
# cgroup2: give it a v1 hierarchy (left mounted; harmless).
if [ "$(stat -f -c %T /sys/fs/cgroup)" = tmpfs ] && ! mountpoint -q /sys/fs/cgroup/hugetlb; then
	mkdir -p /sys/fs/cgroup/hugetlb
	mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb
fi
sysctl -qw net.ipv4.ip_forward=1 || true
[ -f /proc/sys/net/bridge/bridge-nf-call-iptables ] || modprobe br_netfilter 2> /dev/null || true
[ "$(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2> /dev/null)" = 1 ] || sysctl -qw net.bridge.bridge-nf-call-iptables=1 ||
	fail "bridged pod traffic does not pass iptables (br_netfilter): Services between pods would not work"

rm -rf "$K8S_STATE"
mkdir -p "$K8S_STATE"/{logs,pids,cni/net.d} "$K8S_DIR/images"
"$node_dir/pki.sh"
pki=$K8S_STATE/pki

# The pod sandbox and CoreDNS, built here like every image.
log "building the node's images (pause, CoreDNS)"
(cd "$root" && go run ./tools/images -repository localhost/co2-calculator -tag node -out "$K8S_DIR/images" pause coredns > "$K8S_STATE/logs/images.log") ||
	fail "node images: $(tail -5 "$K8S_STATE/logs/images.log")"
PAUSE_IMAGE=localhost/co2-calculator/pause:node
COREDNS_IMAGE=localhost/co2-calculator/coredns:node

render() {
	sed -e "s|@K8S_DIR@|$K8S_DIR|g; s|@K8S_RUN@|$K8S_RUN|g; s|@K8S_STATE@|$K8S_STATE|g; s|@PAUSE_IMAGE@|$PAUSE_IMAGE|g" \
		-e "s|@COREDNS_IMAGE@|$COREDNS_IMAGE|g; s|@K8S_KUBELET_PORT@|$K8S_KUBELET_PORT|g; s|@K8S_KUBELET_HEALTHZ_PORT@|$K8S_KUBELET_HEALTHZ_PORT|g" \
		-e "s|@K8S_DNS_IP@|$K8S_DNS_IP|g; s|@K8S_BRIDGE@|$K8S_BRIDGE|g; s|@K8S_POD_CIDR@|$K8S_POD_CIDR|g; s|@K8S_CLUSTER_CIDR@|$K8S_CLUSTER_CIDR|g" \
		-e "s|@K8S_SERVICE_CIDR@|$K8S_SERVICE_CIDR|g; s|@NODE_IP@|$NODE_IP|g; s|@K8S_REGISTRY_PORT@|$K8S_REGISTRY_PORT|g" "$1"
}
render "$node_dir/containerd.toml" > "$K8S_STATE/containerd.toml"
render "$node_dir/kubelet-config.yaml" > "$K8S_STATE/kubelet-config.yaml"
render "$node_dir/cni.conflist" > "$K8S_STATE/cni/net.d/10-co2-test-node.conflist"
render "$node_dir/coredns.yaml" > "$K8S_STATE/coredns.yaml"

# start NAME COMMAND...: in a session of its own (a Ctrl-C of make must not
# reach it before down.sh does), its PID in pids/NAME, its log in logs/.
start() {
	local name=$1
	shift
	setsid "$@" > "$K8S_STATE/logs/$name.log" 2>&1 < /dev/null &
	echo $! > "$K8S_STATE/pids/$name"
}
waitfor() {
	local what=$1 seconds=$2
	shift 2
	for _ in $(seq $((seconds * 4))); do
		"$@" > /dev/null 2>&1 && return 0
		sleep 0.25
	done
	fail "$what not up after ${seconds}s"
}

log "control plane (etcd :$K8S_ETCD_PORT, kube-apiserver :$K8S_API_PORT)"
start etcd "$K8S_BIN/etcd" --name node --data-dir "$K8S_STATE/etcd" --unsafe-no-fsync \
	--listen-client-urls "http://127.0.0.1:$K8S_ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$K8S_ETCD_PORT" \
	--listen-peer-urls "http://127.0.0.1:$((K8S_ETCD_PORT + 10))" --initial-advertise-peer-urls "http://127.0.0.1:$((K8S_ETCD_PORT + 10))" \
	--initial-cluster "node=http://127.0.0.1:$((K8S_ETCD_PORT + 10))" --listen-metrics-urls ""
start kube-apiserver "$K8S_BIN/kube-apiserver" --etcd-servers "http://127.0.0.1:$K8S_ETCD_PORT" \
	--secure-port "$K8S_API_PORT" --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
	--client-ca-file "$pki/ca.crt" --token-auth-file "$pki/tokens.csv" \
	--authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
	--service-cluster-ip-range "$K8S_SERVICE_CIDR" --allow-privileged=true \
	--service-account-issuer https://kubernetes.default.svc.cluster.local \
	--service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
	--kubelet-client-certificate "$pki/kubelet-client.crt" --kubelet-client-key "$pki/kubelet-client.key" \
	--kubelet-preferred-address-types InternalIP,Hostname --cert-dir "$K8S_STATE/apiserver-certs"
waitfor kube-apiserver 90 kubectl get --raw /readyz
start kube-controller-manager "$K8S_BIN/kube-controller-manager" --kubeconfig "$pki/controller-manager.kubeconfig" \
	--secure-port "$K8S_KCM_PORT" --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
	--service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
	--cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
	--allocate-node-cidrs=true --cluster-cidr "$K8S_CLUSTER_CIDR" --node-cidr-mask-size 24 \
	--service-cluster-ip-range "$K8S_SERVICE_CIDR" --controllers '*,-service-lb-controller,-route,-cloud-node-lifecycle'
start kube-scheduler "$K8S_BIN/kube-scheduler" --kubeconfig "$pki/scheduler.kubeconfig" \
	--secure-port "$K8S_SCHEDULER_PORT" --bind-address 127.0.0.1 --leader-elect=false

log "containerd ($CONTAINERD_ADDRESS), the node's images"
start containerd containerd --config "$K8S_STATE/containerd.toml"
waitfor containerd 30 ctr --address "$CONTAINERD_ADDRESS" version
for image in pause coredns; do
	ctr --address "$CONTAINERD_ADDRESS" -n k8s.io images import "$K8S_DIR/images/$image.tar" > /dev/null ||
		fail "import $image into containerd"
done

log "kubelet ($NODE_NAME at $NODE_IP), kube-proxy"
mkdir -p "$K8S_STATE/kubelet"
start kubelet "$K8S_BIN/kubelet" --config "$K8S_STATE/kubelet-config.yaml" --kubeconfig "$pki/kubelet.kubeconfig" \
	--hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --root-dir "$K8S_STATE/kubelet" --v=1
waitfor "the node's registration" 60 kubectl get node "$NODE_NAME"
kubectl wait --for=condition=Ready "node/$NODE_NAME" --timeout=120s > /dev/null || fail "the node is not Ready"
# kube-proxy may not change sysctls here (no CAP_SYS_RESOURCE): leave conntrack alone.
start kube-proxy "$K8S_BIN/kube-proxy" --kubeconfig "$pki/proxy.kubeconfig" --proxy-mode iptables \
	--hostname-override "$NODE_NAME" --cluster-cidr "$K8S_CLUSTER_CIDR" \
	--metrics-bind-address "127.0.0.1:$K8S_PROXY_METRICS_PORT" --healthz-bind-address "127.0.0.1:$K8S_PROXY_HEALTHZ_PORT" \
	--conntrack-max-per-core=0 --conntrack-tcp-timeout-established=0 --conntrack-tcp-timeout-close-wait=0
waitfor kube-proxy 60 curl -sf "http://127.0.0.1:$K8S_PROXY_HEALTHZ_PORT/healthz"

log "cluster DNS ($K8S_DNS_IP)"
waitfor "the default service account" 60 kubectl -n kube-system get serviceaccount default
kubectl apply -f "$K8S_STATE/coredns.yaml" > /dev/null
kubectl -n kube-system rollout status deployment/coredns --timeout=120s > /dev/null || fail "CoreDNS did not start"
log "ready: KUBECONFIG=$KUBECONFIG"
