# shellcheck shell=bash disable=SC2034
# Settings of the test node, sourced by the scripts beside this file. Every
# one can be set from the environment; the defaults keep clear of the usual
# ports. The node is one per machine (its network, iptables rules and
# runtime are the machine's).
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
node_dir=$root/tools/k8s/node
K8S_DIR=${K8S_DIR:-$root/.k8s}                 # the build cache: binaries, images, containerd's store
K8S_BIN=${K8S_BIN:-$K8S_DIR/bin}
K8S_STATE=${K8S_STATE:-$K8S_DIR/node}          # one run's state: certificates, etcd, kubelet, logs
K8S_RUN=${K8S_RUN:-/run/co2-calculator-node}   # containerd's socket and state (short paths)
K8S_ETCD_PORT=${K8S_ETCD_PORT:-23790}
K8S_API_PORT=${K8S_API_PORT:-16443}
K8S_KCM_PORT=${K8S_KCM_PORT:-20257}
K8S_SCHEDULER_PORT=${K8S_SCHEDULER_PORT:-20259}
K8S_KUBELET_PORT=${K8S_KUBELET_PORT:-20250}
K8S_KUBELET_HEALTHZ_PORT=${K8S_KUBELET_HEALTHZ_PORT:-20248}
K8S_PROXY_METRICS_PORT=${K8S_PROXY_METRICS_PORT:-20249}
K8S_PROXY_HEALTHZ_PORT=${K8S_PROXY_HEALTHZ_PORT:-20256}
# PostgreSQL and Redis for the cluster, outside it, on the node's address.
K8S_DB_PORT=${K8S_DB_PORT:-25432}
K8S_REDIS_PORT=${K8S_REDIS_PORT:-26379}
# The registry make k8s-up starts for skaffold (containerd pulls from it over HTTP).
K8S_REGISTRY_PORT=${K8S_REGISTRY_PORT:-25000}
# Pods get POD_CIDR on bridge K8S_BRIDGE; Services SERVICE_CIDR, DNS at DNS_IP.
K8S_POD_CIDR=${K8S_POD_CIDR:-10.244.0.0/24}
K8S_CLUSTER_CIDR=${K8S_CLUSTER_CIDR:-10.244.0.0/16}
K8S_SERVICE_CIDR=${K8S_SERVICE_CIDR:-10.97.0.0/16}
K8S_API_SERVICE_IP=${K8S_API_SERVICE_IP:-10.97.0.1}
K8S_DNS_IP=${K8S_DNS_IP:-10.97.0.10}
K8S_BRIDGE=${K8S_BRIDGE:-co2node0}
# The node's address: the source of the default route (a route lookup sends nothing).
NODE_IP=${NODE_IP:-$(ip -4 route get 1.1.1.1 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "src") print $(i + 1)}')}
NODE_NAME=${NODE_NAME:-$(hostname | tr 'A-Z_' 'a-z-')}
CONTAINERD_ADDRESS=$K8S_RUN/containerd.sock
export KUBECONFIG=$K8S_STATE/pki/admin.kubeconfig CONTAINERD_ADDRESS
export PATH=$K8S_BIN:$PATH

log() { echo "[$(date +%H:%M:%S)] node: $*"; }
