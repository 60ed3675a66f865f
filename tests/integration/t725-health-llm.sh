#!/usr/bin/env bash
# t725: `opsctl health -c llm` against a scripted LLM endpoint on loopback
# (tests/lib/llm_peer.py): an OpenAI-compatible model list with its bearer
# key (from LLM_API_KEY, OPENAI_API_KEY or a 0600 file; a 0644 file
# refused), 500, 401, flaky (some requests failing), slow, stalled, an answer
# that is not a model list, the configured model missing, and an Ollama-style
# endpoint (no key, ":latest" tolerated).  The key is never in any output,
# journal, state or textfile.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/health.sh"

tool=$(missing_tool python3 curl) && bail_out "$tool is needed for the peer"
unset LLM_API_KEY OPENAI_API_KEY

KEY="sk-t725-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
LLM_PEER_KEY=$KEY bg python3 "$ROOT/tests/lib/llm_peer.py" "$T/ports" plain
wait_for 10 test -s "$T/ports" || { sed 's/^/#   /' "$BG_LOG"; bail_out "the LLM peer starts"; }
L="http://127.0.0.1:$(awk '$1 == "plain" { print $2 }' "$T/ports")"
PLOG="$T/ports.log"
if [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" "$L/ok/v1/models")" = 200 ] &&
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$L/ok/v1/models")" = 401 ]; then
	ok "the peer lists its models for the key and refuses without it (curl)"
else bail_out "the peer lists its models for the key and refuses without it"; fi

# conf KEY=VALUE...: [health] with a short check timeout and 3 samples, and those keys.
conf() {
	{
		echo "[health]"
		echo "check_timeout = 2s"
		echo "llm_samples = 3"
		for kv in "$@"; do echo "$kv"; done
	} >"$T/c.conf"
}
hc() { run "$OPSCTL" --config "$T/c.conf" health -c llm "$@"; }
# requests MODE AUTH: how many requests for MODE the peer saw since the mark, with that Authorization
peer_mark() { PMARK=$(wc -l <"$PLOG" 2>/dev/null || echo 0); }
requests() { tail -n +"$((PMARK + 1))" "$PLOG" | grep -c "^GET /$1/.* $2\$"; }

# ---- the key from LLM_API_KEY ----
conf "llm_url = $L/ok/v1" "llm_model = gpt-4o-mini"
peer_mark
LLM_API_KEY=$KEY hc
expect_health 0 OK "the model list with the key from LLM_API_KEY, the model listed: OK" "llm"
if [ "$(requests ok bearer-ok)" = 3 ]; then ok "... three requests (llm_samples), each with the bearer key"; else
	not_ok "... three requests with the bearer key (the peer saw: $(tail -n +"$((PMARK + 1))" "$PLOG" | tr '\n' '|'))"; fi
expect_perf "'llm_time'=[0-9.]+s;2;10;0" "perfdata 'llm_time'=Ns;2;10;0 (median, llm_warn_ms, llm_critical_ms)"
expect_perf "'llm_error_rate'=0;0;0\.99;0;1" "perfdata 'llm_error_rate'=0;0;0.99;0;1"
prom="$OPSCTL_STATE_DIR/opsctl.prom"
expect_file_contains "$prom" "opsctl_health_llm_response_seconds" "the textfile has opsctl_health_llm_response_seconds"
expect_file_contains "$prom" 'opsctl_health_llm_error_ratio{task="health"} 0' "the textfile has opsctl_health_llm_error_ratio 0"
LLM_API_KEY=$KEY hc -o json
expect_json_true 'find(d["components"], "component", "llm")["state"] == "OK"' "JSON: the llm component is OK"
expect_json_true '(lambda c: c["samples"] == 3 and c["failed"] == 0 and c["models"] == 2 and c["api"] == "openai")(find(d["components"], "component", "llm"))' "JSON: samples 3, failed 0, models 2, api openai"
expect_json_true 'find(d["components"], "component", "llm")["url"] == "'"$L"'/ok/v1/models"' "JSON: the url asked"

# ---- the other places the key comes from ----
OPENAI_API_KEY=$KEY hc
expect_health 0 OK "the key from OPENAI_API_KEY: OK"
LLM_API_KEY=$KEY OPENAI_API_KEY=sk-wrong hc
expect_health 0 OK "LLM_API_KEY wins over OPENAI_API_KEY"
printf '%s\n' "$KEY" >"$T/llm.key"
chmod 600 "$T/llm.key"
conf "llm_url = $L/ok/v1/" "llm_key_file = $T/llm.key"
hc
expect_health 0 OK "the key from a 0600 llm_key_file (and a base URL ending in /): OK"
chmod 644 "$T/llm.key"
hc
expect_health 3 UNKNOWN "a key file of mode 0644 is refused: UNKNOWN naming the mode" "0644"
conf "llm_url = $L/ok/v1"
hc
expect_health 3 UNKNOWN "no key anywhere: UNKNOWN naming where it is looked for" "LLM_API_KEY" "OPENAI_API_KEY" "health.llm_key_file"

