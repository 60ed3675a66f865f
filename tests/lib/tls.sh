# Test certificates, made by the tests themselves with openssl (sourced after
# common.sh).  One CA a test, ECDSA P-256 keys, an `openssl ca` database so
# that any validity window can be signed (an expired certificate, one that
# expires in three days).
#
#   tls_ca DIR CN                 DIR/ca.key, DIR/ca.pem (365 days) and the CA's
#                                 database; extension sections: loopback
#                                 (localhost, 127.0.0.1), otherhost
#                                 (other.example), client (clientAuth)
#   tls_sign DIR NAME CN EXT [START END]
#                                 DIR/NAME.key and DIR/NAME.pem signed by it (90
#                                 days, or START to END as YYYYMMDDHHMMSSZ)
#   tls_peer_set DIR CN           a CA and every certificate
#                                 tests/lib/api_peer.py serves: good, expired,
#                                 otherhost, expiring (3 days left), selfsigned
# Each returns non-zero when openssl fails; its output goes to stderr.

tls_ca() {
	local dir=$1 cn=$2
	mkdir -p "$dir/db" && : >"$dir/db/index" && echo 01 >"$dir/db/serial" || return 1
	cat >"$dir/ca.cnf" <<'CNF'
[ca]
default_ca = test
[test]
database = db/index
serial = db/serial
new_certs_dir = db
default_md = sha256
policy = any
copy_extensions = none
unique_subject = no
[any]
commonName = supplied
[loopback]
subjectAltName = DNS:localhost,IP:127.0.0.1
[otherhost]
subjectAltName = DNS:other.example
[client]
extendedKeyUsage = clientAuth
CNF
	(cd "$dir" && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout ca.key -out ca.pem -days 365 -subj "/CN=$cn") >&2
}

tls_sign() {
	local dir=$1 name=$2 cn=$3 ext=$4 dates=(-days 90)
	[ $# -eq 6 ] && dates=(-startdate "$5" -enddate "$6")
	(cd "$dir" &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$name.key" -out "$name.csr" -subj "/CN=$cn" &&
		openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in "$name.csr" \
			-out "$name.pem" -extensions "$ext" -notext "${dates[@]}") >&2
}

tls_peer_set() {
	local dir=$1
	tls_ca "$dir" "$2" &&
		tls_sign "$dir" good localhost loopback &&
		tls_sign "$dir" expired localhost loopback 20200101000000Z 20200102000000Z &&
		tls_sign "$dir" otherhost other.example otherhost &&
		tls_sign "$dir" expiring localhost loopback "$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)" \
			"$(date -u -d '+3 days' +%Y%m%d%H%M%SZ)" &&
		(cd "$dir" && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout selfsigned.key -out selfsigned.pem -days 30 -subj /CN=localhost \
			-addext subjectAltName=DNS:localhost,IP:127.0.0.1) >&2 &&
		chmod 600 "$dir"/*.key
}
