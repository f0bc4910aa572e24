#!/bin/sh
# demo.sh - the trained demo model (share/r1chat-demo.gguf, made by
# tools/train-demo) reasons right: held-out problems the training never saw
# (tests/data/demo/heldout.txt), one-shot at temperature 0, each answer
# exact on stdout and its working on stderr between the markers: on the
# committed file, with -t 2 and -t 1, on every kernel path this CPU runs,
# on two paths' kernels mixed per type (every 10th problem of those),
# on the trained F32 weights (tests/data/demo/r1chat-demo-f32.gguf.xz,
# tools/train-demo's own output) and their Q8_0, Q6_K and Q4_K_M made by
# `r1chat quantize`, and through serve and --remote.  Each configuration
# must get 95 % right of all 200 problems, or of every DEMO_EVERY-th
# (.ci/run's sanitizer pass asks a tenth: it looks for memory errors, the
# first pass has measured the accuracy).

: "${R1CHAT:?R1CHAT must name the r1chat binary}"
top=${top_srcdir:-.}
model="$top/share/r1chat-demo.gguf"
data="${R1CHAT_TESTDATA:-$top/tests/data}/demo"
problems="$data/heldout.txt"
f32xz="$data/r1chat-demo-f32.gguf.xz"
for f in "$model" "$problems" "$f32xz"; do
	if [ ! -f "$f" ]; then
		echo "Bail out! missing $f"
		exit 99
	fi
done
every=${DEMO_EVERY:-1}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/r1chat-demo.XXXXXX") || exit 1
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
unset OPENAI_API_KEY R1CHAT_ISA

. "$top/tests/tap.sh"

# The problems as files: q.N the question, a.N the result.
grep -v '^#' "$problems" | awk -F '\t' -v dir="$tmp" '{
	n++; printf "%s", $1 > (dir "/q." n); print $2 > (dir "/a." n)
	close(dir "/q." n); close(dir "/a." n)
} END { print n > (dir "/count") }'
count=$(cat "$tmp/count")

# Checks the answer of problem i in $tmp/out, $tmp/err: the result is the
# last number of stdout, the working is on stderr between the markers and
# ends saying the result.  Counts in $right, $total; the first wrong ones
# are kept in $tmp/wrong.
check() {
	total=$((total + 1))
	want=$(cat "$tmp/a.$1")
	got=$(grep -o -- '-\{0,1\}[0-9][0-9]*' "$tmp/out" | tail -n 1)
	working=$(sed -n '/^Thinking\.\.\.$/,/^\.\.\.done thinking\.$/p' \
	    "$tmp/err")
	if [ "$got" = "$want" ] &&
	    [ "$(sed -n 1p "$tmp/err")" = "Thinking..." ] &&
	    printf '%s\n' "$working" | tail -n 1 | grep -qx '\.\.\.done thinking\.' &&
	    printf '%s\n' "$working" | grep -q -- "= $want[。.]"; then
		right=$((right + 1))
	elif [ "$(wc -l <"$tmp/wrong")" -lt 20 ]; then
		printf '%s: %s, wanted %s\n' "$(cat "$tmp/q.$1")" "$got" \
		    "$want" >>"$tmp/wrong"
	fi
}

# ask NAME STEP COMMAND...: runs COMMAND QUESTION on every STEP-th problem
# and checks the answers; one test line, 95 % right or more.
ask() {
	name=$1
	step=$2
	shift 2
	right=0
	total=0
	: >"$tmp/wrong"
	i=1
	while [ "$i" -le "$count" ]; do
		"$@" "$(cat "$tmp/q.$i")" </dev/null >"$tmp/out" 2>"$tmp/err"
		check "$i"
		i=$((i + step))
	done
	[ $((right * 100)) -ge $((total * 95)) ]
	ok $? "$name: $right/$total right"
	show "$tmp/wrong"
	echo "# accuracy: $name: $right/$total"
}

ask "committed file, default path, -t 2" "$every" \
    "$R1CHAT" "$model" --temp 0 -n 600 -t 2

# The demo's own defaults are these.
"$R1CHAT" --demo "What is 238 + 475?" </dev/null >"$tmp/out" 2>"$tmp/err"
ok $? "--demo: exit status 0"
grep -qx '238 + 475 = 713' "$tmp/out"
ok $? "--demo answers 238 + 475 on stdout"
[ "$(sed -n 1p "$tmp/err")" = "Thinking..." ]
ok $? "--demo without a terminal: no greeting, no hints, the working first"

ask "committed file, -t 1" "$every" "$R1CHAT" "$model" --temp 0 -n 600 -t 1

# Every kernel path this CPU runs, on the committed file.
for isa in scalar avx2 avx512 avx512-wide amx; do
	if ! R1CHAT_ISA=$isa "$R1CHAT" show "$model" >/dev/null 2>&1; then
		echo "# kernel path: $isa skipped: this CPU lacks it"
		ok 0 "$isa # SKIP this CPU lacks it"
		continue
	fi
	ask "committed file, path $isa" "$every" env R1CHAT_ISA=$isa \
	    "$R1CHAT" "$model" --temp 0 -n 600 -t 2
	echo "# kernel path: $isa ran"
done

# Kernels of two paths mixed per type, as a measure may choose them
# (quant-calib.c): the cache of one, rewritten to name scalar for every
# other type and the path measured for the rest, then read.
mix=$tmp/mix
env -u R1CHAT_CALIBRATE XDG_CACHE_HOME="$mix" "$R1CHAT" show "$model" \
    >/dev/null 2>&1
awk 'NR <= 2 { print; next }
    $1 != last { n++; last = $1 }
    { print $1, $2, (n % 2 ? "scalar" : $3) }' "$mix/r1chat/kernels" \
    >"$tmp/kernels" && mv "$tmp/kernels" "$mix/r1chat/kernels"
env -u R1CHAT_CALIBRATE XDG_CACHE_HOME="$mix" "$R1CHAT" show "$model" \
    2>&1 | grep -q '(measured, cached'
ok $? "a cache of kernels mixed per type is read"
ask "committed file, kernels mixed per type" $((every * 10)) \
    env -u R1CHAT_CALIBRATE XDG_CACHE_HOME="$mix" "$R1CHAT" "$model" \
    --temp 0 -n 600 -t 2

# The trained F32 weights, and llama.cpp's mixtures of them.
xz -dc "$f32xz" >"$tmp/f32.gguf"
ok $? "the F32 weights unpacked (xz)"
ask "F32" "$every" "$R1CHAT" "$tmp/f32.gguf" --temp 0 -n 600 -t 2
for type in Q8_0 Q6_K Q4_K_M; do
	"$R1CHAT" quantize "$tmp/f32.gguf" "$tmp/$type.gguf" "$type" \
	    </dev/null 2>"$tmp/q.err"
	ok $? "quantize F32 to $type"
	ask "$type" "$every" "$R1CHAT" "$tmp/$type.gguf" --temp 0 -n 600 -t 2
	rm -f "$tmp/$type.gguf"
done

# serve, and --remote against it: one server for every question.
"$R1CHAT" serve "$model" --port 0 --temp 0 -n 600 -t 2 2>"$tmp/serve.err" &
pids="$pids $!"
port=$(serve_port "$tmp/serve.err")
[ -n "$port" ]
ok $? "serve says the port it listens on"
ask "serve + --remote" "$every" "$R1CHAT" --remote \
    "http://127.0.0.1:$port/v1" --temp 0

echo "1..$n"
[ "$failed" -eq 0 ]
