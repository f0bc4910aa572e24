#!/bin/sh
# serve.sh - `r1chat serve` on a generated model, driven by r1chat --remote
# and by a small libcurl client (tests/httpc): the same answer as the local
# chat at temperature 0, the reasoning in reasoning_content or inline,
# --verbose, /health, /v1/models, answers not streamed, the routes with
# and without /v1, the model's id (--alias), the access log (--quiet),
# --cors, --api-key-file, the limits (413 past --max-body, 503 past
# --queue, --max-tokens, bad requests, n > 1), then 50 concurrent streams
# all answered or refused, and SIGTERM during a stream.  The servers bind
# port 0 and say which port they got; loopback only, but for a moment
# 0.0.0.0 to see the warning it gives.

: "${R1CHAT:?R1CHAT must name the r1chat binary}"
: "${MKMODEL:?MKMODEL must name tests/mkmodel}"
HTTPC="$(dirname "$MKMODEL")/httpc"
vocab="${R1CHAT_TESTDATA:-${top_srcdir:-.}/tests/data}/vocab/deepseek-r1-qwen.gguf"
if [ ! -f "$vocab" ]; then
	echo "Bail out! no test data ($vocab)"
	exit 99
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/r1chat-serve.XXXXXX") || exit 1
pids=
cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
LC_ALL=C.UTF-8
export LC_ALL
unset OPENAI_API_KEY

. "${top_srcdir:-.}/tests/tap.sh"

model="$tmp/m.gguf"
mkqwen2 "$model"

# serve NAME [OPTION...]: starts a server on $serve_model (else $model)
# with the options given; sets $url to its base.
serve() {
	name=$1
	shift
	"$R1CHAT" serve "${serve_model:-$model}" --port 0 --template deepseek-r1 --temp 0 \
	    --think-budget 8 -n 40 "$@" 2>"$tmp/$name.err" &
	pids="$pids $!"
	port=$(serve_port "$tmp/$name.err")
	url="http://127.0.0.1:$port/v1"
}
# Waits until FILE has a line matching the grep pattern (10 s at most).
await() {
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}
post() {
	printf '%s' "$2" >"$tmp/body.json"
	"$HTTPC" -d "$tmp/body.json" "$1"
}
user='"messages":[{"role":"user","content":"hello there"}]'

