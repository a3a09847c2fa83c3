#!/usr/bin/env bash
# A throwaway certificate authority for a devnet or a test, with the openssl command line.
#
#   scripts/pki.sh DIR                          the CA: DIR/ca.pem, DIR/ca.key (created when missing)
#   scripts/pki.sh DIR server NAME [IP|DNS...]  DIR/NAME.pem + NAME.key: a server certificate for 127.0.0.1,
#                                               ::1 and localhost, plus the IP addresses / DNS names given
#   scripts/pki.sh DIR client NAME              DIR/NAME.pem + NAME.key: a client certificate (mutual TLS)
#   scripts/pki.sh DIR peer NAME [IP|DNS...]    a certificate that is both (a NATS cluster's routes: each node
#                                               connects to the others and accepts them)
#
# EC P-256 keys, SHA-256, valid 30 days; keys are created mode 0600 (umask 077), certificates 0644. An
# existing file is kept (the command is idempotent): remove DIR to start over. A production deployment
# uses its own CA; docs/operators.md gives the same recipe for it. Exit 1 (with openssl's message) on failure.
set -euo pipefail

usage() { echo "usage: scripts/pki.sh DIR [server NAME [IP|DNS...] | client NAME]" >&2; exit 2; }
[ $# -ge 1 ] || usage
dir=$1; shift
mkdir -p "$dir"
days=30

newkey() { (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null); }

if [ ! -s "$dir/ca.pem" ]; then
  newkey "$dir/ca.key"
  openssl req -x509 -new -key "$dir/ca.key" -sha256 -days "$days" -subj "/CN=Nox devnet CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$dir/ca.pem" 2>/dev/null
fi
[ $# -eq 0 ] && exit 0
[ $# -ge 2 ] || usage
kind=$1 name=$2; shift 2
case "$name" in *[!A-Za-z0-9_.-]*|"") echo "scripts/pki.sh: bad name '$name'" >&2; exit 2 ;; esac
[ -s "$dir/$name.pem" ] && [ -s "$dir/$name.key" ] && exit 0
case "$kind" in
  server|peer)
    san="IP:127.0.0.1,IP:::1,DNS:localhost"
    for extra in "$@"; do
      if [[ "$extra" =~ ^[0-9.]+$ || "$extra" == *:* ]]; then san="$san,IP:$extra"; else san="$san,DNS:$extra"; fi
    done
    eku=serverAuth; [ "$kind" = peer ] && eku=serverAuth,clientAuth
    ext="subjectAltName=$san
extendedKeyUsage=$eku
keyUsage=critical,digitalSignature
basicConstraints=critical,CA:FALSE" ;;
  client)
    [ $# -eq 0 ] || usage
    ext="extendedKeyUsage=clientAuth
keyUsage=critical,digitalSignature
basicConstraints=critical,CA:FALSE" ;;
  *) usage ;;
esac
newkey "$dir/$name.key"
csr=$(mktemp) extfile=$(mktemp)
trap 'rm -f "$csr" "$extfile"' EXIT
printf '%s\n' "$ext" >"$extfile"
openssl req -new -key "$dir/$name.key" -subj "/CN=$name" -out "$csr" 2>/dev/null
openssl x509 -req -in "$csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
  -days "$days" -sha256 -extfile "$extfile" -out "$dir/$name.pem" 2>/dev/null
