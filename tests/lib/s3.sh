# An S3 endpoint for the integration tests: s3rver 3.7 (npm, scripts/setup)
# on 127.0.0.1 and a free port, its data in the test's temp dir.  s3rver
# checks the access key id but not the SigV4 signature (DESIGN.md), so these
# tests prove the protocol flow, not the signing.  Sourced after common.sh,
# whose bg/at-exit machinery stops every server started here.
#
# s3_start [BUCKET]  start s3rver with BUCKET (default opsctl-test) and
#                    export OPSCTL_S3_ENDPOINT, S3_BUCKET, AWS_REGION and
#                    s3rver's fixed credentials (AWS_ACCESS_KEY_ID and
#                    AWS_SECRET_ACCESS_KEY both S3RVER); sets S3_PORT, S3_DIR
# s3_stop            stop the proxy (if any) and s3rver now
# s3_fault_proxy MODE N   start tests/lib/s3_fault_proxy.py in front of s3rver
#                    and point OPSCTL_S3_ENDPOINT at it.  MODE first: the
#                    first N requests get HTTP 500; every: every Nth does;
#                    none: only log; versioned: GET ?versioning says Enabled
# s3_proxy_stop      stop the proxy, OPSCTL_S3_ENDPOINT back to s3rver
# s3_requests        the requests the proxy saw, one "METHOD PATH STATUS" a line

_S3_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
S3_PID=
S3_PROXY_PID=

_s3_free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

s3_start() {
	local bucket=${1:-opsctl-test} port tries
	command -v s3rver >/dev/null 2>&1 || { echo "# s3_start: s3rver not found (run scripts/setup)" >&2; return 1; }
	declare -F bg >/dev/null || { echo "# s3_start: source tests/lib/common.sh first" >&2; return 1; }
	S3_DIR="$T/s3rver"
	mkdir -p "$S3_DIR"
	# The port is free when chosen, not necessarily when s3rver binds it.
	for tries in 1 2 3 4 5; do
		port=$(_s3_free_port) || return 1
		bg s3rver -d "$S3_DIR" -a 127.0.0.1 -p "$port" --silent --configure-bucket "$bucket"
		S3_PID=$BG_PID
		# Any HTTP answer will do; the bucket exists before s3rver listens.
		if wait_for 15 curl -s -o /dev/null "http://127.0.0.1:$port/"; then
			export OPSCTL_S3_ENDPOINT="http://127.0.0.1:$port" S3_BUCKET="$bucket"
			export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
			unset AWS_SESSION_TOKEN AWS_PROFILE
			S3_PORT=$port
			return 0
		fi
		bg_kill "$S3_PID"
		S3_PID=
	done
	echo "# s3_start: s3rver did not answer; its log:" >&2
	sed 's/^/#   /' "$BG_LOG" >&2
	return 1
}

s3_stop() {
	s3_proxy_stop
	if [ -n "$S3_PID" ]; then
		bg_kill "$S3_PID"
		S3_PID=
	fi
	unset OPSCTL_S3_ENDPOINT
}

s3_fault_proxy() {
	local mode=$1 n=${2:-0} port
	[ -n "${S3_PORT:-}" ] || { echo "# s3_fault_proxy: s3_start first" >&2; return 1; }
	s3_proxy_stop
	port=$(_s3_free_port) || return 1
	S3_PROXY_LOG="$T/s3proxy.requests"
	: >"$S3_PROXY_LOG"
	bg python3 "$_S3_LIB_DIR/s3_fault_proxy.py" "$port" "$S3_PORT" "$mode" "$n" "$S3_PROXY_LOG"
	S3_PROXY_PID=$BG_PID
	if ! wait_for 10 curl -sf -o /dev/null "http://127.0.0.1:$port/__ready"; then
		echo "# s3_fault_proxy: the proxy did not answer; its log:" >&2
		sed 's/^/#   /' "$BG_LOG" >&2
		return 1
	fi
	export OPSCTL_S3_ENDPOINT="http://127.0.0.1:$port"
}

s3_proxy_stop() {
	[ -n "$S3_PROXY_PID" ] || return 0
	bg_kill "$S3_PROXY_PID"
	S3_PROXY_PID=
	export OPSCTL_S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
}

s3_requests() { cat "$S3_PROXY_LOG"; }