serve a --max-tokens 64 --max-body 4096
[ -n "$port" ]
ok $? "serve says the port it listens on"
a=$url
spid=${pids##* }
[ "$(cat "/proc/$spid/comm" 2>/dev/null)" = r1chat ]
ok $? "the server's process is called r1chat (ps, pgrep -x r1chat)"

# --- the chat through the server ----------------------------------------------

"$R1CHAT" --template deepseek-r1 --temp 0 -n 40 --think-budget 8 "$model" \
    "hello there" >"$tmp/local.out" 2>"$tmp/local.err"
"$R1CHAT" --remote "$a" --temp 0 "hello there" >"$tmp/r.out" 2>"$tmp/r.err"
ok $? "--remote: exit status 0"
[ -s "$tmp/r.out" ] && cmp -s "$tmp/local.out" "$tmp/r.out"
ok $? "--remote: the same answer as the local chat at temperature 0"
cmp -s "$tmp/local.err" "$tmp/r.err"
ok $? "--remote: the same reasoning on stderr, from reasoning_content"
"$R1CHAT" --remote "${a%/v1}" --temp 0 "hello there" >"$tmp/r2.out" \
    2>/dev/null
cmp -s "$tmp/local.out" "$tmp/r2.out"
ok $? "--remote: a URL without a path gets /v1"
# r1chat's own parameters go to the server too (params.c's request names).
"$R1CHAT" --template deepseek-r1 --temp 0 -n 40 --think-budget 2 "$model" \
    "hello there" >"$tmp/b.out" 2>"$tmp/b.err"
"$R1CHAT" --remote "$a" --temp 0 --think-budget 2 "hello there" \
    >"$tmp/rb.out" 2>"$tmp/rb.err"
! cmp -s "$tmp/local.err" "$tmp/b.err" && cmp -s "$tmp/b.err" "$tmp/rb.err" &&
    cmp -s "$tmp/b.out" "$tmp/rb.out"
ok $? "--remote --think-budget: the server's reasoning stops where the local one does"
"$R1CHAT" --template deepseek-r1 --temp 0 -n 40 --nothink "$model" \
    "hello there" >"$tmp/n.out" 2>"$tmp/n.err"
"$R1CHAT" --remote "$a" --temp 0 --nothink "hello there" \
    >"$tmp/rn.out" 2>"$tmp/rn.err"
[ -s "$tmp/rn.out" ] && cmp -s "$tmp/n.out" "$tmp/rn.out" &&
    cmp -s "$tmp/n.err" "$tmp/rn.err"
ok $? "--remote --nothink: the same answer as the local --nothink"
"$R1CHAT" --template deepseek-r1 --temp 1 --seed 1 -n 40 --think-budget 8 \
    "$model" "hello there" >"$tmp/s.out" 2>"$tmp/s.err"
for k in 1 2; do
	"$R1CHAT" --remote "$a" --temp 1 --seed 1 -n 40 --think-budget 8 \
	    "hello there" >"$tmp/rs$k.out" 2>"$tmp/rs$k.err"
done
cat "$tmp/s.err" "$tmp/s.out" >"$tmp/s.all"
cat "$tmp/rs1.err" "$tmp/rs1.out" >"$tmp/rs1.all"
cat "$tmp/rs2.err" "$tmp/rs2.out" >"$tmp/rs2.all"
[ -s "$tmp/s.all" ] && cmp -s "$tmp/s.all" "$tmp/rs1.all" &&
    cmp -s "$tmp/s.all" "$tmp/rs2.all"
ok $? "--remote --seed 1 --temp 1, twice: the local run's words both times"
post "$a/chat/completions" "{$user,\"seed\":3,\"max_tokens\":5,\
\"max_completion_tokens\":6,\"top_k\":5,\"top_p\":0.9,\"min_p\":0.1,\
\"temperature\":0.5,\"repetition_penalty\":1.1,\"repeat_last_n\":16,\
\"think\":false,\"think_budget\":2}" >"$tmp/all" 2>&1
[ "$(head -n 1 "$tmp/all")" = "HTTP 200" ]
ok $? "a request with every parameter that has a request name: 200"
"$R1CHAT" --remote "$a" --temp 0 --verbose "hello there" \
    >"$tmp/v.out" 2>"$tmp/v.err"
grep -q '^eval count: *40 token(s)$' "$tmp/v.err" &&
    grep -q '^prompt eval count: *[0-9]' "$tmp/v.err" &&
    grep -q "^(counts from the server's usage; durations measured by r1chat)$" \
    "$tmp/v.err"
ok $? "--verbose: the server's counts, and says so"
"$R1CHAT" --remote "$a" -m "no such model" hi >/dev/null 2>"$tmp/nm.err"
[ $? -eq 1 ] && grep -q 'the server has no model no such model' "$tmp/nm.err"
ok $? "--remote -m NAME: a model the server lacks is one error line"

# --- the endpoints ------------------------------------------------------------

"$HTTPC" "${a%/v1}/health" >"$tmp/h" 2>&1
[ "$(cat "$tmp/h")" = "$(printf 'HTTP 200\n{"status":"ok"}')" ]
ok $? "/health"
"$HTTPC" -j data.0.id "$a/models" >"$tmp/m" 2>&1
[ "$(sed -n 2p "$tmp/m")" = m ]
ok $? "/v1/models names the model by its file's name without .gguf"
printf '{%s,"temperature":0}' "$user" >"$tmp/body.json"
"$HTTPC" -d "$tmp/body.json" -j choices.0.message.content \
    "$a/chat/completions" | sed 1d >"$tmp/ns.out"
cmp -s "$tmp/local.out" "$tmp/ns.out"
ok $? "not streamed: the same answer in message.content"
"$HTTPC" -d "$tmp/body.json" -j choices.0.message.reasoning_content \
    "$a/chat/completions" >"$tmp/ns.reason"
sed 1d "$tmp/local.err" | sed '/^\.\.\.done thinking\.$/,$d' >"$tmp/lr"
sed 1d "$tmp/ns.reason" | cmp -s - "$tmp/lr"
ok $? "not streamed: the reasoning in message.reasoning_content"
"$HTTPC" -d "$tmp/body.json" -j usage "$a/chat/completions" >"$tmp/u"
grep -q '"completion_tokens":40' "$tmp/u" &&
    grep -q '"prompt_tokens":9,' "$tmp/u"
ok $? "not streamed: usage counts the whole prompt and the answer"
"$HTTPC" -d "$tmp/body.json" -j model "$a/chat/completions" >"$tmp/mf"
[ "$(sed -n 2p "$tmp/mf")" = m ]
ok $? "a response's model is the id /v1/models lists"

# llama-server's routes: without /v1 too, and one model by its id.
"$HTTPC" -j data.0.id "${a%/v1}/models" >"$tmp/m" 2>&1
[ "$(cat "$tmp/m")" = "$(printf 'HTTP 200\nm')" ]
ok $? "/models without /v1"
post "${a%/v1}/chat/completions" "{$user,\"max_tokens\":2}" >"$tmp/nov1" 2>&1
[ "$(head -n 1 "$tmp/nov1")" = "HTTP 200" ] &&
    grep -q '"object":"chat.completion"' "$tmp/nov1"
ok $? "/chat/completions without /v1"
"$HTTPC" -j object "$a/models/m" >"$tmp/mid" 2>&1 &&
    "$HTTPC" -j id "$a/models/m" >>"$tmp/mid" 2>&1
[ "$(cat "$tmp/mid")" = "$(printf 'HTTP 200\nmodel\nHTTP 200\nm')" ]
ok $? "GET /v1/models/ID: the model object"
"$HTTPC" "$a/models/gpt-4o" >"$tmp/mnf" 2>&1
[ "$(head -n 1 "$tmp/mnf")" = "HTTP 404" ] &&
    grep -q '"error":{"message":"the model gpt-4o does not exist"' "$tmp/mnf"
ok $? "GET /v1/models/ID of another model: 404, an OpenAI error"

# --- limits ---------------------------------------------------------------------

printf '{%s,"max_tokens":1000,"temperature":0}' "$user" >"$tmp/body.json"
"$HTTPC" -d "$tmp/body.json" -j usage.completion_tokens \
    "$a/chat/completions" >"$tmp/cap"
[ "$(sed -n 2p "$tmp/cap")" = 64 ]
ok $? "max_tokens past --max-tokens is capped (64 tokens)"
"$HTTPC" -d "$tmp/body.json" -j choices.0.finish_reason \
    "$a/chat/completions" >"$tmp/fin"
[ "$(sed -n 2p "$tmp/fin")" = length ]
ok $? "a capped answer ends with finish_reason length"
awk 'BEGIN { printf "{\"messages\":[{\"role\":\"user\",\"content\":\"";
    for (i = 0; i < 5000; i++) printf "x"; printf "\"}]}" }' >"$tmp/big.json"
