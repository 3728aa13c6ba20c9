#!/usr/bin/env bash
# Stops what up.sh started, by PID file, and removes what it left: the
# pods (through the kubelet first, so CNI releases their network), the
# kube-proxy rules, the bridge, the mounts and the run's state. Keeps the
# build cache ($K8S_DIR: binaries, images, containerd's store) and a copy of
# the logs in $K8S_DIR/logs. Safe to run twice or on a half-started node.
set -uo pipefail
# shellcheck source=env.sh
source "$(dirname "$0")/env.sh"
[ -d "$K8S_STATE" ] || exit 0

running() { [ -f "$K8S_STATE/pids/$1" ] && kill -0 "$(cat "$K8S_STATE/pids/$1")" 2> /dev/null; }
stop() {
	local file=$K8S_STATE/pids/$1 pid
	[ -f "$file" ] || return 0
	pid=$(cat "$file")
	if kill -0 "$pid" 2> /dev/null; then
		kill "$pid"
		for _ in $(seq 50); do
			kill -0 "$pid" 2> /dev/null || break
			sleep 0.2
		done
		kill -0 "$pid" 2> /dev/null && kill -9 "$pid"
	fi
	rm -f "$file"
}
ctr() { command ctr --address "$CONTAINERD_ADDRESS" -n k8s.io "$@"; }

# 1. The kubelet tears the pods down through the runtime (CNI DEL, unmounts).
if running kubelet && running kube-apiserver; then
	log "deleting every pod"
	for namespace in $(kubectl get namespaces -o name 2> /dev/null | cut -d/ -f2); do
		case $namespace in default | kube-system | kube-public | kube-node-lease) ;; *) kubectl delete namespace "$namespace" --wait=false > /dev/null 2>&1 ;; esac
	done
	kubectl delete deployments,replicasets,daemonsets,statefulsets,jobs --all --all-namespaces --wait=false > /dev/null 2>&1
	kubectl delete pods --all --all-namespaces --grace-period=1 --timeout=60s > /dev/null 2>&1
	for _ in $(seq 60); do
		[ -z "$(ctr tasks list -q 2> /dev/null)" ] && break
		sleep 1
	done
fi

# 2. kube-proxy's rules, then the Kubernetes processes.
stop kube-proxy
[ -x "$K8S_BIN/kube-proxy" ] && "$K8S_BIN/kube-proxy" --cleanup > /dev/null 2>&1
for table in iptables ip6tables; do
	for chain in INPUT OUTPUT; do $table -D "$chain" -j KUBE-FIREWALL 2> /dev/null; done
	$table -F KUBE-FIREWALL 2> /dev/null
	$table -X KUBE-FIREWALL 2> /dev/null
done
for component in kubelet kube-scheduler kube-controller-manager kube-apiserver etcd registry; do stop "$component"; done

# 3. Whatever still runs in containerd, then containerd.
if running containerd; then
	for task in $(ctr tasks list -q 2> /dev/null); do ctr tasks kill -s SIGKILL "$task" > /dev/null 2>&1; done
	sleep 1
	for task in $(ctr tasks list -q 2> /dev/null); do ctr tasks delete -f "$task" > /dev/null 2>&1; done
	for container in $(ctr containers list -q 2> /dev/null); do ctr containers delete "$container" > /dev/null 2>&1; done
fi
stop containerd

# 4. The stores, the network, mounts, state.
"$node_dir/stores.sh" stop
for netns in $(ip netns list 2> /dev/null | awk '{print $1}' | grep '^cni-'); do ip netns delete "$netns"; done
ip link delete "$K8S_BRIDGE" 2> /dev/null
mount | awk '{print $3}' | grep -E "^($K8S_STATE|$K8S_RUN|$K8S_DIR/containerd)" | sort -r | xargs -r -n1 umount -l
rm -rf "$K8S_DIR/logs"
cp -rL "$K8S_STATE/logs" "$K8S_DIR/logs" 2> /dev/null
rm -rf "$K8S_STATE" "$K8S_RUN"
log "down (logs kept in $K8S_DIR/logs)"
