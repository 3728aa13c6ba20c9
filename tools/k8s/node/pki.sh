#!/usr/bin/env bash
# Certificates and credentials of the test node, in $K8S_STATE/pki: a CA,
# the apiserver's serving certificate, its client certificate towards the
# kubelet (logs, exec), the service-account key pair, a random static token
# per component and their kubeconfigs.
set -euo pipefail
# shellcheck source=env.sh
source "$(dirname "$0")/env.sh"
pki=$K8S_STATE/pki
mkdir -p "$pki"
cd "$pki"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=co2-test-node-ca 2> /dev/null
openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr -subj /CN=kube-apiserver 2> /dev/null
printf 'subjectAltName=IP:127.0.0.1,IP:%s,IP:%s,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n' \
	"$K8S_API_SERVICE_IP" "$NODE_IP" > san.ext
openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out apiserver.crt -days 2 -extfile san.ext 2> /dev/null
openssl req -newkey rsa:2048 -nodes -keyout kubelet-client.key -out kubelet-client.csr \
	-subj "/CN=kube-apiserver-kubelet-client/O=system:masters" 2> /dev/null
openssl x509 -req -in kubelet-client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out kubelet-client.crt -days 2 2> /dev/null
openssl genrsa -out sa.key 2048 2> /dev/null
openssl rsa -in sa.key -pubout -out sa.pub 2> /dev/null
: > tokens.csv
# component user groups
while read -r component user groups; do
	token=$(openssl rand -hex 16)
	echo "$token,$user,$component,\"${groups//-/}\"" >> tokens.csv
	cat > "$component.kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters: [{name: node, cluster: {server: "https://127.0.0.1:$K8S_API_PORT", certificate-authority: "$pki/ca.crt"}}]
users: [{name: $component, user: {token: "$token"}}]
contexts: [{name: node, context: {cluster: node, user: $component}}]
current-context: node
KUBECONFIG
done <<COMPONENTS
admin admin system:masters
kubelet system:node:$NODE_NAME system:nodes
controller-manager system:kube-controller-manager -
scheduler system:kube-scheduler -
proxy system:kube-proxy -
COMPONENTS
chmod 600 ./*.key tokens.csv ./*.kubeconfig