"$HTTPC" -d "$tmp/big.json" "$a/chat/completions" >"$tmp/big" 2>&1
[ "$(head -n 1 "$tmp/big")" = "HTTP 413" ] &&
    grep -q 'larger than 4096 bytes' "$tmp/big"
ok $? "a body past --max-body: 413 with an error message"
post "$a/chat/completions" '{bad' >"$tmp/bad" 2>&1
[ "$(head -n 1 "$tmp/bad")" = "HTTP 400" ] && grep -q 'not JSON' "$tmp/bad"
ok $? "a body that is not JSON: 400"
post "$a/chat/completions" \
    '{"messages":[{"role":"assistant","content":"hi"}]}' >"$tmp/bad" 2>&1
[ "$(head -n 1 "$tmp/bad")" = "HTTP 400" ] &&
    grep -q "the last message must be the user's" "$tmp/bad"
ok $? "no user message last: 400"
# A role not understood is quoted on one line, 32 bytes at most.
post "$a/chat/completions" '{"messages":[{"role":"x\ny'"$(printf '%040d' 0)"'","content":"hi"}]}' \
    >"$tmp/bad" 2>&1
[ "$(head -n 1 "$tmp/bad")" = "HTTP 400" ] &&
    grep -qF "x?y$(printf '%029d' 0)..." "$tmp/bad"
