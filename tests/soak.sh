#!/bin/sh
# soak.sh - serve soaked on loopback by tests/soak (SOAK_CLIENTS clients,
# SOAK_REQUESTS requests or SOAK_SECONDS, whichever ends first: plain,
# streamed, bad JSON, oversized, hung up mid-stream, max_tokens at the
# limit): every request answered with a status its kind allows, the
# server answering /health afterwards, its open descriptors as many as
# before, its RSS said.  `make check` runs a short one; `make soak` the
# long one (20 clients, 5 minutes).

: "${R1CHAT:?R1CHAT must name the r1chat binary}"
: "${MKMODEL:?MKMODEL must name tests/mkmodel}"
SOAK="$(dirname "$MKMODEL")/soak"
clients=${SOAK_CLIENTS:-8}
requests=${SOAK_REQUESTS:-120}
seconds=${SOAK_SECONDS:-60}
vocab="${R1CHAT_TESTDATA:-${top_srcdir:-.}/tests/data}/vocab/deepseek-r1-qwen.gguf"
if [ ! -f "$vocab" ]; then
	echo "Bail out! no test data ($vocab)"
	exit 99
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/r1chat-soak.XXXXXX") || exit 1
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
LC_ALL=C.UTF-8
export LC_ALL
OMP_WAIT_POLICY=passive
export OMP_WAIT_POLICY
unset OPENAI_API_KEY

. "${top_srcdir:-.}/tests/tap.sh"

model="$tmp/m.gguf"
mkqwen2 "$model"

"$R1CHAT" serve "$model" --port 0 --template deepseek-r1 --think-budget 8 \
    -n 16 --max-tokens 16 --max-body 4096 --queue 32 --quiet \
    2>"$tmp/serve.err" &
pid=$!
port=$(serve_port "$tmp/serve.err")
[ -n "$port" ]
ok $? "serve listens"

"$SOAK" "$port" "$pid" "$clients" "$requests" "$seconds" 16 4096 \
    >"$tmp/soak.out" 2>&1
ok $? "$clients clients, $requests requests or ${seconds}s: every one answered as its kind allows, /health after"
show "$tmp/soak.out"
fds=$(sed -n 's/^fds  *\([0-9]*\) at start, \([0-9]*\) at end$/\1 \2/p' \
    "$tmp/soak.out")
[ -n "$fds" ] && [ "${fds#* }" -le "${fds% *}" ]
ok $? "serve's open descriptors: as many at the end as at the start ($fds)"
kill -0 "$pid" 2>/dev/null
ok $? "serve still runs"
kill "$pid"
wait "$pid"
rc=$?
pid=
[ $rc -eq 0 ] && ! grep -qi 'sanitizer\|error' "$tmp/serve.err"
ok $? "serve stops cleanly on SIGTERM (status $rc)"
show "$tmp/serve.err"

echo "1..$n"
[ "$failed" -eq 0 ]