# ---- failures ----
conf "llm_url = $L/ok/v1"
LLM_API_KEY=sk-t725-wrong hc
expect_health 2 CRITICAL "a refused key is CRITICAL" "HTTP 401: key refused" "3 of 3 requests failed"
conf "llm_url = $L/fail/v1"
LLM_API_KEY=$KEY hc
expect_health 2 CRITICAL "HTTP 500 on every request is CRITICAL naming it" "HTTP 500"
expect_perf "'llm_error_rate'=1;0;0\.99;0;1" "perfdata 'llm_error_rate'=1"
conf "llm_url = $L/flaky/v1"
LLM_API_KEY=$KEY hc
expect_health 1 WARNING "one request of three failing is WARNING" "1 of 3 requests failed" "HTTP 500"
expect_perf "'llm_error_rate'=0\.333333;0;0\.99;0;1" "perfdata 'llm_error_rate'=0.333333"
expect_file_contains "$prom" 'opsctl_health_llm_error_ratio{task="health"} 0.33' "the textfile has the error ratio 0.33"
conf "llm_url = $L/garbage/v1"
LLM_API_KEY=$KEY hc
expect_health 2 CRITICAL "a 200 answer that is not a model list is CRITICAL" "not a data[] model list"
conf "llm_url = $L/ok/v1" "llm_model = gpt-5-t725"
LLM_API_KEY=$KEY hc
expect_health 2 CRITICAL "the configured model not listed is CRITICAL" "model 'gpt-5-t725' is not among the 2"

# ---- slow, stalled ----
conf "llm_url = $L/slow-300/v1" "llm_warn_ms = 150" "llm_critical_ms = 2000"
LLM_API_KEY=$KEY hc
expect_health 1 WARNING "a median answer slower than llm_warn_ms is WARNING" "median answer" "warning above 0.15 s"
conf "llm_url = $L/slow-300/v1" "llm_warn_ms = 100" "llm_critical_ms = 200"
LLM_API_KEY=$KEY hc
expect_health 2 CRITICAL "... slower than llm_critical_ms is CRITICAL" "critical above 0.20 s"
conf "llm_url = $L/stall/v1"
peer_mark
t0=$EPOCHREALTIME
LLM_API_KEY=$KEY hc
t1=$EPOCHREALTIME
expect_health 2 CRITICAL "a stalled endpoint is CRITICAL" "timed out after 2.0 s"
elapsed=$(python3 -c "print(round($t1 - $t0, 2))")
if python3 -c "import sys; sys.exit(0 if 1.8 <= $t1 - $t0 < 4.5 else 1)"; then
	ok "... within one check timeout, not one per sample (2 s; took $elapsed s, bound 4.5 s)"
else not_ok "... within one check timeout, not one per sample (2 s; took $elapsed s, bound 4.5 s)"; fi
if [ "$(requests stall bearer-ok)" = 1 ]; then ok "... after one request: no sample is sent once the budget is spent"; else
	not_ok "... after one request (the peer saw $(requests stall bearer-ok))"; fi

# ---- Ollama ----
conf "llm_url = $L/ok" "llm_api = ollama" "llm_model = llama3"
peer_mark
hc -o json
expect_json_true '(lambda c: c["state"] == "OK" and c["api"] == "ollama" and c["models"] == 2)(find(d["components"], "component", "llm"))' "Ollama: /api/tags without a key, llama3 matches llama3:latest: OK"
if [ "$(requests ok none)" = 3 ] && [ "$(tail -n +"$((PMARK + 1))" "$PLOG" | grep -c '/ok/api/tags none$')" = 3 ]; then
	ok "... three GET /api/tags with no Authorization header"
else not_ok "... three GET /api/tags with no Authorization header ($(tail -n +"$((PMARK + 1))" "$PLOG" | tr '\n' '|'))"; fi
conf "llm_url = $L/ok" "llm_api = ollama" "llm_model = mistral"
hc
expect_health 2 CRITICAL "Ollama: a model not pulled is CRITICAL" "model 'mistral' is not among the 2"

# ---- the key is never shown ----
conf "llm_url = $L/fail/v1"
peer_mark
LLM_API_KEY=$KEY run "$OPSCTL" --config "$T/c.conf" -v health -c llm
cp "$OUT" "$T/verbose.out"
cp "$ERR" "$T/verbose.err"
if [ "$(requests fail bearer-ok)" = 3 ] &&
	! grep -rqF -- "$KEY" "$T/verbose.out" "$T/verbose.err" "$OPSCTL_STATE_DIR" &&
	! grep -rqF -- "sk-t725-wrong" "$OPSCTL_STATE_DIR"; then
	ok "the key was sent three times, and is in no output (-v included), journal, state file or textfile"
else
	not_ok "the key is in no output (-v included), journal, state file or textfile"
	grep -rlF -- "$KEY" "$T/verbose.out" "$T/verbose.err" "$OPSCTL_STATE_DIR" | sed 's/^/#   /'
fi
if [ -s "$OPSCTL_STATE_DIR/journal.jsonl" ]; then ok "... and the journal was written (there was something to search)"; else
	not_ok "... and the journal was written"; fi

done_testing