ok $? "a role not understood: 400, quoted on one line and cut"
post "$a/chat/completions" "{$user,\"temperature\":-1}" >"$tmp/bad" 2>&1
[ "$(head -n 1 "$tmp/bad")" = "HTTP 400" ] && grep -q 'temperature' "$tmp/bad"
ok $? "a parameter out of range: 400"
post "$a/chat/completions" "{$user,\"n\":2}" >"$tmp/bad" 2>&1
[ "$(head -n 1 "$tmp/bad")" = "HTTP 400" ] &&
    grep -q '"error":{"message":"n must be 1' "$tmp/bad"
ok $? "n: 2 refused with 400, naming n"
post "$a/chat/completions" "{$user,\"n\":1,\"max_tokens\":2}" >"$tmp/n1" 2>&1
[ "$(head -n 1 "$tmp/n1")" = "HTTP 200" ]
ok $? "n: 1 is fine"
"$HTTPC" "$a/nowhere" >"$tmp/nf" 2>&1
[ "$(head -n 1 "$tmp/nf")" = "HTTP 404" ]
ok $? "an unknown path: 404"
"$HTTPC" "$a/chat/completions" >"$tmp/nf" 2>&1
[ "$(head -n 1 "$tmp/nf")" = "HTTP 405" ]
ok $? "GET on /v1/chat/completions: 405"
"$HTTPC" -i "$a/chat/completions" >"$tmp/nf" 2>&1 &&
    "$HTTPC" -i -X DELETE "$a/models" >>"$tmp/nf" 2>&1
grep -q '^Allow: POST, OPTIONS$' "$tmp/nf" &&
    grep -q '^Allow: GET, OPTIONS$' "$tmp/nf"
ok $? "a 405 says the methods allowed (Allow)"
"$HTTPC" -i "$a/models" >"$tmp/nocors" 2>&1 &&
    "$HTTPC" -i -X OPTIONS -H "Origin: http://app.example" \
    "$a/chat/completions" >"$tmp/nocors2" 2>&1
[ "$(head -n 1 "$tmp/nocors")" = "HTTP 200" ] &&
    [ "$(head -n 1 "$tmp/nocors2")" = "HTTP 204" ] &&
    grep -q '^Allow: POST, OPTIONS$' "$tmp/nocors2" &&
    ! grep -qi '^access-control' "$tmp/nocors" "$tmp/nocors2"
ok $? "without --cors: OPTIONS answered, no CORS header anywhere"

# The access log: a line a request, none with --quiet (below).
grep -q '^r1chat serve: GET /health 200 - [0-9]*ms$' "$tmp/a.err" &&
    grep -q '^r1chat serve: GET /v1/nowhere 404 - [0-9]*ms$' "$tmp/a.err" &&
    grep -q '^r1chat serve: POST /v1/chat/completions 200 9+40 [0-9]*ms$' \
    "$tmp/a.err"
ok $? "the access log: method, path, status, tokens, milliseconds"
! grep -q warning "$tmp/a.err"
ok $? "on loopback, no warning"

# A message longer than the context: 400, worded for a server's client
# (the option to raise), not the REPL's /set advice.
serve d -c 64 --quiet
long=$(printf 'word %.0s' $(seq 100))
post "$url/chat/completions" \
    "{\"messages\":[{\"role\":\"user\",\"content\":\"$long\"}]}" \
    >"$tmp/long" 2>&1
[ "$(head -n 1 "$tmp/long")" = "HTTP 400" ] &&
    grep -q 'the message is too long: [0-9]* tokens, the context holds 64 (raise -c/--ctx-size)' \
    "$tmp/long" && ! grep -q '/set' "$tmp/long"
ok $? "a message longer than the context: 400, naming -c, not /set"

# --- --cors, --api-key-file, --alias, --quiet --------------------------------

printf 'sk-test-secret\n' >"$tmp/key"
serve c --cors http://app.example --api-key-file "$tmp/key" --alias r1-test \
    --quiet
c=$url
auth="Authorization: Bearer sk-test-secret"
"$HTTPC" -i "$c/models" >"$tmp/c1" 2>&1
[ "$(head -n 1 "$tmp/c1")" = "HTTP 401" ] &&
    grep -q '^{"error":{"message":' "$tmp/c1" &&
    grep -q '^Access-Control-Allow-Origin: http://app.example$' "$tmp/c1"
ok $? "--api-key-file: no key, 401 with an OpenAI error (and the CORS header)"
"$HTTPC" -H "Authorization: Bearer sk-test-secreT" -d "$tmp/body.json" \
    "$c/chat/completions" >"$tmp/c2" 2>&1
