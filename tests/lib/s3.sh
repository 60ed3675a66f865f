# An S3 endpoint for the integration tests: s3rver (npm, scripts/setup) on
# 127.0.0.1 and a free port, with its data in the test's temp dir.
#
# s3_start [BUCKET]  start s3rver with BUCKET (default opsctl-test) and
#                    export OPSCTL_S3_ENDPOINT, S3_BUCKET and s3rver's fixed
#                    credentials (S3RVER/S3RVER, which it checks signatures
#                    against); stopped at exit
# s3_fault_proxy MODE N   start tests/lib/s3_fault_proxy.py in front of it
#                    (MODE first: the first N requests get HTTP 500; every:
#                    every Nth does) and point OPSCTL_S3_ENDPOINT at it
# s3_requests        the requests the proxy saw, one "METHOD PATH STATUS" per line

_S3_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

s3_start() {
	local bucket=${1:-opsctl-test} port tries
	command -v s3rver >/dev/null 2>&1 || { echo "# s3_start: s3rver not found (run scripts/setup)" >&2; return 1; }
	S3_DIR="$T/s3rver"
	mkdir -p "$S3_DIR"
	for tries in 1 2 3 4 5; do
		port=$(pg_free_port 2>/dev/null || python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
		bg s3rver -d "$S3_DIR" -a 127.0.0.1 -p "$port" --silent --configure-bucket "$bucket"
		S3_PID=$BG_PID
		if wait_for 15 curl -s -o /dev/null "http://127.0.0.1:$port/"; then
			export OPSCTL_S3_ENDPOINT="http://127.0.0.1:$port" S3_BUCKET="$bucket"
			export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
			S3_PORT=$port
			return 0
		fi
		bg_kill "$S3_PID"
	done
	echo "# s3_start: s3rver did not answer; its log:" >&2
	sed 's/^/#   /' "$BG_LOG" >&2
	return 1
}

s3_fault_proxy() {
	local mode=$1 n=$2 port
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	S3_PROXY_LOG="$T/s3proxy.requests"
	: >"$S3_PROXY_LOG"
	bg python3 "$_S3_LIB_DIR/s3_fault_proxy.py" "$port" "$S3_PORT" "$mode" "$n" "$S3_PROXY_LOG"
	S3_PROXY_PID=$BG_PID
	wait_for 10 curl -sf -o /dev/null "http://127.0.0.1:$port/__ready" || return 1
	export OPSCTL_S3_ENDPOINT="http://127.0.0.1:$port"
}

s3_proxy_stop() {
	bg_kill "$S3_PROXY_PID"
	export OPSCTL_S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
}

s3_requests() { cat "$S3_PROXY_LOG"; }
