#!/bin/bash
# Generates a CA, serving/client certificates, service-account keys and kubeconfigs under $K8S_DIR
# (the run directory of up.sh: pki/ and *.kubeconfig), fresh for every run; valid for 10 years.
# From the recorded bring-up (../shared/reference/k8s-local/scripts/gen-certs.sh); changed: it
# writes into the run directory itself (not $K8S_DIR/run).
set -euo pipefail
S=${K8S_DIR:?the run directory}
PKI=$S/pki
NODE_IP=${NODE_IP:-10.200.0.1}
NODE=${NODE:-k8s-node}
mkdir -p $PKI; cd $PKI
[ -f ca.key ] || { openssl genrsa -out ca.key 2048 2>/dev/null; openssl req -x509 -new -nodes -key ca.key -subj "/CN=local-k8s-ca" -days 3650 -out ca.crt 2>/dev/null; }
mk() { # name CN O sans
  local n=$1 cn=$2 o=$3 sans=${4:-}
  openssl genrsa -out $n.key 2048 2>/dev/null
  local subj="/CN=$cn"; [ -n "$o" ] && subj="/O=$o/CN=$cn"
  openssl req -new -key $n.key -subj "$subj" -out $n.csr 2>/dev/null
  { echo "basicConstraints=CA:FALSE"; echo "keyUsage=critical,digitalSignature,keyEncipherment";
    if [ -n "$sans" ]; then echo "extendedKeyUsage=serverAuth,clientAuth"; echo "subjectAltName=$sans"; else echo "extendedKeyUsage=clientAuth"; fi; } > $n.ext
  openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -extfile $n.ext -out $n.crt 2>/dev/null
}
mk apiserver kube-apiserver "" "IP:127.0.0.1,IP:$NODE_IP,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
mk apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
mk admin admin system:masters
mk controller-manager system:kube-controller-manager ""
mk scheduler system:kube-scheduler ""
mk kubelet system:node:$NODE system:nodes
mk kube-proxy system:kube-proxy ""
mk kubelet-serving $NODE "" "IP:127.0.0.1,IP:$NODE_IP,DNS:$NODE,DNS:localhost"
openssl genrsa -out sa.key 2048 2>/dev/null; openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
kc() { # name user
  cat > $S/$1.kubeconfig <<K
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    certificate-authority: $PKI/ca.crt
    server: https://$NODE_IP:6443
users:
- name: $1
  user:
    client-certificate: $PKI/$1.crt
    client-key: $PKI/$1.key
contexts:
- name: local
  context: {cluster: local, user: $1}
current-context: local
K
}
for n in admin controller-manager scheduler kubelet kube-proxy; do kc $n; done
echo certs ok
