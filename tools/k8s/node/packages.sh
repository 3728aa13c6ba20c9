#!/usr/bin/env bash
# Installs what the test node runs that is not built from Go modules:
# Debian's containerd, runc, CNI plugins, iptables and conntrack (for
# kube-proxy), PostgreSQL and Redis (the cluster's stores, outside it), and
# what the scripts use. Does nothing when all are there; needs root.
set -euo pipefail
needed=()
have() { command -v "$1" > /dev/null 2>&1; }
have containerd || needed+=(containerd)
have runc || needed+=(runc)
[ -x /usr/lib/cni/bridge ] || needed+=(containernetworking-plugins)
have iptables || needed+=(iptables)
have conntrack || needed+=(conntrack)
have openssl || needed+=(openssl)
[ -f /etc/ssl/certs/ca-certificates.crt ] || needed+=(ca-certificates)
compgen -G '/usr/lib/postgresql/*/bin/initdb' > /dev/null || needed+=(postgresql)
have redis-server || needed+=(redis-server)
have nsenter || needed+=(util-linux)
have curl || needed+=(curl)
if [ ${#needed[@]} -gt 0 ]; then
	echo "installing ${needed[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${needed[@]}" > /dev/null
fi