[ "$(head -n 1 "$tmp/c2")" = "HTTP 401" ] && ! grep -q secret "$tmp/c2"
ok $? "--api-key-file: a wrong key, 401, the key not echoed"
"$HTTPC" -i -H "$auth" -j data.0.id "$c/models" >"$tmp/c3" 2>&1
[ "$(head -n 1 "$tmp/c3")" = "HTTP 200" ] &&
    [ "$(tail -n 1 "$tmp/c3")" = r1-test ] &&
    grep -q '^Access-Control-Allow-Origin: http://app.example$' "$tmp/c3"
ok $? "the right key: 200, the --alias as the id, the CORS header"
"$HTTPC" "${c%/v1}/health" >"$tmp/c4" 2>&1
[ "$(head -n 1 "$tmp/c4")" = "HTTP 200" ]
ok $? "--api-key-file: /health needs no key"
"$HTTPC" -i -X OPTIONS -H "Origin: http://app.example" \
    -H "Access-Control-Request-Method: POST" \
    -H "Access-Control-Request-Headers: authorization, content-type" \
    "$c/chat/completions" >"$tmp/pre" 2>&1
[ "$(head -n 1 "$tmp/pre")" = "HTTP 204" ] &&
    grep -q '^Access-Control-Allow-Origin: http://app.example$' "$tmp/pre" &&
    grep -q '^Access-Control-Allow-Methods: POST, OPTIONS$' "$tmp/pre" &&
    grep -q '^Access-Control-Allow-Headers: .*Authorization' "$tmp/pre" &&
    grep -q '^Access-Control-Allow-Headers: .*Content-Type' "$tmp/pre" &&
    grep -q '^Access-Control-Max-Age: [0-9]' "$tmp/pre"
ok $? "--cors: a preflight gets 204 and what the browser asks, without a key"
"$R1CHAT" --remote "$c" --api-key-file "$tmp/key" --temp 0 "hello there" \
    >"$tmp/rc.out" 2>/dev/null
cmp -s "$tmp/local.out" "$tmp/rc.out"
ok $? "--remote --api-key-file against serve --api-key-file"
"$HTTPC" -H "$auth" -d "$tmp/body.json" -j model "$c/chat/completions" \
    >"$tmp/c5" 2>&1
[ "$(sed -n 2p "$tmp/c5")" = r1-test ]
ok $? "--alias: the model of a response"
grep -q " on http://" "$tmp/c.err" && ! grep -q secret "$tmp/c.err" &&
    ! grep -q " /v1/" "$tmp/c.err"
ok $? "--quiet: no access log; the key never on stderr"
"$R1CHAT" serve "$model" --cors 'http://x
Set-Cookie: a' >/dev/null 2>"$tmp/cbad"
[ $? -eq 2 ] && grep -q "^r1chat: --cors: ORIGIN must be" "$tmp/cbad"
ok $? "--cors with a line break: a usage error"

# Not loopback: a warning unless a key is needed (bound a moment only).
for k in nokey key; do
	set -- --host 0.0.0.0 --port 0 --queue 0 --template deepseek-r1
	[ $k = key ] && set -- "$@" --api-key-file "$tmp/key"
	"$R1CHAT" serve "$model" "$@" 2>"$tmp/w$k.err" &
	wpid=$!
	pids="$pids $wpid"
	await "$tmp/w$k.err" ' on http://'
	kill $wpid
	wait $wpid 2>/dev/null
done
grep -q '^r1chat serve: warning: 0\.0\.0\.0 is not loopback.*--api-key-file' \
    "$tmp/wnokey.err" && grep -q ' on http://' "$tmp/wkey.err" &&
    ! grep -q warning "$tmp/wkey.err"
ok $? "bound past loopback without a key: a warning; with a key, none"

# 50 streams at once, 1 computed and 8 queued at a time: each answered
# in full or refused with 503, none lost.
printf '{%s,"stream":true,"max_tokens":4}' "$user" >"$tmp/s.json"
i=0
cpids=
while [ $i -lt 50 ]; do
	"$HTTPC" -d "$tmp/s.json" "$a/chat/completions" >"$tmp/c.$i" 2>&1 &
	cpids="$cpids $!"
	i=$((i + 1))
