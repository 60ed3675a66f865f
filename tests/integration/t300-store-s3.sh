#!/usr/bin/env bash
# t300: the S3 storage driver against s3rver on loopback (which checks the
# SigV4 signatures): the storage conformance suite, multipart uploads, 500
# answers retried, an unreachable endpoint, missing credentials.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/s3.sh"
s3_start || bail_out "s3rver starts"

UNIT="$ROOT/build/unit/test_store"
[ -x "$UNIT" ] || bail_out "build/unit/test_store (make unit)"
if OPSCTL_TEST_S3_ENDPOINT=$OPSCTL_S3_ENDPOINT OPSCTL_TEST_S3_BUCKET=$S3_BUCKET "$UNIT" >"$T/unit.out" 2>&1; then
	ok "the storage conformance suite passes against S3 ($(grep -c '^ok' "$T/unit.out") checks)"
else
	not_ok "the storage conformance suite passes against S3"
	sed 's/^/#   /' "$T/unit.out"
fi
if grep -q "# S3 driver at" "$T/unit.out" && grep -q "^ok large_objects_round_trip" "$T/unit.out"; then ok "the S3 run included the multipart round trip"; else not_ok "the S3 run included the multipart round trip"; fi

# An unknown access key is refused (s3rver checks the key id, not the
# signature itself: DESIGN.md).
AWS_ACCESS_KEY_ID=AKIAWRONG AWS_SECRET_ACCESS_KEY=hunter2secret run "$OPSCTL" backup list --s3
expect_fail 77 "an unknown access key: S3 answers 403, exit 77" "access denied"
if grep -q "hunter2secret" "$ERR" "$OUT"; then not_ok "the secret is not echoed"; else ok "the secret is not echoed"; fi

run env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$OPSCTL" backup list --s3
expect_fail 78 "no credentials: exit 78" "no S3 credentials"
mkdir -p "$HOME/.aws"
printf '[default]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n' >"$HOME/.aws/credentials"
run env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$OPSCTL" backup list --s3
expect_rc 0 "credentials from ~/.aws/credentials"
run env -u S3_BUCKET "$OPSCTL" backup list --s3
expect_fail 78 "no bucket: exit 78" "no S3 bucket"

# 500 then 200: retried, and the backup lands.
printf 'hello' >"$T/f.txt"
cat >"$T/opsctl.conf" <<CONF
[backup]
databases = sqlite:$T/kh.db
include_files = $T/f.txt
[s3]
retries = 4
CONF
export OPSCTL_CONFIG="$T/opsctl.conf"
sqlite3 "$T/kh.db" "create table content (id integer primary key, content text); insert into content (content) values ('a'), ('b');"
s3_fault_proxy first 2
run "$OPSCTL" --output json backup --type full --s3
expect_rc 0 "S3 answering 500 twice, then 200: the backup succeeds"
if [ "$(head -n 2 "$S3_PROXY_LOG" | awk '{print $3}' | tr '\n' ' ')" = "500 500 " ] && awk '$3 == 200' "$S3_PROXY_LOG" | grep -q .; then ok "the proxy saw two 500s and then successes"; else not_ok "the proxy saw two 500s and then successes"; sed 's/^/#   /' "$S3_PROXY_LOG"; fi
run "$OPSCTL" --output json backup verify --s3 --checksums-only
expect_rc 0 "the backup written through the failures verifies"
s3_proxy_stop

# Always 500: the retries run out with a clear error.
s3_fault_proxy every 1
run "$OPSCTL" -q backup --type full --s3
expect_fail 1 "S3 answering 500 every time: exit 1 naming HTTP 500" "HTTP 500"
n=$(wc -l <"$S3_PROXY_LOG")
if [ "$n" -ge 5 ] && [ "$n" -le 10 ]; then ok "retried s3.retries times ($n requests), then gave up"; else not_ok "retried s3.retries times (saw $n requests)"; fi
s3_proxy_stop

# Unreachable: a closed port.
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start=$(date +%s)
OPSCTL_S3_ENDPOINT="http://127.0.0.1:$closed" run "$OPSCTL" backup list --s3
expect_fail 69 "S3 unreachable: exit 69" "unreachable"
if [ $(($(date +%s) - start)) -lt 30 ]; then ok "gives up within 30 s"; else not_ok "gives up within 30 s"; fi

OPSCTL_S3_ENDPOINT="ftp://127.0.0.1:1" run "$OPSCTL" backup list --s3
expect_fail 78 "a non-HTTP endpoint: exit 78" "not an http"

done_testing
