#!/bin/sh
# openai-npm.sh - `r1chat serve` driven by a real client, the official
# `openai` npm package (tests/openai-client.js), streaming and not: the
# same answer as the local chat at temperature 0, the reasoning in
# reasoning_content, usage.  Needs node and the package: set
# R1CHAT_NODE_MODULES to a node_modules holding openai (.ci/run does:
# npm install --prefix DIR openai); SKIP otherwise.

: "${R1CHAT:?R1CHAT must name the r1chat binary}"
: "${MKMODEL:?MKMODEL must name tests/mkmodel}"
vocab="${R1CHAT_TESTDATA:-${top_srcdir:-.}/tests/data}/vocab/deepseek-r1-qwen.gguf"
if [ ! -f "$vocab" ]; then
	echo "Bail out! no test data ($vocab)"
	exit 99
fi
if ! command -v node >/dev/null 2>&1 || [ -z "$R1CHAT_NODE_MODULES" ] ||
    [ ! -d "$R1CHAT_NODE_MODULES/openai" ]; then
	echo "1..0 # SKIP no node or no openai package (R1CHAT_NODE_MODULES)"
	exit 0
fi
NODE_PATH=$R1CHAT_NODE_MODULES
export NODE_PATH
client="${top_srcdir:-.}/tests/openai-client.js"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/r1chat-npm.XXXXXX") || exit 1
spid=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
LC_ALL=C.UTF-8
export LC_ALL

. "${top_srcdir:-.}/tests/tap.sh"

model="$tmp/m.gguf"
mkqwen2 "$model"
"$R1CHAT" --template deepseek-r1 --temp 0 -n 40 --think-budget 8 "$model" \
    "hello there" >"$tmp/local.out" 2>"$tmp/local.err"
sed 1d "$tmp/local.err" | sed '/^\.\.\.done thinking\.$/,$d' >"$tmp/want.reason"

"$R1CHAT" serve "$model" --port 0 --template deepseek-r1 --temp 0 \
    --think-budget 8 -n 40 2>"$tmp/serve.err" &
spid=$!
port=$(serve_port "$tmp/serve.err")
url="http://127.0.0.1:$port/v1"

for mode in stream whole; do
	node "$client" "$url" $mode "hello there" >"$tmp/$mode.out" \
	    2>"$tmp/$mode.err"
	ok $? "openai package, $mode: no error"
	cmp -s "$tmp/local.out" "$tmp/$mode.out"
	ok $? "openai package, $mode: the local chat's answer"
	sed '$d' "$tmp/$mode.err" | cmp -s - "$tmp/want.reason"
	ok $? "openai package, $mode: the reasoning in reasoning_content"
	[ "$(tail -n 1 "$tmp/$mode.err")" = "usage 40" ]
	ok $? "openai package, $mode: usage counts 40 tokens"
done

echo "1..$n"
[ $failed -eq 0 ]