done
wait $cpids
full=0
busy=0
i=0
while [ $i -lt 50 ]; do
	if [ "$(head -n 1 "$tmp/c.$i")" = "HTTP 200" ] &&
	    grep -q '^data: \[DONE\]$' "$tmp/c.$i"; then
		full=$((full + 1))
	elif [ "$(head -n 1 "$tmp/c.$i")" = "HTTP 503" ]; then
		busy=$((busy + 1))
	fi
	i=$((i + 1))
done
echo "# 50 streams: $full answered, $busy refused"
[ $((full + busy)) -eq 50 ] && [ $full -ge 9 ]
ok $? "50 concurrent streams: every one answered in full or refused (503)"
"$HTTPC" "${a%/v1}/health" >"$tmp/h" 2>&1
[ "$(head -n 1 "$tmp/h")" = "HTTP 200" ]
ok $? "the server is well after the load"

# --- inline reasoning, the queue ---------------------------------------------

serve b --reasoning-format none
b=$url
post "$b/chat/completions" "{$user,\"stream\":true,\"temperature\":0}" \
    >"$tmp/inl" 2>&1
grep -q '"content":"<think>' "$tmp/inl" && ! grep -q reasoning_content "$tmp/inl"
ok $? "--reasoning-format none: the reasoning inline in content"
"$R1CHAT" --remote "$b" --temp 0 "hello there" >"$tmp/ri.out" 2>"$tmp/ri.err"
cmp -s "$tmp/local.out" "$tmp/ri.out" && cmp -s "$tmp/local.err" "$tmp/ri.err"
ok $? "--remote parses inline <think> into the same reasoning and answer"

# The long answers come from a model that never ends a turn by itself
# (mkmodel --endless), so they run until stopped on any CPU.
serve_model="$tmp/endless.gguf"
mkqwen2 "$serve_model" --endless --ctx 32768
serve e --queue 0 --max-tokens 30000 -c 32768
serve_model=
e=$url
epid=${pids##* }

# One long stream holds the worker; with --queue 0 the next is refused.
printf '{%s,"stream":true,"max_tokens":30000}' "$user" >"$tmp/long.json"
"$HTTPC" -w "$tmp/ready" -d "$tmp/long.json" "$e/chat/completions" \
    >"$tmp/long" 2>&1 &
long=$!
i=0
while [ ! -f "$tmp/ready" ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
sleep 0.3
post "$e/chat/completions" "{$user,\"stream\":true}" >"$tmp/busy" 2>&1
[ "$(head -n 1 "$tmp/busy")" = "HTTP 503" ] &&
    grep -q 'the server is busy' "$tmp/busy"
ok $? "past --queue: 503 with an error message"
kill $long
wait $long 2>/dev/null
# The client gone, its answer stops and the next request is served (the
# 30000 tokens it asked for would take far longer than the 10 s allowed).
i=0
while [ $i -lt 100 ]; do
	post "$e/chat/completions" "{$user,\"max_tokens\":3}" >"$tmp/after" 2>&1
	[ "$(head -n 1 "$tmp/after")" = "HTTP 200" ] && break
	sleep 0.1
	i=$((i + 1))
done
[ "$(head -n 1 "$tmp/after")" = "HTTP 200" ]
ok $? "a client that hangs up frees the server"

# SIGTERM during a stream: an error event and [DONE], not a silent end
# a client would take for a whole answer; then the server exits.
"$HTTPC" -d "$tmp/long.json" "$e/chat/completions" >"$tmp/term" 2>&1 &
tpid=$!
await "$tmp/term" '^data: {'
kill -TERM $epid
wait $tpid
wait $epid
st=$?
grep -q '^data: {"error":{"message":"the server is stopping' "$tmp/term" &&
    [ "$(grep -v '^$' "$tmp/term" | tail -n 1)" = "data: [DONE]" ] &&
    [ "$(grep -v '^$' "$tmp/term" | tail -n 2 | head -n 1 | cut -c1-14)" = \
    'data: {"error"' ]
ok $? "SIGTERM during a stream: an error event, then [DONE]"
[ $st -eq 0 ] && grep -q '^r1chat serve: stopping$' "$tmp/e.err"
ok $? "after SIGTERM the server exits 0"

echo "1..$n"
[ $failed -eq 0 ]
